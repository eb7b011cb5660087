"""The regression summary (tessera.sim.summary) and the session progress of conftest.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tessera.sim import harness, summary

REPO = Path(__file__).resolve().parents[2]


def _record(block, pytest_test, cocotb_tests, passed=None, cycles=1000, waveform=None, rebuilt=False):
    return {"block": block, "module": f"tb.x.cocotb_{block}", "tests": len(cocotb_tests),
            "passed": len(cocotb_tests) if passed is None else passed,
            "failed": len(cocotb_tests) - (len(cocotb_tests) if passed is None else passed),
            "sim_cycles": cycles, "wall_seconds": 0.5, "rebuilt": rebuilt, "build_seconds": 7.0,
            "preset": "tiny", "pytest_test": pytest_test, "cocotb_tests": cocotb_tests,
            "waveform": waveform}


LEDGER = [
    _record("stream_fifo", "tb/fifo/test_stream_fifo.py::test_stream_fifo_cocotb[64-16]",
            ["random_traffic", "fills_to_capacity"], rebuilt=True),
    _record("stream_fifo", "tb/fifo/test_stream_fifo.py::test_stream_fifo_cocotb[8-2]",
            ["random_traffic", "fills_to_capacity"], waveform="/runs/a/dump.fst"),
    _record("tile", "tb/tile/test_tile.py::test_kernels",
            ["matmul_k_loop/k_tiles=2", "matmul_k_loop/k_tiles=3", "host_ports"], passed=2),
    _record("tile", None, ["host_ports"]),
]


@pytest.fixture
def build_root(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "BUILD_ROOT", tmp_path)
    monkeypatch.setattr(summary, "BUILD_ROOT", tmp_path)
    ledger = harness.ledger_path()
    ledger.parent.mkdir(parents=True)
    ledger.write_text("".join(json.dumps(r) + "\n" for r in LEDGER))
    return tmp_path


def test_rows_count_runs_and_cocotb_tests_per_block(build_root):
    rows = {r["block"]: r for r in summary.summarise()}
    fifo, tile = rows["stream_fifo"], rows["tile"]
    assert (fifo["runs"], fifo["tests"], fifo["passed"], fifo["builds"]) == (2, 4, 4, 1)
    assert (tile["runs"], tile["tests"], tile["passed"], tile["builds"]) == (2, 4, 3, 0)
    assert fifo["cocotb_tests"] == ["random_traffic", "fills_to_capacity"]
    assert fifo["waveforms"] == ["/runs/a/dump.fst"]
    assert tile["pytest_tests"] == ["tb/tile/test_tile.py::test_kernels", summary.OUTSIDE_PYTEST]


def test_checks_name_pytest_tests_and_cocotb_tests(build_root):
    text = summary.format_checks(summary.summarise())
    assert "pytest: tb/fifo/test_stream_fifo.py: test_stream_fifo_cocotb (x2)" in text
    assert "cocotb: random_traffic, fills_to_capacity" in text
    assert "matmul_k_loop (x2), host_ports" in text  # parametrized variants under one name
    assert all(len(line) <= summary.WIDTH for line in text.splitlines())


def test_pytest_counts_only_for_the_session_that_wrote_the_ledger(build_root):
    size = harness.ledger_path().stat().st_size
    session_file = build_root / "results" / "pytest.json"
    assert summary.pytest_session() is None
    session_file.write_text(json.dumps({"tests": 9, "passed": 8, "failed": 1, "skipped": 0,
                                        "ledger_start": 0, "ledger_end": size}))
    assert summary.pytest_session()["tests"] == 9
    session_file.write_text(json.dumps({"tests": 9, "ledger_start": 0, "ledger_end": size - 1}))
    assert summary.pytest_session() is None, "a ledger that grew after the session"
    session_file.write_text(json.dumps({"tests": 9, "ledger_start": 10, "ledger_end": size}))
    assert summary.pytest_session() is None, "a ledger with runs of earlier sessions"


def test_main_says_what_it_counts(build_root, capsys):
    size = harness.ledger_path().stat().st_size
    (build_root / "results" / "pytest.json").write_text(json.dumps(
        {"tests": 12, "passed": 11, "failed": 1, "skipped": 0, "ledger_start": 0, "ledger_end": size}))
    assert summary.main() == 1  # a cocotb test failed
    out = capsys.readouterr().out
    assert "4 cocotb runs on Verilator, 8 cocotb tests, per hardware block" in out
    assert "pytest: 12 tests (11 passed, 1 failed); 3 of them started the cocotb runs" in out
    total = next(line for line in out.splitlines() if line.startswith("TOTAL")).split()
    assert total[1:4] == ["4", "8", "7"]
    saved = json.loads((build_root / "results" / "summary.json").read_text())
    assert [r["block"] for r in saved] == ["stream_fifo", "tile"]


# --- conftest.py: progress lines in the main process ------------------------

@pytest.fixture(scope="module")
def root_conftest():
    spec = importlib.util.spec_from_file_location("tessera_root_conftest", REPO / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tests_are_grouped_by_folder(root_conftest):
    group = root_conftest.test_group
    assert group("tb/fifo/test_stream_fifo.py::test_x[8-2]") == "tb/fifo"
    assert group("tb/core/asm/test_y.py::t") == "tb/core"
    assert group("sw/test_z.py::t") == "sw"
    assert group("test_top.py::t") == "test_top.py"


class _Terminal:
    def __init__(self):
        self.lines = []
        self._tw = SimpleNamespace(width_of_current_line=0)

    def write(self, text):
        pass

    def write_line(self, line):
        self.lines.append(line)


def _report(nodeid, when, outcome="passed", duration=1.0):
    return SimpleNamespace(nodeid=nodeid, when=when, failed=outcome == "failed",
                           skipped=outcome == "skipped", duration=duration)


def test_a_line_per_folder_once_its_last_test_finished(build_root, root_conftest):
    terminal = _Terminal()
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: terminal))
    progress = root_conftest.SessionProgress(config)
    progress.ledger_start = 0
    fifo = ["tb/fifo/test_stream_fifo.py::test_stream_fifo_cocotb[64-16]",
            "tb/fifo/test_stream_fifo.py::test_stream_fifo_cocotb[8-2]"]
    progress.pytest_xdist_node_collection_finished(None, fifo + ["tb/config/test_config.py::t"])
    for when in ("setup", "call", "teardown"):
        progress.pytest_runtest_logreport(_report(fifo[0], when))
    assert terminal.lines == []
    progress.pytest_runtest_logreport(_report(fifo[1], "setup"))
    progress.pytest_runtest_logreport(_report(fifo[1], "call", "failed"))
    progress.pytest_runtest_logreport(_report(fifo[1], "teardown"))
    assert len(terminal.lines) == 1
    line = terminal.lines[0]
    assert line.startswith("[1/2 folders, ")
    assert "tb/fifo: 1 passed, 1 failed (6.0 s of test time)" in line
    assert "Verilator: 2 cocotb runs, 4 cocotb tests (stream_fifo)" in line
