"""cocotb side of run-elf: load the image, run to exit or the cycle limit, report.

The job comes as a JSON file named by TESSERA_RUNELF_JOB (written by
:mod:`sim.runelf.driver`); the result is written to the job's ``result``
path.  While the program runs Python only wakes up for console characters
(and for retires when a trace is asked for), so the simulation runs at
Verilator speed.
"""

import json
import os

import cocotb
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer

from tessera.sim.cocotb_util import CLOCK_PERIOD_NS, reset, start_clock


async def load_words(dut, words):
    """Write (addr, value) pairs through the host port, one per cycle."""
    for addr, value in words:
        await FallingEdge(dut.clk)
        dut.host_we.value = 1
        dut.host_addr.value = addr
        dut.host_wdata.value = value
    await FallingEdge(dut.clk)
    dut.host_we.value = 0


async def wait_ready(dut):
    """Wait for ``ready``, which rises the cycle after reset."""
    await ReadOnly()
    if not int(dut.ready.value):
        await RisingEdge(dut.ready)


async def read_words(dut, start, count):
    """Read ``count`` words from ``start`` through the host port (core held)."""
    out = []
    for i in range(count):
        await FallingEdge(dut.clk)
        dut.host_addr.value = start + 4 * i
        await RisingEdge(dut.clk)
        await ReadOnly()
        out.append(int(dut.host_rdata.value))
    return out


async def console_reader(dut, sink):
    seen = 0
    while True:
        await dut.console_count.value_change
        await ReadOnly()  # both registers settled
        count = int(dut.console_count.value)
        if count != seen:
            sink.append(int(dut.console_data.value))
            seen = count


async def trace_writer(dut, handle):
    while True:
        await FallingEdge(dut.clk)
        if int(dut.trace__valid.value):
            line = (f"{int(dut.trace__pc.value):08x} {int(dut.trace__insn.value):08x}")
            if int(dut.trace__trap.value):
                line += f" trap cause={int(dut.trace__cause.value)}"
            rd = int(dut.trace__rd.value)
            if rd:
                line += f" x{rd}={int(dut.trace__rd_wdata.value):08x}"
            wmask = int(dut.trace__mem_wmask.value)
            rmask = int(dut.trace__mem_rmask.value)
            if wmask:
                line += (f" store[{int(dut.trace__mem_addr.value):08x}]/{wmask:x}"
                         f"={int(dut.trace__mem_wdata.value):08x}")
            elif rmask:
                line += (f" load[{int(dut.trace__mem_addr.value):08x}]/{rmask:x}"
                         f"={int(dut.trace__mem_rdata.value):08x}")
            handle.write(line + "\n")


async def run_job(dut, job):
    start_clock(dut)
    dut.run.value = 0
    dut.host_we.value = 0
    dut.host_addr.value = 0
    dut.host_wdata.value = 0
    dut.stall.value = job.get("stall", 0)
    dut.tohost_addr.value = job["tohost"] if job.get("tohost") is not None else 0xFFFF_FFFF
    dut.reset_pc.value = job["entry"]
    await reset(dut)
    await wait_ready(dut)
    await load_words(dut, [tuple(p) for p in job["words"]])
    console = []
    cocotb.start_soon(console_reader(dut, console))
    trace_handle = open(job["trace"], "w") if job.get("trace") else None
    if trace_handle:
        cocotb.start_soon(trace_writer(dut, trace_handle))
    await FallingEdge(dut.clk)
    dut.run.value = 1
    max_cycles = int(job["max_cycles"])
    await First(RisingEdge(dut.done), Timer(max_cycles * CLOCK_PERIOD_NS, unit="ns"))
    await ReadOnly()
    done = bool(int(dut.done.value))
    result = {
        "done": done,
        "exit_code": int(dut.exit_code.value) if done else None,
        "cycles": int(dut.cycles.value),
        "instret": int(dut.instret.value),
        "last_pc": int(dut.last_pc.value),
    }
    await FallingEdge(dut.clk)
    dut.run.value = 0
    if trace_handle:
        trace_handle.close()
    result["console"] = bytes(console).decode("latin-1")
    sig = job.get("signature")
    if sig:
        begin, end = sig
        result["signature"] = await read_words(dut, begin, (end - begin) // 4)
    return result


@cocotb.test()
async def run_elf(dut):
    """Run the job named by TESSERA_RUNELF_JOB."""
    with open(os.environ["TESSERA_RUNELF_JOB"]) as handle:
        job = json.load(handle)
    result = await run_job(dut, job)
    with open(job["result"], "w") as handle:
        json.dump(result, handle)
