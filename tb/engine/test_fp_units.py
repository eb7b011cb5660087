"""Amaranth-simulator tests of the engine's floating-point units against the numpy golden.

Random fp32 patterns mixed with corner values (+-0, denormals, smallest and
largest normal, +-inf, NaN, values near the exp overflow limits).
"""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from tessera.hw.engine import fp
from tessera.sim.golden import numerics as nx

CORNERS = [0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x80800000, 0x7F7FFFFF,
           0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0x3F800000, 0xBF800000,
           0x42B17218, 0xC2AEAC50, 0x42FE0000, 0xC2FE0000, 0x3F7FFFFF, 0x33800000, 0x3F800001]


class FpUnits(wiring.Component):
    a: In(32)
    b: In(32)
    c: In(32)
    pass_sel: In(2)
    add: Out(32)
    sum3: Out(32)
    mul: Out(32)
    exp: Out(32)
    recip: Out(32)
    sqrt: Out(32)
    relu: Out(32)
    mx: Out(32)
    prod: Out(32)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [
            self.add.eq(fp.fused_sum(m, [fp.fp32_term(m, self.a, name="ta"),
                                         fp.fp32_term(m, self.b, name="tb")], name="add")),
            self.sum3.eq(fp.fused_sum(m, [fp.fp32_term(m, self.c, name="tc"),
                                          fp.product_term(m, self.a, self.b, self.pass_sel, name="pp"),
                                          fp.product_term(m, self.b, self.c, self.pass_sel, name="pq")],
                                      name="s3")),
            self.mul.eq(fp.fmul(m, self.a, self.b)),
            self.exp.eq(fp.fexp(m, self.a)),
            self.recip.eq(fp.frecip(m, self.a)),
            self.sqrt.eq(fp.fsqrt(m, self.a)),
            self.relu.eq(fp.frelu(m, self.a)),
            self.mx.eq(fp.fmax(m, [self.a, self.b, self.c])),
        ]
        return m


def _vectors(seed, n):
    rng = np.random.default_rng(seed)
    rand = rng.integers(0, 1 << 32, size=(n, 3), dtype=np.uint64).astype(np.uint32)
    # Bias toward close exponents so additions cancel and round.
    normal = rng.standard_normal((n, 3)).astype(np.float32).view(np.uint32)
    small_exp = (rng.standard_normal((n, 3)) * 30).astype(np.float32).view(np.uint32)
    pool = np.concatenate([rand, normal, small_exp])
    corners = np.array(CORNERS, dtype=np.uint32)
    cc = np.stack(np.meshgrid(corners, corners, corners[:4]), -1).reshape(-1, 3)
    return np.concatenate([pool, cc])


@pytest.mark.parametrize("seed", [11])
def test_fp_units_match_golden(seed):
    vec = _vectors(seed, 150)
    dut = FpUnits()
    sim = Simulator(dut)
    got = {k: [] for k in ("add", "sum3", "mul", "exp", "recip", "sqrt", "relu", "mx")}
    passes = [i % 4 for i in range(len(vec))]

    async def bench(ctx):
        for (a, b, c), p in zip(vec, passes):
            ctx.set(dut.a, int(a))
            ctx.set(dut.b, int(b))
            ctx.set(dut.c, int(c))
            ctx.set(dut.pass_sel, p)
            for k in got:
                got[k].append(ctx.get(getattr(dut, k)))

    sim.add_testbench(bench)
    sim.run()
    a, b, c = vec[:, 0], vec[:, 1], vec[:, 2]
    p = np.array(passes)
    s3 = np.zeros(len(vec), dtype=np.uint32)
    for ps in range(4):
        sel = p == ps
        s3[sel] = nx.fused_sum([nx.fp32_term(c[sel]), nx.product_term(a[sel], b[sel], ps),
                                nx.product_term(b[sel], c[sel], ps)])
    want = {
        "add": nx.fadd(a, b), "sum3": s3, "mul": nx.fmul(a, b), "exp": nx.fexp(a),
        "recip": nx.frecip(a), "sqrt": nx.fsqrt(a), "relu": nx.frelu(a),
        "mx": nx.fmax_reduce([a, b, c]),
    }
    for k, w in want.items():
        g = np.array(got[k], dtype=np.uint32)
        bad = np.nonzero(g != w)[0]
        assert not len(bad), (f"seed {seed} {k}: {len(bad)} mismatches, first a={a[bad[0]]:#010x} "
                              f"b={b[bad[0]]:#010x} c={c[bad[0]]:#010x} pass={p[bad[0]]} "
                              f"hdl={g[bad[0]]:#010x} golden={w[bad[0]]:#010x}")
