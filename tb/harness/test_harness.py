"""The Verilator build cache, the Verilog export and the FPGA flow."""

import json

import pytest

from tessera.hw.config import preset
from tessera.sim import harness
from tessera.sim.export import export_block, write_export
from tessera.sim.fpga import run_fpga, scan_wrapper


def test_unchanged_block_is_built_once_and_reused():
    cfg = preset("tiny")
    first = harness.build_model("stream_fifo", cfg, {"width": 8, "depth": 2})
    second = harness.build_model("stream_fifo", cfg, {"width": 8, "depth": 2})
    assert second.rebuilt is False, "an unchanged block was rebuilt"
    assert second.build_dir == first.build_dir and second.key == first.key
    assert (second.build_dir / "built.json").exists()


def test_source_key_tracks_config_params_and_waves():
    cfg = preset("tiny")
    base = harness.source_key("stream_fifo", cfg, {"width": 8, "depth": 2}, False)
    assert base == harness.source_key("stream_fifo", cfg, {"width": 8, "depth": 2}, False)
    assert base != harness.source_key("stream_fifo", cfg, {"width": 8, "depth": 4}, False)
    assert base != harness.source_key("stream_fifo", cfg, {"width": 8, "depth": 2}, True)
    other = preset("tiny", l1={"size_bytes": 32 * 1024})
    assert base != harness.source_key("stream_fifo", other, {"width": 8, "depth": 2}, False)


def test_changed_design_gets_a_new_model_key():
    cfg = preset("tiny")
    a = export_block("stream_fifo", cfg, {"width": 8, "depth": 2}).verilog
    b = export_block("stream_fifo", cfg, {"width": 8, "depth": 4}).verilog
    assert harness.model_key(a, False) != harness.model_key(b, False)
    assert harness.model_key(a, False) != harness.model_key(a, True), "waves must not reuse a non-trace build"


def test_export_writes_verilog_and_port_map(tmp_path):
    exported = export_block("stream_fifo", preset("tiny"), {"width": 12, "depth": 8})
    v, j, md = write_export(exported, tmp_path)
    assert "module tessera_stream_fifo" in v.read_text()
    ports = {p["name"]: p for p in json.loads(j.read_text())["ports"]}
    assert ports["i__payload"] == {"name": "i__payload", "direction": "input", "width": 12,
                                   "path": "i.payload"}
    assert ports["o__valid"]["direction"] == "output"
    assert "`level`" in md.read_text()


def test_unknown_block_is_refused_by_name():
    with pytest.raises(KeyError, match="unknown block 'nope'; known blocks: .*stream_fifo"):
        export_block("nope", preset("tiny"))


def test_scan_wrapper_reaches_every_port():
    exported = export_block("stream_fifo", preset("tiny"), {"width": 8, "depth": 2})
    text = scan_wrapper(exported)
    for port in exported.ports:
        if port["name"] not in ("clk", "rst"):
            assert f".{port['name']}(" in text


@pytest.mark.xdist_group("fpga")
def test_fpga_flow_reports_resources_and_fmax(tmp_path):
    report = run_fpga("stream_fifo", preset("tiny"), "ecp5-85f", {"width": 8, "depth": 4},
                      out_dir=tmp_path, progress=lambda *_: None)
    assert report.cells["ff"] > 8 and report.cells["lut4"] > 4
    assert report.fmax_mhz and report.fmax_mhz > 50
    saved = json.loads((tmp_path / "fpga.json").read_text())
    assert saved["cells"] == report.cells


def test_fpga_refuses_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'ice40'"):
        run_fpga("stream_fifo", preset("tiny"), "ice40")


def test_cli_refuses_unknown_block_and_bad_param(capsys):
    import re

    from tessera.sim.cli import main
    assert main(["verilog", "--block", "nope", "-o", "unused"]) == 2
    assert re.search("unknown block 'nope'; known blocks: .*stream_fifo", capsys.readouterr().err)
    assert main(["verilog", "--block", "stream_fifo", "--param", "width", "-o", "unused"]) == 2
    assert "--param expects name=value, got 'width'" in capsys.readouterr().err


def test_cli_exports_verilog_with_param(tmp_path, capsys):
    from tessera.sim.cli import main
    assert main(["verilog", "--block", "stream_fifo", "--param", "width=5", "-o", str(tmp_path)]) == 0
    ports = json.loads((tmp_path / "tessera_stream_fifo.ports.json").read_text())
    assert {p["name"]: p["width"] for p in ports["ports"]}["o__payload"] == 5
    assert ports["params"] == {"width": 5, "depth": 16}


def test_fpga_refuses_an_unknown_lut_mapper(tmp_path):
    with pytest.raises(ValueError, match="'abc10'"):
        run_fpga("stream_fifo", preset("tiny"), "ecp5-85f", mapper="abc10", out_dir=tmp_path)
