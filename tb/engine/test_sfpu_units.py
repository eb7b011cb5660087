"""Amaranth-simulator tests of the SFPU's sequential units against the numpy golden.

* The pipelined fmul / 2-term fused sum / exp (``fp.Stages`` cuts) take a new
  operand pair EVERY cycle and must give the golden result exactly
  ``stages.count`` cycles later (so a wrong latency, or a value not carried
  across a cut, shows up as a mismatch on random data).
* The iterative reciprocal / square root (hw/engine/sfpu_units.py) are started
  once per operand and read exactly ``cycles`` cycles after the start cycle,
  then checked again one cycle later (the result must hold).

Operands: seeded random bit patterns, normal values, values with close
exponents, and every pair of the corner values (tb/engine/fp_bench.py).
"""

import numpy as np
import pytest
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from tessera.hw.engine import fp
from tessera.hw.engine.sfpu_units import iterative_recip, iterative_sqrt
from tessera.sim.golden import numerics as nx
from tb.engine.fp_bench import CORNERS, FpUnitBench, assert_bits_equal


def _pairs(seed, n):
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 1 << 32, size=(n, 2), dtype=np.uint64).astype(np.uint32)
    normal = rng.standard_normal((n, 2)).astype(np.float32).view(np.uint32)
    small_exp = (rng.standard_normal((n, 2)) * 30).astype(np.float32).view(np.uint32)
    # Significands near the ends of [1, 2) (recip / sqrt rounding boundaries).
    edge = (rng.integers(0, 254, size=(n, 2)).astype(np.uint32) << 23) | \
        rng.choice(np.array([0, 1, 2, 0x7FFFFF, 0x7FFFFE, 0x400000], dtype=np.uint32), size=(n, 2))
    corners = np.array(CORNERS, dtype=np.uint32)
    cc = np.stack(np.meshgrid(corners, corners), -1).reshape(-1, 2)
    return np.concatenate([rand, normal, small_exp, edge, cc])


def stream_every_cycle(dut, n, drive, output):
    """Drive input ``cyc`` (``drive(ctx, cyc)``) in every cycle and collect ``output``
    exactly ``dut.stages.count`` cycles later (the cuts exist once the design is
    elaborated); returns (latency, results)."""
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    got, lat = [], []

    async def bench(ctx):
        lat.append(dut.stages.count)
        for cyc in range(n + lat[0]):
            if cyc < n:
                drive(ctx, cyc)
            if cyc >= lat[0]:
                got.append(ctx.get(output))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    return lat[0], np.array(got, dtype=np.uint32)


#: The pipelined units, each with its own register cuts, from the operands a and b.
PIPELINED_UNITS = {
    "mul": lambda m, d, st: fp.fmul(m, d.a, d.b, name="pm", stages=st),
    "add": lambda m, d, st: fp.fused_sum(m, [fp.fp32_term(m, d.a, name="pa"), fp.fp32_term(m, d.b, name="pb")],
                                         name="padd", stages=st),
    "exp": lambda m, d, st: fp.fexp(m, d.a, name="pexp", stages=st),
}


@pytest.mark.parametrize("seed", [21])
def test_pipelined_units_take_an_operand_every_cycle(seed):
    vec = _pairs(seed, 150)
    dut = FpUnitBench(("a", "b"), PIPELINED_UNITS)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    got = {k: [] for k in PIPELINED_UNITS}
    latency = {}

    async def bench(ctx):
        latency.update(dut.latency)
        depth = max(latency.values())
        for cyc in range(len(vec) + depth):
            if cyc < len(vec):
                ctx.set(dut.a, int(vec[cyc, 0]))
                ctx.set(dut.b, int(vec[cyc, 1]))
            for k in got:
                i = cyc - latency[k]
                if 0 <= i < len(vec):
                    got[k].append(ctx.get(getattr(dut, k)))
            await ctx.tick()

    sim.add_testbench(bench)
    sim.run()
    assert latency == {"mul": 1, "add": 3, "exp": 5}, latency
    a, b = vec[:, 0], vec[:, 1]
    want = {"mul": nx.fmul(a, b), "add": nx.fadd(a, b), "exp": nx.fexp(a)}
    for k, w in want.items():
        assert_bits_equal(got[k], w, f"seed {seed} {k}", a=a, b=b)


class IterativeUnits(wiring.Component):
    x: In(32)
    start: In(1)
    recip: Out(32)
    sqrt: Out(32)
    busy: Out(2)

    def __init__(self, digits):
        self.digits = digits
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        rcp = iterative_recip(m, self.x, self.start, digits=self.digits)
        sq = iterative_sqrt(m, self.x, self.start, digits=self.digits)
        self.cycles = {"recip": rcp.cycles, "sqrt": sq.cycles}
        m.d.comb += [self.recip.eq(rcp.out), self.sqrt.eq(sq.out), self.busy.eq(Cat(rcp.busy, sq.busy))]
        return m


@pytest.mark.parametrize("digits,seed,n", [(2, 31, 60), (3, 32, 15), (1, 33, 5)])
def test_iterative_recip_sqrt_match_golden(digits, seed, n):
    vec = _pairs(seed, n)[:, 0]
    vec = np.concatenate([vec, np.array(CORNERS, dtype=np.uint32)])
    dut = IterativeUnits(digits)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    got = {"recip": [], "sqrt": []}
    cycles = {}

    async def bench(ctx):
        cycles.update(dut.cycles)
        for v in vec:
            ctx.set(dut.x, int(v))
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            done = {}
            for c in range(1, max(cycles.values()) + 2):
                await ctx.tick()
                for k in got:
                    if c == cycles[k]:
                        assert not (ctx.get(dut.busy) >> list(got).index(k)) & 1, f"{k} busy at its latency"
                        done[k] = ctx.get(getattr(dut, k))
                    elif c == cycles[k] + 1:
                        assert ctx.get(getattr(dut, k)) == done[k], f"{k} result did not hold"
            for k in got:
                got[k].append(done[k])

    sim.add_testbench(bench)
    sim.run()
    # The iterations, then the registered rounding.
    assert cycles == {"recip": -(-27 // digits) + 1, "sqrt": -(-26 // digits) + 1}, cycles
    want = {"recip": nx.frecip(vec), "sqrt": nx.fsqrt(vec)}
    for k, w in want.items():
        assert_bits_equal(got[k], w, f"seed {seed} digits {digits} {k}", x=vec)


def test_iterative_units_reject_bad_digits():
    for bad in (0, 9, 2.0):
        with pytest.raises(ValueError, match="digits per cycle"):
            iterative_recip(Module(), Signal(32), Signal(), digits=bad)


# -- the Sfpu block itself: cycles per element, measured --------------------------------------

#: Cycles per element of every SFPU op (READ + LOAD + WRITE, and ISSUE + latency + 1 per micro-step):
#: relu 5, muls 6, adds 8, exp 10, recip 20, sqrt 19, gelu 52 (docs/engine.md).
SFPU_CYCLES = {"relu": 5, "exp": 10, "recip": 20, "sqrt": 19, "gelu": 52, "adds": 8, "muls": 6}


@pytest.mark.parametrize("seed", [41])
def test_sfpu_block_cycles_per_element_and_values(seed):
    """The first elements of a tile through the Sfpu block (Dst modelled in Python) for every op:
    values equal sim.golden.engine.sfpu, and the cycles between successive element writes."""
    from tessera.hw.config import preset
    from tessera.hw.engine.geometry import EngineGeometry
    from tessera.hw.engine.sfpu import Sfpu
    from tessera.sim.golden import engine as ge

    geo = EngineGeometry(preset("tiny"))
    assert geo.mm_rows == 1, "the Dst model below assumes one row per Dst word"
    n_elems = 6
    rng = np.random.default_rng(seed)
    scalar = int(np.float32(-1.375).view(np.uint32))

    def run(code):
        vals = np.concatenate([rng.standard_normal(n_elems - 2).astype(np.float32).view(np.uint32),
                               np.array([0x3F800000, 0xC0400000], dtype=np.uint32)])
        dut = Sfpu(geo)
        sim = Simulator(dut)
        sim.add_clock(1e-6)
        writes = []

        async def bench(ctx):
            ctx.set(dut.op, code)
            ctx.set(dut.scalar, scalar)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            cyc, pending = 0, None
            while len(writes) < n_elems:
                if pending is not None:  # Dst read data arrives the cycle after the read
                    ctx.set(dut.rd_data, int(vals[pending]) << (32 * (pending % geo.mm_cols)))
                    pending = None
                if ctx.get(dut.rd_en):
                    pending = len(writes)
                lanes = ctx.get(dut.wr_lanes)
                if lanes:
                    lane = lanes.bit_length() - 1
                    writes.append((cyc, (ctx.get(dut.wr_data) >> (32 * lane)) & 0xFFFFFFFF))
                await ctx.tick()
                cyc += 1

        sim.add_testbench(bench)
        sim.run()
        return vals, writes

    for code, op in enumerate(ge.SFPU_OPS):
        vals, writes = run(code)
        got = np.array([w[1] for w in writes], dtype=np.uint32)
        want = ge.sfpu(vals, op, scalar)
        assert (got == want).all(), f"seed {seed} {op}: hdl {[hex(v) for v in got]} golden {[hex(v) for v in want]}"
        gaps = {writes[i + 1][0] - writes[i][0] for i in range(n_elems - 1)}
        print(f"sfpu {op}: {sorted(gaps)} cycles per element")
        assert gaps == {SFPU_CYCLES[op]}, (op, gaps)


# -- the lanes' pipelined fused sum (hw/engine/math_unit.py) -----------------------------------

class PipelinedLane(wiring.Component):
    """A matmul lane's sum: Dst value + 4 slice products, through fp.cut_terms + a staged fused_sum."""
    a: In(32 * 4)
    b: In(32 * 4)
    d: In(32)
    pass_sel: In(2)
    o: Out(32)

    def elaborate(self, platform):
        m = Module()
        terms = [fp.fp32_term(m, self.d, name="dt")]
        for k in range(4):
            terms.append(fp.product_term(m, self.a[32 * k:32 * k + 32], self.b[32 * k:32 * k + 32],
                                         self.pass_sel, name=f"p{k}"))
        self.stages = fp.Stages()
        terms = fp.cut_terms(m, self.stages, terms)
        m.d.comb += self.o.eq(fp.fused_sum(m, terms, name="fs", stages=self.stages))
        return m


@pytest.mark.parametrize("seed", [51])
def test_pipelined_lane_sum_takes_an_operand_every_cycle(seed):
    rng = np.random.default_rng(seed)
    pool = _pairs(seed, 60).reshape(-1)
    n = 900
    # Mostly normal values of similar size (cancellation), some from the corner-rich pool.
    vals = rng.standard_normal((n, 9)).astype(np.float32).view(np.uint32)
    pick = rng.random((n, 9)) < 0.3
    vals[pick] = rng.choice(pool, size=int(pick.sum()))
    passes = rng.integers(0, 4, n)
    dut = PipelinedLane()

    def drive(ctx, cyc):
        v = vals[cyc]
        ctx.set(dut.d, int(v[0]))
        ctx.set(dut.a, sum(int(v[1 + k]) << (32 * k) for k in range(4)))
        ctx.set(dut.b, sum(int(v[5 + k]) << (32 * k) for k in range(4)))
        ctx.set(dut.pass_sel, int(passes[cyc]))

    latency, g = stream_every_cycle(dut, n, drive, dut.o)
    assert latency == 4
    want = np.zeros(n, dtype=np.uint32)
    for ps in range(4):
        sel = passes == ps
        v = vals[sel]
        want[sel] = nx.fused_sum([nx.fp32_term(v[:, 0])] + [nx.product_term(v[:, 1 + k], v[:, 5 + k], ps)
                                                            for k in range(4)])
    assert_bits_equal(g, want, f"seed {seed}", inputs=vals, pass_sel=passes)


class PipelinedMax(wiring.Component):
    """A max-reduction lane's maximum of 5 patterns (fp.fmax with its cut), as hw/engine/math_unit.py."""
    v: In(32 * 5)
    o: Out(32)

    def elaborate(self, platform):
        m = Module()
        self.stages = fp.Stages()
        m.d.comb += self.o.eq(fp.fmax(m, [self.v[32 * i:32 * i + 32] for i in range(5)], stages=self.stages))
        return m


@pytest.mark.parametrize("seed", [61])
def test_pipelined_max_takes_an_operand_every_cycle(seed):
    rng = np.random.default_rng(seed)
    pool = np.concatenate([_pairs(seed, 40).reshape(-1), np.array(CORNERS, dtype=np.uint32)])
    n = 600
    vals = rng.choice(pool, size=(n, 5))
    vals[::7, 3] = vals[::7, 1]  # repeated patterns
    vals[::11, :] = rng.choice(np.array([0, 0x80000000], dtype=np.uint32), size=(len(vals[::11]), 5))
    dut = PipelinedMax()
    latency, g = stream_every_cycle(
        dut, n,
        lambda ctx, cyc: ctx.set(dut.v, sum(int(x) << (32 * k) for k, x in enumerate(vals[cyc]))), dut.o)
    assert latency == 1
    want = nx.fmax_reduce([vals[:, k] for k in range(5)])
    assert_bits_equal(g, want, f"seed {seed}", inputs=vals)
