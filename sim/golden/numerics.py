"""Bit-exact numpy models of the engine's arithmetic primitives.

Every value is handled as its fp32 bit pattern (``numpy.uint32``) and every
step is integer arithmetic on ``int64``, so the model is exact and does not
depend on the host's floating point.  The HDL in :mod:`hw.engine.fp` builds
the same steps; docs/numerics.md is the written specification.

Shared rules:

* Denormals are zero: an exponent field of 0 means zero on input, and any
  result below the smallest normal is flushed.
* NaN is canonical: every NaN produced is ``0x7FC00000``.
* Rounding is round-to-nearest-even (RNE) unless a primitive says otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from tessera.hw import numerics as contract

__all__ = [
    "CANON_NAN", "POS_INF", "NEG_INF", "SUM_WINDOW", "PRODUCT_MBITS", "FP32_MBITS",
    "FIDELITY_PASSES", "classify", "fp32_term", "product_term", "fused_sum", "fmax_reduce",
    "fmul", "fadd", "fexp", "frecip", "fsqrt", "frelu", "ftz",
    "exp_table", "LOG2E_Q30", "LN2_Q30", "rne_shift",
]

# The contract's constants come from the hardware side (tessera.hw.numerics),
# so the HDL and this model cannot drift apart.
CANON_NAN = np.uint32(contract.CANON_NAN)
POS_INF = np.uint32(contract.POS_INF)
NEG_INF = np.uint32(contract.NEG_INF)

#: Bits kept below the largest term's bound in a fused sum (see fused_sum).
SUM_WINDOW = contract.SUM_WINDOW
#: Bound on the bits of a slice product (5-bit SrcA slice x 7-bit SrcB slice).
PRODUCT_MBITS = contract.PRODUCT_MBITS
#: Bits of an fp32 significand with the hidden bit.
FP32_MBITS = contract.FP32_MBITS
#: Fidelity name -> passes.  Pass p multiplies these slices (SrcA, SrcB).
FIDELITY_PASSES = {"lofi": 1, "hifi2": 2, "hifi3": 3, "hifi4": 4}
#: (SrcA slice, SrcB slice) of each pass: "hi"/"lo".
PASS_SLICES = (("hi", "hi"), ("lo", "hi"), ("hi", "lo"), ("lo", "lo"))

KIND_ZERO, KIND_FINITE, KIND_INF, KIND_NAN = 0, 1, 2, 3


def _u32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.uint64).astype(np.uint32) if not isinstance(x, np.ndarray) \
        else x.astype(np.uint32)


def _fields(bits):
    b = _u32(bits).astype(np.int64)
    return (b >> 31) & 1, (b >> 23) & 0xFF, b & 0x7FFFFF


def classify(bits):
    """Kind of each fp32 pattern: 0 zero (incl. denormal), 1 finite, 2 inf, 3 NaN."""
    _, e, f = _fields(bits)
    kind = np.where(e == 0, KIND_ZERO, KIND_FINITE)
    kind = np.where((e == 255) & (f == 0), KIND_INF, kind)
    kind = np.where((e == 255) & (f != 0), KIND_NAN, kind)
    return kind.astype(np.int64)


def ftz(bits):
    """Flush denormals to signed zero and make NaNs canonical (the unpacker's input rule)."""
    s, e, f = _fields(bits)
    b = _u32(bits).astype(np.int64)
    out = np.where(e == 0, s << 31, b)
    out = np.where((e == 255) & (f != 0), int(CANON_NAN), out)
    return out.astype(np.uint32)


def rne_shift(value, shift):
    """``value >> shift`` rounded to nearest, ties to even (value >= 0, shift >= 1)."""
    value = np.asarray(value, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    sh = np.clip(shift, 1, 62)
    q = value >> sh
    rem = value - (q << sh)
    half = np.int64(1) << (sh - 1)
    up = (rem > half) | ((rem == half) & ((q & 1) == 1))
    return np.where(shift >= 63, 0, q + up.astype(np.int64))


# ---------------------------------------------------------------------------
# Terms of a fused sum
# ---------------------------------------------------------------------------

def fp32_term(bits, negate=False):
    """An fp32 value as a term (sign, M, E, kind, mbits): value = (-1)^s * M * 2^E."""
    s, e, f = _fields(bits)
    if negate:
        s = s ^ 1
    kind = classify(bits)
    m = np.where(kind == KIND_FINITE, f | (1 << 23), 0)
    return s, m, e - 150, kind, FP32_MBITS


def _slice(m8, which, operand):
    """SrcA slices: hi = bits 7..3 (weight 2^3), lo = bits 2..0.  SrcB: hi = 7..1 (2^1), lo = bit 0."""
    if operand == "a":
        return (m8 >> 3, 3) if which == "hi" else (m8 & 7, 0)
    return (m8 >> 1, 1) if which == "hi" else (m8 & 1, 0)


def product_term(a_bits, b_bits, pass_index):
    """One fidelity pass of a x b: the bfloat16 truncations of a and b, sliced.

    Special values are classified on the full fp32 patterns: NaN or 0 x inf is
    NaN, inf x finite non-zero is inf, and every pass sees them.
    """
    sa, ea, fa = _fields(a_bits)
    sb, eb, fb = _fields(b_bits)
    ka, kb = classify(a_bits), classify(b_bits)
    ma8 = (fa >> 16) | (1 << 7)
    mb8 = (fb >> 16) | (1 << 7)
    wa_slice, wb_slice = PASS_SLICES[pass_index]
    pa, wa = _slice(ma8, wa_slice, "a")
    pb, wb = _slice(mb8, wb_slice, "b")
    nan = (ka == KIND_NAN) | (kb == KIND_NAN) | ((ka == KIND_INF) & (kb == KIND_ZERO)) \
        | ((kb == KIND_INF) & (ka == KIND_ZERO))
    inf = ~nan & ((ka == KIND_INF) | (kb == KIND_INF))
    zero = ~nan & ~inf & ((ka == KIND_ZERO) | (kb == KIND_ZERO))
    kind = np.where(nan, KIND_NAN, np.where(inf, KIND_INF, np.where(zero, KIND_ZERO, KIND_FINITE)))
    m = np.where(kind == KIND_FINITE, pa * pb, 0)
    e = (ea - 134) + (eb - 134) + wa + wb
    return sa ^ sb, m, e, kind, PRODUCT_MBITS


def zero_term(shape):
    z = np.zeros(shape, dtype=np.int64)
    return z, z, z, z, FP32_MBITS


# ---------------------------------------------------------------------------
# The fused sum: every adder of the engine
# ---------------------------------------------------------------------------

def fused_sum(terms, window: int = SUM_WINDOW):
    """Round(sum of terms) to fp32, as the engine's adders compute it.

    1. NaN if any term is NaN or +inf and -inf meet; else inf if any is inf.
    2. Each non-zero finite term i has a bound T_i = E_i + mbits_i (value < 2^T_i).
       Tmax is the largest bound.  Each term is aligned to a fixed point with
       ``window`` bits below 2^Tmax by *truncating* its magnitude:
       a_i = floor(M_i * 2^(E_i - Tmax + window)).
    3. The aligned terms are summed exactly (two's complement).
    4. The sum is normalised and rounded once to 24 bits, RNE (the bits
       dropped in step 2 take no part).  Overflow gives inf; a result below
       the smallest normal, or an exact zero, gives +0.
    """
    shape = np.broadcast(*[t[1] for t in terms]).shape
    any_nan = np.zeros(shape, dtype=bool)
    pos_inf = np.zeros(shape, dtype=bool)
    neg_inf = np.zeros(shape, dtype=bool)
    tmax = np.full(shape, -(1 << 20), dtype=np.int64)
    active_any = np.zeros(shape, dtype=bool)
    for s, m, e, kind, mbits in terms:
        any_nan |= kind == KIND_NAN
        pos_inf |= (kind == KIND_INF) & (s == 0)
        neg_inf |= (kind == KIND_INF) & (s == 1)
        active = (kind == KIND_FINITE) & (m != 0)
        tmax = np.where(active, np.maximum(tmax, e + mbits), tmax)
        active_any |= active
    total = np.zeros(shape, dtype=np.int64)
    for s, m, e, kind, mbits in terms:
        active = (kind == KIND_FINITE) & (m != 0)
        d = tmax - e  # >= mbits for an active term
        d = np.where(active, d, 0)
        # (M << window) >> d, computed without overflowing int64.
        left = window - d
        a = np.where(left >= 0, np.asarray(m, np.int64) << np.clip(left, 0, 62),
                     np.asarray(m, np.int64) >> np.clip(-left, 0, 62))
        a = np.where((-left) >= 63, 0, a)
        a = np.where(active, a, 0)
        total += np.where(s == 1, -a, a)
    sign = (total < 0).astype(np.int64)
    mag = np.abs(total)
    length = np.zeros(shape, dtype=np.int64)
    tmp = mag.copy()
    for bit in range(62, -1, -1):
        hit = (length == 0) & ((tmp >> bit) & 1 == 1)
        length = np.where(hit, bit + 1, length)
    down = length - 24
    mant = np.where(down > 0, rne_shift(mag, np.maximum(down, 1)), mag << np.clip(-down, 0, 62))
    carry = mant >> 24
    mant = np.where(carry == 1, mant >> 1, mant)
    biased = tmax - window + length - 1 + 127 + carry
    out = (sign << 31) | (np.clip(biased, 0, 255) << 23) | (mant & 0x7FFFFF)
    out = np.where(biased >= 255, (sign << 31) | int(POS_INF), out)
    out = np.where((biased <= 0) | (mag == 0) | ~active_any, 0, out)
    out = np.where(pos_inf, int(POS_INF), out)
    out = np.where(neg_inf, int(NEG_INF), out)
    out = np.where(any_nan | (pos_inf & neg_inf), int(CANON_NAN), out)
    return out.astype(np.uint32)


def fadd(a_bits, b_bits):
    """a + b: a two-term fused sum (the SFPU's and eltwise add's adder)."""
    return fused_sum([fp32_term(a_bits), fp32_term(b_bits)])


def _order_key(bits):
    """Total order on non-NaN fp32 patterns (-0 sorts below +0)."""
    b = _u32(bits).astype(np.int64)
    return np.where(b >> 31, -(b & 0x7FFFFFFF) - 1, b)


def fmax_reduce(values):
    """Maximum over a list of fp32 pattern arrays: NaN if any NaN; -0 < +0."""
    best = _u32(values[0]).astype(np.int64)
    nan = classify(values[0]) == KIND_NAN
    for v in values[1:]:
        v = _u32(v).astype(np.int64)
        nan |= classify(v) == KIND_NAN
        best = np.where(_order_key(v) > _order_key(best), v, best)
    return np.where(nan, int(CANON_NAN), best).astype(np.uint32)


# ---------------------------------------------------------------------------
# SFPU primitives
# ---------------------------------------------------------------------------

def fmul(a_bits, b_bits):
    """a * b with the exact 48-bit product rounded once (RNE); zero and flushed results keep sign a^b."""
    sa, ea, fa = _fields(a_bits)
    sb, eb, fb = _fields(b_bits)
    ka, kb = classify(a_bits), classify(b_bits)
    sign = sa ^ sb
    prod = ((fa | (1 << 23)) * (fb | (1 << 23))).astype(np.int64)
    top = (prod >> 47) & 1  # product in [2^47, 2^48)
    mant = rne_shift(prod, 23 + top)
    carry = mant >> 24
    mant = np.where(carry == 1, mant >> 1, mant)
    biased = ea + eb - 127 + top + carry
    out = (sign << 31) | (np.clip(biased, 0, 255) << 23) | (mant & 0x7FFFFF)
    out = np.where(biased >= 255, (sign << 31) | int(POS_INF), out)
    out = np.where(biased <= 0, sign << 31, out)
    zero = (ka == KIND_ZERO) | (kb == KIND_ZERO)
    inf = (ka == KIND_INF) | (kb == KIND_INF)
    nan = (ka == KIND_NAN) | (kb == KIND_NAN) | (zero & inf)
    out = np.where(zero, sign << 31, out)
    out = np.where(inf, (sign << 31) | int(POS_INF), out)
    out = np.where(nan, int(CANON_NAN), out)
    return out.astype(np.uint32)


LOG2E_Q30 = contract.LOG2E_Q30
LN2_Q30 = contract.LN2_Q30
EXP_TABLE_BITS = contract.EXP_TABLE_BITS
exp_table = contract.exp_table


_EXP_TABLE = np.array(exp_table(), dtype=np.int64)


def fexp(bits):
    """e^x by range reduction to 2^n * 2^(i/256) * 2^r and a quadratic in r (docs/numerics.md)."""
    s, e, f = _fields(bits)
    kind = classify(bits)
    m = f | (1 << 23)
    # x in Q24 fixed point, truncated toward zero; |x| < 128 here.
    sh = e - 126
    xmag = np.where(sh >= 0, m << np.clip(sh, 0, 7), m >> np.clip(-sh, 0, 40))
    xmag = np.where(-sh >= 40, 0, xmag)
    xfix = np.where(s == 1, -xmag, xmag)
    t = (xfix * LOG2E_Q30) >> 30  # x*log2(e) in Q24, floored
    n = t >> 24
    frac = t & 0xFFFFFF
    idx = frac >> 16
    r = frac & 0xFFFF
    q = (r * LN2_Q30) >> 24
    q2 = (q * q) >> 31
    poly = (1 << 30) + q + q2
    mq = (_EXP_TABLE[idx] * poly) >> 30
    big = mq >> 31
    mq = np.where(big == 1, mq >> 1, mq)
    n = n + big
    mant = rne_shift(mq, 7)
    carry = mant >> 24
    mant = np.where(carry == 1, mant >> 1, mant)
    biased = n + 127 + carry
    out = (np.clip(biased, 0, 255) << 23) | (mant & 0x7FFFFF)
    out = np.where(biased >= 255, int(POS_INF), out)
    out = np.where(biased <= 0, 0, out)
    huge = (kind == KIND_FINITE) & (e >= 134)
    out = np.where(huge, np.where(s == 1, 0, int(POS_INF)), out)
    out = np.where(kind == KIND_ZERO, 0x3F800000, out)
    out = np.where(kind == KIND_INF, np.where(s == 1, 0, int(POS_INF)), out)
    out = np.where(kind == KIND_NAN, int(CANON_NAN), out)
    return out.astype(np.uint32)


def frecip(bits):
    """1/x correctly rounded (RNE) from an exact integer division; results below normal flush to signed zero."""
    s, e, f = _fields(bits)
    kind = classify(bits)
    m = f | (1 << 23)
    q = (np.int64(1) << 49) // m
    rem = (np.int64(1) << 49) - q * m
    exact_pow2 = f == 0
    # q in (2^25, 2^26) unless m is a power of two (q = 2^26).
    rb = (q >> 1) & 1
    sticky = ((q & 1) | (rem != 0).astype(np.int64))
    keep = q >> 2
    up = (rb == 1) & ((sticky == 1) | ((keep & 1) == 1))
    mant = keep + up
    carry = mant >> 24
    mant = np.where(carry == 1, mant >> 1, mant)
    # 1/(m * 2^(e-150)) = (2^49/m) * 2^(150-e-49); keep = q/4.
    biased = np.where(exact_pow2, 254 - e, 253 - e + carry)
    mant = np.where(exact_pow2, 1 << 23, mant)
    out = (s << 31) | (np.clip(biased, 0, 255) << 23) | (mant & 0x7FFFFF)
    out = np.where(biased <= 0, s << 31, out)
    out = np.where(kind == KIND_ZERO, (s << 31) | int(POS_INF), out)
    out = np.where(kind == KIND_INF, s << 31, out)
    out = np.where(kind == KIND_NAN, int(CANON_NAN), out)
    return out.astype(np.uint32)


def _isqrt(n):
    n = np.asarray(n, dtype=np.int64)
    r = np.sqrt(n.astype(np.float64)).astype(np.int64)
    for _ in range(2):
        r = np.where(r * r > n, r - 1, r)
        r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


def fsqrt(bits):
    """sqrt(x) correctly rounded (RNE) from an exact integer square root."""
    s, e, f = _fields(bits)
    kind = classify(bits)
    m = f | (1 << 23)
    odd = (e - 127) & 1
    mm = m << odd  # value = mm * 2^(e - 127 - odd - 23), exponent even
    big = mm << 27  # sqrt in [2^25, 2^26)
    root = _isqrt(big)
    rem = big - root * root
    rb = (root >> 1) & 1
    sticky = (root & 1) | (rem != 0).astype(np.int64)
    keep = root >> 2
    up = (rb == 1) & ((sticky == 1) | ((keep & 1) == 1))
    mant = keep + up
    carry = mant >> 24
    mant = np.where(carry == 1, mant >> 1, mant)
    biased = ((e - 127 - odd) >> 1) + 127 + carry
    out = (biased << 23) | (mant & 0x7FFFFF)
    out = np.where(s == 1, int(CANON_NAN), out)
    out = np.where(kind == KIND_ZERO, s << 31, out)
    out = np.where((kind == KIND_INF) & (s == 0), int(POS_INF), out)
    out = np.where(kind == KIND_NAN, int(CANON_NAN), out)
    return out.astype(np.uint32)


def frelu(bits):
    """max(x, 0): negative values (and -0, -inf) and denormals give +0; NaN stays NaN."""
    s, _, _ = _fields(bits)
    kind = classify(bits)
    b = _u32(bits).astype(np.int64)
    out = np.where((s == 1) | (kind == KIND_ZERO), 0, b)
    out = np.where(kind == KIND_NAN, int(CANON_NAN), out)
    return out.astype(np.uint32)
