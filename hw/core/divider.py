"""Iterative dividers for DIV/DIVU/REM/REMU.

Two designs with the same ports, chosen by ``CoreConfig.divider``:

* :class:`Divider` (``fast``): two quotient bits per cycle, with an early
  start: only the quotient's possible significant bits are computed
  (``q = bits(|a|) - bits(|b|) + 1``), so a division takes ``2 + ceil(q / 2)``
  cycles: at most 18, and 2 when ``|a| < |b|``.
* :class:`CompactDivider` (``compact``): one quotient bit per cycle on a single
  subtractor, no leading-zero counts and no shifter: always 33 cycles.

Division by zero and signed overflow give the results the ISA defines
(quotient all ones / remainder = dividend; -2^31 / -1 = -2^31 rem 0).

Handshake: hold ``start`` high with stable operands; ``done`` rises with the
result and stays until ``start`` falls or ``ack`` is pulsed (the pipeline
acks in the cycle the instruction leaves the execute stage, so a division
right behind it starts afresh).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DividerPorts", "Divider", "CompactDivider", "divider_for"]


class DividerPorts(wiring.Component):
    """The ports both dividers have (the handshake of the module docstring)."""

    start: In(1)
    ack: In(1)
    #: funct3 of the M instruction: 4 div, 5 divu, 6 rem, 7 remu.
    funct3: In(3)
    a: In(32)
    b: In(32)
    done: Out(1)
    result: Out(32)

    def decode_operation(self):
        """(signed, remainder wanted, a negative, b negative) of the operation in ``funct3``."""
        signed_op = ~self.funct3[0]
        return signed_op, self.funct3[1], signed_op & self.a[31], signed_op & self.b[31]


class Divider(DividerPorts):
    """Radix 4 with the early start of the module docstring: 2 to 18 cycles."""

    def elaborate(self, platform):
        m = Module()
        signed_op, want_rem, a_neg, b_neg = self.decode_operation()
        a_mag = Mux(a_neg, -self.a, self.a)[:32]
        b_mag = Mux(b_neg, -self.b, self.b)[:32]

        def leading_zeros(value, name):
            clz = Signal(6, name=name)
            m.d.comb += clz.eq(32)
            for i in range(32):  # the highest set bit wins (later assignment)
                with m.If(value[i]):
                    m.d.comb += clz.eq(31 - i)
            return clz

        # The quotient has at most bits(a) - bits(b) + 1 significant bits: the
        # steps before those only shift dividend bits into the remainder, so
        # they are skipped by starting with (rem:quo) = a << skip.
        clz_a = leading_zeros(a_mag, "clz_a")
        clz_b = leading_zeros(b_mag, "clz_b")
        skip_raw = Signal(7)
        m.d.comb += skip_raw.eq(clz_a + 31 - clz_b)     # clz_b = 32 only when b = 0
        skip = Signal(6)
        m.d.comb += skip.eq(Mux((self.b == 0) | (skip_raw > 32), Mux(self.b == 0, clz_a, 32),
                                skip_raw))
        first = Signal(6)
        m.d.comb += first.eq(Cat(Const(0, 1), skip[1:6]))  # rounded down to even: 2 steps/cycle
        start_pair = Signal(64)
        m.d.comb += start_pair.eq(Cat(a_mag, Const(0, 32)) << first)

        running = Signal()
        finished = Signal()
        count = Signal(6)
        quo = Signal(32)
        rem = Signal(32)
        divisor = Signal(32)
        neg_q = Signal()
        neg_r = Signal()
        by_zero = Signal()
        dividend = Signal(32)

        def step(rem_in, quo_in, tag):
            """One restoring step: returns (remainder, quotient) after it."""
            shifted = Cat(quo_in[31], rem_in)            # 33 bits
            diff = Signal(34, name=f"diff{tag}")         # bit 33 = borrow
            m.d.comb += diff.eq(shifted - Cat(divisor, 0))
            fits = ~diff[33]
            rem_out = Signal(32, name=f"rem{tag}")
            quo_out = Signal(32, name=f"quo{tag}")
            m.d.comb += [rem_out.eq(Mux(fits, diff[:32], shifted[:32])),
                         quo_out.eq(Cat(fits, quo_in[:31]))]
            return rem_out, quo_out

        rem1, quo1 = step(rem, quo, 1)
        rem2, quo2 = step(rem1, quo1, 2)

        with m.If(~self.start | self.ack):
            m.d.sync += [running.eq(0), finished.eq(0)]
        with m.Elif(~running & ~finished):
            m.d.sync += [
                quo.eq(start_pair[0:32]), rem.eq(start_pair[32:64]), divisor.eq(b_mag),
                count.eq(first),
                neg_q.eq(a_neg ^ b_neg), neg_r.eq(a_neg), by_zero.eq(self.b == 0),
                dividend.eq(self.a),
                running.eq(first != 32), finished.eq(first == 32),
            ]
        with m.Elif(running):
            m.d.sync += [quo.eq(quo2), rem.eq(rem2), count.eq(count + 2)]
            with m.If(count == 30):
                m.d.sync += [running.eq(0), finished.eq(1)]

        q = Mux(neg_q, -quo, quo)[:32]
        r = Mux(neg_r, -rem, rem)[:32]
        with m.If(by_zero):
            m.d.comb += self.result.eq(Mux(want_rem, dividend, 0xFFFF_FFFF))
        with m.Else():
            m.d.comb += self.result.eq(Mux(want_rem, r, q))
        m.d.comb += self.done.eq(finished)
        return m


class CompactDivider(DividerPorts):
    """Restoring division of the magnitudes, one quotient bit per cycle.

    ``(rem:quo)`` starts as ``(0:|a|)`` and shifts left one bit a cycle; the
    remainder takes ``2 * rem + next bit - |b|`` when that is not negative and
    the quotient bit says so.  ``|b|`` is never formed: the subtractor adds
    ``b`` itself when it is negative and ``~b + 1`` when not, so the one adder
    of the step is the only one besides the dividend's and the result's
    negations.  With ``b = 0`` every step fits, which leaves the quotient all
    ones and the remainder ``|a|``: the ISA's results once the quotient's
    sign is not applied.  Cycles: one to load, 32 steps.
    """

    def elaborate(self, platform):
        m = Module()
        signed_op, want_rem, a_neg, b_neg = self.decode_operation()

        running = Signal()
        finished = Signal()
        steps = Signal(5)
        quo = Signal(32)
        rem = Signal(32)
        #: What the step adds to subtract |b|: b when negative, ~b (plus ``divisor_carry``) when not.
        divisor_addend = Signal(32)
        divisor_carry = Signal()
        #: The result (remainder or quotient, whichever funct3 asks for) is negated at the end.
        negate_result = Signal()

        shifted = Cat(quo[31], rem)                       # 33 bits: 2 * rem + next dividend bit
        diff = Signal(34)                                 # bit 33: negative, |b| does not fit
        m.d.comb += diff.eq(shifted + Cat(divisor_addend, Const(0b11, 2)) + divisor_carry)
        fits = ~diff[33]

        with m.If(~self.start | self.ack):
            m.d.sync += [running.eq(0), finished.eq(0)]
        with m.Elif(~running & ~finished):
            m.d.sync += [
                quo.eq(Mux(a_neg, -self.a, self.a)), rem.eq(0), steps.eq(0),
                divisor_addend.eq(Mux(b_neg, self.b, ~self.b)), divisor_carry.eq(~b_neg),
                # A remainder has the dividend's sign; a quotient the operands' combined sign,
                # except after a division by zero (all ones whatever the signs).
                negate_result.eq(Mux(want_rem, a_neg, (a_neg ^ b_neg) & (self.b != 0))),
                running.eq(1),
            ]
        with m.Elif(running):
            m.d.sync += [quo.eq(Cat(fits, quo[:31])), rem.eq(Mux(fits, diff[:32], shifted[:32])),
                         steps.eq(steps + 1)]
            with m.If(steps == 31):
                m.d.sync += [running.eq(0), finished.eq(1)]

        magnitude = Mux(want_rem, rem, quo)
        m.d.comb += [self.result.eq(Mux(negate_result, -magnitude, magnitude)[:32]),
                     self.done.eq(finished)]
        return m


def divider_for(kind: str) -> wiring.Component:
    """The divider of ``CoreConfig.divider`` ``kind``."""
    dividers = {"fast": Divider, "compact": CompactDivider}
    if kind not in dividers:
        raise ValueError(f"unknown divider {kind!r}; known: {', '.join(dividers)}")
    return dividers[kind]()
