"""Read a RISC-V ELF and check that it is a program for a Tessera core.

Checks, each refused with an :class:`~sw.toolchain.errors.ElfError` (or
:class:`LayoutError` / :class:`CapacityError`) naming the problem:

* ELF magic, 32-bit class, little-endian, ``EM_RISCV``, an executable;
* structure (:func:`check_structure`): header tables, segments and sections
  inside the file, section names and the symbol table well formed, so a
  corrupt file is refused by name rather than by a crash of the parser;
* ISA: no floating-point ABI or RV32E in ``e_flags``; only the extensions
  the core implements (I, M, C, Zicsr, Zifencei, Zmmul) in the
  ``.riscv.attributes`` architecture string; and no F/D/Q, A or V opcode
  anywhere in the executable sections (hand-written assembly can carry
  them without an attribute);
* layout: every segment inside the target's memories, segments with file
  contents in the loadable region (L1 for tile cores), no two segments
  overlapping, the entry point inside executable code.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError as _PyElfError
from elftools.common.exceptions import ELFParseError as _PyElfParseError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from .errors import CapacityError, ElfError, FirmwareError, LayoutError
from .layout import Target

__all__ = ["Segment", "ElfProgram", "read_elf", "check_program", "check_elf", "check_structure",
           "flags_from_text", "ALLOWED_EXTENSIONS", "scan_instructions"]

EM_RISCV = 243
EF_RISCV_RVC = 0x1
EF_RISCV_FLOAT_ABI = 0x6
EF_RISCV_RVE = 0x8
PF_X = 0x1
PF_W = 0x2
PF_R = 0x4

# ELF32 header, program header and section header (little-endian), for the structure check.
_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
_PHDR = struct.Struct("<8I")
_SHDR = struct.Struct("<10I")
_SHDR_FIELDS = ("sh_name", "sh_type", "sh_flags", "sh_addr", "sh_offset", "sh_size", "sh_link", "sh_info",
                "sh_addralign", "sh_entsize")
_PT_LOAD = 1
_SHT_NULL, _SHT_PROGBITS, _SHT_SYMTAB, _SHT_STRTAB, _SHT_NOBITS = 0, 1, 2, 3, 8
_SHF_EXECINSTR = 0x4
_SHF_COMPRESSED = 0x800
_SYM_BYTES = 16
#: Sections whose contents the reader uses (besides code and the symbol table).
_READ_SECTIONS = (".riscv.attributes",)

#: Extensions of the Tessera cores (Zmmul is the multiply half of M).
ALLOWED_EXTENSIONS = frozenset({"i", "m", "c", "zicsr", "zifencei", "zmmul"})

# Major opcodes (bits 6:0) of 32-bit instructions the core does not implement.
_BAD_OPCODES = {
    0x07: "floating-point load (F/D/Q)",
    0x27: "floating-point store (F/D/Q)",
    0x43: "fused multiply-add (F/D/Q)",
    0x47: "fused multiply-subtract (F/D/Q)",
    0x4B: "fused negated multiply-subtract (F/D/Q)",
    0x4F: "fused negated multiply-add (F/D/Q)",
    0x53: "floating-point operation (F/D/Q)",
    0x2F: "atomic memory operation (A)",
    0x57: "vector operation (V)",
}
# 16-bit instructions with funct3 (bits 15:13) in these sets are FP loads/stores on RV32C.
_BAD_C0 = {1: "c.fld", 3: "c.flw", 5: "c.fsd", 7: "c.fsw"}
_BAD_C2 = {1: "c.fldsp", 3: "c.flwsp", 5: "c.fsdsp", 7: "c.fswsp"}


@dataclass(frozen=True)
class Segment:
    """A ``PT_LOAD`` segment: ``data`` is its file contents, ``mem_size`` >= ``len(data)``."""

    addr: int
    data: bytes
    mem_size: int
    flags: int

    @property
    def end(self) -> int:
        return self.addr + self.mem_size

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)

    @property
    def flag_text(self) -> str:
        """``r``, ``rw``, ``rx`` or ``rwx``, as the image manifest records them (every segment is readable)."""
        return "r" + ("w" if self.flags & PF_W else "") + ("x" if self.flags & PF_X else "")

    @property
    def crc32(self) -> int:
        return zlib.crc32(self.data)


@dataclass(frozen=True)
class ElfProgram:
    """What the toolchain needs from one ELF."""

    name: str
    entry: int
    segments: tuple
    symbols: dict = field(default_factory=dict)
    arch: str = ""
    #: (address, bytes) of each executable section, for the ISA scan.
    code: tuple = ()

    def symbol(self, name: str):
        return self.symbols.get(name)


def _open(data: bytes, name: str) -> ELFFile:
    if data[:4] != b"\x7fELF":
        raise ElfError(f"{name}: not an ELF file (magic {data[:4]!r})")
    if len(data) < _EHDR.size:
        raise ElfError(f"{name}: truncated ELF header ({len(data)} bytes)")
    if data[4] == 2:
        raise ElfError(f"{name}: ELF class is ELF64 (a 64-bit program, e.g. rv64); Tessera cores are "
                       f"RV32: compile with -march=rv32imc -mabi=ilp32")
    if data[4] != 1:
        raise ElfError(f"{name}: ELF class byte is {data[4]}, expected 1 (ELF32)")
    if data[5] != 1:
        raise ElfError(f"{name}: ELF data encoding is big-endian; RISC-V cores are little-endian")
    check_structure(data, name)
    try:
        return ELFFile(io.BytesIO(data))
    except _PyElfError as exc:
        raise ElfError(f"{name}: malformed ELF: {exc}") from None


def _check_table(data: bytes, name: str, kind: str, offset: int, count: int, entry_size: int,
                 elf32_size: int) -> None:
    """A header table (``kind`` ``program`` or ``section``) has ELF32 entries and ends inside the file."""
    if entry_size != elf32_size:
        raise ElfError(f"{name}: {kind} header entries are {entry_size} bytes (e_{kind[0]}hentsize), ELF32 "
                       f"uses {elf32_size}")
    if offset + count * elf32_size > len(data):
        raise ElfError(f"{name}: the {kind} header table ({count} entries at offset {offset:#x}) runs past "
                       f"the end of the file ({len(data)} bytes): truncated or corrupt ELF")


def _section_headers(data: bytes, name: str) -> list:
    """The section headers as dicts (``index``, ``name``, and the ``sh_*`` fields), names resolved."""
    (*_, shoff, _flags, _ehsize, _phentsize, _phnum, shentsize, shnum, shstrndx) = _EHDR.unpack_from(data)
    if shoff == 0:
        return []
    if shnum == 0:
        raise ElfError(f"{name}: e_shoff is {shoff:#x} but e_shnum is 0 (extended section numbering); "
                       f"a Tessera program has a handful of sections")
    _check_table(data, name, "section", shoff, shnum, shentsize, _SHDR.size)
    headers = [dict(zip(_SHDR_FIELDS, _SHDR.unpack_from(data, shoff + i * _SHDR.size)), index=i)
               for i in range(shnum)]
    for h in headers:
        if h["sh_type"] not in (_SHT_NULL, _SHT_NOBITS) and h["sh_offset"] + h["sh_size"] > len(data):
            raise ElfError(f"{name}: section {h['index']} ({h['sh_size']} bytes at offset {h['sh_offset']:#x}) "
                           f"runs past the end of the file ({len(data)} bytes): truncated or corrupt ELF")
    if not 0 < shstrndx < shnum or headers[shstrndx]["sh_type"] != _SHT_STRTAB:
        raise ElfError(f"{name}: e_shstrndx {shstrndx} does not name a string table among the {shnum} "
                       f"sections: corrupt section header table")
    names = headers[shstrndx]
    for h in headers:
        if h["sh_name"] >= max(names["sh_size"], 1):
            raise ElfError(f"{name}: section {h['index']} has name offset {h['sh_name']}, past the "
                           f"{names['sh_size']}-byte section name table")
        start = names["sh_offset"] + h["sh_name"]
        end = data.find(b"\0", start, names["sh_offset"] + names["sh_size"])
        if end < 0:
            raise ElfError(f"{name}: the name of section {h['index']} is not NUL-terminated inside the "
                           f"section name table")
        h["name"] = data[start:end].decode("utf-8", errors="replace")
    return headers


def check_structure(data: bytes, name: str) -> None:
    """Refuse an ELF32 whose tables do not hold together.

    Program and section header tables inside the file with the ELF32 entry
    sizes, every loadable segment's and every section's contents inside the
    file, the section names in a string table, and the symbol table a real
    ``SHT_SYMTAB`` with 16-byte entries linked to a string table.  After this
    pyelftools reads only bytes that exist and finds the section types the
    readers expect.  Raises :class:`ElfError` naming the broken field.
    """
    if len(data) < _EHDR.size:
        raise ElfError(f"{name}: truncated ELF header ({len(data)} bytes)")
    (_ident, _type, _machine, _version, _entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum,
     *_rest) = _EHDR.unpack_from(data)
    if phnum:
        _check_table(data, name, "program", phoff, phnum, phentsize, _PHDR.size)
    for i in range(phnum):
        p_type, p_offset, p_vaddr, _paddr, p_filesz, *_ = _PHDR.unpack_from(data, phoff + i * _PHDR.size)
        if p_type == _PT_LOAD and p_offset + p_filesz > len(data):
            raise ElfError(f"{name}: segment {i} at {p_vaddr:#x} has {p_filesz} file bytes at offset "
                           f"{p_offset:#x}, past the end of the file ({len(data)} bytes): truncated or "
                           f"corrupt ELF")
    headers = _section_headers(data, name)
    for h in headers:
        if h["name"] in _READ_SECTIONS or (h["sh_flags"] & _SHF_EXECINSTR and h["sh_type"] == _SHT_PROGBITS):
            if h["sh_flags"] & _SHF_COMPRESSED:
                raise ElfError(f"{name}: section {h['name']} is compressed (SHF_COMPRESSED); link without "
                               f"--compress-debug-sections for code and attributes")
        if h["name"] == ".symtab" or h["sh_type"] == _SHT_SYMTAB:
            what = f"{name}: section {h['index']} ({h['name'] or 'unnamed'})"
            if h["name"] != ".symtab" or h["sh_type"] != _SHT_SYMTAB:
                raise ElfError(f"{what} has type {h['sh_type']}; the symbol table must be a SHT_SYMTAB "
                               f"named .symtab: corrupt section header table")
            if h["sh_entsize"] != _SYM_BYTES or h["sh_size"] % _SYM_BYTES:
                raise ElfError(f"{what}: {h['sh_size']} bytes of {h['sh_entsize']}-byte entries; ELF32 "
                               f"symbols are {_SYM_BYTES} bytes")
            if not h["sh_link"] < len(headers) or headers[h["sh_link"]]["sh_type"] != _SHT_STRTAB:
                raise ElfError(f"{what} links to section {h['sh_link']}, which is not a string table")


def flags_from_text(text) -> int | None:
    """The ``p_flags`` of a manifest flag text (:attr:`Segment.flag_text`), ``None`` if it is not one."""
    if not isinstance(text, str) or text not in ("r", "rw", "rx", "rwx"):
        return None
    return PF_R | (PF_W if "w" in text else 0) | (PF_X if "x" in text else 0)


def _parse_arch_attribute(elf: ELFFile) -> str:
    section = elf.get_section_by_name(".riscv.attributes")
    if section is None:
        return ""
    raw = section.data()
    # The Tag_RISCV_arch value is a NUL-terminated string starting with rv32/rv64.
    match = re.search(rb"(rv(?:32|64)[a-z0-9_]+)\x00", raw)
    return match.group(1).decode() if match else ""


def arch_extensions(arch: str) -> list:
    """Extensions named in an arch string such as ``rv32i2p1_m2p0_c2p0_zicsr2p0``."""
    body = arch[4:]
    parts = body.split("_")
    names = []
    for index, part in enumerate(parts):
        if not part:
            continue
        if part[0] in "zsx":
            names.append(re.sub(r"\d+(p\d+)?$", "", part))
        else:
            # Single-letter extensions, each optionally followed by a version.
            names.extend(re.findall(r"([a-z])(?:\d+(?:p\d+)?)?", part))
    return names


def read_elf(source, name: str | None = None, isa_scan: bool = True) -> ElfProgram:
    """Parse an ELF file (path or bytes) and check its class, machine and ISA.

    ``isa_scan=False`` skips the opcode-by-opcode scan of the code (the
    e_flags and arch-attribute checks still apply): for simulators running
    test programs that execute unimplemented encodings on purpose to trap.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ElfError(f"ELF file not found: {path}") from None
        except OSError as exc:  # a folder, no permission
            raise ElfError(f"cannot read ELF file {path}: {exc.strerror}") from None
    else:
        data = bytes(source)
        name = name or "<bytes>"
    try:
        return _read(data, name, isa_scan)
    except FirmwareError:
        raise
    except (_PyElfError, _PyElfParseError, ValueError, KeyError, IndexError, OverflowError, EOFError,
            AssertionError) as exc:
        raise ElfError(f"{name}: malformed or truncated ELF ({type(exc).__name__}: {exc})") from None


def _read(data: bytes, name: str, isa_scan: bool = True) -> ElfProgram:
    elf = _open(data, name)
    header = elf.header
    if header["e_machine"] != "EM_RISCV":
        raise ElfError(f"{name}: ELF machine is {header['e_machine']}, expected EM_RISCV ({EM_RISCV})")
    if header["e_type"] != "ET_EXEC":
        raise ElfError(f"{name}: ELF type is {header['e_type']}, expected ET_EXEC (a linked program, "
                       f"not an object file or shared library)")
    flags = header["e_flags"]
    if flags & EF_RISCV_FLOAT_ABI:
        abi = {2: "ilp32f", 4: "ilp32d", 6: "ilp32q"}[flags & EF_RISCV_FLOAT_ABI]
        raise ElfError(f"{name}: built for the hardware floating-point ABI {abi} (e_flags {flags:#x}); "
                       f"Tessera cores have no FPU: use -march=rv32imc -mabi=ilp32")
    if flags & EF_RISCV_RVE:
        raise ElfError(f"{name}: built for RV32E (e_flags {flags:#x}); Tessera cores are RV32I-based")
    arch = _parse_arch_attribute(elf)
    if arch:
        if not arch.startswith("rv32"):
            raise ElfError(f"{name}: ISA {arch} is not RV32")
        bad = [e for e in arch_extensions(arch) if e not in ALLOWED_EXTENSIONS]
        if bad:
            raise ElfError(f"{name}: ISA {arch} uses extension(s) {', '.join(bad)} the core does not "
                           f"implement (it has {', '.join(sorted(ALLOWED_EXTENSIONS))})")
    segments = []
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
            continue
        if seg["p_vaddr"] != seg["p_paddr"]:
            raise LayoutError(f"{name}: segment at {seg['p_vaddr']:#x} has a different load address "
                              f"{seg['p_paddr']:#x}; Tessera loads every segment where it runs")
        if seg["p_filesz"] > seg["p_memsz"]:
            raise ElfError(f"{name}: segment at {seg['p_vaddr']:#x} has more file bytes than memory bytes")
        segments.append(Segment(seg["p_paddr"], seg.data(), seg["p_memsz"], seg["p_flags"]))
    if not segments:
        raise ElfError(f"{name}: no loadable segments")
    code = []
    if elf.num_sections():
        for section in elf.iter_sections():
            if section["sh_flags"] & _SHF_EXECINSTR and section["sh_type"] == "SHT_PROGBITS":
                code.append((section["sh_addr"], section.data()))
    else:
        code = [(s.addr, s.data) for s in segments if s.executable]
    symbols = {}
    symtab = elf.get_section_by_name(".symtab")
    if symtab is not None:
        if not isinstance(symtab, SymbolTableSection):  # check_structure refuses this first
            raise ElfError(f"{name}: section .symtab is not a symbol table")
        for sym in symtab.iter_symbols():
            if sym.name and sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK") and sym["st_shndx"] != "SHN_UNDEF":
                symbols[sym.name] = sym["st_value"]
    program = ElfProgram(name, header["e_entry"], tuple(sorted(segments, key=lambda s: s.addr)),
                         symbols, arch, tuple(code))
    if isa_scan:
        scan_instructions(program)
    return program


def scan_instructions(program: ElfProgram) -> None:
    """Refuse an opcode the core does not implement in the program's executable sections."""
    for base, data in program.code:
        offset = 0
        while offset + 2 <= len(data):
            half = int.from_bytes(data[offset:offset + 2], "little")
            if half & 0x3 != 0x3:
                quadrant, funct3 = half & 0x3, half >> 13
                mnemonic = (_BAD_C0 if quadrant == 0 else _BAD_C2 if quadrant == 2 else {}).get(funct3)
                if mnemonic and half != 0:
                    raise ElfError(f"{program.name}: {mnemonic} (floating-point) at {base + offset:#x} "
                                   f"(halfword {half:#06x}); Tessera cores have no FPU")
                offset += 2
                continue
            if offset + 4 > len(data):
                break
            word = int.from_bytes(data[offset:offset + 4], "little")
            what = _BAD_OPCODES.get(word & 0x7F)
            if what:
                raise ElfError(f"{program.name}: {what} instruction {word:#010x} at {base + offset:#x}; "
                               f"Tessera cores implement RV32IMC + Zicsr only")
            offset += 4


def check_program(program: ElfProgram, target: Target) -> None:
    """Refuse segments outside ``target``'s memories, overlapping, or over capacity."""
    name = program.name
    for seg in program.segments:
        region = target.region_of(seg.addr, seg.mem_size)
        if region is None:
            # Over capacity if it starts inside the program region and runs past its end.
            prog = target.program
            if prog.base <= seg.addr < prog.end:
                raise CapacityError(
                    f"{name}: segment {seg.addr:#x}..{seg.end:#x} ({seg.mem_size} bytes) runs "
                    f"{seg.end - prog.end} bytes past the end of {prog.name} "
                    f"({prog.base:#x}..{prog.end:#x}, {prog.size} bytes) of target {target.name}")
            regions = ", ".join(f"{r.name} {r.base:#x}..{r.end:#x}" for r in target.regions)
            raise LayoutError(f"{name}: segment {seg.addr:#x}..{seg.end:#x} lies outside the memories "
                              f"of target {target.name} ({regions})")
        if seg.data and region not in target.loadable:
            raise LayoutError(
                f"{name}: segment {seg.addr:#x}..{seg.end:#x} has contents in {region.name} "
                f"({region.kind} memory), which the loader cannot write; initialised data must be "
                f"in {target.program.name}")
    ordered = sorted(program.segments, key=lambda s: s.addr)
    for a, b in zip(ordered, ordered[1:]):
        if b.addr < a.end:
            raise LayoutError(f"{name}: segments {a.addr:#x}..{a.end:#x} and {b.addr:#x}..{b.end:#x} overlap")
    if not any(s.executable and s.addr <= program.entry < s.addr + len(s.data) for s in program.segments):
        raise LayoutError(f"{name}: entry point {program.entry:#x} is not inside an executable segment")


def check_elf(path, target: str, cfg, isa_scan: bool = True) -> ElfProgram:
    """Read ``path`` and check it against build target ``target`` (``"runelf"`` or a core name) of ``cfg``.

    For simulators that want to refuse a bad ELF before starting: raises
    :class:`ElfError`, :class:`LayoutError` or :class:`CapacityError`.
    ``path`` may also be the file's bytes.  ``isa_scan=False``: see :func:`read_elf`.
    """
    from .layout import target_for
    program = read_elf(path, isa_scan=isa_scan)
    check_program(program, target_for(target, cfg))
    return program
