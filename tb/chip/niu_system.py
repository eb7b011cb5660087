"""A chip without cores for Amaranth-simulator tests: every Tensix node is an NIU on a bare L1 and a
tile_ctrl, its MMIO bus (what the cores would drive) a port; DRAM nodes and the host port are real."""

from __future__ import annotations

from collections import deque

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.dram import DramNode
from tessera.hw.chip.niu import Niu
from tessera.hw.core.bus import DataBus
from tessera.hw.noc.layout import NocFormat, local_stream_signature
from tessera.hw.noc.network import Network
from tessera.hw.tile.l1 import L1
from tessera.hw.tile.l1_port import L1PortSignature
from tessera.hw.tile.tile_ctrl import TileCtrl


class NiuSystem(wiring.Component):
    """``contention[t]``: a second requester port on tile t's L1 (a test drives it to take banks
    away from the NIU, as the cores of a real tile do).  ``cycles`` counts clock cycles since reset
    (for throughput measurements)."""

    def __init__(self, cfg):
        self.cfg = cfg
        noc = cfg.noc
        self.tiles = cfg.nodes_of("tensix")
        super().__init__({
            "host_inject": In(local_stream_signature(noc)).array(noc.num_classes),
            "host_eject": Out(local_stream_signature(noc)).array(noc.num_classes),
            "mmio": In(DataBus.Signature()).array(len(self.tiles)),
            "contention": In(L1PortSignature(cfg.l1)).array(len(self.tiles)),
            "cycles": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, noc = self.cfg, self.cfg.noc
        m.submodules.net = net = Network(noc)
        m.d.sync += self.cycles.eq(self.cycles + 1)
        port = lambda n: n.y * noc.width + n.x
        for c in range(noc.num_classes):
            wiring.connect(m, wiring.flipped(self.host_inject[c]), net.inject[port(cfg.host)][c])
            wiring.connect(m, net.eject[port(cfg.host)][c], wiring.flipped(self.host_eject[c]))
        for t, node in enumerate(self.tiles):
            niu = m.submodules[f"niu{t}"] = Niu(cfg, node.x, node.y)
            l1 = m.submodules[f"l1_{t}"] = L1(cfg.l1, 2)
            wiring.connect(m, wiring.flipped(self.contention[t]), l1.port[1])
            ctrl = m.submodules[f"ctrl{t}"] = TileCtrl(cfg)
            m.d.comb += [ctrl.tile_x.eq(node.x), ctrl.tile_y.eq(node.y), ctrl.console.ready.eq(1)]
            wiring.connect(m, niu.l1, l1.port[0])
            wiring.connect(m, niu.ctrl, ctrl.bus)
            wiring.connect(m, wiring.flipped(self.mmio[t]), niu.mmio)
            for c in range(noc.num_classes):
                wiring.connect(m, niu.inject[c], net.inject[port(node)][c])
                wiring.connect(m, net.eject[port(node)][c], niu.eject[c])
        for d, node in enumerate(cfg.nodes_of("dram")):
            dram = m.submodules[f"dram{d}"] = DramNode(cfg, node.x, node.y)
            m.d.comb += dram.backdoor.req.valid.eq(0)
            for c in range(noc.num_classes):
                wiring.connect(m, dram.inject[c], net.inject[port(node)][c])
                wiring.connect(m, net.eject[port(node)][c], dram.eject[c])
        return m


class AmaranthHostPort:
    """:class:`tessera.sim.chip.host.ChipHost` port on an Amaranth-simulator ``ctx``."""

    def __init__(self, dut, cfg):
        self.dut, self.cfg = dut, cfg
        self.fmt = NocFormat(cfg.noc)
        self.fw = cfg.noc.flit_width
        self.packets = deque()
        self.ctx = None

    async def receiver(self, ctx):
        """Testbench process: accepts every response flit."""
        words = {c: [] for c in range(self.cfg.noc.num_classes)}
        for c in words:
            ctx.set(self.dut.host_eject[c].ready, 1)
        mask = (1 << self.fw) - 1
        classes = list(words)
        signals = [sig for c in classes for sig in (self.dut.host_eject[c].valid, self.dut.host_eject[c].payload)]
        while True:
            sampled = (await ctx.tick().sample(*signals))[-len(signals):]
            for i, c in enumerate(classes):
                valid, word = sampled[2 * i], sampled[2 * i + 1]
                if valid:
                    words[c].append(word & mask)
                    if (word >> (self.fw + 1)) & 1:
                        self.packets.append(self.fmt.parse(words[c]))
                        words[c] = []

    async def send(self, cls, flits):
        ctx, s = self.ctx, self.dut.host_inject[cls]
        for data, head, tail in flits:
            ctx.set(s.valid, 1)
            ctx.set(s.payload, data | (head << self.fw) | (tail << (self.fw + 1)))
            await ctx.tick().until(s.ready)
        ctx.set(s.valid, 0)

    async def next_packet(self):
        while not self.packets:
            await self.ctx.tick()
        return self.packets.popleft()


async def mmio_write(ctx, bus, addr, value):
    ctx.set(bus.req.valid, 1)
    ctx.set(bus.req.payload, {"addr": addr, "we": 1, "mask": 0xF, "wdata": value & 0xFFFFFFFF})
    await ctx.tick().until(bus.req.ready)
    ctx.set(bus.req.valid, 0)


async def mmio_read(ctx, bus, addr):
    ctx.set(bus.req.valid, 1)
    ctx.set(bus.req.payload, {"addr": addr, "we": 0, "mask": 0xF, "wdata": 0})
    await ctx.tick().until(bus.req.ready)
    ctx.set(bus.req.valid, 0)
    assert ctx.get(bus.resp.valid), "the NIU registers answer one cycle after acceptance"
    return ctx.get(bus.resp.rdata)


def contention_process(dut, t, rng, busy=0.7):
    """Testbench process: random L1 reads on ``contention[t]`` (a fraction ``busy`` of cycles)."""
    port = dut.contention[t]
    size = dut.cfg.l1.size_bytes

    async def process(ctx):
        while True:
            ctx.set(port.req.valid, rng.random() < busy)
            ctx.set(port.req.payload.addr, rng.randrange(0, size, 4))
            await ctx.tick()
    return process
