"""The host bridge: the chip's host node driven over a UART by a host computer.

The frames, ops and bodies are those of :mod:`tessera.hw.chip.bridge_protocol`.
The bridge sits between the UART's byte streams (``rx_bytes`` from a
:class:`~tessera.hw.chip.uart.UartRx`, ``tx_bytes`` to a
:class:`~tessera.hw.chip.uart.UartTx`) and the chip's host ports, whose
mirror its chip side is: ``host_inject[cls]`` out, ``host_eject[cls]`` in,
the ``debug[t][c]`` array and ``bad_packets`` in, and ``chip_reset`` out
(hw/chip/bridged_chip.py holds the chip in reset while it is high).

Receiving: the bridge hunts for SOF, takes the header, writes the body into
a byte buffer (a ``Memory`` of ``max_body_bytes(cfg)`` bytes) and runs a
byte-serial CRC over op, seq, length and body.  At the last CRC byte it
checks the frame (length, CRC, op, body shape, in that order) and either
executes it or answers ``NAK`` with the reason; a frame whose next byte is
more than ``host_link.frame_timeout_bytes`` byte times late is answered
``NAK TRUNCATED``.  A frame announcing a body longer than the buffer is
read to its end (only the count is kept) and then refused, so its body is
never mistaken for frames.  While a request executes and its reply goes out
the bridge takes no byte from the UART: the host sends a request, waits for
its reply, then sends the next.

Executing: ``PACKET`` reads the buffer a byte at a time into a flit and
offers each flit on ``host_inject[cls]`` (head on the first, tail on the
last), then ``ACK``; a ``PACKET`` with the seq of the last accepted one is
re-acknowledged without being injected (``HELLO`` starts a new session and
forgets that seq).  ``RESET`` raises ``chip_reset`` for ``RESET_CYCLES``
cycles and drops the partial packets of the eject buffers.  ``RUN`` counts
cycles from the start of its wait (the second cycle after the request's last
byte) to the first cycle in which every masked core's waypoint is ``DONE``,
or up to the budget.  ``COUNTERS`` snapshots the 64-bit cycle counter (free
running since the bridge's reset), ``bad_packets`` and the rejected-frame
count when it starts, and each core's debug fields just before that core's
record goes out (so a core's pc and retired count are of the same cycle).
Per core the bridge stamps (with the cycle counter's low 32 bits) the first
cycle it sees the core out of reset (``held`` fell) and the first cycle it
sees it at ``DONE``; the records carry both, so the host times a run from
the cores' release, which a ``PACKET`` does before ``RUN`` arrives.

Transmitting: one framer sends replies and ``EJECT`` frames, a whole frame
at a time, a reply first when both wait.  Every class has an eject buffer of
one packet (flits in a shared ``Memory``): the flits arriving on
``host_eject[cls]`` are written until the tail, then the class stops taking
flits until its ``EJECT`` frame (``seq``: the bridge's count of ejected
packets) has gone out.  The framer's CRC is byte-serial too.

``leds`` (bit: what it shows):

* 0: link activity (a byte received or sent in the last ~50 ms);
* 1: the chip is held in reset (``chip_reset``);
* 2: a core has trapped (any ``debug.trapped``);
* 3: every core of the last ``RUN``'s mask is at the ``DONE`` waypoint;
* 4: a frame has been refused (``NAK``) since the last ``HELLO``.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.bridge_protocol import (CORE_RECORD_BYTES, COUNTERS_HEADER_BYTES, CRC_POLY, RESET_CYCLES, SOF,
                                             Op, Reject, counters_reply_bytes, hello_reply, max_body_bytes)
from tessera.hw.chip.uart import uart_divisor
from tessera.hw.config import TesseraConfig
from tessera.hw.noc.layout import NocFormat, local_stream_signature
from tessera.hw.tile.tile import CoreDebugSignature
from tessera.hw.tile.waypoint import Waypoint

__all__ = ["HostBridge", "LEDS", "crc16_byte", "build_host_bridge"]

#: The bits of ``HostBridge.leds``, in order (see the module docstring).
LEDS = ("activity", "chip_reset", "trapped", "run_done", "rejected")



def _crc16_byte_terms() -> list:
    """For each bit of the CRC after one byte: the (crc bits, byte bits) whose XOR it is.

    The CRC step is linear over GF(2): the 8 shift-and-xor rounds are run on
    bit sets, where bit ``i`` of a term stands for input ``i`` (0..15 the CRC,
    16..23 the byte)."""
    state = [1 << i for i in range(16)]
    for i in range(8):
        state[8 + i] ^= 1 << (16 + i)
    for _ in range(8):
        top = state[15]
        state = [0] + state[:15]
        for bit in range(16):
            if (CRC_POLY >> bit) & 1:
                state[bit] ^= top
    return [([i for i in range(16) if term >> i & 1], [i - 16 for i in range(16, 24) if term >> i & 1])
            for term in state]


_CRC16_TERMS = _crc16_byte_terms()


def _select(values, index):
    """``values[index]`` (0 when ``index`` is past the end) as an AND-OR of one-hot terms: on ECP5
    this maps to fewer LUT4s than the case statement an ``Array`` becomes or a tree of ``Mux``."""
    width = max(len(Value.cast(v)) for v in values)
    terms = [Value.cast(v) & (index == i).replicate(width) for i, v in enumerate(values)]
    while len(terms) > 1:
        terms = [terms[i] | terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def crc16_byte(crc, byte):
    """CRC-16/CCITT-FALSE (polynomial 0x1021, MSB first) of ``crc`` advanced by one byte, as XOR logic."""
    return Cat(Cat(*[crc[i] for i in crc_bits], *[byte[i] for i in byte_bits]).xor()
               for crc_bits, byte_bits in _CRC16_TERMS)


class HostBridge(wiring.Component):
    """Frames from the UART executed on the chip's host ports (see the module docstring).

    ``clocks_per_bit``: the UART divisor the bridge reports in ``HELLO_REPLY``
    and times its frame timeout with; ``cfg.host_link``'s when not given.
    ``activity_cycles``: how long the activity LED stays lit after a byte.
    """

    def __init__(self, cfg: TesseraConfig, *, clocks_per_bit: int | None = None,
                 activity_cycles: int | None = None):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"HostBridge needs a TesseraConfig, got {cfg!r}")
        self.cfg = cfg
        noc = cfg.noc
        self.clocks_per_bit = uart_divisor(cfg, clocks_per_bit)
        self.hello = hello_reply(cfg, self.clocks_per_bit)
        if activity_cycles is None:
            activity_cycles = max(1, round(cfg.clock_mhz * 1e6 / 20))
        if not isinstance(activity_cycles, int) or isinstance(activity_cycles, bool) or activity_cycles < 1:
            raise ValueError(f"HostBridge activity_cycles must be a positive integer, got {activity_cycles!r}")
        self.activity_cycles = activity_cycles
        self.tiles = len(cfg.nodes_of("tensix"))
        self.cores = len(cfg.cores)
        self.max_body = max_body_bytes(cfg)
        self.max_flits = NocFormat(noc).header_flits + noc.max_payload_flits
        self.timeout_cycles = cfg.host_link.frame_timeout_bytes * 10 * self.clocks_per_bit
        super().__init__({
            "rx_bytes": In(stream.Signature(unsigned(8))),
            "tx_bytes": Out(stream.Signature(unsigned(8))),
            "host_inject": Out(local_stream_signature(noc)).array(noc.num_classes),
            "host_eject": In(local_stream_signature(noc)).array(noc.num_classes),
            "debug": In(CoreDebugSignature()).array(self.tiles, self.cores),
            "bad_packets": In(32),
            "chip_reset": Out(1),
            "leds": Out(len(LEDS)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, noc = self.cfg, self.cfg.noc
        fw, fb, classes = noc.flit_width, noc.flit_bytes, noc.num_classes
        flit_shift = fb.bit_length() - 1
        ncores = self.tiles * self.cores
        mask_bytes = (ncores + 7) // 8
        run_body_bytes = 4 + mask_bytes
        debug = [self.debug[t][c] for t in range(self.tiles) for c in range(self.cores)]

        # -- shared state ----------------------------------------------------------------------
        cycle = Signal(64)
        m.d.sync += cycle.eq(cycle + 1)
        frames_rejected = Signal(32)
        rejected_since_hello = Signal()
        last_seq = Signal(8)
        last_seq_valid = Signal()
        run_mask = Signal(ncores)
        at_done = Signal(ncores)
        m.d.comb += at_done.eq(Cat(d.waypoint == Waypoint.DONE for d in debug))
        # Each core's last release and last DONE, stamped with the cycle counter's low bits: the
        # runtime releases the cores with a PACKET, so a run can be far along (or over) before the
        # RUN frame that waits for it has crossed the UART.
        stamp = cycle[:32]
        released_at = [Signal(32, name=f"released_at_{i}") for i in range(ncores)]
        done_at = [Signal(32, name=f"done_at_{i}") for i in range(ncores)]
        was_held = Signal(ncores, init=(1 << ncores) - 1)
        was_done = Signal(ncores)
        m.d.sync += [was_held.eq(Cat(d.held for d in debug)), was_done.eq(at_done)]
        for i, d in enumerate(debug):
            with m.If(was_held[i] & ~d.held):
                m.d.sync += released_at[i].eq(stamp)
            with m.If(~was_done[i] & at_done[i]):
                m.d.sync += done_at[i].eq(stamp)

        # -- receiver: header, body into the buffer, CRC ---------------------------------------
        m.submodules.body = body_mem = Memory(shape=unsigned(8), depth=self.max_body, init=[])
        body_wr = body_mem.write_port()
        body_rd = body_mem.read_port()

        rx = self.rx_bytes
        rx_byte = rx.payload
        got = Signal()
        m.d.comb += got.eq(rx.valid & rx.ready)
        rx_op, rx_seq, crc_low = Signal(8), Signal(8), Signal(8)
        rx_len, rx_count = Signal(16), Signal(16)
        rx_crc = Signal(16)
        crc_ok, too_long = Signal(), Signal()
        pkt_class = Signal(8)
        #: The last ``run_body_bytes`` body bytes, little-endian (a RUN body when the frame is one).
        run_args = Signal(8 * run_body_bytes)
        idle_cycles = Signal(range(self.timeout_cycles + 1))

        # -- reply: its op selects the body's source (the framer picks each byte by position) ----
        reply_op = Signal(8)
        nak_reason = Signal(range(max(Reject) + 1))
        run_done = Signal()
        #: COUNTERS_REPLY: cycle, bad_packets, frames_rejected when the request is executed.
        counters_head = Signal(8 * COUNTERS_HEADER_BYTES)
        reply_sent = Signal()       # the framer's last byte of the reply was taken

        # -- injection ------------------------------------------------------------------------
        inj_flit = Signal(fw)
        inj_flits = Signal(range(self.max_flits + 1))     # flits of the packet
        inj_index = Signal(range(self.max_flits + 1))     # flits offered
        inj_byte = Signal(range(fb))
        inj_valid = Signal()
        inj_ready = Signal()
        m.d.comb += body_rd.addr.eq(rx_count)
        for c in range(classes):
            port = self.host_inject[c]
            m.d.comb += [port.payload.eq(Cat(inj_flit, inj_index == 0, inj_index == inj_flits - 1)),
                         port.valid.eq(inj_valid & (pkt_class == c))]
            with m.If(pkt_class == c):
                m.d.comb += inj_ready.eq(port.ready)

        reset_left = Signal(range(RESET_CYCLES))
        run_budget, run_elapsed = Signal(32), Signal(32)
        eject_flush = Signal()      # RESET: drop the partial packets of the eject buffers

        def reply(op):
            m.d.sync += reply_op.eq(op)
            m.next = "REPLY"

        def reject(reason):
            m.d.sync += [frames_rejected.eq(frames_rejected + 1),
                         rejected_since_hello.eq(1)]
            m.d.sync += nak_reason.eq(reason)
            reply(Op.NAK)

        def in_frame(next_state):
            """A header/body/CRC state: the byte moves to ``next_state``; a long silence truncates."""
            with m.If(got):
                m.d.sync += idle_cycles.eq(0)
                m.next = next_state
            with m.Elif(idle_cycles == self.timeout_cycles - 1):
                reject(Reject.TRUNCATED)
            with m.Else():
                m.d.sync += idle_cycles.eq(idle_cycles + 1)

        with m.FSM(name="request") as request_fsm:
            with m.State("HUNT"):
                m.d.comb += rx.ready.eq(1)
                with m.If(got & (rx_byte == SOF)):
                    m.d.sync += [rx_crc.eq(0xFFFF), rx_seq.eq(0), idle_cycles.eq(0)]
                    m.next = "OP"
            with m.State("OP"):
                m.d.comb += rx.ready.eq(1)
                in_frame("SEQ")
                with m.If(got):
                    m.d.sync += [rx_op.eq(rx_byte), rx_crc.eq(crc16_byte(rx_crc, rx_byte))]
            with m.State("SEQ"):
                m.d.comb += rx.ready.eq(1)
                in_frame("LEN0")
                with m.If(got):
                    m.d.sync += [rx_seq.eq(rx_byte), rx_crc.eq(crc16_byte(rx_crc, rx_byte))]
            with m.State("LEN0"):
                m.d.comb += rx.ready.eq(1)
                in_frame("LEN1")
                with m.If(got):
                    m.d.sync += [rx_len[:8].eq(rx_byte), rx_crc.eq(crc16_byte(rx_crc, rx_byte))]
            with m.State("LEN1"):
                m.d.comb += rx.ready.eq(1)
                length = Cat(rx_len[:8], rx_byte)
                in_frame("BODY")
                with m.If(got):
                    m.d.sync += [rx_len[8:].eq(rx_byte), rx_crc.eq(crc16_byte(rx_crc, rx_byte)),
                                 rx_count.eq(0), too_long.eq(length > self.max_body)]
                    with m.If(length == 0):
                        m.next = "CRC0"
            with m.State("BODY"):
                m.d.comb += rx.ready.eq(1)
                in_frame("BODY")
                with m.If(got):
                    m.d.sync += [rx_crc.eq(crc16_byte(rx_crc, rx_byte)), rx_count.eq(rx_count + 1),
                                 run_args.eq(Cat(run_args[8:], rx_byte))]
                    m.d.comb += [body_wr.addr.eq(rx_count), body_wr.data.eq(rx_byte), body_wr.en.eq(~too_long)]
                    with m.If(rx_count == 0):
                        m.d.sync += pkt_class.eq(rx_byte)
                    with m.If(rx_count == rx_len - 1):
                        m.next = "CRC0"
            with m.State("CRC0"):
                m.d.comb += rx.ready.eq(1)
                in_frame("CRC1")
                with m.If(got):
                    m.d.sync += crc_low.eq(rx_byte)
            with m.State("CRC1"):
                m.d.comb += rx.ready.eq(1)
                in_frame("CHECK")
                with m.If(got):
                    m.d.sync += crc_ok.eq(rx_crc == Cat(crc_low, rx_byte))

            with m.State("CHECK"):
                packet_flits = (rx_len - 1) >> flit_shift
                packet_ok = ((rx_len != 0) & ((rx_len - 1)[:flit_shift] == 0) & (packet_flits != 0)
                             & (packet_flits <= self.max_flits) & (pkt_class < classes))
                with m.If(too_long):
                    reject(Reject.TOO_LONG)
                with m.Elif(~crc_ok):
                    reject(Reject.BAD_CRC)
                with m.Else():
                    with m.Switch(rx_op):
                        with m.Case(Op.HELLO, Op.RESET, Op.COUNTERS):
                            with m.If(rx_len != 0):
                                reject(Reject.BAD_BODY)
                            with m.Elif(rx_op == Op.HELLO):
                                m.d.sync += [rejected_since_hello.eq(0), last_seq_valid.eq(0)]
                                reply(Op.HELLO_REPLY)
                            with m.Elif(rx_op == Op.RESET):
                                m.d.sync += [reset_left.eq(RESET_CYCLES - 1), self.chip_reset.eq(1)]
                                m.next = "RESET_HOLD"
                            with m.Else():
                                m.d.sync += counters_head.eq(Cat(cycle, self.bad_packets, frames_rejected))
                                reply(Op.COUNTERS_REPLY)
                        with m.Case(Op.PACKET):
                            with m.If(~packet_ok):
                                reject(Reject.BAD_BODY)
                            with m.Elif(last_seq_valid & (last_seq == rx_seq)):
                                reply(Op.ACK)
                            with m.Else():
                                m.d.sync += [inj_flits.eq(packet_flits), inj_index.eq(0), inj_byte.eq(0),
                                             rx_count.eq(1)]
                                m.next = "INJECT_READ"
                        with m.Case(Op.RUN):
                            with m.If(rx_len != run_body_bytes):
                                reject(Reject.BAD_BODY)
                            with m.Else():
                                m.d.sync += [run_budget.eq(run_args[:32]), run_mask.eq(run_args[32:32 + ncores]),
                                             run_elapsed.eq(0)]
                                m.next = "RUN_WAIT"
                        with m.Default():
                            reject(Reject.UNKNOWN_OP)

            # PACKET: body bytes 1.. (read address rx_count) into flits, each offered on host_inject.
            with m.State("INJECT_READ"):
                m.next = "INJECT_SHIFT"
            with m.State("INJECT_SHIFT"):
                m.d.sync += [inj_flit.eq(Cat(inj_flit[8:], body_rd.data)), rx_count.eq(rx_count + 1),
                             inj_byte.eq(inj_byte + 1)]
                m.next = "INJECT_READ"
                with m.If(inj_byte == fb - 1):
                    m.d.sync += inj_byte.eq(0)
                    m.next = "INJECT_OFFER"
            with m.State("INJECT_OFFER"):
                m.d.comb += inj_valid.eq(1)
                with m.If(inj_ready):
                    m.d.sync += inj_index.eq(inj_index + 1)
                    with m.If(inj_index == inj_flits - 1):
                        m.d.sync += [last_seq.eq(rx_seq), last_seq_valid.eq(1)]
                        reply(Op.ACK)
                    with m.Else():
                        m.next = "INJECT_READ"

            with m.State("RESET_HOLD"):
                m.d.comb += eject_flush.eq(1)
                with m.If(reset_left == 0):
                    m.d.sync += self.chip_reset.eq(0)
                    reply(Op.ACK)
                with m.Else():
                    m.d.sync += reset_left.eq(reset_left - 1)

            with m.State("RUN_WAIT"):
                with m.If((at_done & run_mask) == run_mask):
                    m.d.sync += run_done.eq(1)
                    reply(Op.RUN_REPLY)
                with m.Elif(run_elapsed == run_budget):
                    m.d.sync += run_done.eq(0)
                    reply(Op.RUN_REPLY)
                with m.Else():
                    m.d.sync += run_elapsed.eq(run_elapsed + 1)

            with m.State("REPLY"):
                with m.If(reply_sent):
                    m.next = "HUNT"


        # -- eject buffers: one packet per class, flits in a shared Memory -------------------------
        flit_bits = max(1, (self.max_flits - 1).bit_length())
        class_bits = max(1, (classes - 1).bit_length())
        m.submodules.eject = eject_mem = Memory(shape=unsigned(fw), depth=classes << flit_bits, init=[])
        eject_wr = eject_mem.write_port()
        eject_rd = eject_mem.read_port()
        eject_count = [Signal(range(self.max_flits + 1), name=f"eject_count_{c}") for c in range(classes)]
        eject_full = [Signal(name=f"eject_full_{c}") for c in range(classes)]
        lower_taking = Const(0)
        for c in range(classes):
            port = self.host_eject[c]
            # One write port: the lowest class with a flit and room writes this cycle.
            m.d.comb += port.ready.eq(~eject_full[c] & ~lower_taking)
            with m.If(port.valid & port.ready):
                m.d.comb += [eject_wr.addr.eq(Cat(eject_count[c][:flit_bits], Const(c, class_bits))),
                             eject_wr.data.eq(port.payload[:fw]), eject_wr.en.eq(1)]
                m.d.sync += eject_count[c].eq(eject_count[c] + 1)
                # A packet longer than the buffer (none is) is cut into frames of the buffer's size.
                with m.If(port.payload[fw + 1] | (eject_count[c] == self.max_flits - 1)):
                    m.d.sync += eject_full[c].eq(1)
            with m.Elif(eject_flush & ~eject_full[c]):
                m.d.sync += eject_count[c].eq(0)
            lower_taking = lower_taking | (port.valid & ~eject_full[c])

        # -- framer: replies and EJECT frames, one whole frame at a time ----------------------
        tx = self.tx_bytes
        sent = Signal()
        m.d.comb += sent.eq(tx.valid & tx.ready)
        f_eject = Signal()          # the frame is an EJECT (else the waiting reply)
        f_class = Signal(class_bits)
        f_op, f_seq = Signal(8), Signal(8)
        f_len, f_left = Signal(16), Signal(16)
        f_first = Signal()          # the EJECT body's class byte is next
        f_flit = Signal(flit_bits)
        f_byte = Signal(range(fb))
        tx_crc = Signal(16)
        eject_seq = Signal(8)
        last_class = Signal(class_bits)
        m.d.comb += eject_rd.addr.eq(Cat(f_flit, f_class))

        # Round robin over the full eject buffers, starting after the class framed last.
        pick = Signal(class_bits)
        any_full = Signal()
        with m.Switch(last_class):
            for last in range(classes):
                with m.Case(last):
                    for off in range(classes, 0, -1):     # the last assignment wins: (last + 1) first
                        c = (last + off) % classes
                        with m.If(eject_full[c]):
                            m.d.comb += [pick.eq(c), any_full.eq(1)]

        # Reply bodies, a byte at a time: ``f_pos`` is the byte's place in the body (COUNTERS_REPLY:
        # in the 16-byte head, then in the current core's record, which is loaded as it starts).
        f_pos = Signal(range(max(COUNTERS_HEADER_BYTES, CORE_RECORD_BYTES, len(self.hello), 5)))
        f_records = Signal()        # COUNTERS_REPLY: past the head, in the core records
        record_core = Signal(range(ncores + 1))
        record = Signal(8 * CORE_RECORD_BYTES)
        record_next = _select([Cat(d.pc, d.retired, d.trapped, d.held, Const(0, 6), d.waypoint, r, e)
                               for d, r, e in zip(debug, released_at, done_at)], record_core)
        hello_rom = Array(Const(b, 8) for b in self.hello)
        reply_byte = Signal(8)
        reply_length = Signal(16)
        with m.Switch(reply_op):
            with m.Case(Op.NAK):
                m.d.comb += [reply_byte.eq(nak_reason), reply_length.eq(1)]
            with m.Case(Op.HELLO_REPLY):
                m.d.comb += [reply_byte.eq(hello_rom[f_pos]), reply_length.eq(len(self.hello))]
            with m.Case(Op.RUN_REPLY):
                # At the budget run_elapsed == run_budget: the cycles are run_elapsed either way.
                m.d.comb += [reply_byte.eq(Cat(run_done, Const(0, 7), run_elapsed).word_select(f_pos, 8)),
                             reply_length.eq(5)]
            with m.Case(Op.COUNTERS_REPLY):
                m.d.comb += [reply_byte.eq(Mux(f_records, record.word_select(f_pos, 8),
                                               counters_head.word_select(f_pos, 8))),
                             reply_length.eq(counters_reply_bytes(cfg))]
        body_byte = Mux(f_eject, Mux(f_first, f_class, eject_rd.data.word_select(f_byte, 8)), reply_byte)

        with m.FSM(name="framer"):
            with m.State("IDLE"):
                with m.If(request_fsm.ongoing("REPLY")):
                    m.d.sync += [f_eject.eq(0), f_op.eq(reply_op), f_seq.eq(rx_seq), f_len.eq(reply_length),
                                 f_pos.eq(0), f_records.eq(0), record_core.eq(0)]
                    m.next = "SOF"
                with m.Elif(any_full):
                    m.d.sync += [f_eject.eq(1), f_class.eq(pick), last_class.eq(pick), f_op.eq(Op.EJECT),
                                 f_seq.eq(eject_seq), f_len.eq((Array(eject_count)[pick] << flit_shift) + 1),
                                 f_first.eq(1), f_flit.eq(0), f_byte.eq(0)]
                    m.next = "SOF"
                m.d.sync += tx_crc.eq(0xFFFF)

            def byte_state(name, value, next_state):
                with m.State(name):
                    m.d.comb += [tx.valid.eq(1), tx.payload.eq(value)]
                    with m.If(tx.ready):
                        m.d.sync += tx_crc.eq(crc16_byte(tx_crc, value))
                        m.next = next_state

            with m.State("SOF"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(SOF)]
                with m.If(tx.ready):
                    m.next = "OP"
            byte_state("OP", f_op, "SEQ")
            byte_state("SEQ", f_seq, "LEN0")
            byte_state("LEN0", f_len[:8], "LEN1")
            with m.State("LEN1"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(f_len[8:])]
                with m.If(tx.ready):
                    m.d.sync += [tx_crc.eq(crc16_byte(tx_crc, f_len[8:])), f_left.eq(f_len)]
                    m.next = "FETCH"
                    with m.If(f_len == 0):
                        m.next = "CRC0"
            with m.State("FETCH"):          # the eject memory's read of (f_class, f_flit)
                m.next = "BODY"
            with m.State("BODY"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(body_byte)]
                with m.If(tx.ready):
                    m.d.sync += [tx_crc.eq(crc16_byte(tx_crc, body_byte)), f_left.eq(f_left - 1)]
                    with m.If(f_eject):
                        m.d.sync += f_first.eq(0)
                        with m.If(~f_first):
                            m.d.sync += f_byte.eq(f_byte + 1)
                            with m.If(f_byte == fb - 1):
                                m.d.sync += [f_byte.eq(0), f_flit.eq(f_flit + 1)]
                    with m.Elif((reply_op == Op.COUNTERS_REPLY) &
                                Mux(f_records, f_pos == CORE_RECORD_BYTES - 1, f_pos == COUNTERS_HEADER_BYTES - 1)):
                        m.d.sync += [f_pos.eq(0), f_records.eq(1), record.eq(record_next),
                                     record_core.eq(record_core + 1)]
                    with m.Else():
                        m.d.sync += f_pos.eq(f_pos + 1)
                    m.next = "FETCH"
                    with m.If(f_left == 1):
                        m.next = "CRC0"
            with m.State("CRC0"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(tx_crc[:8])]
                with m.If(tx.ready):
                    m.next = "CRC1"
            with m.State("CRC1"):
                m.d.comb += [tx.valid.eq(1), tx.payload.eq(tx_crc[8:])]
                with m.If(tx.ready):
                    with m.If(f_eject):
                        m.d.sync += eject_seq.eq(eject_seq + 1)
                        for c in range(classes):
                            with m.If(f_class == c):
                                m.d.sync += [eject_full[c].eq(0), eject_count[c].eq(0)]
                    with m.Else():
                        m.d.comb += reply_sent.eq(1)
                    m.next = "IDLE"

        # -- LEDs ---------------------------------------------------------------------------------
        activity = Signal(range(self.activity_cycles + 1))
        with m.If(got | sent):
            m.d.sync += activity.eq(self.activity_cycles)
        with m.Elif(activity != 0):
            m.d.sync += activity.eq(activity - 1)
        m.d.comb += self.leds.eq(Cat(activity != 0, self.chip_reset, Cat(d.trapped for d in debug).any(),
                                     (run_mask != 0) & ((at_done & run_mask) == run_mask), rejected_since_hello))
        return m


def build_host_bridge(cfg: TesseraConfig, **params):
    """Block factory: the host bridge of ``cfg`` alone (byte streams to a UART, the chip's host ports)."""
    return HostBridge(cfg, **params)
