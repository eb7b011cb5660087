"""A UART for the host link: 8 data bits, no parity, one stop bit, bytes as ``lib.stream`` streams.

:class:`UartRx` turns the ``rx`` pin into a stream of bytes on ``o``;
:class:`UartTx` sends the bytes of its ``i`` stream on the ``tx`` pin.  Both
count bit times in clock cycles: ``divisor`` cycles per bit, from
``cfg.host_link.clocks_per_bit(cfg.clock_mhz)`` or given explicitly (at
least 4, so the receiver can sample the middle of a bit).

The receiver passes the pin through a two-flop synchroniser (the pin is
asynchronous to the clock), waits for a falling edge, checks the start bit
half a bit later and samples every following bit in its middle.  A byte
whose stop bit is low is a framing error: it is dropped, ``framing_error``
pulses and ``framing_errors`` counts it, and the receiver waits for the
line to return high before it hunts for the next start bit (a held-low line,
a break, is one error, not one per byte time).  A byte completed while the
previous one is still unread is dropped (the link's protocol is one request
at a time, so that only happens with noise).
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out
from tessera.hw.config import MIN_CLOCKS_PER_BIT

__all__ = ["UartRx", "UartTx", "uart_divisor"]

#: The largest divisor accepted: 1200 baud at 200 MHz.
MAX_DIVISOR = 1 << 18


def uart_divisor(cfg=None, divisor=None) -> int:
    """Clock cycles per bit: ``divisor`` when given (checked), else the host link's of ``cfg``."""
    if divisor is None:
        from tessera.hw.config import TesseraConfig

        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"a UART needs a TesseraConfig or an explicit divisor, got cfg={cfg!r}")
        return cfg.host_link.clocks_per_bit(cfg.clock_mhz)
    if not isinstance(divisor, int) or isinstance(divisor, bool) or not MIN_CLOCKS_PER_BIT <= divisor <= MAX_DIVISOR:
        raise ValueError(f"UART divisor must be an integer number of clock cycles per bit in "
                         f"{MIN_CLOCKS_PER_BIT}..{MAX_DIVISOR}, got {divisor!r}")
    return divisor


class UartRx(wiring.Component):
    """8N1 receiver: ``rx`` pin in, bytes out on ``o``.

    ``framing_error`` pulses for one cycle when a byte with a low stop bit is
    dropped; ``framing_errors`` counts them (wrapping)."""

    def __init__(self, cfg=None, *, divisor=None):
        self.divisor = uart_divisor(cfg, divisor)
        super().__init__({
            "rx": In(1, init=1),
            "o": Out(stream.Signature(unsigned(8))),
            "framing_error": Out(1),
            "framing_errors": Out(16),
        })

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        line = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, line, init=1, stages=2)

        timer = Signal(range(div))
        bits = Signal(range(8))
        shift = Signal(8)
        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # Half a bit to the middle of the start bit (the edge was seen up to a cycle late).
                    m.d.sync += timer.eq(div // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(line):
                        m.next = "IDLE"          # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [timer.eq(div - 1), bits.eq(0)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shift.eq((line << 7) | (shift >> 1)), bits.eq(bits + 1), timer.eq(div - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(line):
                        with m.If(~self.o.valid | self.o.ready):
                            m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                        m.next = "IDLE"
                    with m.Else():
                        m.d.comb += self.framing_error.eq(1)
                        m.d.sync += self.framing_errors.eq(self.framing_errors + 1)
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """8N1 transmitter: bytes in on ``i``, ``tx`` pin out (high when idle)."""

    def __init__(self, cfg=None, *, divisor=None):
        self.divisor = uart_divisor(cfg, divisor)
        super().__init__({
            "i": In(stream.Signature(unsigned(8))),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        timer = Signal(range(div))
        #: Start bit, 8 data bits, stop bit; bit 0 is on the pin.
        frame = Signal(10, init=1)
        left = Signal(range(11))
        m.d.comb += [self.tx.eq(frame[0]), self.i.ready.eq(left == 0)]
        with m.If(left != 0):
            with m.If(timer == 0):
                m.d.sync += [frame.eq((1 << 9) | (frame >> 1)), left.eq(left - 1), timer.eq(div - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        with m.Elif(self.i.valid):
            m.d.sync += [frame.eq((1 << 9) | (self.i.payload << 1)), left.eq(10), timer.eq(div - 1)]
        return m
