"""cocotb tests of the stream FIFO against a Python deque reference."""

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from tessera.sim.cocotb_util import (StreamDriver, StreamMonitor, load_params, reset, seeded_rng,
                             start_clock)


async def _setup(dut):
    start_clock(dut)
    dut.i__valid.value = 0
    dut.o__ready.value = 0
    await reset(dut)


@cocotb.test()
async def random_traffic_with_backpressure(dut):
    """Random words, random injection gaps and random output stalls: order and content kept."""
    params = load_params()
    await _setup(dut)
    rng = seeded_rng(dut, "fifo-random")
    mask = (1 << params["width"]) - 1
    for idle, stall in ((0.0, 0.0), (0.3, 0.0), (0.0, 0.6), (0.5, 0.5)):
        words = [rng.getrandbits(params["width"]) & mask for _ in range(400)]
        driver = StreamDriver(dut, "i", rng, idle_prob=idle)
        monitor = StreamMonitor(dut, "o", rng, stall_prob=stall)
        send = cocotb.start_soon(driver.send(words))
        got = await monitor.collect(len(words))
        await send
        assert got == words, f"idle={idle} stall={stall}: first mismatch at " \
            f"{next(i for i, (a, b) in enumerate(zip(got, words)) if a != b)}"


@cocotb.test()
async def fills_to_capacity_and_reports_level(dut):
    """With the output stalled, accepts depth + 1 words, then deasserts ready; level tracks."""
    params = load_params()
    depth = params["depth"]
    await _setup(dut)
    accepted = 0
    for _ in range(4 * depth):
        await FallingEdge(dut.clk)
        dut.i__valid.value = 1
        dut.i__payload.value = accepted
        await ReadOnly()
        if int(dut.i__ready.value):
            accepted += 1
    await FallingEdge(dut.clk)
    dut.i__valid.value = 0
    await ClockCycles(dut.clk, 3)
    await ReadOnly()
    assert accepted == depth + 1, f"accepted {accepted}, capacity should be {depth + 1}"
    assert int(dut.level.value) == depth + 1, f"level {int(dut.level.value)}"
    await FallingEdge(dut.clk)
    monitor = StreamMonitor(dut, "o")
    got = await monitor.collect(depth + 1)
    assert got == list(range(depth + 1)), got
    await ClockCycles(dut.clk, 2)
    await ReadOnly()
    assert int(dut.level.value) == 0
    assert int(dut.o__valid.value) == 0, "valid with an empty FIFO"


@cocotb.test()
async def full_throughput_one_word_per_cycle(dut):
    """With no stalls on either side the FIFO moves one word every cycle."""
    await _setup(dut)
    n = 256
    words = list(range(n))
    driver = StreamDriver(dut, "i")
    monitor = StreamMonitor(dut, "o")
    start = cocotb.utils.get_sim_time("ns")
    send = cocotb.start_soon(driver.send(words))
    got = await monitor.collect(n)
    await send
    cycles = (cocotb.utils.get_sim_time("ns") - start) / 10
    assert got == words
    assert cycles <= n + 4, f"{n} words took {cycles} cycles"
