"""VcBuffer and InputVirtualChannel in the Amaranth simulator, against Python queue models.

The input VC test pushes framed packets whose body entries carry junk in the
route, multicast, bad and selector fields: the unit must keep presenting the
head's values (latched when the head leaves) until the tail has gone.
"""

import collections
import random

import pytest
from amaranth.lib import data
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.noc.input_vc import InputVirtualChannel
from tessera.hw.noc.vc_buffer import VcBuffer


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("depth", [1, 3, 4])
@pytest.mark.parametrize("layout", [False, True])
def test_vc_buffer_is_a_fifo_with_a_combinational_head(depth, layout):
    seed = depth * 10 + layout
    rng = random.Random(seed)
    shape = data.StructLayout({"a": 5, "b": 11}) if layout else 16
    dut = VcBuffer(shape, depth)

    async def bench(ctx):
        model = collections.deque()
        for cycle in range(500):
            assert ctx.get(dut.count) == len(model), f"seed {seed}, cycle {cycle}"
            if model:
                head = ctx.get(dut.data.as_value() if layout else dut.data)
                assert head == model[0], f"seed {seed}, cycle {cycle}: head {head}, model {model[0]}"
            push = len(model) < depth and rng.random() < 0.6
            pop = bool(model) and rng.random() < 0.5
            value = rng.getrandbits(16)
            ctx.set(dut.push, push)
            ctx.set(dut.push_data.as_value() if layout else dut.push_data, value)
            ctx.set(dut.pop, pop)
            await ctx.tick()
            if pop:
                model.popleft()
            if push:
                model.append(value)

    simulate(dut, bench)


def test_vc_buffer_refuses_a_bad_depth():
    with pytest.raises(ValueError, match="got 0"):
        VcBuffer(8, 0)


def random_packets(rng, count, selector_width, flit_data_bits):
    """Buffer entries of ``count`` packets; body entries carry junk route fields."""
    entries = []
    for _ in range(count):
        flits = rng.choice([1, 1, 2, 3, 5])
        for k in range(flits):
            entries.append({
                "flit": {"data": rng.getrandbits(flit_data_bits), "head": int(k == 0),
                         "tail": int(k == flits - 1)},
                "route": rng.choice([0, 1, 2, 4, 8, 16, rng.getrandbits(5)]),
                "bad": int(rng.random() < 0.15),
                "multicast": rng.getrandbits(1),
                "vc_selector": rng.getrandbits(selector_width),
            })
    return entries


@pytest.mark.parametrize("lanes", [(True, False), (False, True), (True, True)])
def test_input_vc_presents_the_head_state_for_the_whole_packet(lanes):
    carries_unicast, carries_multicast = lanes
    seed = 31 + 2 * carries_unicast + carries_multicast
    rng = random.Random(seed)
    noc = preset("tiny").noc
    selector_width = 2
    dut = InputVirtualChannel(noc, selector_width, carries_unicast=carries_unicast,
                              carries_multicast=carries_multicast)
    entries = random_packets(rng, 120, selector_width, noc.flit_width)

    async def bench(ctx):
        queue = collections.deque()
        to_push = list(entries)
        in_packet, latched = False, None
        popped = []
        for cycle in range(3000):
            where = f"seed {seed}, cycle {cycle}"
            request = dut.request
            assert ctx.get(dut.not_full) == (len(queue) < noc.buffer_depth), where
            wants = ctx.get(request.wants)
            if queue:
                front = queue[0]
                at_head = not in_packet and front["flit"]["head"]
                flit = ctx.get(dut.front)
                assert {"data": flit.data, "head": flit.head, "tail": flit.tail} == front["flit"], where
                assert wants == int(in_packet or front["flit"]["head"]), where
                assert ctx.get(request.at_head) == at_head, where
                if carries_unicast and carries_multicast:
                    multicast = front["multicast"] & ~front["bad"] & 1
                else:
                    multicast = int(carries_multicast)
                state = latched if in_packet else (front["route"], multicast, front["vc_selector"])
                assert ctx.get(request.route) == state[0], where
                assert ctx.get(request.multicast) == state[1], where
                assert ctx.get(request.vc_selector) == state[2], where
                assert ctx.get(dut.bad_head) == int(at_head and front["bad"]), where
            else:
                assert wants == 0, where
            transfer = wants and rng.random() < 0.5
            push = bool(to_push) and len(queue) < noc.buffer_depth and rng.random() < 0.6
            ctx.set(request.transfer, transfer)
            ctx.set(dut.push, push)
            if push:
                ctx.set(dut.entry, to_push[0])
            assert ctx.get(dut.credit) == transfer, where
            await ctx.tick()
            if transfer:
                front = queue.popleft()
                popped.append(front["flit"]["data"])
                if not in_packet and front["flit"]["head"] and not front["flit"]["tail"]:
                    in_packet, latched = True, state
                elif in_packet and front["flit"]["tail"]:
                    in_packet = False
            if push:
                queue.append(to_push.pop(0))
        assert popped == [e["flit"]["data"] for e in entries], f"seed {seed}: flits lost or reordered"

    simulate(dut, bench)
