"""Stream FIFO: cocotb on Verilator, plus a fast Amaranth-simulator check."""

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.stream_fifo import StreamFifo
from tessera.sim.harness import run_cocotb


@pytest.mark.parametrize("width,depth", [(64, 16), (8, 2)])
def test_stream_fifo_cocotb(width, depth):
    run_cocotb("stream_fifo", "tb.fifo.cocotb_stream_fifo", config=preset("tiny"),
               params={"width": width, "depth": depth}, seed=width * 1000 + depth)


@pytest.mark.parametrize("width,depth", [(0, 4), (8, 3), (8, 1)])
def test_stream_fifo_rejects_bad_parameters(width, depth):
    with pytest.raises(ValueError, match=repr(width) if width == 0 else repr(depth)):
        StreamFifo(width, depth)


def test_stream_fifo_amaranth_sim_order():
    dut = StreamFifo(16, 4)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    got = []

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        sent = 0
        for _ in range(60):
            ctx.set(dut.i.valid, sent < 20)
            ctx.set(dut.i.payload, sent * 7)
            _, _, i_ready, o_valid, o_payload = await ctx.tick().sample(
                dut.i.ready, dut.o.valid, dut.o.payload)
            if sent < 20 and i_ready:
                sent += 1
            if o_valid:
                got.append(o_payload)

    sim.add_testbench(bench)
    sim.run()
    assert got == [i * 7 for i in range(20)]
