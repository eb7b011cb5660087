"""Iterative divider for DIV/DIVU/REM/REMU: two quotient bits per cycle.

Restoring division of the magnitudes, two steps per cycle, with an early
start: only the quotient's possible significant bits are computed
(``q = bits(|a|) - bits(|b|) + 1``), so a division takes ``2 + ceil(q / 2)``
cycles: at most 18, and 2 when ``|a| < |b|``.  Division by zero and signed
overflow give the results the ISA defines (quotient all ones / remainder =
dividend; -2^31 / -1 = -2^31 rem 0).

Handshake: hold ``start`` high with stable operands; ``done`` rises with the
result and stays until ``start`` falls or ``ack`` is pulsed (the pipeline
acks in the cycle the instruction leaves the execute stage, so a division
right behind it starts afresh).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Divider"]


class Divider(wiring.Component):
    start: In(1)
    ack: In(1)
    #: funct3 of the M instruction: 4 div, 5 divu, 6 rem, 7 remu.
    funct3: In(3)
    a: In(32)
    b: In(32)
    done: Out(1)
    result: Out(32)

    def elaborate(self, platform):
        m = Module()
        signed_op = ~self.funct3[0]
        want_rem = self.funct3[1]
        a_neg = signed_op & self.a[31]
        b_neg = signed_op & self.b[31]
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
