"""Reading and checking a bare-metal RV32 ELF for the run-elf system.

Refused before simulation: first run-elf's own checks (not ELF, ELF64,
big-endian, not RISC-V, not an executable, a segment outside RAM, a bad
entry point), then the firmware toolchain's checker for the ``runelf``
target (``sw.toolchain.check_elf``): hard-float or RV32E ABI, extensions the
core lacks in the ISA attribute, overlapping segments, load address different
from run address, entry point outside the code.  The toolchain's
opcode-by-opcode scan is skipped: trap tests execute unimplemented encodings
on purpose.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

__all__ = ["ElfImageError", "ElfImage", "load_elf"]

EM_RISCV = 243


class ElfImageError(ValueError):
    """The file cannot run on the run-elf system; the message says why."""


@dataclass
class ElfImage:
    path: Path
    entry: int
    #: {word address: value} of every nonzero word of the loadable segments.
    words: dict
    symbols: dict = field(default_factory=dict)

    @property
    def tohost(self) -> int | None:
        return self.symbols.get("tohost")

    def signature_range(self):
        begin, end = self.symbols.get("begin_signature"), self.symbols.get("end_signature")
        if begin is None or end is None:
            return None
        return begin, end


def load_elf(path, cfg) -> ElfImage:
    """Parse ``path``; refuse anything but an ELF32 RISC-V executable inside RAM."""
    try:
        return _load_elf(Path(path), cfg)
    except ELFError as exc:  # pyelftools meeting a corrupt section the structure check lets through
        raise ElfImageError(f"{path}: malformed ELF ({exc})") from None


def _load_elf(path: Path, cfg) -> ElfImage:
    re = cfg.runelf
    ram_end = re.ram_base + re.ram_bytes
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ElfImageError(f"{path}: cannot open: {exc.strerror}") from None
    with io.BytesIO(raw) as handle:
        try:
            elf = ELFFile(handle)
        except ELFError as exc:
            raise ElfImageError(f"{path}: not an ELF file ({exc})") from None
        if elf.elfclass != 32:
            raise ElfImageError(f"{path}: ELF{elf.elfclass} file; run-elf needs an ELF32 RV32 executable")
        if not elf.little_endian:
            raise ElfImageError(f"{path}: big-endian ELF; RISC-V is little endian")
        if elf["e_machine"] not in ("EM_RISCV", EM_RISCV):
            raise ElfImageError(f"{path}: machine {elf['e_machine']}, not RISC-V")
        if elf["e_type"] != "ET_EXEC":
            raise ElfImageError(f"{path}: ELF type {elf['e_type']}, not an executable (ET_EXEC)")
        _structure_check(raw, path)
        words: dict = {}
        loaded = 0
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                continue
            start, size = seg["p_paddr"], seg["p_memsz"]
            if start < re.ram_base or start + size > ram_end:
                raise ElfImageError(
                    f"{path}: segment {start:#010x}..{start + size:#010x} lies outside RAM "
                    f"{re.ram_base:#010x}..{ram_end:#010x}")
            data = seg.data()
            loaded += 1
            for offset, byte in enumerate(data):
                if byte:
                    addr = start + offset
                    word = addr & ~3
                    words[word] = words.get(word, 0) | (byte << (8 * (addr & 3)))
        if not loaded:
            raise ElfImageError(f"{path}: no loadable segment")
        entry = elf["e_entry"]
        if not (re.ram_base <= entry < ram_end) or entry & 1:
            raise ElfImageError(f"{path}: entry point {entry:#010x} is not a valid address in RAM")
        symbols = {}
        symtab = elf.get_section_by_name(".symtab")
        if symtab is not None:
            for sym in symtab.iter_symbols():
                if sym.name in ("tohost", "begin_signature", "end_signature", "fromhost"):
                    symbols[sym.name] = sym["st_value"]
    _toolchain_check(raw, path, cfg)
    return ElfImage(path, entry, words, symbols)


def _structure_check(raw: bytes, path: Path) -> None:
    """Refuse corrupt header tables before pyelftools walks them (``sw.toolchain.check_structure``)."""
    from tessera.sw.toolchain import FirmwareError
    from tessera.sw.toolchain.elf import check_structure

    try:
        check_structure(raw, str(path))
    except FirmwareError as exc:
        raise ElfImageError(str(exc)) from None


def _toolchain_check(raw: bytes, path: Path, cfg) -> None:
    from tessera.sw.toolchain import FirmwareError, check_elf
    from tessera.sw.toolchain.layout import RUNELF

    try:
        check_elf(raw, RUNELF, cfg, isa_scan=False)
    except FirmwareError as exc:
        raise ElfImageError(str(exc).replace("<bytes>", str(path), 1)) from None
