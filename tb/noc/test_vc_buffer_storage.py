"""VcBuffer in flip-flops and in a memory: the same ports cycle by cycle.

Both storages of one depth run side by side in the Amaranth simulator on the same random pushes
and pops (a push and a pop in the same cycle included, full and empty buffers included); ``count``
and, while the buffer holds entries, the head ``data`` must agree in every cycle, and both must
agree with a Python queue.
"""

from __future__ import annotations

import collections
import random

import pytest
from amaranth.hdl import Module
from amaranth.lib import data
from amaranth.sim import Simulator

from tessera.hw.noc.vc_buffer import REGISTER_DEPTH_LIMIT, VcBuffer

LAYOUT = data.StructLayout({"a": 5, "b": 11})


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("layout", [False, True], ids=["bits", "layout"])
def test_registers_and_memory_buffers_agree_every_cycle(depth, layout):
    seed = 100 + depth * 2 + layout
    rng = random.Random(seed)
    shape = LAYOUT if layout else 16
    m = Module()
    m.submodules.registers = registers = VcBuffer(shape, depth, storage="registers")
    m.submodules.memory = memory = VcBuffer(shape, depth, storage="memory")
    bits = (lambda v: v.as_value()) if layout else (lambda v: v)

    async def bench(ctx):
        model = collections.deque()
        for cycle in range(600):
            where = f"seed {seed}, depth {depth}, cycle {cycle}"
            counts = ctx.get(registers.count), ctx.get(memory.count)
            assert counts == (len(model),) * 2, f"{where}: counts {counts}, model {len(model)}"
            if model:
                heads = ctx.get(bits(registers.data)), ctx.get(bits(memory.data))
                assert heads == (model[0],) * 2, f"{where}: heads {heads}, model {model[0]}"
            # Bursts of pushes and of pops fill and empty the buffer now and then.
            phase = (cycle // 40) % 3
            push = len(model) < depth and rng.random() < (0.9, 0.5, 0.2)[phase]
            pop = bool(model) and rng.random() < (0.2, 0.5, 0.9)[phase]
            value = rng.getrandbits(16)
            for dut in (registers, memory):
                ctx.set(dut.push, push)
                ctx.set(bits(dut.push_data), value)
                ctx.set(dut.pop, pop)
            await ctx.tick()
            if pop:
                model.popleft()
            if push:
                model.append(value)

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_storage_follows_the_depth_unless_chosen():
    assert VcBuffer(8, REGISTER_DEPTH_LIMIT).storage == "registers"
    assert VcBuffer(8, REGISTER_DEPTH_LIMIT + 1).storage == "memory"
    assert VcBuffer(8, 8, storage="registers").storage == "registers"
    assert VcBuffer(8, 1, storage="memory").storage == "memory"
    with pytest.raises(ValueError, match="buffer storage must be one of .* got 'flops'"):
        VcBuffer(8, 2, storage="flops")
