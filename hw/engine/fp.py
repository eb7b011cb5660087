"""Combinational floating-point building blocks of the engine.

Each function adds logic to a Module and returns a Signal holding an fp32 bit
pattern.  They implement, bit for bit, the primitives of
:mod:`sim.golden.numerics` (the written rules are in docs/numerics.md):
the fused sum used by every adder, the exact-product multiplier of the
SFPU, exp by table + quadratic, reciprocal and square root by exact integer
digit recurrences.  Denormals are zero; NaN results are 0x7FC00000.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned

from sim.golden.numerics import (CANON_NAN, FP32_MBITS, LN2_Q30, LOG2E_Q30, PRODUCT_MBITS, SUM_WINDOW,
                                 exp_table)

__all__ = ["Term", "fields", "fp32_term", "product_term", "fused_sum", "fmax", "fmul", "fexp",
           "frecip", "fsqrt", "frelu", "ftz", "lzc", "rne"]

NAN = int(CANON_NAN)
INF = 0x7F800000
EXP_SHAPE = signed(12)


def sx(value):
    """Zero-extend an unsigned value by one bit and view it as signed (for signed arithmetic)."""
    return Cat(value, Const(0, 1)).as_signed()


class Term:
    """One addend: value = (-1)^sign * m * 2^e, m top-aligned to ``mbits`` bits, plus class flags."""

    def __init__(self, sign, m, e, mbits, zero, inf, nan):
        self.sign, self.m, self.e, self.mbits = sign, m, e, mbits
        self.zero, self.inf, self.nan = zero, inf, nan


def fields(bits):
    return bits[31], bits[23:31], bits[0:23]


def _class(bits):
    _, e, f = fields(bits)
    zero = e == 0
    inf = (e == 0xFF) & (f == 0)
    nan = (e == 0xFF) & (f != 0)
    return zero, inf, nan


def ftz(m: Module, bits, name="ftz"):
    """Flush denormals to signed zero; make NaN canonical."""
    out = Signal(32, name=name)
    s, e, f = fields(bits)
    zero, _, nan = _class(bits)
    m.d.comb += out.eq(Mux(nan, NAN, Mux(zero, Cat(Const(0, 31), s), bits)))
    return out


def fp32_term(m: Module, bits, negate=0, name="t"):
    s, e, f = fields(bits)
    zero, inf, nan = _class(bits)
    e_sig = Signal(EXP_SHAPE, name=f"{name}_e")
    mant = Signal(FP32_MBITS, name=f"{name}_m")
    m.d.comb += [e_sig.eq(sx(e) - 150),
                 mant.eq(Mux(zero | inf | nan, 0, Cat(f, Const(1, 1))))]
    return Term(s ^ negate, mant, e_sig, FP32_MBITS, zero, inf, nan)


def product_term(m: Module, a, b, pass_sel, name="p"):
    """One fidelity pass of the bfloat16 truncations of a and b (5-bit x 7-bit slice product)."""
    sa, ea, fa = fields(a)
    sb, eb, fb = fields(b)
    za, ia, na = _class(a)
    zb, ib, nb = _class(b)
    ma8 = Cat(fa[16:23], Const(1, 1))
    mb8 = Cat(fb[16:23], Const(1, 1))
    a_hi = ~pass_sel[0]  # passes 0, 2 use the SrcA high slice
    b_hi = ~pass_sel[1]  # passes 0, 1 use the SrcB high slice
    pa = Signal(5, name=f"{name}_pa")
    pb = Signal(7, name=f"{name}_pb")
    prod = Signal(PRODUCT_MBITS, name=f"{name}_m")
    e_sig = Signal(EXP_SHAPE, name=f"{name}_e")
    nan = Signal(name=f"{name}_nan")
    inf = Signal(name=f"{name}_inf")
    zero = Signal(name=f"{name}_zero")
    m.d.comb += [
        pa.eq(Mux(a_hi, ma8[3:8], ma8[0:3])),
        pb.eq(Mux(b_hi, mb8[1:8], mb8[0:1])),
        nan.eq(na | nb | (ia & zb) | (ib & za)),
        inf.eq(~nan & (ia | ib)),
        zero.eq(~nan & ~inf & (za | zb)),
        prod.eq(Mux(nan | inf | zero, 0, pa * pb)),
        e_sig.eq(sx(ea) + sx(eb) - 268 + Mux(a_hi, 3, 0) + Mux(b_hi, 1, 0)),
    ]
    return Term(sa ^ sb, prod, e_sig, PRODUCT_MBITS, zero, inf, nan)


def lzc(m: Module, value, name="lzc"):
    """Count of leading zeros of ``value`` (len(value) when zero)."""
    width = len(value)
    out = Signal(range(width + 1), name=name)
    expr = Const(width, range(width + 1))
    for i in range(width):
        expr = Mux(value[i], width - 1 - i, expr)
    m.d.comb += out.eq(expr)
    return out


def rne(keep, round_bit, sticky):
    """keep + 1 when the dropped part is above half, or exactly half and keep is odd."""
    return keep + (round_bit & (sticky | keep[0]))


def _assemble(m: Module, sign, biased, mant24, name):
    """Pack sign / biased exponent / 24-bit significand; overflow -> inf, underflow -> signed zero."""
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(biased >= 255, Cat(Const(INF, 31), sign),
                           Mux(biased <= 0, Cat(Const(0, 31), sign),
                               Cat(mant24[0:23], biased[0:8], sign))))
    return out


def _normalize_round(m: Module, mag, name):
    """mag (unsigned, != 0) -> (24-bit RNE significand, carry, bit length)."""
    width = len(mag)
    zeros = lzc(m, mag, name=f"{name}_lzc")
    norm = Signal(width, name=f"{name}_norm")
    m.d.comb += norm.eq((mag << zeros)[:width])
    keep = norm[width - 24:width]
    round_bit = norm[width - 25] if width >= 25 else Const(0, 1)
    sticky = (norm[0:width - 25] != 0) if width > 25 else Const(0, 1)
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(keep, round_bit, sticky))
    carry = rounded[24]
    mant = Signal(24, name=f"{name}_mant")
    m.d.comb += mant.eq(Mux(carry, rounded[1:25], rounded[0:24]))
    length = Signal(signed(12), name=f"{name}_len")
    m.d.comb += length.eq(width - zeros)
    return mant, carry, length


def fused_sum(m: Module, terms, name="fs", window=SUM_WINDOW):
    """Round(sum of terms) to fp32 exactly as :func:`sim.golden.numerics.fused_sum`."""
    n = len(terms)
    any_nan = Signal(name=f"{name}_nan")
    pos_inf = Signal(name=f"{name}_pinf")
    neg_inf = Signal(name=f"{name}_ninf")
    m.d.comb += [
        any_nan.eq(Cat(*[t.nan for t in terms]).any()),
        pos_inf.eq(Cat(*[t.inf & ~t.sign for t in terms]).any()),
        neg_inf.eq(Cat(*[t.inf & t.sign for t in terms]).any()),
    ]
    actives, bounds = [], []
    for i, t in enumerate(terms):
        act = Signal(name=f"{name}_act{i}")
        bound = Signal(EXP_SHAPE, name=f"{name}_T{i}")
        m.d.comb += [act.eq(t.m != 0), bound.eq(t.e + t.mbits)]
        actives.append(act)
        bounds.append(bound)
    # Largest bound over active terms (a balanced tree of max).
    level = [(Mux(a, b, -2048), a) for a, b in zip(actives, bounds)]
    tmax_expr = level[0][0]
    for i in range(1, n):
        cur = Signal(EXP_SHAPE, name=f"{name}_tm{i}")
        m.d.comb += cur.eq(Mux(level[i][0] > tmax_expr, level[i][0], tmax_expr))
        tmax_expr = cur
    tmax = Signal(EXP_SHAPE, name=f"{name}_tmax")
    m.d.comb += tmax.eq(tmax_expr)
    sum_width = window + (n - 1).bit_length() + 2
    total = Signal(signed(sum_width), name=f"{name}_sum")
    addends = []
    for i, t in enumerate(terms):
        top = Signal(window, name=f"{name}_top{i}")
        m.d.comb += top.eq(t.m << (window - t.mbits))
        dist = Signal(EXP_SHAPE, name=f"{name}_d{i}")
        m.d.comb += dist.eq(tmax - bounds[i])
        aligned = Signal(window, name=f"{name}_al{i}")
        shift_bits = (window - 1).bit_length()
        m.d.comb += aligned.eq(Mux(~actives[i] | (dist >= window), 0, top >> dist[0:shift_bits]))
        signed_al = Signal(signed(sum_width), name=f"{name}_sa{i}")
        m.d.comb += signed_al.eq(Mux(t.sign, -aligned, aligned))
        addends.append(signed_al)
    expr = addends[0]
    for a in addends[1:]:
        expr = expr + a
    m.d.comb += total.eq(expr)
    mag = Signal(sum_width, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(total < 0, -total, total))
    mant, carry, length = _normalize_round(m, mag, name)
    biased = Signal(signed(14), name=f"{name}_bexp")
    m.d.comb += biased.eq(tmax - window + length - 1 + 127 + carry)
    finite = _assemble(m, total < 0, biased, mant, f"{name}_fin")
    out = Signal(32, name=name)
    with m.If(any_nan | (pos_inf & neg_inf)):
        m.d.comb += out.eq(NAN)
    with m.Elif(pos_inf):
        m.d.comb += out.eq(INF)
    with m.Elif(neg_inf):
        m.d.comb += out.eq(INF | (1 << 31))
    with m.Elif((mag == 0) | (biased <= 0)):
        m.d.comb += out.eq(0)
    with m.Else():
        m.d.comb += out.eq(finite)
    return out


def _order_key(bits):
    """Signed key giving the total order of non-NaN patterns (-0 below +0)."""
    mag = sx(bits[0:31])
    return Mux(bits[31], -mag - 1, mag)


def fmax(m: Module, values, name="mx"):
    """Maximum of fp32 patterns: NaN if any is NaN (sim.golden.numerics.fmax_reduce)."""
    best = values[0]
    for i, v in enumerate(values[1:]):
        cur = Signal(32, name=f"{name}_{i}")
        m.d.comb += cur.eq(Mux(_order_key(v) > _order_key(best), v, best))
        best = cur
    out = Signal(32, name=name)
    any_nan = Cat(*[_class(v)[2] for v in values]).any()
    m.d.comb += out.eq(Mux(any_nan, NAN, best))
    return out


def fmul(m: Module, a, b, name="fm"):
    sa, ea, fa = fields(a)
    sb, eb, fb = fields(b)
    za, ia, na = _class(a)
    zb, ib, nb = _class(b)
    sign = sa ^ sb
    prod = Signal(48, name=f"{name}_prod")
    m.d.comb += prod.eq(Cat(fa, Const(1, 1)) * Cat(fb, Const(1, 1)))
    top = prod[47]
    keep = Mux(top, prod[24:48], prod[23:47])
    round_bit = Mux(top, prod[23], prod[22])
    sticky = Mux(top, prod[0:23] != 0, prod[0:22] != 0)
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(keep, round_bit, sticky))
    mant = Mux(rounded[24], rounded[1:25], rounded[0:24])
    biased = Signal(signed(12), name=f"{name}_bexp")
    m.d.comb += biased.eq(sx(ea) + sx(eb) - 127 + top + rounded[24])
    fin = _assemble(m, sign, biased, mant, f"{name}_fin")
    out = Signal(32, name=name)
    zero = za | zb
    inf = ia | ib
    m.d.comb += out.eq(Mux(na | nb | (zero & inf), NAN,
                           Mux(inf, Cat(Const(INF, 31), sign),
                               Mux(zero, Cat(Const(0, 31), sign), fin))))
    return out


def fexp(m: Module, x, name="fx"):
    s, e, f = fields(x)
    zero, inf, nan = _class(x)
    mant = Cat(f, Const(1, 1))
    sh = Signal(signed(10), name=f"{name}_sh")
    m.d.comb += sh.eq(sx(e) - 126)
    xmag = Signal(31, name=f"{name}_xmag")
    with m.If(sh >= 0):
        m.d.comb += xmag.eq(mant << sh[0:3])
    with m.Elif(-sh >= 40):
        m.d.comb += xmag.eq(0)
    with m.Else():
        m.d.comb += xmag.eq(mant >> (-sh)[0:6])
    xfix = Signal(signed(33), name=f"{name}_xfix")
    m.d.comb += xfix.eq(Mux(s, -xmag, xmag))
    prod = Signal(signed(66), name=f"{name}_t0")
    m.d.comb += prod.eq(xfix * LOG2E_Q30)
    t = Signal(signed(36), name=f"{name}_t")
    m.d.comb += t.eq(prod >> 30)
    n = Signal(signed(12), name=f"{name}_n")
    m.d.comb += n.eq(t >> 24)
    idx = t[16:24]
    r = t[0:16]
    q = Signal(32, name=f"{name}_q")
    m.d.comb += q.eq((r * LN2_Q30) >> 24)
    q2 = Signal(32, name=f"{name}_q2")
    m.d.comb += q2.eq((q * q) >> 31)
    poly = Signal(32, name=f"{name}_poly")
    m.d.comb += poly.eq((1 << 30) + q + q2)
    table = Array([Const(v, 31) for v in exp_table()])
    mq0 = Signal(64, name=f"{name}_mq0")
    m.d.comb += mq0.eq((table[idx] * poly) >> 30)
    big = mq0[31]
    mq = Signal(31, name=f"{name}_mq")
    m.d.comb += mq.eq(Mux(big, mq0[1:32], mq0[0:31]))
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(mq[7:31], mq[6], mq[0:6] != 0))
    mant24 = Mux(rounded[24], rounded[1:25], rounded[0:24])
    biased = Signal(signed(12), name=f"{name}_bexp")
    m.d.comb += biased.eq(n + 127 + big + rounded[24])
    fin = _assemble(m, Const(0, 1), biased, mant24, f"{name}_fin")
    out = Signal(32, name=name)
    with m.If(nan):
        m.d.comb += out.eq(NAN)
    with m.Elif(zero):
        m.d.comb += out.eq(0x3F800000)
    with m.Elif(inf | (e >= 134)):
        m.d.comb += out.eq(Mux(s, 0, INF))
    with m.Else():
        m.d.comb += out.eq(fin)
    return out


def _divide(m: Module, numerator_bits: int, divisor, qbits: int, name):
    """Restoring division of 2^numerator_bits by ``divisor``: (quotient, remainder != 0)."""
    width = len(divisor) + 1
    rem = Const(0, width)
    qs = []
    for i in range(numerator_bits, -1, -1):
        bit = 1 if i == numerator_bits else 0
        trial = Signal(width + 1, name=f"{name}_tr{i}")
        m.d.comb += trial.eq(Cat(Const(bit, 1), rem))
        ge = trial >= divisor
        nrem = Signal(width, name=f"{name}_r{i}")
        m.d.comb += nrem.eq(Mux(ge, trial - divisor, trial))
        qs.append(ge)
        rem = nrem
    quotient = Signal(numerator_bits + 1, name=f"{name}_q")
    m.d.comb += quotient.eq(Cat(*reversed(qs)))
    return quotient, rem != 0


def frecip(m: Module, x, name="fr"):
    s, e, f = fields(x)
    zero, inf, nan = _class(x)
    mant = Cat(f, Const(1, 1))
    q, rem_nz = _divide(m, 49, mant, 27, name)
    keep = q[2:26]
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(keep, q[1], q[0] | rem_nz))
    mant24 = Signal(24, name=f"{name}_mant")
    biased = Signal(signed(12), name=f"{name}_bexp")
    pow2 = f == 0
    m.d.comb += [
        mant24.eq(Mux(pow2, 1 << 23, Mux(rounded[24], rounded[1:25], rounded[0:24]))),
        biased.eq(Mux(pow2, 254 - sx(e), 253 - sx(e) + rounded[24])),
    ]
    fin = _assemble(m, s, biased, mant24, f"{name}_fin")
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(nan, NAN, Mux(zero, Cat(Const(INF, 31), s),
                                          Mux(inf, Cat(Const(0, 31), s), fin))))
    return out


def _isqrt(m: Module, value, name):
    """Digit-by-digit integer square root of an unsigned value: (root, remainder != 0)."""
    width = len(value) + (len(value) & 1)
    pairs = width // 2
    rem = Const(0, 1)
    root = Const(0, 1)
    for i in range(pairs - 1, -1, -1):
        # Bring down two bits; try root*4 + 1.
        bits = value[2 * i:2 * i + 2] if 2 * i + 2 <= len(value) else Cat(value[2 * i:], Const(0, 1))
        cur = Signal(pairs + 3, name=f"{name}_c{i}")
        m.d.comb += cur.eq(Cat(bits, rem))
        trial = Signal(pairs + 3, name=f"{name}_t{i}")
        m.d.comb += trial.eq(Cat(Const(1, 2), root))
        ge = cur >= trial
        nrem = Signal(pairs + 2, name=f"{name}_r{i}")
        m.d.comb += nrem.eq(Mux(ge, cur - trial, cur))
        nroot = Signal(pairs - i, name=f"{name}_q{i}")
        m.d.comb += nroot.eq(Cat(ge, root))
        rem, root = nrem, nroot
    return root, rem != 0


def fsqrt(m: Module, x, name="fq"):
    s, e, f = fields(x)
    zero, inf, nan = _class(x)
    mant = Cat(f, Const(1, 1))
    odd = ~e[0]  # (e - 127) odd  <=>  e even
    big = Signal(52, name=f"{name}_big")
    m.d.comb += big.eq(Mux(odd, mant << 28, mant << 27))
    root, rem_nz = _isqrt(m, big, name)
    keep = root[2:26]
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(keep, root[1], root[0] | rem_nz))
    mant24 = Mux(rounded[24], rounded[1:25], rounded[0:24])
    biased = Signal(signed(12), name=f"{name}_bexp")
    m.d.comb += biased.eq((sx(e) - 127 - odd).shift_right(1)
                          + 127 + rounded[24])
    fin = Signal(32, name=f"{name}_fin")
    m.d.comb += fin.eq(Cat(mant24[0:23], biased[0:8], Const(0, 1)))
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(nan, NAN, Mux(zero, Cat(Const(0, 31), s),
                                          Mux(s, NAN, Mux(inf, INF, fin)))))
    return out


def frelu(m: Module, x, name="rl"):
    zero, _, nan = _class(x)
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(nan, NAN, Mux(x[31] | zero, 0, x)))
    return out


def select_term(m: Module, use_first, first: Term, second: Term, enable, negate=0, window=SUM_WINDOW,
                name="sel"):
    """A term that is ``first`` or ``second`` (which may differ in mbits), or zero when not enabled.

    The significand is stored top-aligned in ``window`` bits with the exponent
    lowered to match, so the term's bound E + mbits is unchanged.
    """
    mt = Signal(window, name=f"{name}_m")
    e = Signal(EXP_SHAPE, name=f"{name}_e")
    sign = Signal(name=f"{name}_s")
    zero, inf, nan = Signal(name=f"{name}_z"), Signal(name=f"{name}_i"), Signal(name=f"{name}_n")
    m.d.comb += [
        mt.eq(Mux(~enable, 0, Mux(use_first, first.m << (window - first.mbits),
                                  second.m << (window - second.mbits)))),
        e.eq(Mux(use_first, first.e - (window - first.mbits), second.e - (window - second.mbits))),
        sign.eq(Mux(use_first, first.sign, second.sign) ^ negate),
        inf.eq(enable & Mux(use_first, first.inf, second.inf)),
        nan.eq(enable & Mux(use_first, first.nan, second.nan)),
        zero.eq(~enable | Mux(use_first, first.zero, second.zero)),
    ]
    return Term(sign, mt, e, window, zero, inf, nan)
