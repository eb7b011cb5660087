"""Multi-cycle reciprocal and square root for the SFPU.

The combinational :func:`hw.engine.fp.frecip` / :func:`hw.engine.fp.fsqrt`
unroll 50 division steps / 26 root steps into one cycle (about a thousand
carry cells deep on an ECP5).  These units run the very same step functions
(:func:`hw.engine.fp.divide_step`, :func:`hw.engine.fp.sqrt_step`)
``digits`` at a time per cycle on registered state, then share the
combinational rounding (:func:`hw.engine.fp.recip_finish`,
:func:`hw.engine.fp.sqrt_finish`), so the result is bit for bit the same.

The rounding is registered: its remainder test, rounding carry, exponent
adjust and range checks would otherwise sit behind the last iteration in
the same cycle (the engine's critical path on an ECP5 before), so a result
takes one cycle more than the iterations.

Protocol: ``start`` (one cycle) samples nothing but resets the state; the
input ``x`` must stay stable from ``start`` until the result is read.  The
result is valid from ``cycles`` cycles after the ``start`` cycle on
(``busy`` is low by then) and stays valid while ``x`` holds.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal

from tessera.hw.engine import fp

__all__ = ["IterativeUnit", "iterative_recip", "iterative_sqrt"]

#: Quotient bits of 2^49 / m that the rounding needs (q < 2^27 for m in [2^23, 2^24)).
RECIP_QBITS = 27
#: Root bits of the 52-bit radicand.
SQRT_ROOT_BITS = 26


class IterativeUnit:
    """What an iterative unit returns: the fp32 result, its fixed latency and a busy flag."""

    def __init__(self, out, cycles, busy):
        self.out, self.cycles, self.busy = out, cycles, busy


def _check_digits(digits):
    if not isinstance(digits, int) or not 1 <= digits <= 8:
        raise ValueError(f"digits per cycle must be an int in 1..8, got {digits!r}")


def _registered(m: Module, value, name):
    """``value`` one cycle later (the finishing rounding's register)."""
    reg = Signal(32, name=f"{name}_out")
    m.d.sync += reg.eq(value)
    return reg


def iterative_recip(m: Module, x, start, digits: int = 2, name: str = "irc") -> IterativeUnit:
    """1/x, ``digits`` quotient bits per cycle: ceil(27 / digits) + 1 cycles after ``start``."""
    _check_digits(digits)
    cycles = -(-RECIP_QBITS // digits)
    steps = cycles * digits
    # Quotient bit i of 2^49 // m is produced by step i (49 .. 0).  Steps above 26 never subtract
    # (their partial remainder 2^(49 - i) < 2^23 <= m), so the recurrence may start at step
    # first = steps - 1 with the remainder those skipped steps would have left: 2^(48 - first).
    first = steps - 1
    assert RECIP_QBITS - 1 <= first <= 48
    divisor = Cat(x[0:23], Const(1, 1))
    rem = Signal(len(divisor) + 1, name=f"{name}_rem")
    quotient = Signal(steps, name=f"{name}_q")
    left = Signal(range(cycles + 1), name=f"{name}_left")
    with m.If(start):
        m.d.sync += [rem.eq(1 << (48 - first)), quotient.eq(0), left.eq(cycles)]
    with m.Elif(left != 0):
        next_rem, next_quotient = rem, quotient
        for _ in range(digits):
            bit, next_rem = fp.divide_step(next_rem, Const(0, 1), divisor)
            next_quotient = Cat(bit, next_quotient)[:steps]
        m.d.sync += [rem.eq(next_rem), quotient.eq(next_quotient), left.eq(left - 1)]
    out = _registered(m, fp.recip_finish(m, x, quotient, rem != 0, name=name), name)
    return IterativeUnit(out, cycles + 1, left != 0)


def iterative_sqrt(m: Module, x, start, digits: int = 2, name: str = "isq") -> IterativeUnit:
    """sqrt(x), ``digits`` root bits per cycle: ceil(26 / digits) + 1 cycles after ``start``."""
    _check_digits(digits)
    cycles = -(-SQRT_ROOT_BITS // digits)
    steps = cycles * digits
    # Extra leading steps see a zero pair with zero remainder and root: they change nothing.
    radicand = fp.sqrt_radicand(m, x, name=name)
    val = Signal(2 * steps, name=f"{name}_val")
    rem = Signal(steps + 2, name=f"{name}_rem")
    root = Signal(steps, name=f"{name}_root")
    left = Signal(range(cycles + 1), name=f"{name}_left")
    with m.If(start):
        m.d.sync += [val.eq(radicand), rem.eq(0), root.eq(0), left.eq(cycles)]
    with m.Elif(left != 0):
        next_val, next_rem, next_root = val, rem, root
        for _ in range(digits):
            # Each step takes the radicand's top two bits and shifts the rest up.
            _, next_rem, next_root = fp.sqrt_step(next_rem, next_root, next_val[len(val) - 2:])
            next_val = Cat(Const(0, 2), next_val)[:len(val)]
        m.d.sync += [val.eq(next_val), rem.eq(next_rem), root.eq(next_root), left.eq(left - 1)]
    out = _registered(m, fp.sqrt_finish(m, x, root, rem != 0, name=name), name)
    return IterativeUnit(out, cycles + 1, left != 0)
