"""Seeded mutation fuzz of the ELF reader, run-elf's loader and the firmware image parser.

Every mutant of a toolchain-built ELF or image must be accepted or refused
with the readers' own error (``FirmwareError``, ``ElfImageError``); any other
exception fails the test with the seed, the case and its traceback.
``TESSERA_FUZZ_SEED`` picks another seed, ``TESSERA_FUZZ_SCALE`` multiplies the
case counts; ``make bench-fuzz`` is the long run (tb/fw/fuzz.py).
"""

from __future__ import annotations

import os
import struct

import pytest

from tessera.sim.runelf.elf import ElfImageError, load_elf
from tessera.sw.toolchain import ElfError, FirmwareError
from tessera.sw.toolchain.elf import read_elf
from tessera.sw.toolchain.image import FirmwareImage
from tb.fw import fuzz

SEED = int(os.environ.get("TESSERA_FUZZ_SEED", "20261201"))
SCALE = float(os.environ.get("TESSERA_FUZZ_SCALE", "1"))


@pytest.fixture(scope="module")
def base(tmp_path_factory, tiny):
    return fuzz.base_inputs(tiny, tmp_path_factory.mktemp("fuzz"))


def _no_crashes(report: fuzz.FuzzReport) -> None:
    if report.crashes:
        first = report.crashes[0]
        pytest.fail(f"{len(report.crashes)} of the mutants crashed {report.target} (seed {report.seed}; "
                    f"TESSERA_FUZZ_SEED={report.seed} replays); first: {first.kind} case {first.case}: "
                    f"{first.error}\n{first.traceback}\n{fuzz.format_reports([report])}")


def test_elf_reader_refuses_every_malformed_mutant(base, tiny):
    report = fuzz.fuzz_elf(base["tile_elf"], "brisc", tiny, int(2400 * SCALE), SEED)
    _no_crashes(report)
    stats = report.kinds
    # A cut anywhere loses the section header table at the end of the file: always refused.
    assert stats["truncate"].accepted == 0 and stats["truncate"].refused > 0, fuzz.format_reports([report])
    # Header-table mutations reach the structure checks, not only pyelftools' first look.
    for kind in ("headers", "sections"):
        assert stats[kind].refused > 0.2 * stats[kind].cases, fuzz.format_reports([report])
    assert sum(s.cases for s in stats.values()) + sum(s.unchanged for s in stats.values()) == int(2400 * SCALE)


def test_runelf_loader_refuses_every_malformed_mutant(base, tiny):
    report = fuzz.fuzz_runelf_loader(base["runelf_elf"], tiny, int(800 * SCALE), SEED)
    _no_crashes(report)
    assert report.kinds["truncate"].accepted == 0, fuzz.format_reports([report])


def test_image_parser_refuses_every_malformed_mutant(base, tiny):
    report = fuzz.fuzz_image(base["image"], tiny, int(3000 * SCALE), SEED)
    _no_crashes(report)
    stats = report.kinds
    # Every changed byte of the raw image is caught by a checksum or a size check.
    for kind in ("bitflip", "truncate", "append", "overwrite"):
        assert stats[kind].accepted == 0, fuzz.format_reports([report])
    # Resealed mutants get past the checksums to the field checks; the manifest ones partly
    # survive them (a renamed program is still a valid image).
    assert stats["manifest"].refused > 0 and stats["manifest_text"].refused > 0
    # Every segment has its CRC-32; only the alignment padding between segments is not covered.
    assert stats["payload"].refused > 0.9 * stats["payload"].cases, fuzz.format_reports([report])


def test_seal_is_the_image_layout(base):
    """The fuzz's own sealing reproduces a toolchain-built image byte for byte."""
    text, payload = fuzz.unseal_image(base["image"])
    assert fuzz.seal_image(text, payload) == base["image"]
    assert FirmwareImage.from_bytes(fuzz.seal_image(text, payload)).programs


def test_mutations_replay_from_seed_and_case(base):
    tables = fuzz.elf_tables(base["tile_elf"])
    for kind in fuzz.ELF_KINDS:
        first = fuzz.mutate_elf(kind, base["tile_elf"], fuzz.case_rng(5, 17), tables)
        again = fuzz.mutate_elf(kind, base["tile_elf"], fuzz.case_rng(5, 17), tables)
        assert first == again
    for kind in fuzz.IMAGE_KINDS:
        assert fuzz.mutate_image(kind, base["image"], fuzz.case_rng(5, 3)) == \
            fuzz.mutate_image(kind, base["image"], fuzz.case_rng(5, 3))


# -- the malformed ELFs the fuzz first found, by hand ----------------------------------------------

def _section_headers(data: bytes) -> list:
    """(offset of the header, name, sh_type) of every section, read with struct."""
    shoff, = struct.unpack_from("<I", data, 32)
    shnum, shstrndx = struct.unpack_from("<HH", data, 48)
    str_off = struct.unpack_from("<I", data, shoff + shstrndx * 40 + 16)[0]
    out = []
    for i in range(shnum):
        at = shoff + i * 40
        name_off, sh_type = struct.unpack_from("<II", data, at)
        name = data[str_off + name_off:data.index(b"\0", str_off + name_off)].decode()
        out.append((at, name, sh_type))
    return out


def _retype_section(data: bytes, name: str, sh_type: int) -> bytes:
    out = bytearray(data)
    at = next(at for at, n, _ in _section_headers(data) if n == name)
    struct.pack_into("<I", out, at + 4, sh_type)
    return bytes(out)


@pytest.mark.parametrize("sh_type, what", [(1, "PROGBITS"), (3, "STRTAB"), (6, "DYNAMIC")])
def test_symtab_that_is_not_a_symbol_table_is_refused(base, tmp_path, tiny, sh_type, what):
    """A section header calling .symtab something else crashed both readers with AttributeError."""
    bad = _retype_section(base["tile_elf"], ".symtab", sh_type)
    with pytest.raises(ElfError, match=r"\.symtab\) has type %d; the symbol table must be a SHT_SYMTAB" % sh_type):
        read_elf(bad, "k.elf")
    path = tmp_path / "k.elf"
    path.write_bytes(_retype_section(base["runelf_elf"], ".symtab", sh_type))
    with pytest.raises(ElfImageError, match="SHT_SYMTAB"):
        load_elf(path, tiny)


def test_structure_refusals_name_the_broken_field(base):
    data = base["tile_elf"]
    shoff, = struct.unpack_from("<I", data, 32)
    phoff, = struct.unpack_from("<I", data, 28)
    load = next(i for i in range(struct.unpack_from("<H", data, 44)[0])
                if struct.unpack_from("<I", data, phoff + 32 * i)[0] == 1)  # the first PT_LOAD
    at = phoff + 32 * load + 4  # its p_offset
    cases = [
        (data[:shoff + 10], "section header table .* runs past the end of the file"),
        (data[:46] + struct.pack("<H", 32) + data[48:], "section header entries are 32 bytes"),
        (data[:42] + struct.pack("<H", 20) + data[44:], "program header entries are 20 bytes"),
        (data[:at] + struct.pack("<I", len(data)) + data[at + 4:],
         f"segment {load} at 0x0 has .* file bytes at offset {len(data):#x}, past the end of the file"),
        (data[:50] + struct.pack("<H", 0) + data[52:], "e_shstrndx 0 does not name a string table"),
    ]
    read_elf(data, "k.elf")
    for mutant, message in cases:
        with pytest.raises(ElfError, match=message):
            read_elf(mutant, "k.elf")
    # A corrupt attributes section is pyelftools' to find: it still comes back as an ElfError.
    at = next(at for at, n, _ in _section_headers(data) if n == ".riscv.attributes")
    off, = struct.unpack_from("<I", data, at + 16)
    corrupt = bytearray(data)
    corrupt[off] = 0
    with pytest.raises(FirmwareError, match="k.elf: malformed"):
        read_elf(bytes(corrupt), "k.elf")


def test_bench_entry_prints_the_table_and_writes_json(tmp_path, capsys):
    """``make bench-fuzz`` in miniature: the table per target and kind, and the JSON report."""
    import json

    assert fuzz.main(["--cases", "14", "--seed", "3", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fuzz seed 3, 14 cases per target" in out
    for target in ("elf (brisc)", "elf (runelf)", "elf (run-elf loader)", "image"):
        assert f"{target:<22} (all)" in out
    data = json.loads((tmp_path / "fuzz-tiny.json").read_text())
    assert data["seed"] == 3 and len(data["reports"]) == 4
    assert all(sum(k["cases"] + k["unchanged"] for k in r["kinds"].values()) == 14 for r in data["reports"])
