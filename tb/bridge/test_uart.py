"""UartRx / UartTx in the Amaranth simulator against the bit-level model of tb/bridge/uart_model.py."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from tessera.hw.chip.uart import UartRx, UartTx, uart_divisor
from tessera.hw.config import preset
from tb.bridge.uart_model import LineDecoder, drive_bytes


@pytest.mark.parametrize("divisor,seed", [(4, 1), (5, 2), (7, 3), (16, 4)])
def test_rx_receives_random_bytes_and_counts_a_bad_stop_bit(divisor, seed):
    print(f"seed {seed}")
    rng = random.Random(seed)
    data = [rng.randrange(256) for _ in range(60)]
    gaps = [rng.choice([0, 0, 1, 3, divisor * 3]) for _ in data]
    bad = {17, 41}
    dut = UartRx(divisor=divisor)
    got, errors = [], []
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        while True:
            _, _, valid, payload, error = await ctx.tick().sample(dut.o.valid, dut.o.payload, dut.framing_error)
            if valid:
                got.append(payload)
            if error:
                errors.append(len(got))

    async def bench(ctx):
        await drive_bytes(ctx, dut.rx, data, divisor, gaps=gaps, bad_stop=bad)
        await ctx.tick().repeat(3 * divisor)
        assert ctx.get(dut.framing_errors) == len(bad)

    sim.add_testbench(sink, background=True)
    sim.add_testbench(bench)
    sim.run()
    want = [b for i, b in enumerate(data) if i not in bad]
    assert got == want, f"seed {seed}: received {got[:8]}..., sent {want[:8]}..."
    # Each error is flagged where the dropped byte would have been.
    assert errors == sorted(i - sum(1 for j in bad if j < i) for i in bad), f"seed {seed}: errors at {errors}"


def test_rx_holds_an_unread_byte_and_ignores_a_glitch():
    divisor = 8
    dut = UartRx(divisor=divisor)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        ctx.set(dut.o.ready, 0)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(4)
        ctx.set(dut.rx, 0)              # a low pulse shorter than half a bit: no start bit
        await ctx.tick().repeat(2)
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(3 * divisor)
        assert not ctx.get(dut.o.valid)
        await drive_bytes(ctx, dut.rx, [0xA5, 0x3C], divisor)
        await ctx.tick().repeat(divisor)
        assert ctx.get(dut.o.valid) and ctx.get(dut.o.payload) == 0xA5, "the first byte is kept until read"
        ctx.set(dut.o.ready, 1)
        await ctx.tick()
        ctx.set(dut.o.ready, 0)
        await ctx.tick()
        assert not ctx.get(dut.o.valid), "the second byte arrived while the first was unread: dropped"
        assert ctx.get(dut.framing_errors) == 0

    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("divisor,seed", [(4, 11), (6, 12), (13, 13)])
def test_tx_sends_random_bytes_with_exact_bit_times(divisor, seed):
    print(f"seed {seed}")
    rng = random.Random(seed)
    data = [rng.randrange(256) for _ in range(40)]
    dut = UartTx(divisor=divisor)
    line = LineDecoder(dut.tx, divisor)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        assert ctx.get(dut.tx) == 1, "the line idles high"
        for value in data:
            if rng.random() < 0.3:
                await ctx.tick().repeat(rng.randrange(1, 3 * divisor))
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, value)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
        await ctx.tick().repeat(11 * divisor)

    sim.add_testbench(line.process, background=True)
    sim.add_testbench(bench)
    sim.run()
    assert not line.errors, f"seed {seed}: {line.errors[:3]}"
    assert line.data == data, f"seed {seed}"


def test_tx_to_rx_back_to_back():
    """Bytes offered without a gap: the characters follow each other and the receiver takes each."""
    divisor = 4
    m = Module()
    m.submodules.tx = tx = UartTx(divisor=divisor)
    m.submodules.rx = rx = UartRx(divisor=divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    data = list(range(0, 256, 5))
    got = []
    sim = Simulator(m)
    sim.add_clock(1e-8)

    async def sink(ctx):
        ctx.set(rx.o.ready, 1)
        while True:
            _, _, valid, payload = await ctx.tick().sample(rx.o.valid, rx.o.payload)
            if valid:
                got.append(payload)

    async def bench(ctx):
        ctx.set(tx.i.valid, 1)
        for value in data:
            ctx.set(tx.i.payload, value)
            await ctx.tick().until(tx.i.ready)
        ctx.set(tx.i.valid, 0)
        await ctx.tick().repeat(12 * divisor)

    sim.add_testbench(sink, background=True)
    sim.add_testbench(bench)
    sim.run()
    assert got == data


def test_divisor_comes_from_the_host_link_or_is_checked():
    cfg = preset("tiny")
    assert UartRx(cfg).divisor == cfg.host_link.clocks_per_bit(cfg.clock_mhz) == 434
    assert UartTx(cfg, divisor=9).divisor == 9
    for bad in (3, 0, 4.0, True, "8", 1 << 20):
        with pytest.raises(ValueError, match="divisor .* got " + repr(bad).replace("(", r"\(").replace(")", r"\)")):
            uart_divisor(divisor=bad)
    with pytest.raises(TypeError, match="TesseraConfig or an explicit divisor"):
        UartTx()
