"""SwitchAllocator in the Amaranth simulator: exclusivity, legality, work conservation, fairness.

Random requests and output-channel states every cycle; each cycle's grants
are checked against a Python statement of the rules: at most one flit per
output channel, at most one multicast per router, a unicast only where it
asked to go on a VC that is free (head) and has a credit, a multicast on all
its branches at once and only when every branch can take it (a head needs
each output VC free and its downstream buffer empty, an ejection branch
only a credit), no channel left idle while a legal request for it waits, and
round-robin turns that survive a multicast taking the channel.
"""

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.noc.allocator import (AllocationRequestSignature, ChannelGrantSignature, ChannelStatusSignature,
                                      SwitchAllocator)
from tessera.hw.noc.vc_plan import (ALL_PORTS, DIRECTIONS, EAST, LOCAL, MULTICAST, REACHABLE, UNICAST,
                                    WEST, VirtualChannelPlan)

CYCLES = 800

CONFIGS = {
    "mesh_3x2": (lambda: preset("tiny").noc, (1, 0)),
    "mesh_3x2_2vcs": (lambda: preset("tiny", noc={"vcs_per_class": 2}).noc, (1, 1)),
    "torus_3x3_4vcs": (lambda: preset("tiny", noc={"width": 3, "height": 3, "topology": "torus",
                                                   "vcs_per_class": 4}).noc, (2, 0)),
}


def simulate(harness, bench):
    sim = Simulator(harness.module)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


class Rules:
    """The allocation rules in Python, for one router's plan."""

    def __init__(self, plan):
        self.plan = plan
        self.vc_table = {(i, out_port, kind): plan.output_vcs(i, out_port, plan.lane_of(i, kind))
                         for i in range(len(plan.inputs)) for out_port in ALL_PORTS
                         for kind in (UNICAST, MULTICAST)}
        self.channel_inputs = [set(plan.channel_inputs(channel)) for channel in plan.channels]
        self.unicast_users = [plan.unicast_users(channel) for channel in plan.channels]

    def output_vc(self, i, out_port, kind, selector):
        return self.vc_table[(i, out_port, kind)][selector]

    def may_take(self, request, status, i, out_port, kind):
        """May input ``i``'s front flit take ``out_port`` on the VC its selector picks?"""
        vc = self.output_vc(i, out_port, kind, request["vc_selector"])
        state = status[self.plan.channel_index(out_port, vc)]
        credit, free, drained = (state[name] >> vc & 1 for name in ("has_credit", "free", "drained"))
        if not request["at_head"]:
            return bool(credit)
        if kind == MULTICAST and out_port != LOCAL:
            return bool(free and drained)
        return bool(free and credit)

    def multicast_ready(self, request, status, i):
        if not (request["wants"] and request["multicast"]):
            return False
        return all(self.may_take(request, status, i, out_port, MULTICAST)
                   for out_port in ALL_PORTS if request["route"] >> out_port & 1)

    def unicast_request(self, request, status, i, channel):
        out_port = channel[0]
        return bool(request["wants"] and not request["multicast"] and request["route"] >> out_port & 1
                    and self.may_take(request, status, i, out_port, UNICAST))


def random_requests(plan, rng, selectors):
    requests = []
    for i, (port, _) in enumerate(plan.inputs):
        if plan.carries_unicast[i] and plan.carries_multicast[i]:
            multicast = rng.random() < 0.4
        else:
            multicast = plan.carries_multicast[i]
        reachable = [p for p in REACHABLE[port]
                     if p != LOCAL or plan.input_class[i] in range(plan.num_classes)]
        if multicast:
            route = sum(1 << p for p in reachable if rng.random() < 0.4)
        else:
            route = 1 << rng.choice(reachable) if rng.random() < 0.95 else 0
        requests.append({"wants": int(rng.random() < 0.7), "at_head": rng.getrandbits(1),
                         "multicast": int(multicast), "route": route,
                         "vc_selector": rng.randrange(selectors)})
    return requests


def random_status(plan, rng):
    status = []
    for _ in plan.channels:
        has_credit = rng.getrandbits(plan.num_vcs) | rng.getrandbits(plan.num_vcs)
        status.append({"free": rng.getrandbits(plan.num_vcs) | rng.getrandbits(plan.num_vcs),
                       "has_credit": has_credit,
                       "drained": has_credit & rng.getrandbits(plan.num_vcs)})
    return status


class Harness:
    """The allocator behind one wide stimulus signal per request and status field, so one
    cycle's inputs are a handful of ``ctx.set`` calls (each set settles the whole design)."""

    REQUEST_FIELDS = {"wants": 1, "at_head": 1, "multicast": 1, "route": len(ALL_PORTS)}
    STATUS_FIELDS = ("free", "has_credit", "drained")

    def __init__(self, plan):
        self.plan = plan
        self.dut = SwitchAllocator(plan)
        self.module = Module()
        self.module.submodules.allocator = self.dut
        widths = dict(self.REQUEST_FIELDS, vc_selector=plan.selector_width)
        self.widths = widths
        self.request_bits = {name: Signal(width * len(plan.inputs), name=f"all_{name}")
                             for name, width in widths.items()}
        self.status_bits = {name: Signal(plan.num_vcs * len(plan.channels), name=f"all_{name}")
                            for name in self.STATUS_FIELDS}
        for name, width in widths.items():
            for i, request in enumerate(self.dut.request):
                self.module.d.comb += getattr(request, name).eq(self.request_bits[name].word_select(i, width))
        for name in self.STATUS_FIELDS:
            for k, status in enumerate(self.dut.status):
                self.module.d.comb += getattr(status, name).eq(
                    self.status_bits[name].word_select(k, plan.num_vcs))

    def apply(self, ctx, requests, status):
        for name, width in self.widths.items():
            ctx.set(self.request_bits[name], sum(r[name] << (i * width) for i, r in enumerate(requests)))
        for name in self.STATUS_FIELDS:
            ctx.set(self.status_bits[name],
                    sum(st[name] << (k * self.plan.num_vcs) for k, st in enumerate(status)))


def read_grants(ctx, dut):
    return [{"unicast": ctx.get(g.unicast), "multicast": ctx.get(g.multicast), "vc": ctx.get(g.vc)}
            for g in dut.grant]


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
def test_random_requests_get_exclusive_legal_work_conserving_grants(cfg_name):
    make_noc, (x, y) = CONFIGS[cfg_name]
    plan = VirtualChannelPlan(make_noc(), x, y)
    rules = Rules(plan)
    harness = Harness(plan)
    dut = harness.dut
    seed = len(cfg_name) * 7 + x
    rng = random.Random(seed)
    num_inputs = len(plan.inputs)

    async def bench(ctx):
        moved = {"unicast": 0, "multicast": 0}
        for cycle in range(CYCLES):
            where = f"seed {seed}, cycle {cycle}"
            requests = random_requests(plan, rng, plan.selectors)
            status = random_status(plan, rng)
            harness.apply(ctx, requests, status)
            grants = read_grants(ctx, dut)
            transfer = [ctx.get(r.transfer) for r in dut.request]

            # At most one multicast per router, on all its branches.
            chosen = {i for g in grants for i in range(num_inputs) if g["multicast"] >> i & 1}
            assert len(chosen) <= 1, (where, chosen)
            for i in chosen:
                assert rules.multicast_ready(requests[i], status, i), (where, i)
                branches = {plan.channel_index(out_port, rules.output_vc(i, out_port, MULTICAST,
                                                                         requests[i]["vc_selector"]))
                            for out_port in ALL_PORTS if requests[i]["route"] >> out_port & 1}
                taken = {k for k, g in enumerate(grants) if g["multicast"] >> i & 1}
                assert taken == branches, (where, i, taken, branches)
                moved["multicast"] += 1
            # A ready multicast always moves.  (One with an empty route is
            # dropped; it may take the multicast turn without using a channel.)
            ready = [i for i in plan.multicast_inputs() if rules.multicast_ready(requests[i], status, i)]
            if ready and all(requests[i]["route"] for i in ready):
                assert chosen, (where, ready)

            granted_unicast = {}
            for k, (channel, grant) in enumerate(zip(plan.channels, grants)):
                both = grant["unicast"] | grant["multicast"]
                assert both & (both - 1) == 0, (where, channel, grant)          # one flit per channel
                unicast = [i for i in range(num_inputs) if grant["unicast"] >> i & 1]
                for i in unicast:
                    assert rules.unicast_request(requests[i], status, i, channel), (where, i, channel)
                    assert i in rules.channel_inputs[k], (where, i, channel)
                    assert i not in granted_unicast, (where, i)               # one output per unicast
                    granted_unicast[i] = channel
                    assert grant["vc"] == rules.output_vc(i, channel[0], UNICAST, requests[i]["vc_selector"]), where
                    moved["unicast"] += 1
                for i in [i for i in range(num_inputs) if grant["multicast"] >> i & 1]:
                    assert grant["vc"] == rules.output_vc(i, channel[0], MULTICAST, requests[i]["vc_selector"]), where
                # Work conservation: a channel the multicast did not take goes to a legal unicast.
                if not grant["multicast"]:
                    waiting = [i for i in rules.unicast_users[k]
                               if rules.unicast_request(requests[i], status, i, channel)]
                    assert bool(unicast) == bool(waiting), (where, channel, waiting, unicast)

            for i in range(num_inputs):
                dropped = requests[i]["wants"] and requests[i]["route"] == 0
                expected = dropped or i in chosen or i in granted_unicast
                assert transfer[i] == expected, (where, i, requests[i])
            await ctx.tick()
        assert moved["unicast"] > CYCLES and moved["multicast"] > CYCLES // 10, (seed, moved)

    simulate(harness, bench)


def test_unicast_turns_rotate_and_survive_a_multicast_taking_the_channel():
    noc = preset("tiny").noc
    plan = VirtualChannelPlan(noc, 1, 0)
    harness = Harness(plan)
    dut = harness.dut
    channel = (EAST, None)
    east = plan.channels.index(channel)
    users = plan.unicast_users(channel)        # the west link's unicast VCs and both local inputs
    local_requests = plan.inputs.index((LOCAL, 0))
    everything_free = [{"free": -1 & ((1 << plan.num_vcs) - 1), "has_credit": (1 << plan.num_vcs) - 1,
                        "drained": (1 << plan.num_vcs) - 1} for _ in plan.channels]
    idle = {"wants": 0, "at_head": 0, "multicast": 0, "route": 0, "vc_selector": 0}

    def unicasts_east(multicast_too):
        requests = [dict(idle) for _ in plan.inputs]
        for i in users:
            requests[i] = dict(idle, wants=1, route=1 << EAST)
        if multicast_too:
            requests[local_requests] = dict(idle, wants=1, multicast=1, route=1 << EAST)
        return requests

    async def bench(ctx):
        winners = []
        # Every unicast user wants east for two rounds: strict rotation.
        for _ in range(2 * len(users)):
            harness.apply(ctx, unicasts_east(False), everything_free)
            grant = read_grants(ctx, dut)[east]
            assert grant["multicast"] == 0
            winners.append(grant["unicast"].bit_length() - 1)
            await ctx.tick()
        assert winners == users * 2, winners
        # The next in turn is users[0]; a multicast takes the channel for a cycle ...
        harness.apply(ctx, unicasts_east(True), everything_free)
        grant = read_grants(ctx, dut)[east]
        assert grant["multicast"] == 1 << local_requests and grant["unicast"] == 0
        await ctx.tick()
        # ... and users[0] keeps its turn.  (The local class-0 input asked for a
        # multicast; as a unicast it queues behind the others.)
        harness.apply(ctx, unicasts_east(False), everything_free)
        assert read_grants(ctx, dut)[east]["unicast"] == 1 << users[0]

    simulate(harness, bench)


def test_every_ready_multicast_is_chosen_in_turn():
    noc = preset("tiny", noc={"vcs_per_class": 2}).noc
    plan = VirtualChannelPlan(noc, 1, 1)
    harness = Harness(plan)
    dut = harness.dut
    multicast_inputs = plan.multicast_inputs()
    everything_free = [{"free": (1 << plan.num_vcs) - 1, "has_credit": (1 << plan.num_vcs) - 1,
                        "drained": (1 << plan.num_vcs) - 1} for _ in plan.channels]

    async def bench(ctx):
        requests = []
        for i, (port, _) in enumerate(plan.inputs):
            ready = i in multicast_inputs
            route = 1 << LOCAL if port != LOCAL else 1 << WEST
            requests.append({"wants": int(ready), "at_head": 1, "multicast": int(ready),
                             "route": route, "vc_selector": 0})
        chosen = []
        for _ in range(2 * len(multicast_inputs)):
            harness.apply(ctx, requests, everything_free)
            taken = {i for g in read_grants(ctx, dut) for i in range(len(plan.inputs))
                     if g["multicast"] >> i & 1}
            assert len(taken) == 1, taken
            chosen += taken
            await ctx.tick()
        assert chosen == multicast_inputs * 2, chosen

    simulate(harness, bench)


@pytest.mark.parametrize("build,bad", [(AllocationRequestSignature, 0), (ChannelStatusSignature, -1),
                                       (ChannelStatusSignature, 2.0),
                                       (lambda bad: ChannelGrantSignature(bad, 3), True)])
def test_signatures_refuse_bad_sizes(build, bad):
    with pytest.raises(ValueError, match=f"got {bad!r}"):
        build(bad)
