"""tessera_engine.h: the C command encoders agree with hw/engine/commands.py bit for bit.

The presets carry the engine's command registers (hw/engine/mmio.py), so the
tiny preset has the engine API; a configuration derived with an engine region
that lacks the registers compiles the header to nothing.
"""

from __future__ import annotations

from tessera.sw.toolchain import FirmwareImage, ModelChip, ProgramSpec, build_image, compile_elf, load_plan
from tessera.sw.toolchain.engine_api import engine_registers_present
from tb.fw.emulator import run_tile_core

KERNEL = r"""
#include "tessera.h"
int main(void) {
    tessera_unpack_tile(0x5400u, TESSERA_ENG_FORMAT_FLOAT16_B, 1, 1);
    tessera_unpack_tile(0xfff0u, TESSERA_ENG_FORMAT_BFP8_B, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_ADD, TESSERA_ENG_FIDELITY_HIFI2, 1, 1, 3, 0, 0, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_SFPU, TESSERA_ENG_FIDELITY_HIFI4, 0, 0, 15, 0, 0,
                     TESSERA_ENG_SFPU_OP_MULS, 0xbfc00000u);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_REDUCE, TESSERA_ENG_FIDELITY_LOFI, 0, 1, 1,
                     TESSERA_ENG_REDUCE_DIM_COL, TESSERA_ENG_REDUCE_KIND_MAX, 0, 0);
    tessera_math_cmd(TESSERA_ENG_MATH_OP_COMMIT, 0, 0, 0, 0, 0, 0, 0, 0);
    tessera_pack_tile(2, 0x6000u, TESSERA_ENG_FORMAT_FLOAT32, 1);
    return (int)tessera_engine_status();
}
"""


def test_commands_match_the_engine_encoders(tmp_path, engine_cfg):
    from tessera.hw.engine.commands import encode_math, encode_pack, encode_unpack
    assert engine_registers_present(engine_cfg)
    core = next(c.name for c in engine_cfg.cores if c.role == "unpack")
    src = tmp_path / "eng.c"
    src.write_text(KERNEL)
    elf = compile_elf([src], core, engine_cfg, tmp_path / "eng.elf")
    image = build_image([ProgramSpec(core, [(1, 0)], elf)], engine_cfg)
    chip = ModelChip(engine_cfg)
    chip.apply(load_plan(image, engine_cfg))
    run = run_tile_core(chip, engine_cfg, 1, 0, core, FirmwareImage.from_bytes(image).programs[0].exit_addr)
    assert run.exit_code == 0
    engine = engine_cfg.mmio.region("engine")
    expected = [
        ("unpack", encode_unpack(0x5400, "float16_b", "b", push=True)),
        ("unpack", encode_unpack(0xFFF0, "bfp8_b", "a", push=False)),
        ("math", encode_math("add", fidelity="hifi2", acc=True, pop=True, dst_tile=3)),
        ("math", encode_math("sfpu", fidelity="hifi4", dst_tile=15, sfpu="muls", scalar=0xBFC00000)),
        ("math", encode_math("reduce", fidelity="lofi", pop=True, dst_tile=1, dim="col", kind="max")),
        ("math", encode_math("commit", fidelity="lofi")),
        ("pack", encode_pack(0x6000, "float32", dst_tile=2, release=True)),
    ]
    stores = [(a, v) for a, v, _size in run.mmio_log if engine.base <= a < engine.base + engine.size]
    want = []
    for stream, word in expected:
        want += [(engine.address(f"{stream}_cmd_lo"), word & 0xFFFFFFFF),
                 (engine.address(f"{stream}_cmd_hi"), word >> 32)]
    assert stores == want


def test_presets_have_the_engine_api(tiny):
    from tessera.hw.config import preset, preset_names
    for name in preset_names():
        cfg = preset(name)
        assert engine_registers_present(cfg), name
    assert engine_registers_present(tiny)


def test_config_without_engine_registers_compiles_no_engine_api(tmp_path, no_engine_cfg):
    assert not engine_registers_present(no_engine_cfg)
    src = tmp_path / "noeng.c"
    src.write_text('#include "tessera.h"\n#ifdef TESSERA_ENGINE_CMDS\n#error engine API present\n#endif\n'
                   "int main(void) { return 0; }\n")
    compile_elf([src], "trisc0", no_engine_cfg, tmp_path / "noeng.elf")


def test_tiny_compiles_the_engine_api(tmp_path, tiny):
    src = tmp_path / "eng.c"
    src.write_text('#include "tessera.h"\n#ifndef TESSERA_ENGINE_CMDS\n#error engine API missing\n#endif\n'
                   "int main(void) { return 0; }\n")
    compile_elf([src], "trisc0", tiny, tmp_path / "eng.elf")


def test_generated_header_has_the_engine_register_addresses(tiny):
    from tessera.sw.toolchain.header import address_map_header
    from tessera.sw.toolchain.engine_api import ENGINE_REGISTERS
    header = address_map_header(tiny)
    region = tiny.mmio.region("engine")
    assert f"#define TESSERA_ENGINE_BASE {region.base:#010x}u" in header
    for name in ENGINE_REGISTERS:
        assert f"#define TESSERA_ENGINE_{name.upper()} (TESSERA_ENGINE_BASE + {region.offset(name):#x}u)" in header
