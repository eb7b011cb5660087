"""OutputChannel in the Amaranth simulator, against a Python model of credits and VC ownership.

The stimulus plays the allocator and the downstream buffer: each cycle it
may pick one leg and an output VC that has a credit (a head only on a free
VC, body flits only on the VC their packet owns) and the downstream side
returns credits at random.  The channel must put the selected flit on the
link, count credits per VC, and own a VC from a packet's head to its tail.
"""

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.noc.output_channel import OutputChannel

CASES = {
    # A link: every VC of the network, five legs.
    "link": (lambda: preset("tiny", noc={"vcs_per_class": 2}).noc, None, 5),
    # An ejection channel: one VC (class 1's first), which takes every flit whatever ``vc`` says.
    "ejection": (lambda: preset("tiny", noc={"vcs_per_class": 2}).noc, [2], 3),
    "single_leg_link": (lambda: preset("tiny").noc, None, 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_output_channel_against_the_credit_and_ownership_model(case):
    make_noc, vcs, legs = CASES[case]
    noc = make_noc()
    vcs = list(range(noc.num_vcs)) if vcs is None else vcs
    seed = len(case)
    rng = random.Random(seed)
    dut = OutputChannel(noc, vcs, legs)
    depth, fw = noc.buffer_depth, noc.flit_width

    async def bench(ctx):
        credits = {vc: depth for vc in vcs}
        owned = {vc: False for vc in vcs}
        downstream = {vc: 0 for vc in vcs}
        sent_flits = 0
        for cycle in range(1500):
            where = f"seed {seed}, cycle {cycle}"
            status = dut.status
            for vc in range(noc.num_vcs):
                carried = vc in vcs
                assert ctx.get(status.free[vc]) == (carried and not owned[vc]), (where, vc)
                assert ctx.get(status.has_credit[vc]) == (carried and credits[vc] > 0), (where, vc)
                assert ctx.get(status.drained[vc]) == (carried and credits[vc] == depth), (where, vc)
            flits = [(rng.getrandbits(fw), rng.getrandbits(1), rng.getrandbits(1)) for _ in range(legs)]
            for leg, (value, head, tail) in enumerate(flits):
                ctx.set(dut.flits[leg], {"data": value, "head": head, "tail": tail})
            # Pick a VC that may send (a free one for a head, an owned one for a body flit).
            sendable = [vc for vc in vcs if credits[vc] > 0]
            leg = rng.randrange(legs)
            send = bool(sendable) and rng.random() < 0.7
            if send:
                vc = rng.choice(sendable)
                value, _, tail = flits[leg]
                head = int(not owned[vc])
                flits[leg] = (value, head, tail)
                ctx.set(dut.flits[leg], {"data": value, "head": head, "tail": tail})
            ctx.set(dut.select, 1 << leg if send else 0)
            junk_vc = rng.randrange(noc.num_vcs)
            ctx.set(dut.vc, vc if send and len(vcs) > 1 else junk_vc)
            returns = [vc for vc in vcs if downstream[vc] and rng.random() < 0.4]
            ctx.set(dut.link.credit, sum(1 << vc for vc in returns))

            link = dut.link
            assert ctx.get(link.valid) == send, where
            if send:
                assert ctx.get(link.flit) == flits[leg][0] | flits[leg][1] << fw | flits[leg][2] << (fw + 1), where
                if len(vcs) > 1:
                    assert ctx.get(link.vc) == vc, where
            await ctx.tick()
            for returned in returns:
                downstream[returned] -= 1
                credits[returned] += 1
            if send:
                sent_flits += 1
                credits[vc] -= 1
                downstream[vc] += 1
                _, head, tail = flits[leg]
                if head and not tail:
                    owned[vc] = True
                elif tail:
                    owned[vc] = False
        assert sent_flits > 500, f"seed {seed}: only {sent_flits} flits sent"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("vcs,legs,match", [([], 2, r"got \[\]"), ([9], 2, r"got \[9\]"),
                                            ([0], 0, "got 0")])
def test_output_channel_refuses_bad_parameters(vcs, legs, match):
    with pytest.raises(ValueError, match=match):
        OutputChannel(preset("tiny").noc, vcs, legs)
