"""Network generator: a width x height mesh or torus of :class:`~tessera.hw.noc.router.Router`.

Node ``n = y * width + x`` gets ``inject[n][cls]`` and ``eject[n][cls]``
streams (one per message class).  On a mesh the links off the grid edge are
left unconnected (the routing never selects them); on a torus the east port of
column ``width - 1`` wraps to the west port of column 0, and likewise in Y.

Two statistics counters come with the network: ``bad_packets`` (packets the
injecting router refused, and packets it cut or padded to the length their
header declares; see the router) and ``link_flits`` (flits that
crossed a router-to-router link, for multicast link-traversal counts).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.layout import local_stream_signature
from tessera.hw.noc.router import Router
from tessera.hw.noc.vc_plan import EAST, NORTH, SOUTH, WEST

__all__ = ["Network", "build_noc_network", "build_noc_grid", "popcount"]

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
        width, height = noc.width, noc.height
        torus = noc.topology == "torus"
        routers = {}
        for y in range(height):
            for x in range(width):
                router = routers[(x, y)] = Router(noc, x, y)
                m.submodules[f"router_{x}_{y}"] = router
                node = y * width + x
                for cls in range(noc.num_classes):
                    wiring.connect(m, wiring.flipped(self.inject[node][cls]), router.inject[cls])
                    wiring.connect(m, router.eject[cls], wiring.flipped(self.eject[node][cls]))
        link_valids = []
        for (x, y), router in routers.items():
            for port, (dx, dy), back in ((EAST, (1, 0), WEST), (SOUTH, (0, 1), NORTH),
                                          (WEST, (-1, 0), EAST), (NORTH, (0, -1), SOUTH)):
                nx, ny = x + dx, y + dy
                if torus:
                    nx, ny = nx % width, ny % height
                elif not (0 <= nx < width and 0 <= ny < height):
                    continue
                wiring.connect(m, router.out_link[port], routers[(nx, ny)].in_link[back])
                link_valids.append(router.out_link[port].valid)
        # Refused packets and cut ones, each counted once (a router may report
        # both in one cycle, for different packets).
        bad = [router.bad_packet[cls] for router in routers.values() for cls in range(noc.num_classes)]
        bad += [router.cut_packet[cls] for router in routers.values() for cls in range(noc.num_classes)]
        bad_count = Signal(COUNTER_WIDTH)
        link_count = Signal(COUNTER_WIDTH)
        m.d.sync += [bad_count.eq(bad_count + popcount(bad)),
                     link_count.eq(link_count + popcount(link_valids))]
        m.d.comb += [self.bad_packets.eq(bad_count), self.link_flits.eq(link_count)]
        return m


def build_noc_network(cfg):
    """Block factory: the whole network of ``cfg.noc``."""
    return Network(cfg.noc)


def build_noc_grid(cfg, width: int = 2, height: int = 2, topology: str = "mesh", flit_width: int = 64,
                   vcs_per_class: int = 2, buffer_depth: int = 16):
    """Block factory: a small network with chosen router parameters (by default a 2x2 mesh
    of the routers ``tessera noc-bench`` measures: 64-bit flits, 2 VCs per lane, 16-flit
    buffers).  Placed as a whole, its router-to-router paths (crossbar, link, the next
    router's route computation and buffer write) are timed; only the network's own
    inject/eject ports meet the FPGA flow's I/O registers."""
    return Network(cfg.derive(noc={"width": width, "height": height, "topology": topology,
                                   "flit_width": flit_width, "vcs_per_class": vcs_per_class,
                                   "buffer_depth": buffer_depth}).noc)
