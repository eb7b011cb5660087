"""Network generator: a W x H mesh or torus of :class:`~hw.noc.router.Router`.

Node ``n = y * width + x`` gets ``inject[n][cls]`` and ``eject[n][cls]``
streams (one per message class).  On a mesh the links off the grid edge are
left unconnected (the routing never selects them); on a torus the east port of
column ``width - 1`` wraps to the west port of column 0, and likewise in Y.

Two statistics counters come with the network: ``bad_packets`` (packets the
injecting router refused, see the router) and ``link_flits`` (flits that
crossed a router-to-router link, for multicast link-traversal counts).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.layout import local_stream_signature
from tessera.hw.noc.router import E, N, S, W, Router

__all__ = ["Network", "build_noc_network", "popcount"]

COUNTER_WIDTH = 32


def popcount(bits):
    """Sum of the bits of a list of 1-bit values, as a balanced adder tree."""
    bits = list(bits)
    if not bits:
        return 0
    while len(bits) > 1:
        bits = [bits[i] + bits[i + 1] if i + 1 < len(bits) else bits[i]
                for i in range(0, len(bits), 2)]
    return bits[0]


class Network(wiring.Component):
    def __init__(self, noc):
        self.noc = noc
        nodes = noc.width * noc.height
        super().__init__({
            "inject": In(local_stream_signature(noc)).array(nodes, noc.num_classes),
            "eject": Out(local_stream_signature(noc)).array(nodes, noc.num_classes),
            "bad_packets": Out(COUNTER_WIDTH),
            "link_flits": Out(COUNTER_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        noc = self.noc
        Wd, Ht = noc.width, noc.height
        torus = noc.topology == "torus"
        routers = {}
        for y in range(Ht):
            for x in range(Wd):
                r = routers[(x, y)] = Router(noc, x, y)
                m.submodules[f"router_{x}_{y}"] = r
                n = y * Wd + x
                for c in range(noc.num_classes):
                    wiring.connect(m, wiring.flipped(self.inject[n][c]), r.inject[c])
                    wiring.connect(m, r.eject[c], wiring.flipped(self.eject[n][c]))
        link_valids = []
        for (x, y), r in routers.items():
            for port, (dx, dy), back in ((E, (1, 0), W), (S, (0, 1), N), (W, (-1, 0), E),
                                          (N, (0, -1), S)):
                nx, ny = x + dx, y + dy
                if torus:
                    nx, ny = nx % Wd, ny % Ht
                elif not (0 <= nx < Wd and 0 <= ny < Ht):
                    continue
                wiring.connect(m, r.out_link[port], routers[(nx, ny)].in_link[back])
                link_valids.append(r.out_link[port].valid)
        bad = [r.bad_packet[c] for r in routers.values() for c in range(noc.num_classes)]
        bad_count = Signal(COUNTER_WIDTH)
        links = Signal(COUNTER_WIDTH)
        m.d.sync += [bad_count.eq(bad_count + popcount(bad)),
                     links.eq(links + popcount(link_valids))]
        m.d.comb += [self.bad_packets.eq(bad_count), self.link_flits.eq(links)]
        return m


def build_noc_network(cfg):
    """Block factory: the whole network of ``cfg.noc``."""
    return Network(cfg.noc)
