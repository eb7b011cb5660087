"""Image format and loader: round trips (ELF -> image -> NoC writes -> model memory == ELF segments)."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib

import pytest
from elftools.elf.elffile import ELFFile

from tessera.sw.toolchain import ModelChip, ProgramSpec, build_image, compile_elf, load_plan
from tessera.sw.toolchain.image import HEADER_BYTES, MAGIC, FirmwareImage
from tessera.sw.toolchain.loader import PHASES
from tb.fw.emulator import run_tile_core


def _elf_segments(path):
    """(paddr, file bytes, entry) read straight from the ELF with pyelftools."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return [(s["p_paddr"], s.data()) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"
                and s["p_filesz"]], elf.header["e_entry"]


def _programs(built):
    return [
        ProgramSpec("brisc", [(1, 0), (2, 1)], built["sum_brisc"], {(1, 0): [3, 10, 20, 30], (2, 1): [2, 7, 8]}),
        ProgramSpec("trisc1", [(1, 0)], built["sum_trisc1"], [1, 0xFFFFFFFF]),
        ProgramSpec("ncrisc", [(2, 1)], built["sum_ncrisc"]),
    ]


def test_round_trip_bytes_equal_elf_segments(built, tiny):
    image = build_image(_programs(built), tiny)
    plan = load_plan(image, tiny)
    chip = ModelChip(tiny, fill=0xA5)
    chip.apply(plan)
    placed = {((1, 0), "brisc"): "sum_brisc", ((2, 1), "brisc"): "sum_brisc",
              ((1, 0), "trisc1"): "sum_trisc1", ((2, 1), "ncrisc"): "sum_ncrisc"}
    for (tile, core), elf_name in placed.items():
        segments, entry = _elf_segments(built[elf_name])
        assert segments
        for addr, data in segments:
            assert chip.read(*tile, addr, len(data)) == data
        assert chip.register(*tile, "tile_ctrl", "reset_pc", tiny.core_index(core)) == entry
    # Nothing else in L1 was touched except the runtime-argument areas.
    written = set()
    for (tile, core), elf_name in placed.items():
        for addr, data in _elf_segments(built[elf_name])[0]:
            written |= {(tile, a) for a in range(addr, addr + len(data))}
    from tessera.sw.toolchain import target_for
    for (tile, core) in placed:
        area = target_for(core, tiny).runtime_args
        written |= {(tile, a) for a in range(area.base, area.end)}
    for tile, l1 in chip.l1.items():
        stray = [a for a, b in enumerate(l1) if b != 0xA5 and (tile, a) not in written]
        assert not stray, f"tile {tile}: bytes written outside segments and args: {stray[:8]}"


def test_plan_order_chunks_and_reset_words(built, tiny):
    plan = load_plan(build_image(_programs(built), tiny), tiny)
    phases = [w.phase for w in plan]
    assert phases == sorted(phases, key=PHASES.index), "phases out of order"
    ctrl = tiny.mmio.region("tile_ctrl")
    all_cores = (1 << len(tiny.cores)) - 1
    holds = [w for w in plan if w.phase == "hold"]
    releases = {(w.x, w.y): int.from_bytes(w.data, "little") for w in plan if w.phase == "release"}
    assert {(w.x, w.y) for w in holds} == {(1, 0), (2, 1)}
    assert all(w.addr == ctrl.address("soft_reset") and int.from_bytes(w.data, "little") == all_cores
               for w in holds)
    idx = tiny.core_index
    assert releases[(1, 0)] == all_cores & ~((1 << idx("brisc")) | (1 << idx("trisc1")))
    assert releases[(2, 1)] == all_cores & ~((1 << idx("brisc")) | (1 << idx("ncrisc")))
    assert all(0 < len(w.data) <= tiny.noc.max_payload_bytes for w in plan)
    assert any(len(w.data) == tiny.noc.max_payload_bytes for w in plan if w.phase == "segment")


def test_runtime_args_per_tile_zero_filled(built, tiny):
    chip = ModelChip(tiny, fill=0xEE)
    chip.apply(load_plan(build_image(_programs(built), tiny), tiny))
    from tessera.sw.toolchain import target_for
    area = target_for("brisc", tiny).runtime_args
    words = struct.unpack(f"<{area.size // 4}I", chip.read(1, 0, area.base, area.size))
    assert words[:4] == (3, 10, 20, 30) and not any(words[4:])
    words = struct.unpack(f"<{area.size // 4}I", chip.read(2, 1, area.base, area.size))
    assert words[:3] == (2, 7, 8) and not any(words[3:])


def test_loaded_cores_run_from_the_model_memory(built, tiny):
    """What the plan wrote runs: each core reads its args, prints, writes its mailbox and exits."""
    image = FirmwareImage.from_bytes(build_image(_programs(built), tiny))
    chip = ModelChip(tiny, fill=0xA5)
    chip.apply(load_plan(image, tiny))
    expected = {((1, 0), "brisc"): 60, ((2, 1), "brisc"): 15, ((1, 0), "trisc1"): 0xFFFFFFFF,
                ((2, 1), "ncrisc"): 0}
    mailbox = tiny.mmio.region("tile_ctrl").address("mailbox")
    for prog in image.programs:
        total = expected[((prog.x, prog.y), prog.core)]
        run = run_tile_core(chip, tiny, prog.x, prog.y, prog.core, prog.exit_addr)
        assert run.exit_code == total & 0x7F
        assert run.mmio_writes[mailbox + 4 * prog.core_index] == total
        assert f"({prog.core}) on tile ({prog.x},{prog.y})" in run.console
        assert f"sum {total}, calls 1" in run.console


def test_manifest_is_plain_json_at_header_offsets(built, tiny):
    data = build_image(_programs(built), tiny)
    magic, version, header_bytes, flags, m_off, m_len, p_off, p_len, total, crc = \
        struct.unpack_from("<8sHHIIIIIII", data)
    assert (magic, version, header_bytes, flags, m_off) == (MAGIC, 1, HEADER_BYTES, 0, HEADER_BYTES)
    assert total == len(data) and p_off % 16 == 0 and p_off + p_len + 32 == total
    assert crc == zlib.crc32(data[:36])
    assert data[-32:] == hashlib.sha256(data[:-32]).digest()
    manifest = json.loads(data[m_off:m_off + m_len])
    assert manifest["config"] == {"name": "tiny", "fingerprint": tiny.fingerprint()}
    progs = {(p["tile"]["x"], p["tile"]["y"], p["core"]): p for p in manifest["programs"]}
    assert set(progs) == {(1, 0, "brisc"), (2, 1, "brisc"), (1, 0, "trisc1"), (2, 1, "ncrisc")}
    brisc = progs[(1, 0, "brisc")]
    assert brisc["runtime_args"]["values"] == [3, 10, 20, 30]
    for seg in brisc["segments"]:
        blob = data[p_off + seg["payload_offset"]:p_off + seg["payload_offset"] + seg["size"]]
        assert zlib.crc32(blob) == seg["crc32"] and seg["memory"] == "l1"
    # Programs on several tiles share their payload.
    assert progs[(1, 0, "brisc")]["segments"] == progs[(2, 1, "brisc")]["segments"]
    assert build_image(_programs(built), tiny) == data, "image bytes are not reproducible"


def test_tensix_preset_round_trip(tmp_path, tensix):
    """Big payloads (8 KiB packets) and the Tensix reset PCs."""
    src = tmp_path / "big.c"
    src.write_text('#include "tessera.h"\nconst unsigned table[3000] = {1, 2, 3};\n'
                   "int main(void) { return (int)table[get_arg_val(0)]; }\n")
    tiles = [(n.x, n.y) for n in tensix.nodes_of("tensix")][:3]
    elfs = {core: compile_elf([src], core, tensix, tmp_path / f"{core}.elf") for core in ("brisc", "ncrisc")}
    image = build_image([ProgramSpec(core, tiles, elf, [2]) for core, elf in elfs.items()], tensix)
    plan = load_plan(image, tensix)
    assert max(len(w.data) for w in plan) == tensix.noc.max_payload_bytes
    chip = ModelChip(tensix)
    chip.apply(plan)
    for core, elf in elfs.items():
        segments, entry = _elf_segments(elf)
        assert entry == tensix.core(core).reset_pc
        for tile in tiles:
            for addr, data in segments:
                assert chip.read(*tile, addr, len(data)) == data


def test_async_loader_issues_the_plan(built, tiny):
    import asyncio

    from tessera.sw.toolchain.loader import load_image_async
    image = build_image(_programs(built)[:1], tiny)
    issued = []

    async def noc_write(x, y, addr, data):
        issued.append((x, y, addr, data))

    plan = asyncio.run(load_image_async(image, tiny, noc_write))
    assert issued == [(w.x, w.y, w.addr, w.data) for w in plan]


def test_model_chip_refuses_stray_writes(tiny):
    chip = ModelChip(tiny)
    with pytest.raises(ValueError, match="hits neither L1"):
        chip.write(1, 0, tiny.local_mem_base, b"\0\0\0\0")
    with pytest.raises(ValueError, match="not a Tensix tile"):
        chip.write(0, 0, 0, b"\0")
