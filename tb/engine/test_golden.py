"""Golden-model tests: formats against ml_dtypes / exact arithmetic, fidelity behaviour, accuracy.

These pin the golden to independent references (float64, ml_dtypes, exact
integer arithmetic) so the HDL, which is checked against the golden, is
anchored to the real numbers.
"""

import math

import ml_dtypes
import numpy as np
import pytest

from tessera.hw.config import preset
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sim.golden import numerics as nx

ECFG = preset("tiny").engine
TENSIX = preset("tensix").engine


def _f(bits):
    return fm.bits_to_f32(bits).astype(np.float64)


def test_bf16_packing_is_ml_dtypes_rne():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 1 << 32, 20000, dtype=np.uint64).astype(np.uint32)
    bits = nx.ftz(bits)
    got = fm.to_bf16_bits(bits)
    want = fm.bits_to_f32(bits).astype(ml_dtypes.bfloat16).view(np.uint16)
    nan = nx.classify(bits) == 3
    assert np.array_equal(got[~nan], want[~nan])
    assert np.all(got[nan] == 0x7FC0)


def test_bfp8_roundtrip_error_bound_and_corners():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(4096) * np.exp2(rng.integers(-10, 10, 4096))).astype(np.float32)
    exps, data = fm.bfp8_encode(fm.f32_to_bits(x), 16)
    back = _f(fm.bfp8_decode(exps, data, 16))
    blk = np.abs(x.astype(np.float64)).reshape(-1, 16).max(axis=1)
    # RNE to the block's grid 2^(E-133): error at most half a grid step; E is the block
    # maximum's exponent, or one more when the maximum rounds up to 128.
    step = np.exp2(exps.astype(np.float64) - 133)
    assert np.all(np.isin(exps.astype(np.int64) - 127 - np.floor(np.log2(blk)).astype(np.int64), (0, 1)))
    err = np.abs(back - x).reshape(-1, 16)
    assert np.all(err <= step[:, None] / 2 * (1 + 1e-12) + 1e-300)
    # Magnitude rounding up to 128 raises the exponent: 1.9999 -> 2.0 exactly.
    v = np.array([1.999] + [0.0] * 15, dtype=np.float32)
    e, d = fm.bfp8_encode(fm.f32_to_bits(v), 16)
    assert e[0] == 128 and d[0] == 0x40 and _f(fm.bfp8_decode(e, d, 16))[0] == 2.0
    # Inf and NaN blocks.
    v = np.array([np.inf, -np.inf, np.nan, 1.0] + [0.0] * 12, dtype=np.float32)
    e, d = fm.bfp8_encode(fm.f32_to_bits(v), 16)
    out = _f(fm.bfp8_decode(e, d, 16))
    assert e[0] == 255 and out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2]) and out[3] == 0


def test_tile_order_is_faces_then_rows():
    t = np.arange(32 * 32).reshape(32, 32)
    flat = fm.tile_to_l1_order(t, ECFG)
    assert list(flat[:17]) == list(range(16)) + [32]
    assert flat[256] == 16 and flat[512] == 16 * 32
    assert np.array_equal(fm.l1_order_to_tile(flat, ECFG), t)


def test_fused_sum_is_exactly_rounded_when_terms_fit_the_window():
    # Two fp32 terms whose exponents differ by <= 8 are summed exactly, then RNE: equals IEEE.
    rng = np.random.default_rng(5)
    a = rng.standard_normal(20000).astype(np.float32)
    b = (rng.standard_normal(20000) * 4).astype(np.float32)
    got = nx.fadd(fm.f32_to_bits(a), fm.f32_to_bits(b))
    assert np.array_equal(got, fm.f32_to_bits(a + b) & np.where(a + b == 0, 0, 0xFFFFFFFF).astype(np.uint32))


def test_fmul_matches_ieee_on_normal_range():
    rng = np.random.default_rng(6)
    a = rng.standard_normal(20000).astype(np.float32)
    b = rng.standard_normal(20000).astype(np.float32)
    assert np.array_equal(nx.fmul(fm.f32_to_bits(a), fm.f32_to_bits(b)), fm.f32_to_bits(a * b))


@pytest.mark.parametrize("fid,bound", [("lofi", 2 ** -4), ("hifi2", 2 ** -6), ("hifi3", 2 ** -11),
                                       ("hifi4", 2 ** -20)])
def test_matmul_fidelity_error_vs_float64(fid, bound):
    """Relative error of the bf16 matmul against float64 shrinks with each fidelity pass."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((32, 32)).astype(np.float32)
    b = rng.standard_normal((32, 32)).astype(np.float32)
    ab = fm.f32_to_bits(a.astype(ml_dtypes.bfloat16).astype(np.float32))
    bb = fm.f32_to_bits(b.astype(ml_dtypes.bfloat16).astype(np.float32))
    ref = _f(ab) @ _f(bb)
    got = _f(ge.matmul(np.zeros((32, 32), np.uint32), ab, bb, ECFG, fid, acc=False))
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    assert rel < bound, f"{fid}: relative error {rel:.3g}"


def test_hifi4_single_product_is_exact():
    rng = np.random.default_rng(8)
    a = fm.f32_to_bits(rng.standard_normal(1000).astype(ml_dtypes.bfloat16).astype(np.float32))
    b = fm.f32_to_bits(rng.standard_normal(1000).astype(ml_dtypes.bfloat16).astype(np.float32))
    d = np.zeros(1000, np.uint32)
    for p in range(4):
        d = nx.fused_sum([nx.fp32_term(d), nx.product_term(a, b, p)])
    assert np.array_equal(_f(d), _f(a) * _f(b))


def test_tensix_shape_matmul_golden_runs():
    rng = np.random.default_rng(9)
    # The matmul consumes bfloat16 truncations of Src values: feed it exact bfloat16s.
    a = fm.f32_to_bits(rng.standard_normal((32, 32)).astype(np.float32)) & np.uint32(0xFFFF0000)
    out = ge.matmul(np.zeros((32, 32), np.uint32), a, a, TENSIX, "hifi4", acc=False)
    assert np.abs(_f(out) - _f(a) @ _f(a)).max() < 1e-3


def _sfpu_accuracy(op, x):
    xb = fm.f32_to_bits(x)
    got = _f(ge.sfpu(xb, op))
    x64 = _f(xb)
    ref = {"exp": np.exp, "recip": lambda v: 1 / v, "sqrt": np.sqrt,
           "gelu": np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))}[op](x64)
    return got, ref


@pytest.mark.parametrize("op,x,max_ulp", [
    ("exp", np.linspace(-87, 88, 50001, dtype=np.float32), 2.0),
    ("recip", np.geomspace(1e-30, 1e30, 50001, dtype=np.float32), 0.5),
    ("sqrt", np.geomspace(1e-30, 1e30, 50001, dtype=np.float32), 0.5),
])
def test_sfpu_accuracy_ulps(op, x, max_ulp):
    got, ref = _sfpu_accuracy(op, x)
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    err = np.abs(got - ref) / ulp
    assert err.max() <= max_ulp, f"{op}: {err.max():.3f} ulp"


def test_sfpu_gelu_accuracy():
    x = np.linspace(-8, 8, 20001, dtype=np.float32)
    got, ref = _sfpu_accuracy("gelu", x)
    assert np.abs(got - ref).max() < 1e-3


def test_sfpu_special_values():
    bits = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x00000001], np.uint32)
    assert list(ge.sfpu(bits, "exp")) == [0x3F800000, 0x3F800000, 0x7F800000, 0, 0x7FC00000, 0x3F800000]
    assert list(ge.sfpu(bits, "recip")) == [0x7F800000, 0xFF800000, 0, 0x80000000, 0x7FC00000, 0x7F800000]
    assert list(ge.sfpu(bits, "sqrt")) == [0, 0x80000000, 0x7F800000, 0x7FC00000, 0x7FC00000, 0]
    assert list(ge.sfpu(bits, "relu")) == [0, 0, 0x7F800000, 0, 0x7FC00000, 0]


def test_golden_rejects_unknown_names():
    z = np.zeros((32, 32), np.uint32)
    with pytest.raises(ValueError, match="'ultra'"):
        ge.matmul(z, z, z, ECFG, "ultra")
    with pytest.raises(ValueError, match="'tanh'"):
        ge.sfpu(z, "tanh")
    with pytest.raises(ValueError, match="'diag'"):
        ge.reduce(z, z, "diag", "sum", ECFG)
