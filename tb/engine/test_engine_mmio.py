"""EngineMmio on the Amaranth simulator: three interleaved cores' commands arrive intact and in
order per stream (also under random backpressure), status reads, err on misuse, offsets from cfg."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import MmioMap, MmioRegion, Register, preset
from tessera.hw.engine.mmio import STREAMS, EngineMmio

SEED = 20261121


@pytest.fixture(scope="module")
def tiny():
    return preset("tiny")


async def _bus(ctx, dut, offset, we, wdata=0, mask=0xF, base=0):
    """One bus transaction; returns (rdata, err, cycles stalled)."""
    ctx.set(dut.bus.req.valid, 1)
    ctx.set(dut.bus.req.payload, {"addr": base + offset, "we": we, "mask": mask, "wdata": wdata})
    stalled = 0
    while True:
        await ctx.delay(1e-9)
        if ctx.get(dut.bus.req.ready):
            break
        await ctx.tick()
        stalled += 1
    await ctx.tick()
    ctx.set(dut.bus.req.valid, 0)
    assert ctx.get(dut.bus.resp.valid)
    return ctx.get(dut.bus.resp.rdata), ctx.get(dut.bus.resp.err), stalled


def _run(dut, testbenches):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for tb in testbenches:
        sim.add_testbench(tb)
    sim.run()


def _commands(rng, n):
    return {s: [rng.getrandbits(64) for _ in range(n)] for s in STREAMS}


def _interleaved_writes(rng, cfg, commands):
    """Three 'cores' (one per stream) whose lo/hi writes interleave at random on one bus."""
    region = cfg.mmio.region("engine")
    pending = {s: [] for s in STREAMS}
    for s, cmds in commands.items():
        for c in cmds:
            pending[s] += [(region.offset(f"{s}_cmd_lo"), c & 0xFFFFFFFF),
                           (region.offset(f"{s}_cmd_hi"), c >> 32)]
    writes = []
    while any(pending.values()):
        s = rng.choice([k for k, v in pending.items() if v])
        writes.append(pending[s].pop(0))
    return writes


@pytest.mark.parametrize("backpressure", [0.0, 0.6], ids=["always_ready", "random_backpressure"])
def test_interleaved_commands_arrive_in_order(tiny, backpressure):
    rng = random.Random(SEED + int(backpressure * 10))
    dut = EngineMmio(tiny)
    commands = _commands(rng, 40)
    writes = _interleaved_writes(rng, tiny, commands)
    received = {s: [] for s in STREAMS}
    stalls = []

    async def cpu(ctx):
        for offset, value in writes:
            _, err, stalled = await _bus(ctx, dut, offset, 1, value, base=tiny.mmio.region("engine").base)
            assert not err, f"seed {SEED}: err on write to {offset:#x}"
            stalls.append(stalled)
            if rng.random() < 0.3:
                await ctx.tick()
        await ctx.tick().repeat(4)

    def sink(s, salt):
        port = getattr(dut, f"{s}_cmd")
        srng = random.Random(SEED * 7 + salt)

        async def testbench(ctx):
            while len(received[s]) < len(commands[s]):
                ready = srng.random() >= backpressure
                ctx.set(port.ready, ready)
                await ctx.delay(1e-9)
                if ready and ctx.get(port.valid):
                    received[s].append(ctx.get(port.payload))
                await ctx.tick()
            ctx.set(port.ready, 0)
        return testbench

    _run(dut, [cpu] + [sink(s, i) for i, s in enumerate(STREAMS)])
    for s in STREAMS:
        assert [hex(c) for c in received[s]] == [hex(c) for c in commands[s]], f"seed {SEED}: stream {s}"
    if backpressure:
        assert sum(stalls) > 0, "backpressure never stalled the bus"
    else:
        assert sum(stalls) == 0


def test_status_and_misuse(tiny):
    region = tiny.mmio.region("engine")
    dut = EngineMmio(tiny)
    used = {r.offset for r in region.registers}
    unmapped = [o for o in (0x1C, 0x20, 0x100, region.size - 4) if o not in used]

    async def tb(ctx):
        for busy, src, dst, ready in [(0b101, 0b10, 0b01, 0b011), (0b010, 0b01, 0b10, 0b100), (0, 0, 0, 0b111)]:
            ctx.set(dut.busy, busy)
            ctx.set(dut.src_valid, src)
            ctx.set(dut.dst_full, dst)
            for i, s in enumerate(STREAMS):
                ctx.set(getattr(dut, f"{s}_cmd").ready, (ready >> i) & 1)
            rdata, err, _ = await _bus(ctx, dut, region.offset("status"), 0)
            assert not err
            assert rdata == busy | src << 3 | dst << 5 | ready << 7
        # The address is decoded modulo the region: the full address works too.
        rdata, err, _ = await _bus(ctx, dut, region.offset("status"), 0, base=region.base)
        assert not err and rdata == 0b111 << 7
        # Writes to status (read-only) answer err and push nothing.
        _, err, _ = await _bus(ctx, dut, region.offset("status"), 1, 0xFFFFFFFF)
        assert err
        # Reads of write-only command registers answer err with 0.
        for s in STREAMS:
            for half in ("lo", "hi"):
                rdata, err, _ = await _bus(ctx, dut, region.offset(f"{s}_cmd_{half}"), 0)
                assert err and rdata == 0
        for off in unmapped:
            for we in (0, 1):
                rdata, err, stalled = await _bus(ctx, dut, off, we, 0x12345678)
                assert err and rdata == 0 and stalled == 0
        # Byte masks: the lo latch merges bytes, hi takes the masked bytes.
        for s in STREAMS:
            ctx.set(getattr(dut, f"{s}_cmd").ready, 1)
        await _bus(ctx, dut, region.offset("math_cmd_lo"), 1, 0x11223344)
        await _bus(ctx, dut, region.offset("math_cmd_lo"), 1, 0xAABBCCDD, mask=0b0101)
        port = dut.math_cmd
        ctx.set(dut.bus.req.valid, 1)
        ctx.set(dut.bus.req.payload, {"addr": region.offset("math_cmd_hi"), "we": 1, "mask": 0b1100,
                                      "wdata": 0x55667788})
        await ctx.delay(1e-9)
        assert ctx.get(port.valid) and ctx.get(port.payload) == 0x55660000_11BB33DD
        await ctx.tick()
        ctx.set(dut.bus.req.valid, 0)
        await ctx.delay(1e-9)
        assert not ctx.get(port.valid)

    _run(dut, [tb])


def test_offsets_come_from_the_config(tiny):
    """Move every register: the block follows the config."""
    moved = {"unpack_cmd_lo": 0x100, "unpack_cmd_hi": 0x204, "math_cmd_lo": 0x008, "math_cmd_hi": 0x30C,
             "pack_cmd_lo": 0x040, "pack_cmd_hi": 0x044, "status": 0xFFC}
    regions = tuple(MmioRegion(r.name, r.base, r.size, r.doc,
                               tuple(Register(n, o) for n, o in moved.items())) if r.name == "engine" else r
                    for r in tiny.mmio.regions)
    cfg = tiny.derive(mmio=MmioMap(regions))
    dut = EngineMmio(cfg)
    got = {s: [] for s in STREAMS}

    async def tb(ctx):
        for s in STREAMS:
            ctx.set(getattr(dut, f"{s}_cmd").ready, 1)
        for k, s in enumerate(STREAMS):
            await _bus(ctx, dut, moved[f"{s}_cmd_lo"], 1, 0x1000 + k)
            port = getattr(dut, f"{s}_cmd")
            ctx.set(dut.bus.req.valid, 1)
            ctx.set(dut.bus.req.payload, {"addr": moved[f"{s}_cmd_hi"], "we": 1, "mask": 0xF, "wdata": 0x2000 + k})
            await ctx.delay(1e-9)
            assert ctx.get(port.valid)
            got[s].append(ctx.get(port.payload))
            await ctx.tick()
            ctx.set(dut.bus.req.valid, 0)
            assert not ctx.get(dut.bus.resp.err)
        rdata, err, _ = await _bus(ctx, dut, 0xFFC, 0)
        assert not err and rdata == 0b111 << 7
        # The default offsets are now unmapped (0x00 is no longer a register).
        _, err, _ = await _bus(ctx, dut, 0x000, 1, 0)
        assert err

    _run(dut, [tb])
    assert got == {s: [(0x2000 + k) << 32 | (0x1000 + k)] for k, s in enumerate(STREAMS)}


def test_constructor_rejects_bad_configs(tiny):
    with pytest.raises(ValueError, match="'engine' mmio region"):
        EngineMmio(object())
    regions = tuple(MmioRegion(r.name, r.base, r.size, r.doc) if r.name == "engine" else r
                    for r in tiny.mmio.regions)
    with pytest.raises(ValueError, match="lacks register 'unpack_cmd_lo'"):
        EngineMmio(tiny.derive(mmio=MmioMap(regions)))
