"""Amaranth-simulator tests of the engine's floating-point units against the numpy golden.

Random fp32 patterns mixed with corner values (+-0, denormals, smallest and
largest normal, +-inf, NaN, values near the exp overflow limits).
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from tessera.hw.engine import fp
from tessera.sim.golden import numerics as nx
from tb.engine.fp_bench import CORNERS, FpUnitBench, assert_bits_equal

#: The combinational units, each from the operands a, b, c and the slice-product pass ``pass_sel``.
FP_UNITS = {
    "add": lambda m, d, _: fp.fused_sum(m, [fp.fp32_term(m, d.a, name="ta"), fp.fp32_term(m, d.b, name="tb")],
                                        name="add"),
    "sum3": lambda m, d, _: fp.fused_sum(m, [fp.fp32_term(m, d.c, name="tc"),
                                             fp.product_term(m, d.a, d.b, d.pass_sel, name="pp"),
                                             fp.product_term(m, d.b, d.c, d.pass_sel, name="pq")], name="s3"),
    "mul": lambda m, d, _: fp.fmul(m, d.a, d.b),
    "exp": lambda m, d, _: fp.fexp(m, d.a),
    "recip": lambda m, d, _: fp.frecip(m, d.a),
    "sqrt": lambda m, d, _: fp.fsqrt(m, d.a),
    "relu": lambda m, d, _: fp.frelu(m, d.a),
    "mx": lambda m, d, _: fp.fmax(m, [d.a, d.b, d.c]),
}


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
    dut = FpUnitBench(("a", "b", "c"), FP_UNITS, extra_inputs={"pass_sel": 2})
    sim = Simulator(dut)
    got = {k: [] for k in FP_UNITS}
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
        assert_bits_equal(got[k], w, f"seed {seed} {k}", a=a, b=b, c=c, pass_sel=p)
