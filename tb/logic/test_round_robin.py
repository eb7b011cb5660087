"""hw.logic.RoundRobin in the Amaranth simulator, against a Python model of a rotating pointer.

The model keeps the index of the last requester served and grants the first
requester after it in cyclic order; the HDL keeps a mask instead, so the two
are independent.
"""

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.logic import RoundRobin


class PointerModel:
    """Round robin as a pointer: priority starts just after the last requester served."""

    def __init__(self, count):
        self.count = count
        self.last = count - 1

    def grant(self, requests):
        for step in range(1, self.count + 1):
            k = (self.last + step) % self.count
            if requests >> k & 1:
                return k
        return None

    def move(self, granted):
        if granted is not None:
            self.last = granted


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("with_advance", [False, True])
def test_grant_matches_the_pointer_model_and_is_one_hot_among_requests(count, with_advance):
    seed = 1000 * count + with_advance
    rng = random.Random(seed)
    dut = RoundRobin(count, with_advance=with_advance)
    model = PointerModel(count)

    async def bench(ctx):
        for cycle in range(400):
            # Sparse, dense and full request patterns.
            density = rng.choice([0.2, 0.5, 0.9, 1.0])
            requests = sum(1 << k for k in range(count) if rng.random() < density)
            advance = rng.random() < 0.6
            ctx.set(dut.requests, requests)
            if with_advance:
                ctx.set(dut.advance, advance)
            grant, index = ctx.get(dut.grant), ctx.get(dut.grant_index)
            expected = model.grant(requests)
            where = f"seed {seed}, cycle {cycle}, requests {requests:0{count}b}"
            if expected is None:
                assert grant == 0 and index == 0, where
            else:
                assert grant == 1 << expected, f"{where}: grant {grant:0{count}b}, model {expected}"
                assert index == expected, where
            assert grant & ~requests == 0 and grant & (grant - 1) == 0, where
            if not with_advance or advance:
                model.move(expected)
            await ctx.tick()

    simulate(dut, bench)


@pytest.mark.parametrize("count", [2, 4, 7])
def test_every_persistent_requester_is_granted_within_count_cycles(count):
    seed = 77 + count
    rng = random.Random(seed)
    dut = RoundRobin(count)

    async def bench(ctx):
        persistent = rng.randrange(count)
        waited = 0
        for cycle in range(600):
            if cycle % 100 == 0:
                persistent = rng.randrange(count)
                waited = 0
            # Everyone else requests at random; most of them most of the time.
            requests = 1 << persistent
            requests |= sum(1 << k for k in range(count) if rng.random() < 0.8)
            ctx.set(dut.requests, requests)
            grant = ctx.get(dut.grant)
            waited += 1
            if grant >> persistent & 1:
                waited = 0
            assert waited < count, f"seed {seed}: requester {persistent} waited {waited} cycles"
            await ctx.tick()

    simulate(dut, bench)


@pytest.mark.parametrize("count", [2, 4])
def test_all_requesting_are_served_in_turn_whether_or_not_the_grant_is_used(count):
    # Without ``with_advance`` every grant moves the priority: the data-bus
    # arbiter relies on this (a stalled target must not lock the other
    # initiators out).
    dut = RoundRobin(count)

    async def bench(ctx):
        ctx.set(dut.requests, (1 << count) - 1)
        order = []
        for _ in range(2 * count):
            order.append(ctx.get(dut.grant_index))
            await ctx.tick()
        assert order == list(range(count)) * 2

    simulate(dut, bench)


def test_without_advance_the_granted_requester_keeps_its_turn():
    dut = RoundRobin(3, with_advance=True)

    async def bench(ctx):
        ctx.set(dut.requests, 0b111)
        ctx.set(dut.advance, 0)
        for _ in range(5):
            # Not used: the same requester stays granted however long it takes.
            assert ctx.get(dut.grant) == 0b001
            await ctx.tick()
        ctx.set(dut.advance, 1)
        assert ctx.get(dut.grant) == 0b001
        await ctx.tick()
        assert ctx.get(dut.grant) == 0b010
        # A requester that drops out loses nothing: with 1 and 2 held back,
        # 0 is next after 1 is served, then 2 when it returns.
        await ctx.tick()
        assert ctx.get(dut.grant) == 0b100
        ctx.set(dut.requests, 0b011)
        assert ctx.get(dut.grant) == 0b001
        await ctx.tick()
        ctx.set(dut.requests, 0b111)
        assert ctx.get(dut.grant) == 0b010

    simulate(dut, bench)


@pytest.mark.parametrize("count", [0, -1, 2.0, True])
def test_bad_counts_are_refused(count):
    with pytest.raises(ValueError, match=f"got {count!r}"):
        RoundRobin(count)


def test_with_advance_must_be_a_bool():
    with pytest.raises(TypeError, match="got 1"):
        RoundRobin(2, with_advance=1)
