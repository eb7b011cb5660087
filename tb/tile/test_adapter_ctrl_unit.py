"""Amaranth-simulator tests of the core-bus adapter (with a real L1) and the tile control block."""

import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from tessera.hw.config import L1Config, preset
from tessera.hw.tile.l1 import L1
from tessera.hw.tile.l1_core_adapter import L1CoreAdapter
from tessera.hw.tile.tile_ctrl import TileCtrl
from tessera.hw.tile.waypoint import Waypoint
from tb.tile.bus_sim import bus_access


class AdapterTop(wiring.Component):
    """A data adapter and an instruction adapter sharing one L1 (two ports)."""

    def __init__(self, l1cfg):
        self.adapter = L1CoreAdapter(l1cfg, "data")
        self.fetch = L1CoreAdapter(l1cfg, "instruction")
        self.l1 = L1(l1cfg, 2)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.adapter, m.submodules.fetch, m.submodules.l1 = self.adapter, self.fetch, self.l1
        wiring.connect(m, self.adapter.l1, self.l1.port[0])
        wiring.connect(m, self.fetch.l1, self.l1.port[1])
        return m


@pytest.mark.parametrize("width", [32, 64, 128])
def test_adapter_random_word_accesses(width):
    l1cfg = L1Config(size_bytes=4096, banks=2, bank_width=width)
    top = AdapterTop(l1cfg)
    bus = top.adapter.bus
    rng = random.Random(width)
    ref = bytearray(l1cfg.size_bytes)

    async def bench(ctx):
        for _ in range(300):
            addr = rng.randrange(64) * 4
            if rng.random() < 0.05:
                addr = l1cfg.size_bytes + rng.randrange(1 << 20) * 4  # outside L1
            we = rng.random() < 0.5
            mask, wdata = rng.getrandbits(4), rng.getrandbits(32)
            rdata, err = await bus_access(ctx, bus, addr, we, mask, wdata)
            if addr >= l1cfg.size_bytes:
                assert err, f"access to {addr:#x} outside L1 not refused"
                continue
            assert not err
            old = int.from_bytes(ref[addr:addr + 4], "little")
            assert rdata == old, f"{addr:#x}: read {rdata:#x}, expected {old:#x}"
            if we:
                for i in range(4):
                    if mask >> i & 1:
                        ref[addr + i] = wdata >> (8 * i) & 0xFF

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_adapter_back_to_back_fetch_stream():
    """Sequential fetches on the instruction adapter issue every cycle and each answer lands one cycle later."""
    l1cfg = preset("tiny").l1
    top = AdapterTop(l1cfg)
    bus = top.fetch.bus
    got = []

    async def bench(ctx):
        for addr in range(0, 64, 4):  # fill through the data adapter with the word address
            await bus_access(ctx, top.adapter.bus, addr, 1, 0xF, addr * 0x01010101)
        _, err = await bus_access(ctx, bus, l1cfg.size_bytes)
        assert err, "fetch outside L1 not refused"
        ctx.set(bus.req.valid, 1)
        for cycle in range(18):
            ctx.set(bus.req.payload.addr, 4 * cycle)
            *_, ready, valid, rdata = await ctx.tick().sample(bus.req.ready, bus.resp.valid, bus.resp.rdata)
            assert ready or cycle >= 16
            if valid:
                got.append((cycle, rdata))
        ctx.set(bus.req.valid, 0)

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got[:16] == [(c + 1, 4 * c * 0x01010101) for c in range(16)]


def test_tile_ctrl_registers():
    cfg = preset("tiny")
    region = cfg.mmio.region("tile_ctrl")
    dut = TileCtrl(cfg)
    bus = dut.bus
    n = len(cfg.cores)

    def off(name, i=0):
        return region.address(name, i)

    async def bench(ctx):
        ctx.set(dut.tile_x, 2)
        ctx.set(dut.tile_y, 1)
        ctx.set(dut.console.ready, 1)
        assert await bus_access(ctx, bus, off("tile_id")) == (0x0102, 0)
        await bus_access(ctx, bus, off("tile_id"), 1, 0xF, 0xFFFF)  # read-only: ignored
        assert await bus_access(ctx, bus, off("tile_id")) == (0x0102, 0)
        # Cores start held in reset, with the configured reset PCs.
        assert await bus_access(ctx, bus, off("soft_reset")) == ((1 << n) - 1, 0)
        assert ctx.get(dut.core_reset) == (1 << n) - 1
        for i, core in enumerate(cfg.cores):
            assert ctx.get(dut.reset_pc[i]) == core.reset_pc
            assert await bus_access(ctx, bus, off("reset_pc", i)) == (core.reset_pc, 0)
        await bus_access(ctx, bus, off("reset_pc", 2), 1, 0b0011, 0xDEAD_BEEF)
        expected_pc = (cfg.cores[2].reset_pc & 0xFFFF_0000) | 0xBEEF
        assert ctx.get(dut.reset_pc[2]) == expected_pc
        await bus_access(ctx, bus, off("soft_reset"), 1, 0xF, 0b00101)
        assert ctx.get(dut.core_reset) == 0b00101
        # Scratch and mailboxes with byte masks.
        await bus_access(ctx, bus, off("scratch"), 1, 0xF, 0x1122_3344)
        await bus_access(ctx, bus, off("scratch"), 1, 0b1000, 0xAA00_0000)
        assert await bus_access(ctx, bus, off("scratch")) == (0xAA22_3344, 0)
        mailboxes = next(r.count for r in region.registers if r.name == "mailbox")
        for i in range(mailboxes):
            await bus_access(ctx, bus, off("mailbox", i), 1, 0xF, 0x100 + i)
        for i in range(mailboxes):
            assert await bus_access(ctx, bus, off("mailbox", i)) == (0x100 + i, 0)
        # Waypoints: a released core's code (the low byte) reads back and drives its
        # port; a held core's stays RUNNING, and holding a core clears it.
        for i in range(n):
            await bus_access(ctx, bus, off("waypoint", i), 1, 0xF, 0xABCD_0100 | (i + 2))
        for i in range(n):
            want = 0 if (0b00101 >> i) & 1 else i + 2
            assert await bus_access(ctx, bus, off("waypoint", i)) == (want, 0), f"waypoint {i}"
            assert ctx.get(dut.waypoint[i]) == Waypoint(want)
        await bus_access(ctx, bus, off("waypoint", 1), 1, 0b0010, 0x0000_0700)  # byte 0 unmasked
        assert ctx.get(dut.waypoint[1]) == Waypoint(3)
        await bus_access(ctx, bus, off("soft_reset"), 1, 0xF, 0b00111)
        assert ctx.get(dut.waypoint[1]) == Waypoint.RUNNING
        assert await bus_access(ctx, bus, off("waypoint", 1)) == (0, 0)
        # Cycle counter: increments, hi latched by reading lo.
        lo1, _ = await bus_access(ctx, bus, off("cycle_lo"))
        lo2, _ = await bus_access(ctx, bus, off("cycle_lo"))
        assert lo2 - lo1 == 2, (lo1, lo2)
        assert await bus_access(ctx, bus, off("cycle_hi")) == (0, 0)
        # Unmapped offset: error, reads zero.
        assert await bus_access(ctx, bus, region.base + 0x3FC) == (0, 1)
        # Console: a byte per write with mask bit 0, back-pressured by console.ready.
        bytes_seen = []
        ctx.set(dut.console.ready, 0)
        await bus_access(ctx, bus, off("console"), 1, 0x1, ord("h"))
        assert ctx.get(dut.console.valid) and ctx.get(dut.console.payload) == ord("h")
        ctx.set(bus.req.valid, 1)
        ctx.set(bus.req.payload.addr, off("console"))
        ctx.set(bus.req.payload.wdata, ord("i"))
        *_, ready = await ctx.tick().sample(bus.req.ready)
        assert not ready, "second console byte accepted while the first is stalled"
        ctx.set(dut.console.ready, 1)
        *_, ready, cv, cp = await ctx.tick().sample(bus.req.ready, dut.console.valid, dut.console.payload)
        assert ready and cv and cp == ord("h")
        ctx.set(bus.req.valid, 0)
        *_, cv, cp = await ctx.tick().sample(dut.console.valid, dut.console.payload)
        assert cv and cp == ord("i")
        await ctx.tick()
        assert not ctx.get(dut.console.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_tile_ctrl_cycle_hi_latch():
    """cycle_hi returns the high word of the instant cycle_lo was read, across carries."""
    cfg = preset("tiny")
    region = cfg.mmio.region("tile_ctrl")
    start = (7 << 32) - 6
    dut = TileCtrl(cfg, cycle_init=start)

    async def bench(ctx):
        previous = 0
        for _ in range(6):
            lo, _ = await bus_access(ctx, dut.bus, region.address("cycle_lo"))
            await ctx.tick().repeat(3)  # the latch holds while the counter runs on
            hi, _ = await bus_access(ctx, dut.bus, region.address("cycle_hi"))
            value = hi << 32 | lo
            assert previous < value < start + 100, hex(value)
            previous = value
        assert previous >> 32 == 7

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_adapter_rejects_bad_arguments():
    with pytest.raises(ValueError, match="'dbus'"):
        L1CoreAdapter(preset("tiny").l1, "dbus")
    with pytest.raises(TypeError, match="L1Config"):
        L1CoreAdapter(preset("tiny"))


def test_tile_ctrl_rejects_bad_config():
    with pytest.raises(ValueError, match="tile_ctrl"):
        TileCtrl(object())
    with pytest.raises(ValueError, match="-1"):
        TileCtrl(preset("tiny"), cycle_init=-1)
