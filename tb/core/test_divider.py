"""The divider in the Amaranth simulator against Python's arithmetic (RISC-V rules)."""

import random

from amaranth.sim import Simulator

from tessera.hw.core.divider import Divider

M32 = 0xFFFF_FFFF


def reference(funct3, a, b):
    sa = a - (1 << 32) if a >> 31 else a
    sb = b - (1 << 32) if b >> 31 else b
    if funct3 in (4, 6):  # signed
        if b == 0:
            return M32 if funct3 == 4 else a
        if sa == -(1 << 31) and sb == -1:
            return a if funct3 == 4 else 0
        q = abs(sa) // abs(sb)
        q = -q if (sa < 0) != (sb < 0) else q
        r = sa - q * sb
        return (q if funct3 == 4 else r) & M32
    if b == 0:
        return M32 if funct3 == 5 else a
    return (a // b) if funct3 == 5 else (a % b)


def test_divider_matches_reference():
    rng = random.Random(7)
    corner = [0, 1, 2, 3, 7, 10, M32, M32 - 1, 0x80000000, 0x7FFFFFFF, 0x80000001]
    cases = [(f, a, b) for f in (4, 5, 6, 7) for a in corner for b in corner]
    cases += [(rng.choice((4, 5, 6, 7)), rng.getrandbits(rng.choice((32, 16, 8))),
               rng.getrandbits(rng.choice((32, 12, 4)))) for _ in range(600)]
    dut = Divider()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    worst = [0]

    async def bench(ctx):
        for funct3, a, b in cases:
            ctx.set(dut.funct3, funct3)
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.start, 1)
            cycles = 0
            while True:
                await ctx.tick()
                cycles += 1
                if ctx.get(dut.done):
                    break
                assert cycles < 40, f"divider hangs on {funct3} {a:#x} {b:#x}"
            got = ctx.get(dut.result)
            assert got == reference(funct3, a, b), \
                f"funct3={funct3} a={a:#x} b={b:#x}: got {got:#x}, expected {reference(funct3, a, b):#x}"
            worst[0] = max(worst[0], cycles)
            ctx.set(dut.ack, 1)
            await ctx.tick()
            ctx.set(dut.ack, 0)

    sim.add_testbench(bench)
    sim.run()
    assert worst[0] <= 18, f"slowest division took {worst[0]} cycles"
