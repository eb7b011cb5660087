"""Port trace of the stream FIFO over resets, written to ``trace.json`` in the run directory.

Random inputs change at every falling edge for the whole run, resets
included (the first edge, at time 0, sees a valid word); every output
port is sampled in the read-only phase after each edge (rows: time in ns,
edge, outputs).  ``marks`` are the times (ns) the resets were called and returned.  The run resets the
FIFO at the start, lets traffic flow, resets it again in the middle of the
run, and lets traffic flow again.

``TESSERA_TRACE_CYCLES`` is the length of both resets (in rising edges);
``TESSERA_TRACE_MIDRUN`` picks how the middle one is made, so that two
models can be compared on the same schedule of the design's reset:

* ``reset``: :func:`~tessera.sim.cocotb_util.reset` at a falling edge, as a
  testbench does;
* ``late``: one cycle later, a reset one edge shorter (at least one edge):
  what a model with a registered reset makes of ``reset`` in the middle of a
  run, since the first edge after the call cannot reset its design.
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge
from cocotb.simtime import get_sim_time

from tessera.sim.cocotb_util import load_params, reset, seeded_rng, start_clock

OUTPUTS = ("i__ready", "o__valid", "o__payload", "level")
CYCLES_BEFORE, CYCLES_AFTER = 40, 40


async def _drive(dut, rng, width):
    while True:
        await FallingEdge(dut.clk)
        dut.i__valid.value = rng.random() < 0.6
        dut.i__payload.value = rng.getrandbits(width)
        dut.o__ready.value = rng.random() < 0.7


async def _sample(dut, edge, phase, trace):
    while True:
        await edge(dut.clk)
        await ReadOnly()
        trace.append([int(get_sim_time("ns")), phase,
                      *(int(getattr(dut, name).value) for name in OUTPUTS)])


@cocotb.test()
async def trace_over_resets(dut):
    params = load_params()
    rng = seeded_rng(dut, "reset-trace")
    start_clock(dut)
    # A word offered from the first edge on: an edge that does not reset the FIFO stores it.
    dut.i__valid.value = 1
    dut.i__payload.value = 0x5A
    dut.o__ready.value = 0
    trace = []
    samplers = [cocotb.start_soon(_sample(dut, RisingEdge, "rise", trace)),
                cocotb.start_soon(_sample(dut, FallingEdge, "fall", trace))]
    driver = cocotb.start_soon(_drive(dut, rng, params["width"]))
    cycles = int(os.environ.get("TESSERA_TRACE_CYCLES", "2"))
    await reset(dut, cycles)
    marks = {"after_first_reset": int(get_sim_time("ns"))}
    await ClockCycles(dut.clk, CYCLES_BEFORE)
    await FallingEdge(dut.clk)
    marks["midrun_call"] = int(get_sim_time("ns"))
    how = os.environ.get("TESSERA_TRACE_MIDRUN", "reset")
    if how == "reset":
        await reset(dut, cycles)
    elif how == "late":
        await FallingEdge(dut.clk)
        await reset(dut, max(cycles - 1, 1))
    else:
        raise ValueError(f"TESSERA_TRACE_MIDRUN must be 'reset' or 'late', got {how!r}")
    marks["after_midrun_reset"] = int(get_sim_time("ns"))
    await ClockCycles(dut.clk, CYCLES_AFTER)
    await FallingEdge(dut.clk)
    driver.cancel()
    for sampler in samplers:
        sampler.cancel()
    out = Path(os.environ.get("TESSERA_RUN_DIR", ".")) / "trace.json"
    out.write_text(json.dumps({"outputs": OUTPUTS, "marks": marks, "trace": trace}))
