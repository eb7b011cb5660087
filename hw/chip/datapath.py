"""Byte-stream datapath pieces shared by the NIU and the DRAM node.

* :class:`Realigner` moves a byte stream from words of one width and
  alignment to words of another (L1 bank words <-> NoC flits at any byte
  offset), one word per cycle each way.
* :class:`MemToFlits` reads ``length`` bytes at any byte address of an
  L1-style memory port (or takes an inline value) and yields them as payload
  flits, byte 0 first.
* :class:`FlitsToMem` writes payload flits to an L1-style memory port at any
  byte address, with byte masks at both ends.

  Both take an ``alignment`` (``noc.transfer_alignment``): with 4, every
  address is a multiple of 4 and the realigner moves 32-bit words instead of
  bytes (a quarter of the shift positions); lengths stay free, the bytes of
  the last word past the length are masked.  The caller refuses an unaligned
  address before it starts a transfer (the low address bits are ignored).
* :class:`PacketTx` / :class:`PacketRx` frame and unframe packets on a local
  NoC stream (header flits, then payload flits; ``tail`` ends the packet);
  :func:`payload_into_memory` feeds a received payload to a :class:`FlitsToMem`.
* :class:`L1PortArbiter` shares one L1 requester port among several users.

The memory side everywhere is the L1 requester protocol of
:mod:`tessera.hw.tile.l1_port`: a request stream, and exactly one response
(no ready) :data:`~tessera.hw.tile.l1_port.L1_LATENCY` cycle after each
accepted request.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.logic import RoundRobin
from tessera.hw.noc.layout import MessageClass, NocFormat, flit_layout, header_layout, local_stream_signature
from tessera.hw.tile.l1_port import L1_LATENCY, L1Op, L1PortSignature

__all__ = ["Realigner", "MemToFlits", "FlitsToMem", "PacketTx", "PacketRx", "L1PortArbiter",
           "byte_mask", "payload_into_memory"]

if L1_LATENCY != 1:  # the readers below count on a response the cycle after acceptance
    raise ImportError(f"hw.chip.datapath expects L1_LATENCY == 1, got {L1_LATENCY}")


def byte_mask(count, nbytes: int):
    """HDL: a ``nbytes``-bit mask with the low ``count`` bits set (``count`` in 0..nbytes)."""
    return (Const(1, nbytes + 1) << count) - 1


def _check_alignment(who: str, alignment, word_bytes: int, flit_bytes: int) -> int:
    """``alignment`` as the realigner's unit: a power of two that divides both word widths."""
    if not (isinstance(alignment, int) and not isinstance(alignment, bool) and alignment > 0
            and alignment & (alignment - 1) == 0 and word_bytes % alignment == 0 and flit_bytes % alignment == 0):
        raise ValueError(f"{who} alignment must be a power of two dividing the {word_bytes}-byte memory word "
                         f"and the {flit_bytes}-byte flit, got {alignment!r}")
    return alignment


def _ceil_units(nbytes, unit: int):
    """HDL: ``nbytes`` rounded up to whole ``unit``-byte units (the count itself when ``unit`` is 1)."""
    if unit == 1:
        return nbytes
    return (nbytes + unit - 1) >> (unit.bit_length() - 1)


def _bytes_to_bits(mask, unit: int = 1):
    """HDL: each bit of ``mask`` (one per ``unit`` bytes) as ``8 * unit`` data bits."""
    return Cat(*[b.replicate(8 * unit) for b in mask])


class Realigner(Elaboratable):
    """Bytes in as words of ``in_bytes`` (``skip``/``count`` select units of each word), out as
    words of ``out_bytes`` with a byte mask.

    The stream moves in units of ``unit`` bytes (1: bytes; 4: 32-bit words,
    for aligned transfers): ``lead``, ``in_skip`` and ``in_count`` count
    units.  ``start`` (while idle) begins a stream whose first output word
    has ``lead`` empty (mask 0) units before the first input unit: this is
    how a write to offset *k* of a bank word lines up.  ``in_last`` marks the
    last input word; the output then drains, the final word partial, with
    ``out_last``.  Output bytes beyond the data are zero.
    """

    def __init__(self, in_bytes: int, out_bytes: int, unit: int = 1):
        _check_alignment("Realigner", unit, in_bytes, out_bytes)
        self.in_bytes, self.out_bytes, self.unit = in_bytes, out_bytes, unit
        in_units, out_units = in_bytes // unit, out_bytes // unit
        self.start = Signal()
        self.lead = Signal(range(out_units))
        self.in_valid = Signal()
        self.in_ready = Signal()
        self.in_data = Signal(8 * in_bytes)
        self.in_skip = Signal(range(in_units))
        self.in_count = Signal(range(in_units + 1))
        self.in_last = Signal()
        self.out_valid = Signal()
        self.out_ready = Signal()
        self.out_data = Signal(8 * out_bytes)
        self.out_mask = Signal(out_bytes)
        self.out_last = Signal()

    def elaborate(self, platform):
        m = Module()
        u = self.unit
        ib, ob = self.in_bytes // u, self.out_bytes // u     # words in units
        ubits = 8 * u
        cap = ib + ob
        acc = Signal(ubits * cap)
        valid = Signal(cap)
        n = Signal(range(cap + 1))
        ending = Signal()
        m.d.comb += [
            self.out_valid.eq((n >= ob) | (ending & (n != 0))),
            self.out_data.eq(acc[:ubits * ob]),
            self.out_mask.eq(valid[:ob] if u == 1 else Cat(*[b.replicate(u) for b in valid[:ob]])),
            self.out_last.eq(ending & (n <= ob)),
        ]
        pop = Signal()
        m.d.comb += pop.eq(self.out_valid & self.out_ready)
        n1 = Signal.like(n)
        acc1 = Signal.like(acc)
        valid1 = Signal.like(valid)
        m.d.comb += [
            n1.eq(Mux(pop, Mux(n > ob, n - ob, 0), n)),
            acc1.eq(Mux(pop, acc >> (ubits * ob), acc)),
            valid1.eq(Mux(pop, valid >> ob, valid)),
            self.in_ready.eq(~ending & (n1 <= ob)),
        ]
        push = Signal()
        m.d.comb += push.eq(self.in_valid & self.in_ready)
        shifted = Signal(ubits * ib)
        bytes_in = Signal(ib)      # units, when ``unit`` > 1
        m.d.comb += [
            bytes_in.eq(byte_mask(self.in_count, ib)),
            shifted.eq((self.in_data >> (self.in_skip * ubits)) & _bytes_to_bits(bytes_in, u)),
        ]
        with m.If(self.start):
            m.d.sync += [n.eq(self.lead), acc.eq(0), valid.eq(0), ending.eq(0)]
        with m.Elif(push):
            m.d.sync += [
                acc.eq(acc1 | (shifted << (n1 * ubits))),
                valid.eq(valid1 | (bytes_in << n1)),
                n.eq(n1 + self.in_count),
                ending.eq(self.in_last),
            ]
        with m.Else():
            m.d.sync += [acc.eq(acc1), valid.eq(valid1), n.eq(n1)]
            with m.If(pop & self.out_last):
                m.d.sync += ending.eq(0)
        return m


class MemToFlits(Elaboratable):
    """``length`` bytes from memory byte address ``addr`` (or ``inline_len`` bytes of
    ``inline_value`` when ``use_inline``) as a stream of ``flit_bytes`` payload words.

    Pulse ``start`` while ``idle``; the words come out on ``out_*`` with
    ``out_last`` on the final one.  Memory reads are issued only when the
    response has room to land (responses cannot be refused).  ``addr`` is a
    multiple of ``alignment`` (module docstring); payload bytes past the
    length are zero.
    """

    FIFO_DEPTH = 4

    def __init__(self, mem_l1cfg, flit_bytes: int, *, alignment: int = 1):
        self.l1cfg = mem_l1cfg
        self.word_bytes = mem_l1cfg.bank_bytes
        self.flit_bytes = flit_bytes
        self.alignment = _check_alignment("MemToFlits", alignment, self.word_bytes, flit_bytes)
        if alignment > 4:
            raise ValueError(f"MemToFlits alignment {alignment} is larger than the 4-byte pieces of an inline value")
        self.mem = L1PortSignature(mem_l1cfg).create(path=("m2f_mem",))
        self.start = Signal()
        self.addr = Signal(32)
        self.length = Signal(32)
        self.use_inline = Signal()
        self.inline_value = Signal(64)
        self.inline_len = Signal(range(9))
        self.idle = Signal()
        self.out_valid = Signal()
        self.out_ready = Signal()
        self.out_data = Signal(8 * flit_bytes)
        self.out_last = Signal()

    def elaborate(self, platform):
        m = Module()
        wb = self.word_bytes
        unit = self.alignment
        off_bits = (wb - 1).bit_length()
        unit_bits = (unit - 1).bit_length()
        m.submodules.realign = ra = Realigner(wb, self.flit_bytes, unit)
        # ``skip`` in units of the realigner, ``count`` in bytes (the tail of the last word is masked).
        meta = data.StructLayout({"skip": range(wb // unit), "count": range(wb + 1), "last": 1})
        m.submodules.fifo = q = fifo.SyncFIFO(width=8 * wb + meta.size, depth=self.FIFO_DEPTH)

        busy = Signal()
        inline = Signal()
        waddr = Signal(32)       # next word address to read
        remaining = Signal(32)   # bytes not yet requested
        first = Signal()
        inline_val = Signal(64)
        inline_left = Signal(range(9))
        draining = Signal()      # every input pushed; waiting for the realigner's last word
        inflight = Signal()
        inflight_meta = Signal(meta)

        m.d.comb += self.idle.eq(~busy)
        m.d.comb += [ra.lead.eq(0), ra.start.eq(self.start & ~busy)]
        with m.If(self.start & ~busy):
            m.d.sync += [busy.eq(1), inline.eq(self.use_inline), first.eq(1), draining.eq(0),
                         waddr.eq(self.addr & ~(wb - 1)), remaining.eq(self.length),
                         inline_val.eq(self.inline_value), inline_left.eq(self.inline_len)]

        # Memory reads: one bank word per request, metadata follows the response.
        skip = Signal(range(wb // unit))
        count = Signal(range(wb + 1))
        avail = Signal(range(wb + 1))
        first_skip = Signal(range(wb // unit))
        with m.If(self.start & ~busy):
            m.d.sync += first_skip.eq(self.addr[unit_bits:off_bits] if off_bits > unit_bits else 0)
        m.d.comb += skip.eq(Mux(first, first_skip, 0))
        m.d.comb += avail.eq(wb - (skip * unit if unit > 1 else skip))
        m.d.comb += count.eq(Mux(remaining < avail, remaining, avail))
        req = self.mem.req
        room = Signal()
        m.d.comb += room.eq(q.level + inflight < self.FIFO_DEPTH)
        m.d.comb += [
            req.valid.eq(busy & ~inline & ~draining & (remaining != 0) & room),
            req.payload.addr.eq(waddr),
            req.payload.op.eq(L1Op.READ),
            req.payload.mask.eq(0),
            req.payload.wdata.eq(0),
        ]
        accepted = Signal()
        m.d.comb += accepted.eq(req.valid & req.ready)
        m.d.sync += inflight.eq(accepted)
        with m.If(accepted):
            m.d.sync += [waddr.eq(waddr + wb), remaining.eq(remaining - count), first.eq(0),
                         inflight_meta.skip.eq(skip), inflight_meta.count.eq(count),
                         inflight_meta.last.eq(remaining == count)]
            with m.If(remaining == count):
                m.d.sync += draining.eq(1)
        m.d.comb += [q.w_en.eq(self.mem.resp.valid),
                     q.w_data.eq(Cat(self.mem.resp.rdata, inflight_meta.as_value()))]

        # Realigner input: the memory FIFO, or the inline value 4 bytes at a time.
        q_meta = data.View(meta, q.r_data[8 * wb:])
        inline_count = Signal(range(9))
        m.d.comb += inline_count.eq(Mux(inline_left > min(4, wb), min(4, wb), inline_left))
        q_word = q.r_data[:8 * wb]
        if unit > 1:
            # Whole units move: the bytes of the last unit past the length are cleared here.
            used = Signal(range(wb + 1))
            m.d.comb += used.eq(q_meta.skip * unit + q_meta.count)
            q_word = q_word & _bytes_to_bits(byte_mask(used, wb)[:wb])
        with m.If(busy & inline & ~draining):
            m.d.comb += [ra.in_valid.eq(1), ra.in_data.eq(inline_val[:32]), ra.in_skip.eq(0),
                         ra.in_count.eq(_ceil_units(inline_count, unit)), ra.in_last.eq(inline_left == inline_count)]
            with m.If(ra.in_ready):
                m.d.sync += [inline_val.eq(inline_val >> 32), inline_left.eq(inline_left - inline_count)]
                with m.If(inline_left == inline_count):
                    m.d.sync += draining.eq(1)
        with m.Else():
            m.d.comb += [ra.in_valid.eq(q.r_rdy), ra.in_data.eq(q_word),
                         ra.in_skip.eq(q_meta.skip), ra.in_count.eq(_ceil_units(q_meta.count, unit)),
                         ra.in_last.eq(q_meta.last), q.r_en.eq(ra.in_ready)]
        m.d.comb += [self.out_valid.eq(ra.out_valid), self.out_data.eq(ra.out_data),
                     self.out_last.eq(ra.out_last), ra.out_ready.eq(self.out_ready)]
        with m.If(ra.out_valid & self.out_ready & ra.out_last):
            m.d.sync += busy.eq(0)
        return m


class FlitsToMem(Elaboratable):
    """Payload flits in (``in_*``), written to memory from byte address ``addr`` for
    ``length`` bytes.

    Pulse ``start`` while ``idle``.  Payload bytes past ``length`` (the
    padding of the last flit) are dropped.  ``done`` pulses when the last
    memory write is accepted, so the data is in memory when a completion
    based on ``done`` is reported.  With ``discard`` the payload is consumed
    and nothing is written.  ``addr`` is a multiple of ``alignment`` (module
    docstring).
    """

    def __init__(self, mem_l1cfg, flit_bytes: int, *, alignment: int = 1):
        self.l1cfg = mem_l1cfg
        self.word_bytes = mem_l1cfg.bank_bytes
        self.flit_bytes = flit_bytes
        self.alignment = _check_alignment("FlitsToMem", alignment, self.word_bytes, flit_bytes)
        self.mem = L1PortSignature(mem_l1cfg).create(path=("f2m_mem",))
        self.start = Signal()
        self.addr = Signal(32)
        self.length = Signal(32)
        self.discard = Signal()
        self.idle = Signal()
        self.done = Signal()
        self.in_valid = Signal()
        self.in_ready = Signal()
        self.in_data = Signal(8 * flit_bytes)
        self.in_last = Signal()

    def elaborate(self, platform):
        m = Module()
        wb, fb = self.word_bytes, self.flit_bytes
        unit = self.alignment
        off_bits = (wb - 1).bit_length()
        unit_bits = (unit - 1).bit_length()
        m.submodules.realign = ra = Realigner(fb, wb, unit)
        busy = Signal()
        discard = Signal()
        waddr = Signal(32)
        remaining = Signal(32)
        # A new transfer may start in the cycle the previous one completes.
        m.d.comb += self.idle.eq(~busy | self.done)
        m.d.comb += [ra.start.eq(self.start & self.idle),
                     ra.lead.eq(self.addr[unit_bits:off_bits] if off_bits > unit_bits else 0)]
        take = Signal(range(fb + 1))
        m.d.comb += take.eq(Mux(remaining < fb, remaining, fb))
        # Flits past the length (none in a well-formed packet) are consumed as padding.
        m.d.comb += [ra.in_data.eq(self.in_data), ra.in_skip.eq(0), ra.in_count.eq(_ceil_units(take, unit)),
                     ra.in_last.eq(self.in_last)]
        mask = ra.out_mask
        if unit > 1:
            # Whole units move: the bytes of the last word past the length are masked here.
            # ``end_offset``: where the data ends in its last memory word (0: at the word's end).
            end_offset = Signal(range(wb))
            with m.If(self.start & self.idle):
                m.d.sync += end_offset.eq((self.addr + self.length)[:off_bits])
            mask = Signal(wb)
            m.d.comb += mask.eq(Mux(ra.out_last & (end_offset != 0),
                                    ra.out_mask & byte_mask(end_offset, wb)[:wb], ra.out_mask))
        with m.If(busy & discard):
            m.d.comb += self.in_ready.eq(1)
            with m.If(self.in_valid & self.in_last):
                m.d.sync += busy.eq(0)
                m.d.comb += self.done.eq(1)
        with m.Elif(busy):
            m.d.comb += [ra.in_valid.eq(self.in_valid), self.in_ready.eq(ra.in_ready)]
            with m.If(self.in_valid & ra.in_ready):
                m.d.sync += remaining.eq(remaining - take)
        req = self.mem.req
        m.d.comb += [
            req.valid.eq(busy & ~discard & ra.out_valid & (mask != 0)),
            req.payload.addr.eq(waddr),
            req.payload.op.eq(L1Op.WRITE),
            req.payload.mask.eq(mask),
            req.payload.wdata.eq(ra.out_data),
            # A word without data (only when the length is 0) is skipped.
            ra.out_ready.eq(busy & ~discard & ((mask == 0) | req.ready)),
        ]
        with m.If(ra.out_valid & ra.out_ready):
            m.d.sync += waddr.eq(waddr + wb)
            with m.If(ra.out_last):
                m.d.sync += busy.eq(0)
                m.d.comb += self.done.eq(1)
        with m.If(self.start & self.idle):
            m.d.sync += [busy.eq(1), discard.eq(self.discard), waddr.eq(self.addr & ~(wb - 1)),
                         remaining.eq(self.length)]
        return m


class _PacketEnd(Elaboratable):
    """What both ends of a local NoC stream hold: the packet ``header`` and
    the payload stream ``pay_*`` (one flit of data per word, ``pay_last``
    with the last)."""

    def __init__(self, noc):
        self.noc = noc
        self.fmt = NocFormat(noc)
        self.header = Signal(header_layout(noc))
        self.pay_valid = Signal()
        self.pay_ready = Signal()
        self.pay_data = Signal(noc.flit_width)
        self.pay_last = Signal()


class PacketTx(_PacketEnd):
    """Sends one packet on a local injection stream: ``header`` (held by the user), then
    ``ceil(header.length / flit_bytes)`` payload words from ``pay_*``.

    Pulse ``start`` while ``idle`` (``header`` is latched then; ``idle`` is
    high in the cycle of a tail too, so packets leave back to back);
    ``done`` pulses with the tail flit.  The packet ends after its length, not at ``pay_last``, so one payload stream
    can feed several packets (a long write cut into packets without a gap in
    the data path).
    """

    def __init__(self, noc):
        super().__init__(noc)
        self.out = local_stream_signature(noc).create(path=("ptx_out",))
        self.start = Signal()
        self.idle = Signal()
        self.done = Signal()

    def elaborate(self, platform):
        m = Module()
        hf = self.fmt.header_flits
        fw = self.noc.flit_width
        fb = self.noc.flit_bytes
        flit = data.View(flit_layout(self.noc), self.out.payload)
        busy = Signal()
        index = Signal(range(hf + 1))
        held = Signal.like(self.header)     # the header, latched at start
        bits = held.as_value()
        padded = Cat(bits, Const(0, hf * fw - len(bits)))
        left = Signal(range(self.noc.max_payload_flits + 1))   # data flits still to send
        no_data = Signal()
        m.d.comb += no_data.eq(held.length == 0)
        with m.If(busy & (index < hf)):
            with m.Switch(index):
                for k in range(hf):
                    with m.Case(k):
                        m.d.comb += flit.data.eq(padded[k * fw:(k + 1) * fw])
            m.d.comb += [self.out.valid.eq(1), flit.head.eq(index == 0),
                         flit.tail.eq(no_data & (index == hf - 1))]
            with m.If(self.out.ready):
                m.d.sync += index.eq(index + 1)
                with m.If(no_data & (index == hf - 1)):
                    m.d.sync += busy.eq(0)
                    m.d.comb += self.done.eq(1)
        with m.Elif(busy):
            last = Signal()
            m.d.comb += [last.eq(left == 1),
                         self.out.valid.eq(self.pay_valid), flit.data.eq(self.pay_data),
                         flit.tail.eq(last), self.pay_ready.eq(self.out.ready)]
            with m.If(self.pay_valid & self.out.ready):
                m.d.sync += left.eq(left - 1)
                with m.If(last):
                    m.d.sync += busy.eq(0)
                    m.d.comb += self.done.eq(1)
        # A new packet may start in the cycle the previous one sends its tail.
        m.d.comb += self.idle.eq(~busy | self.done)
        with m.If(self.start & self.idle):
            m.d.sync += [busy.eq(1), index.eq(0), held.eq(self.header),
                         left.eq((self.header.length + fb - 1) >> (fb.bit_length() - 1))]
        return m


class PacketRx(_PacketEnd):
    """Receives packets from a local ejection stream.

    The header flits are collected into ``header``; ``header_valid`` is
    high from the cycle the last header flit arrives (``header`` shows it
    then already) until the user pulses ``accept``.  A packet with payload then
    hands its payload flits out on ``pay_*`` (``pay_last`` with the tail);
    ``has_payload`` tells which.

    ``request_alignment`` (a target's receiver: ``noc.transfer_alignment``):
    a request whose address is not a multiple of it shows ``length`` 0 in
    ``header``, which a :class:`~tessera.hw.chip.target.NocTarget` refuses
    with an ``ERROR_RESP`` naming the address and the command (its payload
    is drained).  1: headers as they arrive.
    """

    def __init__(self, noc, *, request_alignment: int = 1):
        super().__init__(noc)
        if request_alignment not in (1, noc.transfer_alignment):
            raise ValueError(f"PacketRx request_alignment must be 1 or noc.transfer_alignment "
                             f"({noc.transfer_alignment}), got {request_alignment!r}")
        self.request_alignment = request_alignment
        self.inp = local_stream_signature(noc).flip().create(path=("prx_in",))
        self.header_valid = Signal()
        self.has_payload = Signal()
        self.accept = Signal()

    def elaborate(self, platform):
        m = Module()
        hf = self.fmt.header_flits
        fw = self.noc.flit_width
        flit = data.View(flit_layout(self.noc), self.inp.payload)
        words = Signal(hf * fw)
        index = Signal(range(hf + 1))
        tail_seen = Signal()
        hbits = len(self.header.as_value())
        arriving = Signal()      # the last header flit is on the input now
        merged = Signal(hf * fw)
        m.d.comb += merged.eq(Cat(words[:(hf - 1) * fw], flit.data) if hf > 1 else flit.data)
        shown = self.header
        if self.request_alignment > 1:
            # The header as received; ``header`` is this one with an unaligned request's length 0.
            shown = Signal.like(self.header)
            off = (self.request_alignment - 1).bit_length()
            refused = (shown.cls == MessageClass.REQUEST) & (shown.addr[:off] != 0)
            m.d.comb += [self.header.eq(shown), self.header.length.eq(Mux(refused, 0, shown.length))]
        m.d.comb += shown.as_value().eq(words[:hbits])
        with m.FSM():
            with m.State("HEADER"):
                m.d.comb += [self.inp.ready.eq(1), arriving.eq(self.inp.valid & (index == hf - 1)),
                             shown.as_value().eq(Mux(arriving, merged[:hbits], words[:hbits])),
                             self.header_valid.eq(arriving), self.has_payload.eq(~flit.tail)]
                with m.If(self.inp.valid):
                    for k in range(hf):
                        with m.If(index == k):
                            m.d.sync += words[k * fw:(k + 1) * fw].eq(flit.data)
                    with m.If(index == hf - 1):
                        m.d.sync += [index.eq(0), tail_seen.eq(flit.tail)]
                        # Taken at once when the user accepts in this cycle.
                        with m.If(self.accept & ~flit.tail):
                            m.next = "PAYLOAD"
                        with m.Elif(~self.accept):
                            m.next = "READY"
                    with m.Else():
                        m.d.sync += index.eq(index + 1)
            with m.State("READY"):
                m.d.comb += [self.header_valid.eq(1), self.has_payload.eq(~tail_seen)]
                with m.If(self.accept):
                    with m.If(tail_seen):
                        m.next = "HEADER"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [self.pay_valid.eq(self.inp.valid), self.pay_data.eq(flit.data),
                             self.pay_last.eq(flit.tail), self.inp.ready.eq(self.pay_ready)]
                with m.If(self.inp.valid & self.pay_ready & flit.tail):
                    m.next = "HEADER"
        return m


def payload_into_memory(m: Module, rx: PacketRx, writer: FlitsToMem):
    """Hand the payload flits of ``rx`` to ``writer`` (comb, for the cycles
    a packet's payload goes to memory)."""
    m.d.comb += [writer.in_valid.eq(rx.pay_valid), writer.in_data.eq(rx.pay_data),
                 writer.in_last.eq(rx.pay_last), rx.pay_ready.eq(writer.in_ready)]


class L1PortArbiter(wiring.Component):
    """``num`` L1 requesters (``user[i]``) share one L1 port (``mem``), round robin.

    With ``with_preference`` the arbiter has an input ``prefer``: that user's
    request wins whenever it asks, and the others share the remaining cycles
    round robin (a reader that feeds the wire at one word per cycle keeps up
    while another one prefetches in the cycles it leaves).

    Works because the L1 answers exactly one cycle after acceptance: the
    response belongs to the user accepted in the previous cycle.
    """

    def __init__(self, l1cfg, num: int, *, with_preference: bool = False):
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            raise ValueError(f"L1PortArbiter num must be a positive integer, got {num!r}")
        if not isinstance(with_preference, bool):
            raise TypeError(f"L1PortArbiter with_preference must be a bool, got {with_preference!r}")
        self.num = num
        self.with_preference = with_preference
        members = {"user": In(L1PortSignature(l1cfg)).array(num),
                   "mem": Out(L1PortSignature(l1cfg))}
        if with_preference:
            members["prefer"] = In(range(max(2, num)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n = self.num
        # The priority moves past a user only when its request is accepted
        # (with a preference: only when the round robin's grant is the one used).
        m.submodules.round_robin = arbiter = RoundRobin(n, with_advance=True)
        asking = Cat(u.req.valid for u in self.user)
        m.d.comb += arbiter.requests.eq(asking)
        grant_idx = Signal(range(max(2, n)))
        if self.with_preference:
            preferred = Signal()
            m.d.comb += [preferred.eq(asking.bit_select(self.prefer, 1)),
                         grant_idx.eq(Mux(preferred, self.prefer, arbiter.grant_index)),
                         arbiter.advance.eq(self.mem.req.ready & ~preferred)]
        else:
            m.d.comb += [grant_idx.eq(arbiter.grant_index), arbiter.advance.eq(self.mem.req.ready)]
        any_req = Signal()
        m.d.comb += any_req.eq(arbiter.grant.any())
        with m.Switch(grant_idx):
            for p in range(n):
                with m.Case(p):
                    m.d.comb += self.mem.req.payload.eq(self.user[p].req.payload)
        m.d.comb += self.mem.req.valid.eq(any_req)
        accepted = Signal()
        m.d.comb += accepted.eq(any_req & self.mem.req.ready)
        owner = Signal(range(max(2, n)))
        owner_valid = Signal()
        m.d.sync += owner_valid.eq(accepted)
        with m.If(accepted):
            m.d.sync += owner.eq(grant_idx)
        for p, u in enumerate(self.user):
            m.d.comb += [
                u.req.ready.eq(any_req & (grant_idx == p) & self.mem.req.ready),
                u.resp.valid.eq(self.mem.resp.valid & owner_valid & (owner == p)),
                u.resp.rdata.eq(self.mem.resp.rdata),
            ]
        return m
