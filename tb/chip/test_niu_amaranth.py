"""NIU and DRAM node in the Amaranth simulator (no cores): host requests, command buffers, errors.

The system (tb/chip/niu_system.py) is the tiny chip's network with an NIU on a
bare L1 + tile_ctrl at every Tensix node and the real DRAM node; the tests
drive the NIU registers the way the cores would and check every memory
against a Python model (bytearrays) of all L1s and the DRAM.
"""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.chip.niu import NiuOp, niu_field_table
from tessera.hw.config import preset
from tessera.hw.noc.layout import Command
from tessera.sim.chip.host import ChipHost, NocError
from tb.chip.niu_system import AmaranthHostPort, NiuSystem, mmio_read, mmio_write

CFG = preset("tiny", dram={"size_bytes": 65536, "latency_cycles": 8})
#: The same system with one memory reader in every NoC target (noc.target_read_prefetch off):
#: the same results, only the gaps between read responses differ.
ONE_READER = CFG.derive(noc={"target_read_prefetch": False})
BOTH_TARGETS = pytest.mark.parametrize("cfg", [CFG, ONE_READER], ids=["prefetch", "one_reader"])
FIELDS = {(reg, name): (lsb, width) for reg, name, lsb, width in niu_field_table()}


def field(reg, **values):
    word = 0
    for name, value in values.items():
        lsb, width = FIELDS[(reg, name)]
        word |= (int(value) & ((1 << width) - 1)) << lsb
    return word


class Niu:
    """Register-level driver of one NIU (what tessera_noc.h does in C)."""

    def __init__(self, ctx, bus, cfg, cycles):
        self.ctx, self.bus, self.cycles = ctx, bus, cycles
        self.region = cfg.mmio.region("niu")

    def now(self):
        """The system's cycle count."""
        return self.ctx.get(self.cycles)

    def reg(self, name, index=0):
        return self.region.address(name, index)

    async def read(self, name):
        return await mmio_read(self.ctx, self.bus, self.reg(name))

    async def issue(self, buf, op, x, y, remote, local=0, length=0, data=0, acked=False, inline=False,
                    mcast=None, include_src=False):
        x1, y1 = mcast if mcast else (0, 0)
        while await mmio_read(self.ctx, self.bus, self.reg("cmd_issue", buf)):
            pass
        w = lambda name, v: mmio_write(self.ctx, self.bus, self.reg(name, buf), v)
        await w("cmd_remote_addr", remote)
        await w("cmd_remote_coord", field("cmd_remote_coord", x=x, y=y, x1=x1, y1=y1))
        await w("cmd_local_addr", local)
        await w("cmd_length", length)
        await w("cmd_inline_data", data)
        await w("cmd_ctrl", field("cmd_ctrl", op=op.value, acked=acked, inline=inline,
                                  mcast=mcast is not None, include_src=include_src))
        await w("cmd_issue", 1)

    async def idle(self):
        while await self.read("busy"):
            pass

    async def barrier(self, received, expected, limit=20000):
        await self.idle()
        for _ in range(limit):
            if await self.read(received) == await self.read(expected):
                return
        raise AssertionError(f"barrier {received} == {expected} never met")


def run(bench, cfg=CFG):
    dut = NiuSystem(cfg)
    port = AmaranthHostPort(dut, cfg)
    host = ChipHost(cfg, port)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(port.receiver)

    async def testbench(ctx):
        port.ctx = ctx
        nius = [Niu(ctx, dut.mmio[t], cfg, dut.cycles) for t in range(len(dut.tiles))]
        await bench(ctx, host, nius, dut.tiles)

    sim.add_testbench(testbench)
    sim.run()


@BOTH_TARGETS
def test_host_random_reads_and_writes_every_node(cfg):
    seed = 41
    rng = random.Random(seed)
    nodes = [(n.x, n.y, cfg.l1.size_bytes) for n in cfg.nodes_of("tensix")] + \
            [(n.x, n.y, cfg.dram.size_bytes) for n in cfg.nodes_of("dram")]
    model = {(x, y): bytearray(size) for x, y, size in nodes}

    async def bench(ctx, host, nius, tiles):
        for i in range(24):
            x, y, size = rng.choice(nodes)
            n = rng.choice([1, 2, 3, 7, 8, 9, 31, 64, 255, 256, 257, 600])
            addr = rng.randrange(0x5000, size - n)
            data = bytes(rng.randrange(256) for _ in range(n))
            await host.write(x, y, addr, data, acked=rng.random() < 0.7)
            model[(x, y)][addr:addr + n] = data
            rx, ry, rsize = rng.choice(nodes)
            raddr = rng.randrange(0x5000, rsize - 700)
            rn = rng.randrange(1, 700)
            got = await host.read(rx, ry, raddr, rn)
            assert got == bytes(model[(rx, ry)][raddr:raddr + rn]), f"seed {seed} step {i}: read mismatch"

    run(bench, cfg)


@BOTH_TARGETS
def test_niu_read_write_atomic_multicast_and_errors(cfg):
    async def bench(ctx, host, nius, tiles):
        a, b, c, d = [(t.x, t.y) for t in tiles]
        dram = (cfg.nodes_of("dram")[0].x, cfg.nodes_of("dram")[0].y)
        src = bytes((i * 7 + 3) & 0xFF for i in range(700))
        await host.write(*dram, 0x1003, src)
        n0 = nius[0]
        # DRAM -> tile a L1 (unaligned, three packets), then a -> b (another alignment).
        await n0.issue(1, NiuOp.READ, *dram, remote=0x1003, local=0x6001, length=600)
        await n0.barrier("read_resp_received", "read_req_sent")
        assert await host.read(*a, 0x6001, 600) == src[:600]
        await n0.issue(0, NiuOp.WRITE, *b, remote=0x7005, local=0x6001, length=600, acked=True)
        await n0.barrier("write_acks_received", "write_acks_expected")
        assert await host.read(*b, 0x7005, 600) == src[:600]
        assert await n0.read("nonposted_writes_sent") == 3
        # Posted write, then an inline write to the same destination: arrive in order.
        await n0.issue(0, NiuOp.WRITE, *c, remote=0x7000, local=0x6001, length=40)
        await n0.issue(0, NiuOp.WRITE, *c, remote=0x7000, data=0xA5A5A5A5, inline=True)
        await n0.idle()
        await host.read(*c, 0x7000, 4)     # the host's read follows the NIU's writes
        assert await host.read(*c, 0x7000, 40) == (0xA5A5A5A5).to_bytes(4, "little") + src[4:40]
        # Multicast to the whole 2x2 compute grid without and with the sender.
        xs, ys = [t.x for t in tiles], [t.y for t in tiles]
        rect = (max(xs), max(ys))
        await host.write(*a, 0x8000, bytes(100))
        await n0.issue(0, NiuOp.WRITE, min(xs), min(ys), remote=0x8000, local=0x6001, length=50,
                       mcast=rect, acked=True)
        await n0.barrier("write_acks_received", "write_acks_expected")
        for t in tiles:
            want = bytes(50) if (t.x, t.y) == a else src[:50]
            assert await host.read(t.x, t.y, 0x8000, 50) == want, (t.x, t.y)
        await n0.issue(0, NiuOp.WRITE, min(xs), min(ys), remote=0x8100, local=0x6001, length=30,
                       mcast=rect, acked=True, include_src=True)
        await n0.barrier("write_acks_received", "write_acks_expected")
        for t in tiles:
            assert await host.read(t.x, t.y, 0x8100, 30) == src[:30], (t.x, t.y)
        # Atomics from every NIU on one counter in DRAM; old value returned to L1.
        for k in range(5):
            for n in nius:
                await n.issue(3, NiuOp.ATOMIC_INC, *dram, remote=0x2000, local=0x9000, data=3)
        for n in nius:
            await n.barrier("atomic_resp_received", "atomic_sent")
        total = int.from_bytes(await host.read(*dram, 0x2000, 4), "little")
        assert total == 3 * 5 * len(nius)
        olds = {int.from_bytes(await host.read(t.x, t.y, 0x9000, 4), "little") for t in tiles}
        assert all(v % 3 == 0 and v < total for v in olds)
        # Errors: address past the DRAM, length 0 (refused at issue), unknown node, the host node.
        for before in (await n0.read("error_count"),):
            pass
        await n0.issue(1, NiuOp.READ, *dram, remote=cfg.dram.size_bytes - 8, local=0x6000, length=64)
        await n0.barrier("read_resp_received", "read_req_sent")
        status = await n0.read("error_status")
        assert status & 1 and await n0.read("error_addr") == cfg.dram.size_bytes - 8
        assert (status >> FIELDS[("error_status", "x")][0]) & 0xFF == dram[0]
        assert (status >> FIELDS[("error_status", "cmd")][0]) & 7 == Command.READ
        await mmio_write(ctx, n0.bus, n0.reg("error_status"), 0)
        assert await n0.read("error_status") == 0
        await n0.issue(0, NiuOp.WRITE, *b, remote=0x7000, local=0x6000, length=0)
        await n0.issue(0, NiuOp.WRITE, 7, 0, remote=0x7000, local=0x6000, length=8, acked=True)
        await n0.issue(0, NiuOp.WRITE, cfg.host.x, cfg.host.y, remote=0, local=0x6000, length=8)
        await n0.issue(0, NiuOp.WRITE, *b, remote=0x0100_0000, local=0x6000, length=8, acked=True)
        await n0.issue(3, NiuOp.ATOMIC_INC, *b, remote=0x7002, local=0x9000, data=1)
        await n0.barrier("write_acks_received", "write_acks_expected")
        await n0.barrier("atomic_resp_received", "atomic_sent")
        assert await n0.read("error_count") == before + 6
        # Later traffic still passes; tile_ctrl is reachable over the NoC.
        await n0.issue(0, NiuOp.WRITE, *b, remote=0x7100, local=0x6001, length=16, acked=True)
        await n0.barrier("write_acks_received", "write_acks_expected")
        assert await host.read(*b, 0x7100, 16) == src[:16]
        scratch = cfg.mmio.region("tile_ctrl").address("scratch")
        await host.write(*b, scratch, (0x12345678).to_bytes(4, "little"))
        assert await host.read(*b, scratch, 4) == (0x12345678).to_bytes(4, "little")
        tile_id = await host.read(*b, cfg.mmio.region("tile_ctrl").address("tile_id"), 4)
        assert int.from_bytes(tile_id, "little") == b[0] | (b[1] << 8)
        with pytest.raises(NocError, match="refused WRITE_ACKED"):
            await host.write(*b, scratch, bytes(8))
        with pytest.raises(NocError, match="refused READ"):
            await host.read(*dram, cfg.dram.size_bytes - 2, 4)

    run(bench, cfg)


#: Idle cycles on the wire before each read response of a target with one memory reader: after
#: the previous response's tail the reader takes the next job, reads its first memory word and
#: passes it through the realigner (and a response's header waits for that job).
ONE_READER_GAP = 3


@BOTH_TARGETS
@pytest.mark.parametrize("source", ["tile", "dram"])
def test_back_to_back_read_responses_leave_at_one_flit_per_cycle(source, cfg):
    """A long read is one request per packet; the target's responses must follow each other at
    link rate: every packet more costs its header and data flits (33 cycles for 256 bytes on
    8-byte flits), nothing else; with one memory reader (noc.target_read_prefetch off) at most
    ``ONE_READER_GAP`` cycles more.  Two lengths are timed and subtracted, so the fixed latency
    (issue, the trip there and back, the barrier's polling) cancels."""
    fb, maxp = cfg.noc.flit_bytes, cfg.noc.max_payload_bytes
    packet_cycles = 1 + maxp // fb
    allowed = packet_cycles + (0 if cfg.noc.target_read_prefetch else ONE_READER_GAP)
    short, long = 2 * maxp, 6 * maxp
    data = bytes((i * 11 + 5) & 0xFF for i in range(long))

    async def bench(ctx, host, nius, tiles):
        node = tiles[-1] if source == "tile" else cfg.nodes_of("dram")[0]
        await host.write(node.x, node.y, 0x6000, data)
        n0 = nius[0]
        times = {}
        for length in (short, long):
            t0 = n0.now()
            await n0.issue(1, NiuOp.READ, node.x, node.y, remote=0x6000, local=0x8000, length=length)
            await n0.barrier("read_resp_received", "read_req_sent")
            times[length] = n0.now() - t0
            assert await host.read(tiles[0].x, tiles[0].y, 0x8000, length) == data[:length]
        extra = (long - short) // maxp
        # The barrier polls two registers per try: its end is known to 2 cycles.
        assert extra * packet_cycles - 2 <= times[long] - times[short] <= extra * allowed + 2, \
            f"{source}: {extra} more packets took {times[long] - times[short]} cycles, " \
            f"{packet_cycles} each is the link rate, {allowed} allowed ({times})"

    run(bench, cfg)
