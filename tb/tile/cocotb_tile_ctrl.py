"""cocotb tests of the tile control registers on Verilator."""

from __future__ import annotations

import cocotb
from cocotb.utils import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from amaranth.lib import data

from tessera.hw.core.bus import DataRequest
from tessera.sim.cocotb_util import CLOCK_PERIOD_NS, load_config, reset, seeded_rng, start_clock

_FIELDS = dict(data.Layout.cast(DataRequest))


def pack(addr, we, mask, wdata):
    value = 0
    for name, v in (("addr", addr), ("we", we), ("mask", mask), ("wdata", wdata)):
        value |= v << _FIELDS[name].offset
    return value


class RegBus:
    """A blocking requester on ``bus``: one access at a time, response checked one cycle later."""

    def __init__(self, dut):
        self.dut = dut
        dut.bus__req__valid.value = 0

    async def access(self, addr, we=0, mask=0xF, wdata=0, max_wait=200):
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.bus__req__valid.value = 1
        dut.bus__req__payload.value = pack(addr, we, mask, wdata)
        for _ in range(max_wait):
            await ReadOnly()
            if int(dut.bus__req__ready.value):
                self.accept_ns = get_sim_time("ns")
                break
            await FallingEdge(dut.clk)
        else:
            raise AssertionError(f"access to {addr:#x} not accepted in {max_wait} cycles")
        await FallingEdge(dut.clk)
        dut.bus__req__valid.value = 0
        await ReadOnly()
        assert int(dut.bus__resp__valid.value), f"no response for {addr:#x}"
        return int(dut.bus__resp__rdata.value), int(dut.bus__resp__err.value)

    async def read(self, addr):
        rdata, err = await self.access(addr)
        assert not err, f"read of {addr:#x} refused"
        return rdata

    async def write(self, addr, value, mask=0xF):
        _, err = await self.access(addr, 1, mask, value)
        assert not err, f"write of {addr:#x} refused"


async def setup(dut, x=2, y=1):
    cfg = load_config()
    start_clock(dut)
    dut.tile_x.value = x
    dut.tile_y.value = y
    dut.console__ready.value = 1
    bus = RegBus(dut)
    await reset(dut)
    return cfg, cfg.mmio.region("tile_ctrl"), bus


@cocotb.test()
async def reset_values_and_identity(dut):
    cfg, region, bus = await setup(dut, x=2, y=1)
    n = len(cfg.cores)
    assert await bus.read(region.address("tile_id")) == 2 | (1 << 8)
    assert await bus.read(region.address("soft_reset")) == (1 << n) - 1
    assert int(dut.core_reset.value) == (1 << n) - 1, "cores must start held in reset"
    for i, core in enumerate(cfg.cores):
        assert await bus.read(region.address("reset_pc", i)) == core.reset_pc
        assert int(getattr(dut, f"reset_pc__{i}").value) == core.reset_pc
    assert await bus.read(region.address("scratch")) == 0


@cocotb.test()
async def random_register_writes_against_model(dut):
    """Random masked writes and reads of every RW register, checked against a dict model and the outputs."""
    cfg, region, bus = await setup(dut)
    rng = seeded_rng(dut, "tile-ctrl")
    n = len(cfg.cores)
    model = {region.address("soft_reset"): (1 << n) - 1, region.address("scratch"): 0}
    widths = {region.address("soft_reset"): n}
    for i, core in enumerate(cfg.cores):
        model[region.address("reset_pc", i)] = core.reset_pc
    mailbox = next(r for r in region.registers if r.name == "mailbox")
    for i in range(mailbox.count):
        model[region.address("mailbox", i)] = 0
    # Earlier tests may have changed registers: start from a known state.
    for addr, value in model.items():
        await bus.write(addr, value)
    for _ in range(400):
        addr = rng.choice(list(model))
        if rng.random() < 0.6:
            mask, value = rng.getrandbits(4), rng.getrandbits(32)
            await bus.write(addr, value, mask)
            bytes_ = [(value if mask >> b & 1 else model[addr]) >> (8 * b) & 0xFF for b in range(4)]
            model[addr] = int.from_bytes(bytes(bytes_), "little") & ((1 << widths.get(addr, 32)) - 1)
        else:
            assert await bus.read(addr) == model[addr], f"register {addr:#x}"
        assert int(dut.core_reset.value) == model[region.address("soft_reset")]
        for i in range(n):
            assert int(getattr(dut, f"reset_pc__{i}").value) == model[region.address("reset_pc", i)]


@cocotb.test()
async def unmapped_offsets_answer_error_and_read_only_ignores_writes(dut):
    cfg, region, bus = await setup(dut, x=1, y=0)
    used = {r.offset + 4 * i for r in region.registers for i in range(r.count)}
    rng = seeded_rng(dut, "unmapped")
    for _ in range(30):
        off = rng.randrange(region.size // 4) * 4
        if off in used:
            continue
        assert await bus.access(region.base + off) == (0, 1), f"offset {off:#x}"
        assert (await bus.access(region.base + off, 1, 0xF, 0xFFFFFFFF))[1] == 1
    await bus.write(region.address("tile_id"), 0xFFFF_FFFF)
    assert await bus.read(region.address("tile_id")) == 1


@cocotb.test()
async def cycle_counter_counts_clock_cycles(dut):
    cfg, region, bus = await setup(dut)
    rng = seeded_rng(dut, "cycles")
    lo1 = await bus.read(region.address("cycle_lo"))
    t1 = bus.accept_ns
    assert await bus.read(region.address("cycle_hi")) == 0
    for _ in range(5):
        await ClockCycles(dut.clk, rng.randrange(1, 300))
        lo2 = await bus.read(region.address("cycle_lo"))
        t2 = bus.accept_ns
        # The counter advances exactly once per clock edge between the two accepting edges.
        assert lo2 - lo1 == round((t2 - t1) / CLOCK_PERIOD_NS), (lo1, lo2, t1, t2)


@cocotb.test()
async def console_bytes_in_order_with_backpressure(dut):
    cfg, region, bus = await setup(dut)
    rng = seeded_rng(dut, "console")
    text = b"Tessera tile console: hello\n"
    received = []

    async def sink():
        while len(received) < len(text):
            await FallingEdge(dut.clk)
            ready = int(rng.random() < 0.4)
            dut.console__ready.value = ready
            await ReadOnly()
            if ready and int(dut.console__valid.value):
                received.append(int(dut.console__payload.value))

    task = cocotb.start_soon(sink())
    for ch in text:
        # Bytes 1..3 of the word and writes without mask bit 0 must not print.
        await bus.write(region.address("console"), 0xA5A5A500 | ch, 0xF)
        if rng.random() < 0.2:
            await bus.write(region.address("console"), 0x41, 0xE)
    await task
    assert bytes(received) == text, bytes(received)
