"""The chip: every node of ``cfg.nodes`` on its router of the ``cfg.noc`` network.

* ``tensix`` node: a :class:`~tessera.hw.tile.tile.Tile` (built with its
  ``niu`` port) and its :class:`~tessera.hw.chip.niu.Niu`: the NIU's memory
  port drives the tile's ``host_l1``, its MMIO bus the tile's ``host_ctrl``,
  and the cores reach the NIU's registers through the tile's ``niu`` port.
* ``dram`` node: a :class:`~tessera.hw.chip.dram.DramNode`.
* ``host`` node: the router's local port is the chip's ``host_inject`` /
  ``host_eject`` streams (one per message class), the PCIe-like path through
  which a host (the cocotb driver sim/chip/host.py) sends requests and
  receives responses.

Ports for test benches: ``debug[t][c]`` (core ``c`` of the ``t``-th Tensix
node in ``cfg.nodes_of("tensix")`` order: PC, retired count, trapped, held),
``console[t]`` (each tile's console bytes), ``dram_backdoor[d]`` (a memory
port of each DRAM node) and ``bad_packets`` (the network's counter).

Ports for timelines (sim/chip/trace.py; plain wiring of observation outputs,
nothing on a functional path): ``debug[t][c].waypoint`` (each core's
firmware waypoint) and the ``trace`` group (:class:`ChipTraceSignature`):
``engine_busy[t]`` (the engine threads, bits in ``THREADS`` order),
``niu[t]`` (:data:`NIU_TRACE`: sending, awaiting, serving) and
``dram_busy[d]`` (the DRAM node serving a request).
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.dram import DramNode, dram_memory_config
from tessera.hw.chip.niu import Niu
from tessera.hw.config import TesseraConfig
from tessera.hw.engine.engine import THREADS
from tessera.hw.noc.layout import local_stream_signature
from tessera.hw.noc.network import Network
from tessera.hw.tile.l1_port import L1PortSignature
from tessera.hw.signature import ValueSignature
from tessera.hw.tile.tile import CoreDebugSignature, Tile

__all__ = ["Chip", "ChipTraceSignature", "NIU_TRACE", "build_chip"]

#: One NIU's timeline bits (hw/chip/niu.py: ``sending``, ``awaiting``, ``serving``).
NIU_TRACE = data.StructLayout({"sending": 1, "awaiting": 1, "serving": 1})


class ChipTraceSignature(ValueSignature):
    """The chip's timeline outputs: per Tensix tile its engine threads and NIU, per DRAM node its activity."""

    def __init__(self, tiles: int, drams: int):
        for name, value in (("tiles", tiles), ("drams", drams)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise TypeError(f"ChipTraceSignature {name} must be a non-negative integer, got {value!r}")
        self.tiles, self.drams = tiles, drams
        members = {
            #: The engine's unpack, math and pack threads busy (bits in ``THREADS`` order).
            "engine_busy": Out(len(THREADS)).array(tiles),
            "niu": Out(NIU_TRACE).array(tiles),
        }
        if drams:
            members["dram_busy"] = Out(1).array(drams)
        super().__init__(members)

    def parameters(self) -> dict:
        return {"tiles": self.tiles, "drams": self.drams}


class Chip(wiring.Component):
    def __init__(self, cfg: TesseraConfig):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"Chip needs a TesseraConfig, got {cfg!r}")
        self.cfg = cfg
        noc = cfg.noc
        self.tiles = cfg.nodes_of("tensix")
        self.drams = cfg.nodes_of("dram")
        sig = {
            "host_inject": In(local_stream_signature(noc)).array(noc.num_classes),
            "host_eject": Out(local_stream_signature(noc)).array(noc.num_classes),
            "debug": Out(CoreDebugSignature()).array(len(self.tiles), len(cfg.cores)),
            "console": Out(stream.Signature(unsigned(8))).array(len(self.tiles)),
            "bad_packets": Out(32),
            #: Per tile: the first flit of the last request packet its NIU injected, and how many.
            "request_head": Out(noc.flit_width).array(len(self.tiles)),
            "requests": Out(16).array(len(self.tiles)),
            "trace": Out(ChipTraceSignature(len(self.tiles), len(self.drams))),
        }
        if self.drams:
            sig["dram_backdoor"] = In(L1PortSignature(dram_memory_config(cfg))).array(len(self.drams))
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        cfg, noc = self.cfg, self.cfg.noc
        m.submodules.network = net = Network(noc)
        m.d.comb += self.bad_packets.eq(net.bad_packets)

        def port(node):
            return node.y * noc.width + node.x

        host = cfg.host
        for c in range(noc.num_classes):
            wiring.connect(m, wiring.flipped(self.host_inject[c]), net.inject[port(host)][c])
            wiring.connect(m, net.eject[port(host)][c], wiring.flipped(self.host_eject[c]))
        for t, node in enumerate(self.tiles):
            tile = Tile(cfg, node.x, node.y, niu=True)
            niu = Niu(cfg, node.x, node.y)
            m.submodules[f"tile_{node.x}_{node.y}"] = tile
            m.submodules[f"niu_{node.x}_{node.y}"] = niu
            wiring.connect(m, niu.l1, tile.host_l1)
            wiring.connect(m, niu.ctrl, tile.host_ctrl)
            wiring.connect(m, tile.niu, niu.mmio)
            for c in range(noc.num_classes):
                wiring.connect(m, niu.inject[c], net.inject[port(node)][c])
                wiring.connect(m, net.eject[port(node)][c], niu.eject[c])
            for i in range(len(cfg.cores)):
                wiring.connect(m, tile.debug[i], wiring.flipped(self.debug[t][i]))
            wiring.connect(m, tile.console, wiring.flipped(self.console[t]))
            m.d.comb += [self.trace.engine_busy[t].eq(tile.engine_busy),
                         self.trace.niu[t].sending.eq(niu.sending), self.trace.niu[t].awaiting.eq(niu.awaiting),
                         self.trace.niu[t].serving.eq(niu.serving)]
            req = niu.inject[0]
            in_packet = Signal(name=f"in_request_{t}")
            head = Signal(noc.flit_width, name=f"request_head_{t}")
            count = Signal(16, name=f"requests_{t}")
            with m.If(req.valid & req.ready):
                m.d.sync += in_packet.eq(~req.payload[noc.flit_width + 1])
                with m.If(~in_packet):
                    m.d.sync += [head.eq(req.payload[:noc.flit_width]), count.eq(count + 1)]
            m.d.comb += [self.request_head[t].eq(head), self.requests[t].eq(count)]
        for d, node in enumerate(self.drams):
            dram = DramNode(cfg, node.x, node.y)
            m.submodules[f"dram_{node.x}_{node.y}"] = dram
            wiring.connect(m, wiring.flipped(self.dram_backdoor[d]), dram.backdoor)
            m.d.comb += self.trace.dram_busy[d].eq(dram.busy)
            for c in range(noc.num_classes):
                wiring.connect(m, dram.inject[c], net.inject[port(node)][c])
                wiring.connect(m, net.eject[port(node)][c], dram.eject[c])
        return m


def build_chip(cfg: TesseraConfig):
    """Block factory: the whole chip of ``cfg``."""
    return Chip(cfg)
