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
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.dram import DramNode, dram_memory_config
from tessera.hw.chip.niu import Niu
from tessera.hw.config import TesseraConfig
from tessera.hw.noc.layout import local_stream_signature
from tessera.hw.noc.network import Network
from tessera.hw.tile.l1_port import L1PortSignature
from tessera.hw.tile.tile import CoreDebugSignature, Tile

__all__ = ["Chip", "build_chip"]


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
            for c in range(noc.num_classes):
                wiring.connect(m, dram.inject[c], net.inject[port(node)][c])
                wiring.connect(m, net.eject[port(node)][c], dram.eject[c])
        return m


def build_chip(cfg: TesseraConfig):
    """Block factory: the whole chip of ``cfg``."""
    return Chip(cfg)
