"""The configuration object: presets, validation messages, serialisation, header."""

import re
import subprocess

import pytest

from tessera.hw.config import ConfigError, TesseraConfig, preset, preset_names
from tessera.sw.toolchain.header import address_map_header


@pytest.mark.parametrize("name", preset_names())
def test_preset_round_trips_through_json(name):
    cfg = preset(name)
    assert TesseraConfig.from_json(cfg.to_json()) == cfg
    assert cfg.fingerprint() == TesseraConfig.from_json(cfg.to_json()).fingerprint()


def test_presets_have_the_brief_proportions():
    tiny, tensix = preset("tiny"), preset("tensix")
    assert (tiny.noc.width, tiny.noc.height, tiny.noc.flit_width) == (3, 2, 64)
    assert len(tiny.nodes_of("tensix")) == 4 and len(tiny.nodes_of("dram")) == 1
    assert tensix.noc.flit_width == 256 and tensix.noc.topology == "torus"
    assert tensix.l1.size_bytes == 1 << 20 and tensix.l1.banks == 16 and tensix.l1.bank_width == 128
    assert [c.name for c in tensix.cores] == ["brisc", "ncrisc", "trisc0", "trisc1", "trisc2"]
    assert {c.name: c.reset_pc for c in tensix.cores} == {
        "brisc": 0x0, "trisc0": 0x6000, "trisc1": 0xA000, "trisc2": 0xE000, "ncrisc": 0x12000}
    assert tensix.engine.macs_per_cycle == 8 * 16 * 16 == 2048
    assert tensix.engine.tile_bytes("bfp8_b") == 1024 + 64


@pytest.mark.parametrize("overrides,message", [
    ({"l1": {"banks": 3}}, "l1.banks must be a power of two up to 64, got 3"),
    ({"l1": {"size_bytes": 1000}}, "got 1000"),
    ({"noc": {"flit_width": 48}}, "noc.flit_width must be one of 32, 64, 128, 256, 512, got 48"),
    ({"noc": {"topology": "ring"}}, "got 'ring'"),
    ({"noc": {"topology": "torus", "vcs_per_class": 1}}, "at least 2 on a torus"),
    ({"engine": {"mm_rows": 32}}, "exceeds a 16x16 face"),
    ({"engine": {"formats": ("float32", "int8")}}, "'int8'"),
    ({"dram": {"size_bytes": 12345}}, "got 12345"),
    ({"host_link": {"baud": 300}}, "host_link.baud must be an integer in 1200..50000000, got 300"),
    ({"host_link": {"frame_timeout_bytes": 1}}, "host_link.frame_timeout_bytes must be an integer in 2..65535, got 1"),
])
def test_bad_values_are_refused_and_quoted(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        preset("tiny", **overrides)


def test_host_link_clocks_per_bit():
    cfg = preset("tiny")
    assert cfg.host_link.clocks_per_bit(cfg.clock_mhz) == 434   # 115200 baud at 50 MHz
    fast = cfg.derive(host_link={"baud": 12_500_000})
    assert fast.host_link.clocks_per_bit(fast.clock_mhz) == 4
    too_fast = cfg.derive(host_link={"baud": 25_000_000})
    with pytest.raises(ConfigError, match=re.escape("host_link.baud 25000000 is too fast for a 50.0 MHz clock")):
        too_fast.host_link.clocks_per_bit(too_fast.clock_mhz)


def test_overlapping_firmware_regions_are_refused():
    cfg = preset("tiny")
    cores = list(cfg.cores)
    cores[1] = type(cores[1])(cores[1].name, cores[1].role, 0x800, 0x1000, 2048)
    with pytest.raises(ConfigError, match=r"firmware region 0x0..0x1000 overlaps core ncrisc at 0x800"):
        cfg.derive(cores=tuple(cores))


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown preset 'huge'; known presets: tiny, tensix"):
        preset("huge")


def test_grid_override_regenerates_placement():
    cfg = preset("tiny", noc={"width": 4, "height": 4, "topology": "torus", "vcs_per_class": 2})
    assert len(cfg.nodes) == 16
    assert cfg.host.x == 0 and cfg.host.y == 0
    assert cfg.node_at(3, 3).kind == "tensix"


@pytest.mark.parametrize("name", preset_names())
def test_generated_header_compiles_and_matches_config(tmp_path, name):
    cfg = preset(name)
    header = tmp_path / "tessera_config.h"
    header.write_text(address_map_header(cfg))
    probe = tmp_path / "probe.c"
    last = cfg.cores[-1]          # a core every preset has under its own name
    probe.write_text(
        '#include "tessera_config.h"\n'
        "_Static_assert(TESSERA_L1_SIZE == %du, \"l1\");\n"
        "_Static_assert(TESSERA_CORE_%s_RESET_PC == %du, \"pc\");\n"
        "_Static_assert(TESSERA_TILE_CTRL_SOFT_RESET == %du, \"soft reset\");\n"
        "int x;\n" % (cfg.l1.size_bytes, last.name.upper(), last.reset_pc,
                      cfg.mmio.region("tile_ctrl").address("soft_reset")))
    subprocess.run(["gcc", "-fsyntax-only", "-I", str(tmp_path), str(probe)], check=True)
