"""Hand-made ELF files for refusal tests (things a correct linker never produces)."""

from __future__ import annotations

import struct

EM_RISCV = 243


def make_elf(segments, entry: int, *, elf_class: int = 1, machine: int = EM_RISCV, e_flags: int = 0x1,
             e_type: int = 2) -> bytes:
    """An executable with the given ``(addr, data, mem_size, flags)`` PT_LOAD segments and no sections.

    ``elf_class`` 1 = ELF32, 2 = ELF64 (only the identification byte and
    layout of the header change; enough for the class check).
    """
    if elf_class == 2:
        ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
        header = ident + struct.pack("<HHIQQQIHHHHHH", e_type, machine, 1, entry, 64, 0, e_flags,
                                     64, 56, 0, 64, 0, 0)
        return header
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    phoff = 52
    data_off = phoff + 32 * len(segments)
    phdrs = b""
    blobs = b""
    for addr, data, mem_size, flags in segments:
        offset = data_off + len(blobs)
        phdrs += struct.pack("<IIIIIIII", 1, offset, addr, addr, len(data), mem_size, flags, 4)
        blobs += data
    header = ident + struct.pack("<HHIIIIIHHHHHH", e_type, machine, 1, entry, phoff, 0, e_flags,
                                 52, 32, len(segments), 40, 0, 0)
    return header + phdrs + blobs
