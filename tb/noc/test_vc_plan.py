"""VirtualChannelPlan: the VC a packet takes on every hop, against the dateline and VC-set rules.

Pure Python.  Each unicast path of the reference model is walked with the
plan's output-VC tables of every router on it; every hop must keep the
packet's lane and VC set, use the second dateline VC on and after a ring's
wrap link, start a dimension it will cross on the first one, and eject into
its class's FIFO.  The crossbar legs and channel inputs are checked against
the turn rules (X then Y, no U-turns).
"""

import itertools

import pytest

from tessera.hw.config import preset
from tessera.hw.noc.vc_plan import (DIRECTIONS, EAST, LOCAL, MULTICAST, NORTH, SOUTH, UNICAST, WEST,
                                    VirtualChannelPlan)
from tessera.sim.noc.model import unicast_path

STEP = {NORTH: (0, -1), EAST: (1, 0), SOUTH: (0, 1), WEST: (-1, 0)}
OPPOSITE = {NORTH: SOUTH, SOUTH: NORTH, EAST: WEST, WEST: EAST}

CONFIGS = {
    "mesh_3x2_2vcs": lambda: preset("tiny", noc={"vcs_per_class": 2}),
    "mesh_3x3_3vcs": lambda: preset("tiny", noc={"height": 3, "vcs_per_class": 3}),
    "torus_3x3_4vcs": lambda: preset("tiny", noc={"width": 3, "height": 3, "topology": "torus",
                                                  "vcs_per_class": 4}),
    "torus_4x3_2vcs": lambda: preset("tiny", noc={"width": 4, "height": 3, "topology": "torus",
                                                  "vcs_per_class": 2}),
}


def direction(noc, link):
    (x, y), far = link
    for out_port, (dx, dy) in STEP.items():
        if ((x + dx) % noc.width, (y + dy) % noc.height) == far:
            return out_port
    raise AssertionError(f"{link} joins no neighbours")


def is_wrap(link):
    (x, y), (nx, ny) = link
    return abs(x - nx) > 1 or abs(y - ny) > 1


def same_dimension(a, b):
    return (a[0][1] == a[1][1]) == (b[0][1] == b[1][1])


def walk(noc, src, dst, lane, vc_set, hash_bit):
    """Yield (link, vc) along the XY path, then ("eject", vc)."""
    path = unicast_path(noc, src, dst)
    vcs_per_class = noc.vcs_per_class
    cls = 0 if lane == noc.mcast_lane else lane
    port, vc = LOCAL, cls * vcs_per_class
    for k, link in enumerate(path):
        plan = VirtualChannelPlan(noc, *link[0])
        segment = [link]
        for later in path[k + 1:]:
            if not same_dimension(later, link):
                break
            segment.append(later)
        entering = k == 0 or not same_dimension(path[k - 1], link)
        # Route computation's choice where the packet enters a dimension.
        entry = int(entering and plan.torus and lane != noc.mcast_lane and hash_bit
                    and not any(is_wrap(s) for s in segment))
        keeps = vc_set if port == LOCAL else plan.set_of_vc(vc)
        selector = keeps | entry << plan.set_bits
        vc = plan.output_vcs(plan.inputs.index((port, vc)), direction(noc, link), lane)[selector]
        yield link, vc
        port = OPPOSITE[direction(noc, link)]
    plan = VirtualChannelPlan(noc, *dst)
    selector = (vc_set if port == LOCAL else plan.set_of_vc(vc))
    yield "eject", plan.output_vcs(plan.inputs.index((port, vc)), LOCAL, lane)[selector]


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_every_hop_keeps_lane_and_set_and_the_dateline_rule(cfg_name):
    noc = CONFIGS[cfg_name]().noc
    plan = VirtualChannelPlan(noc, 0, 0)
    vcs_per_class, dateline_vcs = noc.vcs_per_class, plan.dateline_vcs
    grid = list(itertools.product(range(noc.width), range(noc.height)))
    checked = 0
    for src, dst, lane, vc_set, hash_bit in itertools.product(
            grid, grid, range(noc.num_classes + 1), range(plan.sets), (0, 1)):
        hops = list(walk(noc, src, dst, lane, vc_set, hash_bit))
        *links, (_, eject_vc) = hops
        cls = 0 if lane == noc.mcast_lane else lane
        assert eject_vc == cls * vcs_per_class, (src, dst, lane, eject_vc)
        crossed = False
        for k, (link, vc) in enumerate(links):
            where = (cfg_name, src, dst, lane, vc_set, hash_bit, link, vc)
            assert lane * vcs_per_class <= vc < (lane + 1) * vcs_per_class, where
            assert (vc % vcs_per_class) // dateline_vcs == vc_set, where
            dateline = (vc % vcs_per_class) % dateline_vcs
            if k and not same_dimension(links[k - 1][0], link):
                crossed = False
            rest_of_dimension = list(itertools.takewhile(lambda h: same_dimension(h[0], link), links[k:]))
            crosses_later = any(is_wrap(h[0]) for h in rest_of_dimension)
            crossed |= is_wrap(link)
            if not plan.torus:
                assert dateline == 0, where
            elif crossed:
                assert dateline == 1, where          # on and after the wrap link
            elif crosses_later:
                assert dateline == 0, where          # before it
            else:                                    # never crosses: the flow hash picks
                assert dateline == (hash_bit if lane != noc.mcast_lane else 0), where
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_legs_follow_the_turn_rules(cfg_name):
    noc = CONFIGS[cfg_name]().noc
    plan = VirtualChannelPlan(noc, 1, 1)
    horizontal = (EAST, WEST)
    for channel in plan.channels:
        out_port, cls = channel
        for i, kind in plan.legs(channel):
            in_port, in_vc = plan.inputs[i]
            assert in_port != out_port or in_port == LOCAL, (channel, plan.inputs[i])   # no U-turn
            if in_port in DIRECTIONS and out_port in DIRECTIONS:
                assert not (in_port not in horizontal and out_port in horizontal), (channel, plan.inputs[i])
            if cls is not None:
                assert plan.input_class[i] == cls, (channel, plan.inputs[i])
            lane = in_vc // noc.vcs_per_class
            if kind == MULTICAST:
                assert lane == noc.mcast_lane or (in_port == LOCAL and in_vc == 0)
            else:
                assert kind == UNICAST and (lane != noc.mcast_lane or in_port == LOCAL)
        # Every allowed (input, lane) pair is a leg exactly once.
        legs = plan.legs(channel)
        assert len(legs) == len(set(legs))
    # The local class-0 input is both a unicast and a multicast leg of every link.
    local_requests = plan.inputs.index((LOCAL, 0))
    for port in DIRECTIONS:
        legs = plan.legs((port, None))
        assert (local_requests, UNICAST) in legs and (local_requests, MULTICAST) in legs


def test_channels_and_their_vcs():
    noc = CONFIGS["torus_3x3_4vcs"]().noc
    plan = VirtualChannelPlan(noc, 2, 0)
    assert plan.channels == [(NORTH, None), (EAST, None), (SOUTH, None), (WEST, None), (LOCAL, 0), (LOCAL, 1)]
    assert plan.channel_vcs((EAST, None)) == list(range(noc.num_vcs))
    assert plan.channel_vcs((LOCAL, 1)) == [noc.vcs_per_class]
    assert [plan.channel_index(LOCAL, vc) for vc in (0, noc.vcs_per_class)] == [4, 5]
    # Column 2 of 3 leads east over the wrap link, row 0 north.
    assert [plan.crosses_dateline(p) for p in (NORTH, EAST, SOUTH, WEST)] == [True, True, False, False]
    assert (plan.sets, plan.set_bits, plan.selector_bits) == (2, 1, 2)
