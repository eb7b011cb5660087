"""The registered reset of the Verilator models (sim/reset_register.py) and the reset routine.

The transform on Verilog text (the top module's reads of ``rst`` become
``rst_q``, a flop fed by the port), and the stream FIFO simulated with and
without it: the port traces over a reset at the start and one in the middle
of a run are compared cycle by cycle.
"""

import json
import re

import pytest
from amaranth.back import verilog

from tessera.hw.config import preset
from tessera.sim.export import export_block
from tessera.sim.harness import CLOCK_PERIOD_NS, build_model, run_cocotb
from tessera.sim.reset_register import REGISTERED_RESET, register_reset
from tb.speed.test_sim_bench import Pair

FIFO = {"width": 8, "depth": 4}


def _module(text: str, name: str) -> str:
    start = text.index(f"module {name}(")
    return text[start:text.index("\nendmodule", start)]


def _reads_of(signal: str, text: str) -> list:
    """Lines reading ``signal`` as a plain identifier (not a port name ``.signal(``)."""
    return [line.strip() for line in text.split("\n")
            if re.search(rf"(?<![\w$.\\]){signal}(?![\w$])", line)]


def test_the_top_module_reads_its_reset_from_the_register():
    text = verilog.convert(Pair(4), name="pair", emit_src=False)
    out, rewritten = register_reset(text, "pair")
    assert rewritten
    top = _module(out, "pair")
    assert f"reg {REGISTERED_RESET} = 1'h1;" in top
    assert re.search(rf"always @\(posedge clk\)\n\s+{REGISTERED_RESET} <= rst;", top)
    # The port stays (the testbench writes it); the flop is its only reader.
    assert top.startswith("module pair(") and re.search(r"[(,] ?rst[,)]", top.split(";")[0])
    assert _reads_of("rst", top)[3:] == [f"{REGISTERED_RESET} <= rst;"], _reads_of("rst", top)
    # Both children are connected to the register; their own modules are untouched.
    assert top.count(f".rst({REGISTERED_RESET})") == 2
    assert out.replace(top, "") == text.replace(_module(text, "pair"), "")


def test_the_rewrite_leaves_other_identifiers_alone_and_refuses_a_name_clash():
    text = ("module top(clk, rst, a, y);\n  input clk;\n  wire clk;\n  input rst;\n  wire rst;\n"
            "  input a;\n  wire a;\n  output y;\n  reg y = 1'h0;\n  reg \\rst$3 ;\n"
            "  wire \\u.rst ;\n  (* note = \"rst\" *)\n  wire rst_n;\n"
            "  always @(posedge clk) y <= rst ? 1'h0 : a | \\rst$3  | \\u.rst ;\n"
            "  child u (\n    .rst(rst),\n    .rst_n(rst_n)\n  );\nendmodule\n")
    out, rewritten = register_reset(text, "top")
    assert rewritten
    assert "y <= rst_q ? 1'h0 : a | \\rst$3  | \\u.rst ;" in out
    assert ".rst(rst_q)," in out and ".rst_n(rst_n)" in out and '(* note = "rst" *)' in out
    with pytest.raises(ValueError, match="already has a signal named 'rst_q'"):
        register_reset(text.replace("rst_n", "rst_q"), "top")
    with pytest.raises(ValueError, match="no module 'other'"):
        register_reset(text, "other")


def test_a_design_without_a_reset_is_left_as_it_is():
    text = "module top(clk, a, y);\n  input clk;\n  input a;\n  output y;\n  assign y = a;\nendmodule\n"
    assert register_reset(text, "top") == (text, False)
    unused = text.replace("(clk, a, y);\n", "(clk, rst, a, y);\n  input rst;\n  wire rst;\n")
    assert register_reset(unused, "top") == (unused, False)


def test_models_are_built_with_the_register_by_default():
    model = build_model("stream_fifo", preset("tiny"), FIFO)
    plain = build_model("stream_fifo", preset("tiny"), FIFO, registered_reset=False)
    assert model.registered_reset and not plain.registered_reset and model.key != plain.key
    built = (model.build_dir / "tessera_stream_fifo.v").read_text()
    assert f"reg {REGISTERED_RESET} = 1'h1;" in built
    assert f'public_flat_rd -module "tessera_stream_fifo" -var "{REGISTERED_RESET}"' in \
        (model.build_dir / "ports.vlt").read_text()
    assert (plain.build_dir / "tessera_stream_fifo.v").read_text() == \
        export_block("stream_fifo", preset("tiny"), FIFO).verilog
    assert json.loads((model.build_dir / "built.json").read_text())["registered_reset"] is True


def _trace(registered: bool, cycles: int, midrun: str) -> dict:
    result = run_cocotb("stream_fifo", "tb.speed.cocotb_reset_trace", config=preset("tiny"),
                        params=FIFO, seed=11, registered_reset=registered,
                        env={"TESSERA_TRACE_CYCLES": str(cycles), "TESSERA_TRACE_MIDRUN": midrun})
    assert result.model.registered_reset is registered
    return json.loads((result.run_dir / "trace.json").read_text())


def _first_difference(a: list, b: list):
    return next(((x, y) for x, y in zip(a, b) if x != y), None)


@pytest.mark.parametrize("cycles", [2, 1, 3])
def test_a_registered_reset_simulates_the_same_port_traces(cycles):
    registered = _trace(True, cycles, "reset")
    # The same reset schedule of the design: the registered model's middle reset starts one
    # edge after the call (that edge is a normal one), so the plain model resets one cycle later.
    plain = _trace(False, cycles, "late")
    assert registered["marks"] == plain["marks"]
    assert len(registered["trace"]) == len(plain["trace"]) > 2 * 80
    assert registered["trace"] == plain["trace"], _first_difference(registered["trace"], plain["trace"])
    marks = registered["marks"]
    # The clock starts high: the first reset ends at the falling edge after rising edges
    # 0, 10, ... ns; in the middle of a run the reset returns max(cycles, 2) cycles after the call.
    assert marks["after_first_reset"] == (cycles - 1) * CLOCK_PERIOD_NS + CLOCK_PERIOD_NS // 2
    assert marks["after_midrun_reset"] - marks["midrun_call"] == max(cycles, 2) * CLOCK_PERIOD_NS
    # The reset at the start is exact: the same as the plain model's reset routine; in the
    # middle of the run, everything before the call and after the reset is the same too.
    if cycles > 1:
        same_call = _trace(False, cycles, "reset")
        assert same_call["marks"] == marks
        before = [row for row in registered["trace"] if row[0] <= marks["midrun_call"]]
        assert before == [row for row in same_call["trace"] if row[0] <= marks["midrun_call"]]
        # After the reset the FIFO's registers are the same; its storage is not reset, and the
        # extra normal edge may have written a word there, seen on o__payload while not valid.
        def after(trace):
            return [row[:4] + [row[4] if row[3] else None] + row[5:]
                    for row in trace if row[0] > marks["after_midrun_reset"]]
        assert after(registered["trace"]) == after(same_call["trace"])
        assert registered["trace"] != same_call["trace"], "the middle reset should differ"
