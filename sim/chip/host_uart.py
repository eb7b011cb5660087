"""The host computer's serial port, as a simulation model: 8N1 characters on two pins, bytes in chunks.

A simulated board (:mod:`tessera.sim.chip.board_top`) needs the other end of
the bridge's serial line: what a USB-serial adapter does on a real host.
:class:`HostUart` is that end, written from the 8N1 definition alone (start
bit low, 8 data bits LSB first, stop bit high, ``clocks_per_bit`` cycles a
bit), independently of the design under test (hw/chip/uart.py), so a wrong
bit time or bit order in either shows as corrupted frames.

Toward the simulator's Python side it moves bytes in chunks of up to
:data:`CHUNK_BYTES`, so Python is woken once per chunk and never per bit or
per cycle:

* ``to_line`` (stream in): a chunk of ``count`` bytes (``data`` byte 0 first)
  to send; a holding register takes the next chunk while the current one is
  on the line, so a steady writer keeps the line busy with no gap between
  characters but the one idle cycle after each stop bit.
* ``from_line`` (stream out): the bytes received on ``rx``, sent as a chunk
  when :data:`CHUNK_BYTES` have come or the line has been idle for
  ``flush_cycles`` (by default three bit times: a frame's end, the bridge
  sends a frame's characters back to back).  The reader must take every
  chunk in the cycle it is offered (hold ``ready`` high); a chunk not taken
  before the next is complete is lost and counted in ``overruns``.

The receiver samples ``rx`` in the middle of each bit, counted from the
first low cycle of the start bit (``rx`` is driven by a register of the same
clock domain in the simulation, so it needs no synchroniser).  A character
whose start bit is not low at its middle is ignored; one whose stop bit is
low is a framing error: dropped, counted in ``framing_errors``, and the
receiver waits for the line to go high before it looks for the next start
bit.  ``busy`` is high while a character is sent or received, a chunk is
held for sending, or received bytes are not yet handed over: with ``busy``
low the line is idle in both directions.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.config import MIN_CLOCKS_PER_BIT

__all__ = ["HostUart", "CHUNK_BYTES", "ChunkLayout"]

#: Bytes of one chunk between the model and the simulator's Python side.
CHUNK_BYTES = 8

#: A chunk: ``count`` bytes of ``data``, byte 0 in bits 0..7.
ChunkLayout = data.StructLayout({"data": 8 * CHUNK_BYTES, "count": range(CHUNK_BYTES + 1)})

#: Bits of one character: start, 8 data bits, stop.
CHARACTER_BITS = 10


class HostUart(wiring.Component):
    """The host's end of an 8N1 line (see the module docstring): ``tx`` drives the board's
    ``uart_rx``, ``rx`` watches its ``uart_tx``."""

    def __init__(self, clocks_per_bit: int, flush_cycles: int | None = None):
        if not isinstance(clocks_per_bit, int) or isinstance(clocks_per_bit, bool) or clocks_per_bit < MIN_CLOCKS_PER_BIT:
            raise ValueError(f"HostUart clocks_per_bit must be an integer of at least {MIN_CLOCKS_PER_BIT}, got {clocks_per_bit!r}")
        if flush_cycles is None:
            flush_cycles = 3 * clocks_per_bit
        if not isinstance(flush_cycles, int) or isinstance(flush_cycles, bool) or flush_cycles < 1:
            raise ValueError(f"HostUart flush_cycles must be a positive integer, got {flush_cycles!r}")
        self.clocks_per_bit = clocks_per_bit
        self.flush_cycles = flush_cycles
        super().__init__({
            "tx": Out(1, init=1),
            "rx": In(1, init=1),
            "to_line": In(stream.Signature(ChunkLayout)),
            "from_line": Out(stream.Signature(ChunkLayout)),
            "busy": Out(1),
            "framing_errors": Out(16),
            "overruns": Out(16),
        })

    def elaborate(self, platform):
        m = Module()
        cpb = self.clocks_per_bit

        # -- sending: holding register -> chunk being sent -> character on the pin ------------
        hold = Signal(ChunkLayout)
        hold_full = Signal()
        out_bytes = Signal(8 * CHUNK_BYTES)
        out_left = Signal(range(CHUNK_BYTES + 1))
        sending = Signal()
        levels = Signal(CHARACTER_BITS)          # the character's bit levels, start bit first
        tx_bit = Signal(range(CHARACTER_BITS))
        tx_phase = Signal(range(cpb))

        m.d.comb += [self.to_line.ready.eq(~hold_full),
                     self.tx.eq(~sending | levels.bit_select(tx_bit, 1))]
        with m.If(self.to_line.valid & ~hold_full):
            m.d.sync += [hold.eq(self.to_line.payload), hold_full.eq(1)]

        with m.If(sending):
            with m.If(tx_phase == cpb - 1):
                m.d.sync += tx_phase.eq(0)
                with m.If(tx_bit == CHARACTER_BITS - 1):
                    m.d.sync += sending.eq(0)
                with m.Else():
                    m.d.sync += tx_bit.eq(tx_bit + 1)
            with m.Else():
                m.d.sync += tx_phase.eq(tx_phase + 1)
        with m.Elif(out_left != 0):
            m.d.sync += [levels.eq(Cat(Const(0, 1), out_bytes[:8], Const(1, 1))), out_bytes.eq(out_bytes >> 8),
                         out_left.eq(out_left - 1), sending.eq(1), tx_bit.eq(0), tx_phase.eq(0)]
        with m.Elif(hold_full):
            m.d.sync += [out_bytes.eq(hold.data), out_left.eq(hold.count), hold_full.eq(0)]

        # -- receiving: mid-bit samples from the start bit's first low cycle -------------------
        receiving = Signal()
        wait_high = Signal()                      # after a framing error: until the line is high
        elapsed = Signal(range(CHARACTER_BITS * cpb))
        sample_at = Signal(range(CHARACTER_BITS * cpb))
        rx_bit = Signal(range(CHARACTER_BITS))
        samples = Signal(CHARACTER_BITS)
        got = Signal(CHARACTER_BITS)              # every sample, once the stop bit's is in
        m.d.comb += got.eq(Cat(samples[1:], self.rx))
        quiet = Signal(range(self.flush_cycles + 1))
        acc = Signal(8 * CHUNK_BYTES)
        acc_count = Signal(range(CHUNK_BYTES + 1))
        merged = Signal(8 * CHUNK_BYTES)          # ``acc`` with the byte just received in place
        m.d.comb += merged.eq(acc)
        m.d.comb += merged.word_select(acc_count[:3], 8).eq(got[1:9])

        out = self.from_line
        with m.If(out.ready):
            m.d.sync += out.valid.eq(0)

        def hand_over(payload_data, count):
            with m.If(out.valid & ~out.ready):
                m.d.sync += self.overruns.eq(self.overruns + 1)
            m.d.sync += [out.valid.eq(1), out.payload.data.eq(payload_data), out.payload.count.eq(count),
                         acc_count.eq(0)]

        with m.If(~receiving):
            with m.If(quiet != self.flush_cycles):
                m.d.sync += quiet.eq(quiet + 1)
            with m.If(wait_high):
                with m.If(self.rx):
                    m.d.sync += wait_high.eq(0)
            with m.Elif(~self.rx):
                m.d.sync += [receiving.eq(1), elapsed.eq(1), sample_at.eq(cpb // 2), rx_bit.eq(0)]
            with m.If((quiet == self.flush_cycles - 1) & (acc_count != 0)):
                hand_over(acc, acc_count)
        with m.Else():
            m.d.sync += [elapsed.eq(elapsed + 1), quiet.eq(0)]
            with m.If(elapsed == sample_at):
                m.d.sync += [samples.eq(got), rx_bit.eq(rx_bit + 1), sample_at.eq(sample_at + cpb)]
                with m.If((rx_bit == 0) & self.rx):
                    m.d.sync += receiving.eq(0)           # not a start bit after all
                with m.If(rx_bit == CHARACTER_BITS - 1):
                    m.d.sync += receiving.eq(0)
                    with m.If(~self.rx):
                        m.d.sync += [self.framing_errors.eq(self.framing_errors + 1), wait_high.eq(1)]
                    with m.Elif(acc_count == CHUNK_BYTES - 1):
                        hand_over(merged, CHUNK_BYTES)
                    with m.Else():
                        m.d.sync += [acc.eq(merged), acc_count.eq(acc_count + 1)]

        m.d.comb += self.busy.eq(hold_full | (out_left != 0) | sending | receiving | (acc_count != 0) | out.valid)
        return m
