"""RouteComputation in the Amaranth simulator, against the Python routing model.

Every router of a small mesh and torus gets its route units (one per link
port, one per injection class) in one simulation.  A packet is then walked
through the grid by the HDL alone: the route bits at each router say which
links it takes next and whether it is delivered, the arrival port is the
opposite of the link taken.  The walk must reproduce
``tessera.sim.noc.model``: the XY path of every unicast source/destination
pair, the link set and destinations of every multicast rectangle.  The bad
packet checks, the VC set and the entry dateline bit are checked against
their own Python statements of the rules.
"""

import itertools
import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.noc.layout import NocFormat
from tessera.hw.noc.route_computation import RouteComputation, routing_header_layout
from tessera.hw.noc.vc_plan import EAST, LOCAL, NORTH, SOUTH, WEST, VirtualChannelPlan
from tessera.sim.noc.model import multicast_destinations, multicast_links, unicast_path

#: Neighbour offset of each output link, and the port the packet arrives on there.
STEP = {NORTH: (0, -1), EAST: (1, 0), SOUTH: (0, 1), WEST: (-1, 0)}
OPPOSITE = {NORTH: SOUTH, SOUTH: NORTH, EAST: WEST, WEST: EAST}

CONFIGS = {
    "mesh_3x2": lambda: preset("tiny"),
    "mesh_4x3_2vcs": lambda: preset("tiny", noc={"width": 4, "height": 3, "vcs_per_class": 2}),
    "torus_3x3_4vcs": lambda: preset("tiny", noc={"width": 3, "height": 3, "topology": "torus",
                                                  "vcs_per_class": 4}),
    # Even rings: a destination exactly half way round is a tie.
    "torus_4x2_2vcs": lambda: preset("tiny", noc={"width": 4, "height": 2, "topology": "torus",
                                                  "vcs_per_class": 2}),
}


class RouteUnits:
    """The route units of every router of ``noc``, evaluated in one simulation."""

    def __init__(self, noc):
        self.noc = noc
        self.fmt = NocFormat(noc)
        self.routing_bits = routing_header_layout(noc).size
        self.units = {}
        self.module = Module()
        for x, y in itertools.product(range(noc.width), range(noc.height)):
            plan = VirtualChannelPlan(noc, x, y)
            for port in (NORTH, EAST, SOUTH, WEST):
                self._add(plan, (x, y, port, 0), RouteComputation(plan, port))
            for cls in range(noc.num_classes):
                self._add(plan, (x, y, LOCAL, cls), RouteComputation(plan, LOCAL, cls))

    def _add(self, plan, key, unit):
        self.units[key] = unit
        self.module.submodules["route_{}_{}_{}_{}".format(*key)] = unit

    def run(self, check):
        """Run ``check(evaluate)``; ``evaluate(x, y, port, header, cls=0)`` gives the unit's outputs."""
        sim = Simulator(self.module)

        async def bench(ctx):
            def evaluate(x, y, port, header, cls=0):
                unit = self.units[(x, y, port, cls if port == LOCAL else 0)]
                word = self.fmt.pack_header(**header) & ((1 << self.routing_bits) - 1)
                ctx.set(unit.header.as_value(), word)
                out = {"route": ctx.get(unit.route), "bad": ctx.get(unit.bad),
                       "entry_dateline": ctx.get(unit.entry_dateline)}
                if port == LOCAL:
                    out["flow_set"] = ctx.get(unit.flow_set)
                return out
            check(evaluate)

        sim.add_testbench(bench)
        sim.run()


def walk(evaluate, noc, src, header):
    """Follow a packet from its source through the HDL route units.

    Returns (links taken, nodes delivered to); fails on a route off the grid
    of a mesh, a link taken twice or a walk that does not end."""
    links, delivered = [], []
    pending = [(src, LOCAL)]
    while pending:
        (x, y), port = pending.pop()
        out = evaluate(x, y, port, header, header.get("cls", 0))
        assert not out["bad"], (src, header, (x, y), port)
        for out_port in (NORTH, EAST, SOUTH, WEST):
            if out["route"] >> out_port & 1:
                dx, dy = STEP[out_port]
                nx, ny = x + dx, y + dy
                if noc.topology == "torus":
                    nx, ny = nx % noc.width, ny % noc.height
                assert 0 <= nx < noc.width and 0 <= ny < noc.height, (src, header, (x, y), out_port)
                link = ((x, y), (nx, ny))
                assert link not in links, f"{header}: link {link} taken twice"
                links.append(link)
                pending.append(((nx, ny), OPPOSITE[out_port]))
        if out["route"] >> LOCAL & 1:
            delivered.append((x, y))
        assert len(links) <= 4 * noc.width * noc.height, f"{header}: the walk does not end"
    return links, delivered


def nodes(noc):
    return list(itertools.product(range(noc.width), range(noc.height)))


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_unicast_walks_follow_the_xy_path_of_every_pair(cfg_name):
    noc = CONFIGS[cfg_name]().noc
    units = RouteUnits(noc)

    def check(evaluate):
        for src, dst in itertools.product(nodes(noc), repeat=2):
            for cls in range(noc.num_classes):
                header = dict(cls=cls, dst_x=dst[0], dst_y=dst[1], src_x=src[0], src_y=src[1], length=8)
                links, delivered = walk(evaluate, noc, src, header)
                assert links == unicast_path(noc, src, dst), (src, dst, links)
                assert delivered == [dst], (src, dst, delivered)

    units.run(check)


def all_rectangles(noc):
    spans_x = itertools.product(range(noc.width), repeat=2)
    spans_y = list(itertools.product(range(noc.height), repeat=2))
    rectangles = [(x0, y0, x1, y1) for (x0, x1), (y0, y1) in itertools.product(spans_x, spans_y)]
    if noc.topology != "torus":
        rectangles = [r for r in rectangles if r[0] <= r[2] and r[1] <= r[3]]
    return rectangles


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_multicast_walks_build_the_xy_tree_of_every_rectangle(cfg_name):
    noc = CONFIGS[cfg_name]().noc
    units = RouteUnits(noc)
    seed = 17
    rng = random.Random(seed)
    cases = [(src, rect) for src in nodes(noc) for rect in all_rectangles(noc)]
    if len(cases) > 1500:   # the larger grids: a seeded sample, broadcasts always in
        broadcast = (0, 0, noc.width - 1, noc.height - 1)
        cases = [c for c in cases if c[1] == broadcast] + rng.sample(cases, 1500)

    def check(evaluate):
        for src, rect in cases:
            for exclude_self in (0, 1):
                header = dict(mcast=1, exclude_self=exclude_self, dst_x=rect[0], dst_y=rect[1],
                              dst_x1=rect[2], dst_y1=rect[3], src_x=src[0], src_y=src[1], length=8)
                links, delivered = walk(evaluate, noc, src, header)
                where = f"seed {seed}: multicast from {src} to {rect}, exclude_self={exclude_self}"
                assert sorted(links) == sorted(multicast_links(noc, src, rect)), where
                assert len(delivered) == len(set(delivered)), where
                assert set(delivered) == multicast_destinations(noc, src, rect, exclude_self), where

    units.run(check)


def test_bad_packets_are_refused_at_the_injecting_router_only():
    noc = preset("tiny", noc={"height": 3}).noc      # 3x3 mesh: x = 3 and y = 3 are off the grid
    fmt = NocFormat(noc)
    units = RouteUnits(noc)
    good = dict(dst_x=2, dst_y=1, src_x=1, src_y=0, length=16)
    rectangle = dict(mcast=1, dst_x=0, dst_y=0, dst_x1=2, dst_y1=1, src_x=1, src_y=0, length=8)
    bad = {
        "unicast column off the grid": dict(good, dst_x=3),
        "unicast row off the grid": dict(good, dst_y=3),
        "wrong source column": dict(good, src_x=2),
        "wrong source row": dict(good, src_y=1),
        "length above max_payload_bytes": dict(good, length=noc.max_payload_bytes + 1),
        "class field not the stream's": dict(good, cls=1),
        "rectangle column off the grid": dict(rectangle, dst_x1=3),
        "rectangle row off the grid": dict(rectangle, dst_y=3),
        "first column after the last on a mesh": dict(rectangle, dst_x=2, dst_x1=0),
        "first row after the last on a mesh": dict(rectangle, dst_y=1, dst_y1=0),
        "multicast longer than one buffer": dict(rectangle, length=fmt.max_multicast_length() + 1),
    }

    def check(evaluate):
        for header in (good, rectangle, dict(rectangle, length=fmt.max_multicast_length())):
            assert evaluate(1, 0, LOCAL, header)["bad"] == 0, header
        # A multicast on the response stream is bad, even a well-formed one.
        assert evaluate(1, 0, LOCAL, dict(rectangle, cls=1), cls=1)["bad"] == 1
        assert evaluate(1, 0, LOCAL, dict(good, cls=1), cls=1)["bad"] == 0
        for why, header in bad.items():
            out = evaluate(1, 0, LOCAL, header)
            assert out["bad"] == 1 and out["route"] == 0, (why, header, out)
            # Links never check: only the injecting router refuses packets.
            for port in (NORTH, EAST, SOUTH, WEST):
                assert evaluate(1, 0, port, header)["bad"] == 0, (why, port)

    units.run(check)


def flow_hash_bits(noc, header, count):
    """The low ``count`` bits of the flow hash src_x ^ src_y ^ dst_x ^ dst_y (repeating past its width)."""
    flow = header["src_x"] ^ header["src_y"] ^ header["dst_x"] ^ header["dst_y"]
    width = max(noc.x_bits, noc.y_bits, 1)
    return [flow >> (k % width) & 1 for k in range(count)]


def is_horizontal(link):
    return link[0][1] == link[1][1]


def first_dimension(path):
    """The links of a path up to its first turn."""
    return list(itertools.takewhile(lambda link: is_horizontal(link) == is_horizontal(path[0]), path))


def crosses_wrap_link(links):
    """Does one of the links jump across the grid (east from the last column, and so on)?"""
    return any(abs(a[0] - b[0]) > 1 or abs(a[1] - b[1]) > 1 for a, b in links)


def arrival_port(noc, link):
    """The input port a link enters its far router on."""
    (x, y), far = link
    for out_port, (dx, dy) in STEP.items():
        if ((x + dx) % noc.width, (y + dy) % noc.height) == far:
            return OPPOSITE[out_port]
    raise AssertionError(f"{link} joins no neighbours")


@pytest.mark.parametrize("cfg_name", ["torus_3x3_4vcs", "torus_4x2_2vcs", "mesh_4x3_2vcs"])
def test_vc_set_and_entry_dateline_at_injection(cfg_name):
    noc = CONFIGS[cfg_name]().noc
    units = RouteUnits(noc)
    torus = noc.topology == "torus"

    def check(evaluate):
        for src, dst in itertools.product(nodes(noc), repeat=2):
            plan = VirtualChannelPlan(noc, *src)
            header = dict(dst_x=dst[0], dst_y=dst[1], src_x=src[0], src_y=src[1], length=0)
            hash_bits = flow_hash_bits(noc, header, plan.selector_bits)
            out = evaluate(*src, LOCAL, header)
            expected_set = sum(bit << k for k, bit in enumerate(hash_bits[:plan.set_bits]))
            assert out["flow_set"] == expected_set, (src, dst, out)
            # The second dateline VC only for a packet that will not cross the
            # wrap link of the dimension it enters, and only if its hash says so.
            path = unicast_path(noc, src, dst)
            may_pick = torus and bool(path) and not crosses_wrap_link(first_dimension(path))
            assert out["entry_dateline"] == int(may_pick and hash_bits[-1] == 1), (src, dst, path, out)
            # A multicast takes the set of its rectangle's corner and the first dateline VC.
            rect = dict(mcast=1, dst_x=dst[0], dst_y=dst[1], dst_x1=dst[0], dst_y1=dst[1],
                        src_x=src[0], src_y=src[1], length=0)
            out = evaluate(*src, LOCAL, rect)
            assert out["flow_set"] == (dst[0] ^ dst[1]) & ((1 << plan.set_bits) - 1), (src, dst)
            assert out["entry_dateline"] == 0

    units.run(check)


def test_entry_dateline_on_the_turn_from_x_into_y():
    noc = CONFIGS["torus_3x3_4vcs"]().noc
    units = RouteUnits(noc)

    def check(evaluate):
        seen = set()
        for src, dst in itertools.product(nodes(noc), repeat=2):
            path = unicast_path(noc, src, dst)
            x_links = first_dimension(path) if path and is_horizontal(path[0]) else []
            if not x_links or len(x_links) == len(path):
                continue          # no turn from X into Y
            header = dict(dst_x=dst[0], dst_y=dst[1], src_x=src[0], src_y=src[1], length=0)
            hash_bit = flow_hash_bits(noc, header, VirtualChannelPlan(noc, *src).selector_bits)[-1]
            # Travelling on in X: no entry decision.
            for link in x_links[:-1]:
                assert evaluate(*link[1], arrival_port(noc, link), header)["entry_dateline"] == 0
            corner = x_links[-1]
            expected = int(hash_bit == 1 and not crosses_wrap_link(path[len(x_links):]))
            out = evaluate(*corner[1], arrival_port(noc, corner), header)
            assert out["entry_dateline"] == expected, (src, dst, corner, out)
            seen.add(expected)
        assert seen == {0, 1}

    units.run(check)
