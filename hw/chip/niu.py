"""The NoC interface unit (NIU) of a Tensix tile.

It joins the tile to the local port of its router:

* **Initiator**: the register block of the tile's ``niu`` MMIO region
  (offsets from ``cfg.mmio.region("niu")``; one word per command buffer in
  each ``cmd_*`` array, ``cfg.noc.niu_command_buffers`` buffers).  Firmware
  fills a buffer and writes 1 to ``cmd_issue``; the buffer is busy (its
  ``cmd_issue`` reads 1) until the NIU has sent every packet of the command,
  i.e. until all its data has left L1.  One sequencer serves the busy buffers
  round robin, one whole command at a time, so the packets of one buffer
  leave in issue order (and the network keeps the order of a flow).
  Transfers longer than a packet are split: ``max_payload_bytes`` per
  unicast packet, one input buffer's worth per multicast packet (the
  router's virtual cut-through limit).
* **Target**: :class:`~tessera.hw.chip.target.NocTarget` on the tile's L1 and
  tile_ctrl (through ``host_ctrl``), so the host can load firmware and start
  cores over the NoC.
* **Responses** for this tile's own requests: read data and atomic old
  values are written to L1 at the return address, and the master counters
  count them.  An ``ERROR_RESP`` sets the sticky error registers and counts
  as the completion of the request it answers, so no barrier waits for ever.

Timeline outputs (observation only, nothing reads them): ``sending`` — a
command buffer is busy (packets of an issued command have still to leave);
``awaiting`` — responses are outstanding (read responses, write acks or
atomic responses fewer than the requests that expect them); ``serving`` —
the target side is serving a request from another node.

Requests the NIU can refuse by itself (unknown or non-memory node, multicast
rectangle off the grid or covering a non-Tensix node, length 0, local range
outside L1, a multicast read or atomic; with ``noc.aligned_transfers`` a
remote or local address — the return address of a read or an atomic too —
that is not a multiple of ``noc.transfer_alignment``) are never sent: they
set the sticky error and count nothing.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.datapath import (FlitsToMem, L1PortArbiter, MemToFlits, PacketRx, PacketTx,
                                       payload_into_memory)
from tessera.hw.chip.target import NocTarget
from tessera.hw.config import TesseraConfig
from tessera.hw.core.bus import DataBus
from tessera.hw.noc.layout import Command, MessageClass, NocFormat, local_stream_signature
from tessera.hw.tile.l1_port import L1PortSignature

__all__ = ["NiuOp", "NIU_CTRL", "NIU_COORD", "NIU_ERROR_STATUS", "Niu", "niu_field_table",
           "multicast_payload_bytes", "build_niu"]


class NiuOp(enum.Enum, shape=2):
    """``cmd_ctrl.op``."""
    READ = 0
    WRITE = 1
    ATOMIC_INC = 2


#: ``cmd_ctrl``: what a command buffer does.
NIU_CTRL = data.StructLayout({
    "op": NiuOp,
    #: Write: acknowledged (non-posted); the target answers each packet with an ack.
    "acked": 1,
    #: Write: 4 bytes of ``cmd_inline_data`` instead of L1 data (length is ignored).
    "inline": 1,
    #: Write: to the rectangle ``cmd_remote_coord`` (x, y) .. (x1, y1).
    "mcast": 1,
    #: Multicast: the sender is a destination too (when inside the rectangle).
    "include_src": 1,
})

#: ``cmd_remote_coord``.
NIU_COORD = data.StructLayout({"x": 8, "y": 8, "x1": 8, "y1": 8})

#: ``error_status`` (sticky until written).
NIU_ERROR_STATUS = data.StructLayout({"set": 1, "_pad0": 3, "cmd": 3, "_pad1": 1, "x": 8, "y": 8})

_COUNTERS = ("read_resp_received", "write_acks_received", "nonposted_writes_sent", "posted_writes_sent",
             "atomic_resp_received", "read_req_sent", "write_acks_expected", "atomic_sent",
             "error_count")


def multicast_payload_bytes(noc) -> int:
    """Largest multicast packet payload (the packet must fit one router input buffer)."""
    return NocFormat(noc).max_multicast_length()


def niu_field_table():
    """``[(register, field, lsb, width)]`` of the NIU's field layouts (docs and C header)."""
    rows = []
    for reg, layout in (("cmd_ctrl", NIU_CTRL), ("cmd_remote_coord", NIU_COORD),
                        ("error_status", NIU_ERROR_STATUS)):
        for name, field in layout:
            if not name.startswith("_"):
                rows.append((reg, name, field.offset, field.width))
    return rows


class Niu(wiring.Component):
    """The NIU of the Tensix tile at (``x``, ``y``) of ``cfg`` (see the module docstring)."""

    def __init__(self, cfg: TesseraConfig, x: int, y: int):
        if cfg.node_at(x, y).kind != "tensix":
            raise ValueError(f"Niu position ({x}, {y}) holds a {cfg.node_at(x, y).kind} node, not a Tensix tile")
        self.cfg, self.x, self.y = cfg, x, y
        region = cfg.mmio.region("niu")
        counts = {r.count for r in region.registers if r.name.startswith("cmd_")}
        if counts != {cfg.noc.niu_command_buffers}:
            raise ValueError(f"mmio region niu: the cmd_* arrays must hold noc.niu_command_buffers "
                             f"= {cfg.noc.niu_command_buffers} words, got counts {sorted(counts)}")
        self.region = region
        noc = cfg.noc
        super().__init__({
            "mmio": In(DataBus.Signature()),
            "l1": Out(L1PortSignature(cfg.l1)),
            "ctrl": Out(DataBus.Signature()),
            "inject": Out(local_stream_signature(noc)).array(noc.num_classes),
            "eject": In(local_stream_signature(noc)).array(noc.num_classes),
            "sending": Out(1),
            "awaiting": Out(1),
            "serving": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, noc = self.cfg, self.cfg.noc
        nbuf = noc.niu_command_buffers
        l1size = cfg.l1.size_bytes
        fb = noc.flit_bytes
        REQ, RESP = int(MessageClass.REQUEST), int(MessageClass.RESPONSE)

        m.submodules.arbiter = arb = L1PortArbiter(cfg.l1, 4)
        wiring.connect(m, arb.mem, wiring.flipped(self.l1))
        m.submodules.target = target = NocTarget(noc, self.x, self.y, cfg.l1, has_ctrl=True)
        wiring.connect(m, wiring.flipped(self.eject[REQ]), target.req_in)
        wiring.connect(m, target.resp_out, wiring.flipped(self.inject[RESP]))
        wiring.connect(m, target.mem_rx, arb.user[0])
        wiring.connect(m, target.mem_tx, arb.user[1])
        wiring.connect(m, target.ctrl, wiring.flipped(self.ctrl))
        m.submodules.seq_tx = tx = PacketTx(noc)
        align = noc.transfer_alignment
        m.submodules.seq_m2f = m2f = MemToFlits(cfg.l1, fb, alignment=align)
        wiring.connect(m, m2f.mem, arb.user[2])
        wiring.connect(m, tx.out, wiring.flipped(self.inject[REQ]))
        m.submodules.resp_rx = rx = PacketRx(noc)
        m.submodules.resp_f2m = f2m = FlitsToMem(cfg.l1, fb, alignment=align)
        wiring.connect(m, f2m.mem, arb.user[3])
        wiring.connect(m, wiring.flipped(self.eject[RESP]), rx.inp)

        # ---- registers ---------------------------------------------------
        fields = ("cmd_remote_addr", "cmd_remote_coord", "cmd_local_addr", "cmd_length",
                  "cmd_inline_data", "cmd_ctrl")
        regs = {name: [Signal(32, name=f"{name}{b}") for b in range(nbuf)] for name in fields}
        busy = Signal(nbuf)
        counters = {name: Signal(32, name=name) for name in _COUNTERS}
        err_status = Signal(NIU_ERROR_STATUS)
        err_addr = Signal(32)

        bus = self.mmio
        offset = bus.req.payload.addr[:(self.region.size - 1).bit_length()]
        accept = Signal()
        m.d.comb += [bus.req.ready.eq(1), accept.eq(bus.req.valid)]
        rdata = Signal(32)
        wmask = Cat(*[bus.req.payload.mask[i].replicate(8) for i in range(4)])
        issue_req = Signal(nbuf)
        clear_error = Signal()

        def merged(old):
            return (old & ~wmask) | (bus.req.payload.wdata & wmask)

        with m.Switch(offset):
            for name in fields:
                for b in range(nbuf):
                    with m.Case(self.region.offset(name) + 4 * b):
                        m.d.comb += rdata.eq(regs[name][b])
                        with m.If(accept & bus.req.payload.we & ~busy[b]):
                            m.d.sync += regs[name][b].eq(merged(regs[name][b]))
            for b in range(nbuf):
                with m.Case(self.region.offset("cmd_issue") + 4 * b):
                    m.d.comb += rdata.eq(busy[b])
                    with m.If(accept & bus.req.payload.we & bus.req.payload.mask[0]
                              & bus.req.payload.wdata[0]):
                        m.d.comb += issue_req[b].eq(1)
            for name, sig in counters.items():
                with m.Case(self.region.offset(name)):
                    m.d.comb += rdata.eq(sig)
            with m.Case(self.region.offset("error_status")):
                m.d.comb += rdata.eq(err_status.as_value())
                with m.If(accept & bus.req.payload.we):
                    m.d.comb += clear_error.eq(1)
            with m.Case(self.region.offset("error_addr")):
                m.d.comb += rdata.eq(err_addr)
            with m.Case(self.region.offset("busy")):
                m.d.comb += rdata.eq(busy)
        resp_valid = Signal()
        resp_data = Signal(32)
        m.d.sync += [resp_valid.eq(accept), resp_data.eq(rdata)]
        m.d.comb += [bus.resp.valid.eq(resp_valid), bus.resp.rdata.eq(resp_data), bus.resp.err.eq(0)]

        # Error reporting from the sequencer (refused at issue) and from responses.
        seq_err = Signal()
        seq_err_addr = Signal(32)
        seq_err_cmd = Signal(3)
        seq_err_x = Signal(8)
        seq_err_y = Signal(8)
        rx_err = Signal()
        rx_err_addr = Signal(32)
        rx_err_cmd = Signal(3)
        rx_err_x = Signal(8)
        rx_err_y = Signal(8)
        m.d.sync += counters["error_count"].eq(counters["error_count"] + seq_err + rx_err)
        with m.If(clear_error):
            m.d.sync += err_status.eq(0)
        with m.Elif(~err_status.set & rx_err):
            m.d.sync += [err_status.set.eq(1), err_status.cmd.eq(rx_err_cmd), err_status.x.eq(rx_err_x),
                         err_status.y.eq(rx_err_y), err_addr.eq(rx_err_addr)]
        with m.Elif(~err_status.set & seq_err):
            m.d.sync += [err_status.set.eq(1), err_status.cmd.eq(seq_err_cmd), err_status.x.eq(seq_err_x),
                         err_status.y.eq(seq_err_y), err_addr.eq(seq_err_addr)]

        # ---- sequencer ---------------------------------------------------
        idx = Signal(range(max(2, nbuf)))
        last = Signal(range(max(2, nbuf)), init=nbuf - 1)
        op = Signal(NIU_CTRL)
        coord = Signal(NIU_COORD)
        raddr = Signal(32)
        laddr = Signal(32)
        remaining = Signal(32)
        inline_data = Signal(32)
        done_bit = Signal(nbuf)
        first_packet = Signal()
        m.d.sync += busy.eq((busy | issue_req) & ~done_bit)
        m.d.comb += [
            self.sending.eq(busy.any()),
            self.awaiting.eq((counters["read_resp_received"] != counters["read_req_sent"])
                             | (counters["write_acks_received"] != counters["write_acks_expected"])
                             | (counters["atomic_resp_received"] != counters["atomic_sent"])),
            self.serving.eq(target.busy),
        ]

        # Node tables from the configuration.
        W, H = noc.width, noc.height
        memory_nodes = Const(sum(1 << (n.y * W + n.x) for n in cfg.nodes if n.kind in ("tensix", "dram")),
                             W * H)
        others = [n for n in cfg.nodes if n.kind != "tensix"]
        on_grid = Signal()
        m.d.comb += on_grid.eq((coord.x < W) & (coord.y < H))
        unicast_ok = Signal()
        m.d.comb += unicast_ok.eq(on_grid & (memory_nodes >> (coord.y * W + coord.x))[0])
        rect_ok = Signal()
        covers_other = Signal()
        m.d.comb += covers_other.eq(Cat(*[(coord.x <= n.x) & (n.x <= coord.x1) & (coord.y <= n.y)
                                          & (n.y <= coord.y1) for n in others] or [Const(0)]).any())
        m.d.comb += rect_ok.eq((coord.x <= coord.x1) & (coord.y <= coord.y1) & (coord.x1 < W)
                               & (coord.y1 < H) & ~covers_other)
        self_inside = Signal()
        m.d.comb += self_inside.eq((coord.x <= self.x) & (self.x <= coord.x1) & (coord.y <= self.y)
                                   & (self.y <= coord.y1))
        ndest = Signal(16)
        m.d.comb += ndest.eq(Mux(op.mcast, (coord.x1 - coord.x + 1) * (coord.y1 - coord.y + 1)
                                 - (self_inside & ~op.include_src), 1))
        local_end = Signal(34)
        m.d.comb += local_end.eq(laddr + remaining)
        mcast_max = multicast_payload_bytes(noc)
        if mcast_max < 4:
            raise ValueError(f"multicast packets carry {mcast_max} bytes here; the NIU needs at least 4 "
                             f"(raise noc.buffer_depth)")
        maxp = Signal(32)
        m.d.comb += maxp.eq(Mux(op.mcast, mcast_max, noc.max_payload_bytes))
        chunk = Signal(32)
        m.d.comb += chunk.eq(Mux(remaining < maxp, remaining, maxp))

        head = tx.header
        m.d.comb += [head.cls.eq(MessageClass.REQUEST), head.src_x.eq(self.x), head.src_y.eq(self.y),
                     head.txn.eq(idx), head.addr.eq(raddr), head.mcast.eq(op.mcast),
                     head.exclude_self.eq(op.mcast & ~op.include_src),
                     head.dst_x.eq(coord.x), head.dst_y.eq(coord.y),
                     head.dst_x1.eq(Mux(op.mcast, coord.x1, 0)), head.dst_y1.eq(Mux(op.mcast, coord.y1, 0)),
                     tx.pay_valid.eq(m2f.out_valid), tx.pay_data.eq(m2f.out_data),
                     tx.pay_last.eq(m2f.out_last), m2f.out_ready.eq(tx.pay_ready)]
        sent_len = Signal(32)     # bytes of the transfer this packet covers
        # Plain expressions, no m.Switch: a header driven partly from a switch
        # exports its constant fields (src_x, src_y, cls) as input-less
        # ``always @*`` blocks, which Verilator never evaluates.
        is_read = op.op == NiuOp.READ
        is_write = op.op == NiuOp.WRITE
        m.d.comb += [
            head.cmd.eq(Mux(is_read, Command.READ,
                            Mux(is_write, Mux(op.acked, Command.WRITE_ACKED, Command.WRITE_POSTED),
                                Command.ATOMIC_INC))),
            head.length.eq(Mux(is_write, Mux(op.inline, 4, chunk), 8)),
            sent_len.eq(Mux(is_read, chunk, Mux(is_write & ~op.inline, chunk, 4))),
        ]

        with m.FSM(name="seq_fsm"):
            with m.State("IDLE"):
                with m.Switch(last):
                    for k in range(nbuf):
                        with m.Case(k):
                            for j, p in enumerate((k + 1 + i) % nbuf for i in range(nbuf)):
                                with (m.If if j == 0 else m.Elif)(busy[p]):
                                    m.d.sync += [idx.eq(p), last.eq(p),
                                                 op.eq(regs["cmd_ctrl"][p]), coord.eq(regs["cmd_remote_coord"][p]),
                                                 raddr.eq(regs["cmd_remote_addr"][p]),
                                                 laddr.eq(regs["cmd_local_addr"][p]),
                                                 remaining.eq(regs["cmd_length"][p]),
                                                 inline_data.eq(regs["cmd_inline_data"][p])]
                                    m.next = "CHECK"
            with m.State("CHECK"):
                is_inline_write = (op.op == NiuOp.WRITE) & op.inline
                bad = Signal()
                refused = ((op.op.as_value() == 3)
                           | Mux(op.mcast, ~rect_ok | (op.op != NiuOp.WRITE), ~unicast_ok)
                           | (~is_inline_write & (op.op != NiuOp.ATOMIC_INC)
                              & ((remaining == 0) | (local_end > l1size))))
                if align > 1:
                    # The local address is the source of a write, the return address of a read or an atomic.
                    low = (align - 1).bit_length()
                    refused = refused | (raddr[:low] != 0) | (~is_inline_write & (laddr[:low] != 0))
                m.d.comb += bad.eq(refused)
                with m.If(bad):
                    m.d.comb += [seq_err.eq(1), seq_err_addr.eq(raddr), seq_err_x.eq(coord.x),
                                 seq_err_y.eq(coord.y), seq_err_cmd.eq(head.cmd)]
                    m.next = "FINISH"
                with m.Else():
                    with m.If(is_inline_write | (op.op == NiuOp.ATOMIC_INC)):
                        m.d.sync += remaining.eq(4)
                    m.d.sync += first_packet.eq(1)
                    m.next = "PACKET"
            with m.State("PACKET"):
                # A write from L1 streams the whole command through one MemToFlits
                # (started with the first packet); PacketTx cuts it into packets.
                # The registers advance as a packet starts, so the next one can
                # start in the cycle this one sends its tail.
                streaming = (op.op == NiuOp.WRITE) & ~op.inline
                with m.If(tx.idle & (m2f.idle | (streaming & ~first_packet))):
                    m.d.sync += first_packet.eq(0)
                    m.d.comb += [tx.start.eq(1), m2f.start.eq(first_packet | ~streaming), m2f.addr.eq(laddr),
                                 m2f.length.eq(Mux(streaming, remaining, chunk))]
                    with m.Switch(op.op):
                        with m.Case(NiuOp.READ):
                            m.d.comb += [m2f.use_inline.eq(1), m2f.inline_value.eq(Cat(laddr, chunk)),
                                         m2f.inline_len.eq(8)]
                            m.d.sync += counters["read_req_sent"].eq(counters["read_req_sent"] + 1)
                        with m.Case(NiuOp.WRITE):
                            m.d.comb += [m2f.use_inline.eq(op.inline), m2f.inline_value.eq(inline_data),
                                         m2f.inline_len.eq(4)]
                            with m.If(op.acked):
                                m.d.sync += [counters["nonposted_writes_sent"].eq(counters["nonposted_writes_sent"] + 1),
                                             counters["write_acks_expected"].eq(counters["write_acks_expected"] + ndest)]
                            with m.Else():
                                m.d.sync += counters["posted_writes_sent"].eq(counters["posted_writes_sent"] + 1)
                        with m.Default():
                            m.d.comb += [m2f.use_inline.eq(1), m2f.inline_value.eq(Cat(inline_data, laddr)),
                                         m2f.inline_len.eq(8)]
                            m.d.sync += counters["atomic_sent"].eq(counters["atomic_sent"] + 1)
                    m.d.sync += [raddr.eq(raddr + sent_len), laddr.eq(laddr + sent_len),
                                 remaining.eq(remaining - sent_len)]
                    with m.If(remaining == sent_len):
                        m.next = "LAST"
            with m.State("LAST"):
                with m.If(tx.done):
                    m.next = "FINISH"
            with m.State("FINISH"):
                m.d.comb += done_bit.eq(1 << idx)
                m.next = "IDLE"

        # ---- responses to this tile's requests ---------------------------
        rh = rx.header
        rkind = Signal(3)
        err_word = Signal(32)
        got = Signal(range(9))
        r_end = Signal(34)
        m.d.comb += r_end.eq(rh.addr + rh.length)

        def count(name):
            return counters[name].eq(counters[name] + 1)

        def take_header():
            with m.If(rx.header_valid):
                m.d.comb += rx.accept.eq(1)
                m.d.sync += [rkind.eq(rh.cmd), err_word.eq(0), got.eq(0),
                             rx_err_addr.eq(rh.addr), rx_err_x.eq(rh.src_x), rx_err_y.eq(rh.src_y)]
                with m.If(((rh.cmd == Command.READ_RESP) | (rh.cmd == Command.ATOMIC_INC_RESP))
                          & rx.has_payload):
                    # (A response to an unaligned return address, never asked for by this NIU, is dropped too.)
                    misplaced = (r_end > l1size) if align == 1 else \
                        ((r_end > l1size) | (rh.addr[:(align - 1).bit_length()] != 0))
                    m.d.comb += [f2m.start.eq(1), f2m.addr.eq(rh.addr), f2m.length.eq(rh.length),
                                 f2m.discard.eq(misplaced)]
                    m.next = "DATA"
                with m.Elif(rh.cmd == Command.ERROR_RESP):
                    with m.If(rx.has_payload):
                        m.next = "ERROR_WORD"
                    with m.Else():
                        m.next = "ERROR"
                with m.Elif(rx.has_payload):
                    m.next = "DRAIN"
                with m.Elif(rh.cmd == Command.WRITE_ACK):
                    m.d.sync += count("write_acks_received")
                with m.Elif(rh.cmd == Command.READ_RESP):
                    m.d.sync += count("read_resp_received")

        with m.FSM(name="resp_fsm"):
            with m.State("HEADER"):
                take_header()
            with m.State("DATA"):
                payload_into_memory(m, rx, f2m)
                with m.If(f2m.done):
                    with m.If(rkind == Command.READ_RESP):
                        m.d.sync += count("read_resp_received")
                    with m.Else():
                        m.d.sync += count("atomic_resp_received")
                    m.next = "HEADER"
                    take_header()
            with m.State("ERROR_WORD"):
                m.d.comb += rx.pay_ready.eq(1)
                with m.If(rx.pay_valid):
                    with m.If(got < 4):
                        m.d.sync += [err_word.eq(err_word | (rx.pay_data << (got * 8))[:32]), got.eq(got + fb)]
                    with m.If(rx.pay_last):
                        m.next = "ERROR"
            with m.State("ERROR"):
                m.d.comb += [rx_err.eq(1), rx_err_cmd.eq(err_word[:3])]
                with m.Switch(err_word[:3]):
                    with m.Case(Command.READ):
                        m.d.sync += count("read_resp_received")
                    with m.Case(Command.WRITE_ACKED):
                        m.d.sync += count("write_acks_received")
                    with m.Case(Command.ATOMIC_INC):
                        m.d.sync += count("atomic_resp_received")
                m.next = "HEADER"
            with m.State("DRAIN"):
                m.d.comb += rx.pay_ready.eq(1)
                with m.If(rx.pay_valid & rx.pay_last):
                    m.next = "HEADER"
        return m


def build_niu(cfg: TesseraConfig, x: int | None = None, y: int | None = None):
    """Block factory: the NIU of the Tensix tile at (``x``, ``y``), by default the first tile of ``cfg``
    (exported alone for its FPGA figures; inside the chip every tile has one)."""
    if x is None and y is None:
        first = cfg.nodes_of("tensix")[0]
        x, y = first.x, first.y
    return Niu(cfg, x, y)
