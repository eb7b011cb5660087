"""Combinational floating-point building blocks of the engine.

Each function adds logic to a Module and returns a Signal holding an fp32 bit
pattern.  They implement, bit for bit, the primitives of
:mod:`tessera.sim.golden.numerics` (the written rules are in docs/numerics.md):
the fused sum used by every adder, the exact-product multiplier of the
SFPU, exp by table + quadratic, reciprocal and square root by exact integer
digit recurrences.  Denormals are zero; NaN results are 0x7FC00000.

``fused_sum``, ``fmul`` and ``fexp`` take an optional :class:`Stages`: given
one, they insert pipeline registers at fixed cut points (same bits, a fixed
latency, a new operand every cycle) -- the SFPU and the lanes use that; the
reciprocal and square root have multi-cycle versions in
:mod:`hw.engine.sfpu_units` built from :func:`divide_step` / :func:`sqrt_step`.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed

from tessera.hw.numerics import (CANON_NAN, FP32_MBITS, LN2_Q30, LOG2E_Q30, PRODUCT_MBITS, SUM_WINDOW,
                                 exp_table)

__all__ = ["Stages", "Term", "cut_terms", "cut_values", "fields", "fp32_term", "product_term", "fused_sum", "fmax", "fmul", "fexp",
           "frecip", "fsqrt", "frelu", "ftz", "lzc", "rne"]

NAN = int(CANON_NAN)
INF = 0x7F800000
EXP_SHAPE = signed(12)


def sx(value):
    """Zero-extend an unsigned value by one bit and view it as signed (for signed arithmetic)."""
    return Cat(value, Const(0, 1)).as_signed()


class Stages:
    """Register cuts inside a unit's logic, for a pipelined copy of a combinational unit.

    A unit function given ``stages=None`` is purely combinational; given a
    ``Stages`` it registers every value live across each cut point, so the
    copy is a true pipeline (a new operand every cycle) whose output lags its
    inputs by ``count`` cycles.  The values are the same bits either way.
    """

    def __init__(self):
        self.count = 0

    def cut(self, m: Module, *values):
        self.count += 1
        regs = []
        for i, v in enumerate(values):
            base = v.name if isinstance(v, Signal) else f"v{i}"
            reg = Signal(v.shape(), name=f"{base}_s{self.count}")
            m.d.sync += reg.eq(v)
            regs.append(reg)
        return regs


def cut_values(m: Module, stages, *values):
    """``values`` registered at the next cut of ``stages`` (unchanged when combinational)."""
    return list(values) if stages is None else stages.cut(m, *values)


class Term:
    """One addend: value = (-1)^sign * mant * 2^exp, ``mant`` top-aligned to ``mbits`` bits, plus class flags."""

    def __init__(self, sign, mant, exp, mbits, zero, inf, nan):
        self.sign, self.mant, self.exp, self.mbits = sign, mant, exp, mbits
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


def cut_terms(m: Module, stages, terms):
    """The terms registered at the next cut of ``stages`` (unchanged when combinational)."""
    if stages is None:
        return list(terms)
    flat = []
    for t in terms:
        # The exponent is only needed as the bound E + mbits and whether the term is active.
        flat += [t.sign, t.mant, t.exp + t.mbits, t.mant != 0, t.zero, t.inf, t.nan]
    regs = stages.cut(m, *flat)
    out = []
    for i, t in enumerate(terms):
        sign, mant, bound, active, zero, inf, nan = regs[7 * i:7 * i + 7]
        cut = Term(sign, mant, bound - t.mbits, t.mbits, zero, inf, nan)
        cut.bound, cut.active = bound, active
        out.append(cut)
    return out


def lzc(m: Module, value, name="lzc"):
    """Count of leading zeros of ``value`` (len(value) when zero), as a balanced tree (log depth)."""
    width = len(value)
    out = Signal(range(width + 1), name=name)
    # Zeros appended below the LSB change no count of a nonzero value and make the width a power
    # of two, so each level of the tree just prepends one bit to a half's count (no adders).
    pad = (1 << (width - 1).bit_length()) - width if width > 1 else 0
    padded = Cat(Const(0, pad), value) if pad else value

    def count(bits):
        # (slice is all zero, leading zeros of the slice when it is not).
        if len(bits) == 1:
            return ~bits[0], Const(0, 0)
        half = len(bits) // 2
        lo_zero, lo_cnt = count(bits[:half])
        hi_zero, hi_cnt = count(bits[half:])
        return hi_zero & lo_zero, Mux(hi_zero, Cat(lo_cnt, Const(1, 1)), Cat(hi_cnt, Const(0, 1)))

    zero, cnt = count(padded)
    m.d.comb += out.eq(Mux(zero, width, cnt))
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


def _normalize(m: Module, mag, name):
    """mag (unsigned) shifted so its leading one is the top bit, and its bit length."""
    width = len(mag)
    zeros = lzc(m, mag, name=f"{name}_lzc")
    norm = Signal(width, name=f"{name}_norm")
    m.d.comb += norm.eq((mag << zeros)[:width])
    length = Signal(signed(12), name=f"{name}_len")
    m.d.comb += length.eq(width - zeros)
    return norm, length


def _round_normalized(m: Module, norm, name):
    """norm (leading one on top, != 0) -> (24-bit RNE significand, carry out of the rounding)."""
    width = len(norm)
    keep = norm[width - 24:width]
    round_bit = norm[width - 25] if width >= 25 else Const(0, 1)
    sticky = (norm[0:width - 25] != 0) if width > 25 else Const(0, 1)
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(keep, round_bit, sticky))
    carry = rounded[24]
    mant = Signal(24, name=f"{name}_mant")
    m.d.comb += mant.eq(Mux(carry, rounded[1:25], rounded[0:24]))
    return mant, carry


def _max_select(m: Module, values, name):
    """Maximum of signed values with every pairwise comparison in parallel (one comparator deep),
    and for each value its distance below the maximum (max - value), from pairwise differences
    computed alongside, so no subtraction follows the selection.

    Value i is picked when it exceeds every earlier value and is not below any later one: exactly
    the first maximum, so the result equals any other way of taking the maximum."""
    n = len(values)
    ge, diff = {}, {}
    for i in range(n):
        for j in range(n):
            if i < j:
                c = Signal(name=f"{name}_ge{i}_{j}")
                m.d.comb += c.eq(values[i] >= values[j])
                ge[i, j] = c
            if i != j:
                d = Signal(EXP_SHAPE, name=f"{name}_df{i}_{j}")
                m.d.comb += d.eq(values[i] - values[j])
                diff[i, j] = d
    wins = []
    for i in range(n):
        win = Signal(name=f"{name}_win{i}")
        m.d.comb += win.eq(Cat(*[~ge[j, i] for j in range(i)], *[ge[i, j] for j in range(i + 1, n)],
                               Const(1, 1)).all())
        wins.append(win)
    out = Signal(EXP_SHAPE, name=name)
    picked = Const(0, EXP_SHAPE)
    for i in range(n):
        picked = picked | Mux(wins[i], values[i], 0)
    m.d.comb += out.eq(picked)
    dists = []
    for j in range(n):
        dist = Signal(EXP_SHAPE, name=f"{name}_dist{j}")
        expr = Const(0, EXP_SHAPE)
        for i in range(n):
            if i != j:
                expr = expr | Mux(wins[i], diff[i, j], 0)
        m.d.comb += dist.eq(expr)  # 0 when j itself is the maximum
        dists.append(dist)
    return out, dists


def fused_sum(m: Module, terms, name="fs", window=SUM_WINDOW, stages=None):
    """Round(sum of terms) to fp32 exactly as :func:`sim.golden.numerics.fused_sum`.

    With ``stages`` it is a 4-stage pipeline (3 cuts): align | add | normalize | round.
    """
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
        # cut_terms precomputes both before its registers (shorter first stage of a pipeline).
        act = getattr(t, "active", None)
        bound = getattr(t, "bound", None)
        if act is None:
            act = Signal(name=f"{name}_act{i}")
            bound = Signal(EXP_SHAPE, name=f"{name}_T{i}")
            m.d.comb += [act.eq(t.mant != 0), bound.eq(t.exp + t.mbits)]
        actives.append(act)
        bounds.append(bound)
    tmax, dists = _max_select(m, [Mux(a, b, -2048) for a, b in zip(actives, bounds)], f"{name}_tmax")
    sum_width = window + (n - 1).bit_length() + 2
    aligned_all, signs = [], []
    for i, t in enumerate(terms):
        top = Signal(window, name=f"{name}_top{i}")
        m.d.comb += top.eq(t.mant << (window - t.mbits))
        # dist = tmax - bound: only used for an active term, where it is >= 0.
        dist = dists[i]
        aligned = Signal(window, name=f"{name}_al{i}")
        shift_bits = (window - 1).bit_length()
        far = dist[shift_bits:] != 0 if window == 1 << shift_bits else dist >= window
        m.d.comb += aligned.eq(Mux(~actives[i] | far, 0, top >> dist[0:shift_bits]))
        aligned_all.append(aligned)
        signs.append(t.sign)
    flags = [any_nan, pos_inf, neg_inf]
    # -- cut 1: aligned magnitudes ----------------------------------------------
    cut = cut_values(m, stages, tmax, Cat(*signs), *flags, *aligned_all)
    tmax, signs, flags, aligned_all = cut[0], cut[1], cut[2:5], cut[5:]
    total = Signal(signed(sum_width), name=f"{name}_sum")
    addends = []
    for i, aligned in enumerate(aligned_all):
        signed_al = Signal(signed(sum_width), name=f"{name}_sa{i}")
        m.d.comb += signed_al.eq(Mux(signs[i], -aligned, aligned))
        addends.append(signed_al)
    expr = addends[0]
    for a in addends[1:]:
        expr = expr + a
    m.d.comb += total.eq(expr)
    mag = Signal(sum_width, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(total < 0, -total, total))
    # -- cut 2: magnitude of the sum ----------------------------------------------
    tmax, neg, *flags, mag = cut_values(m, stages, tmax, total < 0, *flags, mag)
    norm, length = _normalize(m, mag, name)
    # Biased exponent before the rounding carry.
    base = Signal(signed(14), name=f"{name}_bbase")
    m.d.comb += base.eq(tmax - window + length - 1 + 127)
    # -- cut 3: normalized magnitude -----------------------------------------------
    base, neg, *flags, norm = cut_values(m, stages, base, neg, *flags, norm)
    any_nan, pos_inf, neg_inf = flags
    mant, carry = _round_normalized(m, norm, name)
    # The exponent is base + carry: both candidates and their range checks are computed beside
    # the rounding adder, whose carry then only selects (a shorter path).
    results = []
    for k in range(2):
        biased = Signal(signed(14), name=f"{name}_bexp{k}")
        m.d.comb += biased.eq(base + k)
        finite = _assemble(m, neg, biased, mant, f"{name}_fin{k}")
        res = Signal(32, name=f"{name}_res{k}")
        with m.If(any_nan | (pos_inf & neg_inf)):
            m.d.comb += res.eq(NAN)
        with m.Elif(pos_inf):
            m.d.comb += res.eq(INF)
        with m.Elif(neg_inf):
            m.d.comb += res.eq(INF | (1 << 31))
        with m.Elif((norm == 0) | (biased <= 0)):
            m.d.comb += res.eq(0)
        with m.Else():
            m.d.comb += res.eq(finite)
        results.append(res)
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(carry, results[1], results[0]))
    return out


def _above(a, b):
    """a > b in the total order of non-NaN fp32 patterns (-0 below +0), with ONE magnitude
    comparator: signs differ -> the positive one; both positive -> larger magnitude; both
    negative -> smaller magnitude."""
    sa, sb = a[31], b[31]
    ma, mb = a[0:31], b[0:31]
    return Mux(sa != sb, sb, Mux(sa, ma < mb, ma > mb))


def fmax(m: Module, values, name="mx", stages=None):
    """Maximum of fp32 patterns: NaN if any is NaN (sim.golden.numerics.fmax_reduce).

    Every pair is compared in parallel (one comparator deep) and the first maximum is selected;
    distinct patterns are never equal in the order, so this is THE maximum.  With ``stages``:
    1 cut, after the comparisons."""
    n = len(values)
    above = {}
    for i in range(n):
        for j in range(i + 1, n):
            c = Signal(name=f"{name}_gt{i}_{j}")
            m.d.comb += c.eq(_above(values[j], values[i]))  # later one strictly above earlier one
            above[i, j] = c
    any_nan = Signal(name=f"{name}_nan")
    m.d.comb += any_nan.eq(Cat(*[_class(v)[2] for v in values]).any())
    keys = sorted(above)
    # -- cut 1: comparisons ---------------------------------------------------------------
    cut = cut_values(m, stages, any_nan, *values, *[above[k] for k in keys])
    any_nan, values, above = cut[0], cut[1:n + 1], dict(zip(keys, cut[n + 1:]))
    best = Const(0, 32)
    for i in range(n):
        # i wins: above every earlier value, and no later value above it.
        win = Cat(*[above[j, i] for j in range(i)], *[~above[i, j] for j in range(i + 1, n)],
                  Const(1, 1)).all()
        best = best | Mux(win, values[i], 0)
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(any_nan, NAN, best))
    return out


def fmul(m: Module, a, b, name="fm", stages=None):
    """a * b correctly rounded.  With ``stages``: 2 stages (1 cut): multiply | round."""
    sa, ea, fa = fields(a)
    sb, eb, fb = fields(b)
    za, ia, na = _class(a)
    zb, ib, nb = _class(b)
    sign = sa ^ sb
    prod = Signal(48, name=f"{name}_prod")
    m.d.comb += prod.eq(Cat(fa, Const(1, 1)) * Cat(fb, Const(1, 1)))
    ebase = Signal(signed(12), name=f"{name}_ebase")
    m.d.comb += ebase.eq(sx(ea) + sx(eb) - 127)
    is_nan = na | nb | ((za | zb) & (ia | ib))
    # -- cut 1: exact product ---------------------------------------------------------
    prod, ebase, sign, is_nan, inf, zero = cut_values(m, stages, prod, ebase, sign, is_nan, ia | ib, za | zb)
    top = prod[47]
    keep = Mux(top, prod[24:48], prod[23:47])
    round_bit = Mux(top, prod[23], prod[22])
    sticky = Mux(top, prod[0:23] != 0, prod[0:22] != 0)
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(keep, round_bit, sticky))
    mant = Mux(rounded[24], rounded[1:25], rounded[0:24])
    # The exponent is ebase + top + carry: its three candidates and their range checks are
    # computed beside the rounding adder, which then only selects (a shorter path).
    cands = []
    for k in range(3):
        b = Signal(signed(12), name=f"{name}_bexp{k}")
        m.d.comb += b.eq(ebase + k)
        cands.append((b, b >= 255, b <= 0))
    inc = top + rounded[24]
    fin = Signal(32, name=f"{name}_fin")
    with m.Switch(inc):
        for k, (b, over, under) in enumerate(cands):
            with m.Case(k):
                m.d.comb += fin.eq(Mux(over, Cat(Const(INF, 31), sign),
                                       Mux(under, Cat(Const(0, 31), sign), Cat(mant[0:23], b[0:8], sign))))
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(is_nan, NAN,
                           Mux(inf, Cat(Const(INF, 31), sign),
                               Mux(zero, Cat(Const(0, 31), sign), fin))))
    return out


def fexp(m: Module, x, name="fx", stages=None):
    """e^x (sim.golden.numerics.fexp).  With ``stages``: 6 stages (5 cuts):
    fixed point | x*log2(e) | r*ln2, table | quadratic | table*poly | round."""
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
    # Special cases are decided from the input; they ride along the cuts.
    special = Signal(32, name=f"{name}_spv")
    is_special = Signal(name=f"{name}_sp")
    m.d.comb += [
        is_special.eq(nan | zero | inf | (e >= 134)),
        special.eq(Mux(nan, NAN, Mux(zero, 0x3F800000, Mux(s, 0, INF)))),
    ]
    # -- cut 1: x in fixed point ----------------------------------------------------
    xfix, special, is_special = cut_values(m, stages, xfix, special, is_special)
    prod = Signal(signed(66), name=f"{name}_t0")
    m.d.comb += prod.eq(xfix * LOG2E_Q30)
    t = Signal(signed(36), name=f"{name}_t")
    m.d.comb += t.eq(prod >> 30)
    # -- cut 2: x * log2(e) ---------------------------------------------------------------
    t, special, is_special = cut_values(m, stages, t, special, is_special)
    n = Signal(signed(12), name=f"{name}_n")
    m.d.comb += n.eq(t >> 24)
    idx = t[16:24]
    r = t[0:16]
    q = Signal(32, name=f"{name}_q")
    m.d.comb += q.eq((r * LN2_Q30) >> 24)
    table = Array([Const(v, 31) for v in exp_table()])
    tval = Signal(31, name=f"{name}_tv")
    m.d.comb += tval.eq(table[idx])
    # -- cut 3: reduced argument and table value --------------------------------------------
    q, tval, n, special, is_special = cut_values(m, stages, q, tval, n, special, is_special)
    q2 = Signal(32, name=f"{name}_q2")
    m.d.comb += q2.eq((q * q) >> 31)
    poly = Signal(32, name=f"{name}_poly")
    m.d.comb += poly.eq((1 << 30) + q + q2)
    # -- cut 4: quadratic ------------------------------------------------------------------
    poly, tval, n, special, is_special = cut_values(m, stages, poly, tval, n, special, is_special)
    mq0 = Signal(64, name=f"{name}_mq0")
    m.d.comb += mq0.eq((tval * poly) >> 30)
    # -- cut 5: table * quadratic -----------------------------------------------------------
    mq0, n, special, is_special = cut_values(m, stages, mq0, n, special, is_special)
    big = mq0[31]
    mq = Signal(31, name=f"{name}_mq")
    m.d.comb += mq.eq(Mux(big, mq0[1:32], mq0[0:31]))
    rounded = Signal(25, name=f"{name}_rnd")
    m.d.comb += rounded.eq(rne(mq[7:31], mq[6], mq[0:6] != 0))
    mant24 = Mux(rounded[24], rounded[1:25], rounded[0:24])
    # The exponent is n + 127 + big + carry: its candidates are packed beside the rounding adder,
    # whose carry (with big) then only selects one (a shorter path).
    fin = Signal(32, name=f"{name}_fin")
    with m.Switch(big + rounded[24]):
        for k in range(3):
            biased = Signal(signed(12), name=f"{name}_bexp{k}")
            m.d.comb += biased.eq(n + 127 + k)
            cand = _assemble(m, Const(0, 1), biased, mant24, f"{name}_fin{k}")
            with m.Case(k):
                m.d.comb += fin.eq(cand)
    out = Signal(32, name=name)
    m.d.comb += out.eq(Mux(is_special, special, fin))
    return out


def divide_step(rem, bit, divisor):
    """One restoring-division step: (trial = rem*2 + bit; quotient bit, next remainder)."""
    trial = Cat(bit, rem)
    ge = trial >= divisor
    return ge, Mux(ge, trial - divisor, trial)[:len(rem)]


def _divide(m: Module, numerator_bits: int, divisor, qbits: int, name):
    """Restoring division of 2^numerator_bits by ``divisor``: (quotient, remainder != 0)."""
    width = len(divisor) + 1
    rem = Const(0, width)
    qs = []
    for i in range(numerator_bits, -1, -1):
        ge, nrem_expr = divide_step(rem, Const(1 if i == numerator_bits else 0, 1), divisor)
        nrem = Signal(width, name=f"{name}_r{i}")
        m.d.comb += nrem.eq(nrem_expr)
        qs.append(ge)
        rem = nrem
    quotient = Signal(numerator_bits + 1, name=f"{name}_q")
    m.d.comb += quotient.eq(Cat(*reversed(qs)))
    return quotient, rem != 0


def recip_finish(m: Module, x, q, rem_nz, name="fr"):
    """1/x from the quotient bits q[0:27] of 2^49 / significand(x) and the remainder flag."""
    s, e, f = fields(x)
    zero, inf, nan = _class(x)
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


def frecip(m: Module, x, name="fr"):
    s, e, f = fields(x)
    mant = Cat(f, Const(1, 1))
    q, rem_nz = _divide(m, 49, mant, 27, name)
    return recip_finish(m, x, q, rem_nz, name)


def sqrt_step(rem, root, bits):
    """One digit-by-digit square-root step: bring down two bits, try root*4 + 1.

    Returns (root bit, next remainder, next root); remainder/root keep their widths."""
    cur = Cat(bits, rem)
    trial = Cat(Const(1, 2), root)
    ge = cur >= trial
    return ge, Mux(ge, cur - trial, cur)[:len(rem)], Cat(ge, root)[:len(root)]


def _isqrt(m: Module, value, name):
    """Digit-by-digit integer square root of an unsigned value: (root, remainder != 0)."""
    width = len(value) + (len(value) & 1)
    pairs = width // 2
    rem = Const(0, pairs + 2)
    root = Const(0, pairs)
    for i in range(pairs - 1, -1, -1):
        bits = value[2 * i:2 * i + 2] if 2 * i + 2 <= len(value) else Cat(value[2 * i:], Const(0, 1))
        _, nrem_expr, nroot_expr = sqrt_step(rem, root, bits)
        nrem = Signal(pairs + 2, name=f"{name}_r{i}")
        nroot = Signal(pairs, name=f"{name}_q{i}")
        m.d.comb += [nrem.eq(nrem_expr), nroot.eq(nroot_expr)]
        rem, root = nrem, nroot
    return root, rem != 0


def sqrt_radicand(m: Module, x, name="fq"):
    """The integer whose square root gives sqrt(x)'s significand: m << 27 or 28 (even exponent)."""
    s, e, f = fields(x)
    mant = Cat(f, Const(1, 1))
    odd = ~e[0]  # (e - 127) odd  <=>  e even
    big = Signal(52, name=f"{name}_big")
    m.d.comb += big.eq(Mux(odd, mant << 28, mant << 27))
    return big


def sqrt_finish(m: Module, x, root, rem_nz, name="fq"):
    """sqrt(x) from the 26-bit integer root of sqrt_radicand(x) and the remainder flag."""
    s, e, f = fields(x)
    zero, inf, nan = _class(x)
    odd = ~e[0]
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


def fsqrt(m: Module, x, name="fq"):
    root, rem_nz = _isqrt(m, sqrt_radicand(m, x, name), name)
    return sqrt_finish(m, x, root, rem_nz, name)


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
        mt.eq(Mux(~enable, 0, Mux(use_first, first.mant << (window - first.mbits),
                                  second.mant << (window - second.mbits)))),
        e.eq(Mux(use_first, first.exp - (window - first.mbits), second.exp - (window - second.mbits))),
        sign.eq(Mux(use_first, first.sign, second.sign) ^ negate),
        inf.eq(enable & Mux(use_first, first.inf, second.inf)),
        nan.eq(enable & Mux(use_first, first.nan, second.nan)),
        zero.eq(~enable | Mux(use_first, first.zero, second.zero)),
    ]
    return Term(sign, mt, e, window, zero, inf, nan)
