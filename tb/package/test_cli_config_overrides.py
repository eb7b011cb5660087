"""``--set KEY=VALUE``: configuration overrides on top of a preset for ``tessera config``,
``tessera verilog`` and ``tessera fpga``.

The derived configuration is compared with the one :meth:`TesseraConfig.derive` builds from the
same changes; refusals are one line naming the item; no tool runs here (``run_fpga`` is replaced
by a recorder), so the tests are fast.
"""

from __future__ import annotations

import json

import pytest

from tessera.hw.config import preset

from tb.cli_runner import run_cli


def config_json(argv, capsys) -> dict:
    status, out, err = run_cli(["config", *argv], capsys)
    assert status == 0, err
    return json.loads(out)


def test_overrides_match_derive(capsys):
    got = config_json(["--set", "engine.mm_rows=1", "--set", "engine.mm_inner=2", "--set", "engine.mm_cols=2",
                       "--set", "l1.bank_width=32", "--set", "engine.sfpu_lanes=4",
                       "--set", "clock_mhz=25"], capsys)
    want = preset("tiny").derive(engine={"mm_rows": 1, "mm_inner": 2, "mm_cols": 2, "sfpu_lanes": 4},
                                 l1={"bank_width": 32}, clock_mhz=25.0)
    assert got == want.to_dict()
    assert got["engine"]["mm_cols"] == 2 and got["l1"]["bank_width"] == 32 and got["clock_mhz"] == 25.0


def test_no_override_is_the_preset(capsys):
    assert config_json([], capsys) == preset("tiny").to_dict()


def test_a_smaller_grid_gets_its_default_placement(capsys):
    got = config_json(["--set", "noc.width=2", "--set", "noc.height=2"], capsys)
    kinds = {(n["x"], n["y"]): n["kind"] for n in got["nodes"]}
    assert kinds == {(0, 0): "host", (0, 1): "dram", (1, 0): "tensix", (1, 1): "tensix"}


def test_command_buffers_reshape_the_mmio_map(capsys):
    """The NIU's register region follows noc.niu_command_buffers (it is derived, not copied)."""
    two = preset("tiny", noc={"niu_command_buffers": 2})
    got = config_json(["--set", "noc.niu_command_buffers=2"], capsys)
    assert got["mmio"] == two.to_dict()["mmio"]
    assert got["mmio"] != preset("tiny").to_dict()["mmio"]


def test_hex_bool_and_list_values(capsys):
    got = config_json(["--set", "dram.size_bytes=0x20000", "--set", "engine.formats=float32,float16_b"], capsys)
    assert got["dram"]["size_bytes"] == 131072
    assert got["engine"]["formats"] == ["float32", "float16_b"]


REFUSED = [
    (["config", "--set", "engine.mm_col=2"], ("--set engine.mm_col=2", "unknown configuration key",
                                              "fields of engine:", "mm_cols")),
    (["config", "--set", "engin.mm_cols=2"], ("'engin.mm_cols'", "known sections:", "engine", "noc")),
    (["config", "--set", "cores.brisc=1"], ("'cores.brisc'", "known sections:")),
    (["config", "--set", "mmio.regions=1"], ("'mmio.regions'", "unknown configuration key")),
    (["config", "--set", "name=big"], ("'name'", "unknown configuration key")),
    (["config", "--set", "engine.mm_cols"], ("--set expects KEY=VALUE", "'engine.mm_cols'")),
    (["config", "--set", "=2"], ("--set expects KEY=VALUE", "'=2'")),
    (["config", "--set", "engine.mm_cols=two"], ("--set engine.mm_cols=two", "must be an integer", "'two'")),
    (["config", "--set", "clock_mhz=fast"], ("--set clock_mhz=fast", "must be a number", "'fast'")),
    (["config", "--set", "engine.mm_cols=3"], ("--set engine.mm_cols=3", "engine.mm_cols must be a power of two",
                                               "got 3")),
    (["config", "--set", "noc.width=1", "--set", "noc.height=1"], ("--set noc.width=1 noc.height=1",
                                                                    "tensix")),
    (["config", "--set", "l1.bank_width=8"], ("l1.bank_width must be one of", "got 8")),
    (["config", "--set", "noc.buffer_depth=2", "--set", "noc.buffer_depth=4"],
     ("--set noc.buffer_depth is given twice", "'2'", "'4'")),
    # Rules of a block, not of the configuration: refused before any export or tool run.
    (["verilog", "--block", "engine", "--set", "engine.mm_cols=2"],
     ("tessera verilog:", "--set engine.mm_cols=2", "block engine refuses it", "mm_inner == mm_cols")),
    (["fpga", "--block", "engine", "--set", "engine.mm_inner=2", "--set", "engine.mm_cols=2"],
     ("tessera fpga:", "block engine refuses it", "narrow l1.bank_width")),
]


@pytest.mark.parametrize("argv, parts", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_bad_overrides_are_one_line(argv, parts, capsys):
    status, _out, err = run_cli(argv, capsys)
    assert status == 2, err
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


def test_verilog_exports_the_derived_configuration(tmp_path, capsys):
    """The exported L1 has 32-bit read data with l1.bank_width=32 (64-bit in the preset)."""
    status, _out, err = run_cli(["verilog", "--block", "l1", "--set", "l1.bank_width=32",
                                 "-o", str(tmp_path)], capsys)
    assert status == 0, err
    ports = {p["name"]: p["width"] for p in json.loads((tmp_path / "tessera_l1.ports.json").read_text())["ports"]}
    assert ports["port__0__resp__rdata"] == 32


def test_fpga_reports_the_overrides_in_their_own_folder(tmp_path, capsys, monkeypatch):
    import tessera.sim.fpga as fpga

    calls = []

    def recorder(block_name, cfg, device, params, *, out_dir, overrides, **kwargs):
        calls.append((block_name, cfg, out_dir, overrides))
        raise fpga.FpgaToolError("recorded")

    monkeypatch.setattr(fpga, "run_fpga", recorder)
    for argv in ([], ["--set", "noc.buffer_depth=2"]):
        status, _out, err = run_cli(["fpga", "--block", "noc_router", "--no-place", "-o", str(tmp_path), *argv],
                                    capsys)
        assert status == 1 and "recorded" in err
    (_, plain_cfg, plain_dir, plain_over), (_, cfg, out_dir, overrides) = calls
    assert plain_cfg == preset("tiny") and plain_over == {}
    assert cfg == preset("tiny", noc={"buffer_depth": 2}) and overrides == {"noc.buffer_depth": "2"}
    assert plain_dir == tmp_path / "noc_router-tiny-ecp5-85f"
    assert out_dir == tmp_path / f"noc_router-tiny-ecp5-85f-{cfg.fingerprint()[:8]}"


def test_report_records_the_overrides():
    from tessera.sim.fpga import FpgaReport, format_report

    cells = {"lut4": 1, "ff": 1, "bram": 0, "dsp": 0, "lutram": 0, "carry": 0}
    report = FpgaReport("l1", "tiny", "ecp5-85f", {}, cells, {"ff": 1, "lut4": 1}, None, {}, {}, "x",
                        {"l1.bank_width": "32"})
    assert report.to_dict()["overrides"] == {"l1.bank_width": "32"}
    assert "overrides" in format_report(report) and "l1.bank_width=32" in format_report(report)
