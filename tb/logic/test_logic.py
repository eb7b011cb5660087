"""hw.logic.or_all against Python's own OR, in the Amaranth simulator."""

import functools
import random

from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tessera.hw.logic import or_all


def test_or_all_matches_python_or_for_every_count():
    rng = random.Random(7)
    for count in range(0, 9):
        inputs = [Signal(16, name=f"v{k}") for k in range(count)]
        out = Signal(16)
        m = Module()
        m.d.comb += out.eq(or_all(inputs))
        sim = Simulator(m)

        async def bench(ctx):
            for _ in range(20):
                values = [rng.getrandbits(16) for _ in inputs]
                for sig, value in zip(inputs, values):
                    ctx.set(sig, value)
                assert ctx.get(out) == functools.reduce(lambda a, b: a | b, values, 0), (count, values)

        sim.add_testbench(bench)
        sim.run()
