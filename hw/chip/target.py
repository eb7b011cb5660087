"""The target side of a NoC endpoint: serves incoming requests on a memory (and an MMIO bus).

Used by the NIU of a Tensix tile (memory = the tile's L1, MMIO = tile_ctrl
through the tile's ``host_ctrl`` port) and by the DRAM node (memory only).

Requests (class 0; see docs/chip.md for the packet formats):

* ``WRITE_POSTED`` / ``WRITE_ACKED`` (unicast or multicast): the payload is
  written at ``addr`` (any byte alignment, any length the packet carries; with
  ``noc.aligned_transfers`` a word-aligned address, else an ``ERROR_RESP``).
  An address outside the memory goes to the MMIO bus instead, which takes
  exactly one aligned 32-bit word.  ``WRITE_ACKED`` is answered with a
  ``WRITE_ACK`` after the last byte is in memory.
* ``READ``: payload = return address (word 0) and byte count (word 1, at
  most ``max_payload_bytes``); answered with a ``READ_RESP`` whose ``addr``
  is the return address and whose payload is the data.
* ``ATOMIC_INC``: payload = increment (word 0) and return address (word 1);
  the aligned 32-bit word at ``addr`` of the memory is incremented and a
  ``ATOMIC_INC_RESP`` carries the old value to the return address.

Anything else — an address outside memory and MMIO, a length of 0 or past
the end of the memory, an MMIO access other than one aligned word, a bus
error, a response command on the request class — is answered with an
``ERROR_RESP`` (``addr`` = the offending address, payload = the request's
command), posted writes included, so the initiator learns of it.

Responses go out in request order.  ``latency`` (the DRAM node's) holds each
response until that many cycles after its request arrived; responses of
several requests wait in a queue at the same time, so latency does not cost
bandwidth.  A read response's data is read from memory as the response is
sent: by two readers in turn, so one fetches the next response's data while
the other's is on the wire and responses leave back to back, or with
``noc.target_read_prefetch`` off by one reader, which starts on the next
response once the previous one has left (3 idle cycles on the wire per
256-byte response on the tiny preset; the same packets).

``busy`` (for timelines only) is high from the cycle a request's header is
taken until its response has left: a request being received or executed, a
response waiting in the queue or being sent.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, fifo, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.datapath import (FlitsToMem, L1PortArbiter, MemToFlits, PacketRx, PacketTx,
                                       payload_into_memory)
from tessera.hw.core.bus import DataBus
from tessera.hw.noc.layout import Command, MessageClass, NocFormat, local_stream_signature
from tessera.hw.tile.l1_port import L1Op, L1PortSignature

__all__ = ["NocTarget", "JOB_QUEUE_DEPTH"]

#: Responses that may wait (for the response port, or for the DRAM latency) at once.
JOB_QUEUE_DEPTH = 4
_TS_BITS = 16


def job_layout(noc):
    return data.StructLayout({
        "cmd": 3,                       # the response command
        "dst_x": noc.x_bits, "dst_y": noc.y_bits,
        "txn": noc.txn_id_width,
        "addr": 32,                     # return address, or the offending address
        "src_addr": 32,                 # READ from memory: where the data is
        "length": noc.length_width,     # response payload bytes
        "from_mem": 1,                  # the payload is read from memory (else ``value``)
        "value": 32,
        "ts": _TS_BITS,                 # arrival cycle of the request
    })


class NocTarget(wiring.Component):
    """Serves requests arriving on ``req_in`` from memory port(s) ``mem_rx`` (writes, atomics)
    and ``mem_tx`` (read data), and the optional MMIO bus ``ctrl``; responses leave on ``resp_out``."""

    def __init__(self, noc, x: int, y: int, mem_l1cfg, has_ctrl: bool, latency: int = 0):
        if not isinstance(latency, int) or not 0 <= latency < 1 << (_TS_BITS - 1):
            raise ValueError(f"NocTarget latency must be an integer in 0..{(1 << (_TS_BITS - 1)) - 1}, "
                             f"got {latency!r}")
        self.noc, self.x, self.y = noc, x, y
        self.mem_cfg = mem_l1cfg
        self.has_ctrl = has_ctrl
        self.latency = latency
        sig = {
            "req_in": In(local_stream_signature(noc)),
            "resp_out": Out(local_stream_signature(noc)),
            "mem_rx": Out(L1PortSignature(mem_l1cfg)),
            "mem_tx": Out(L1PortSignature(mem_l1cfg)),
            "served": Out(32),
            "refused": Out(32),
            "busy": Out(1),
        }
        if has_ctrl:
            sig["ctrl"] = Out(DataBus.Signature())
        super().__init__(sig)

    def elaborate(self, platform):
        m = Module()
        noc = self.noc
        fb = noc.flit_bytes
        size = self.mem_cfg.size_bytes
        jl = job_layout(noc)
        m.submodules.rx = rx = PacketRx(noc, request_alignment=noc.transfer_alignment)
        m.submodules.f2m = f2m = FlitsToMem(self.mem_cfg, fb, alignment=noc.transfer_alignment)
        m.submodules.tx = tx = PacketTx(noc)
        m.submodules.m2f = m2f = MemToFlits(self.mem_cfg, fb, alignment=noc.transfer_alignment)
        m.submodules.jobs = jobs = fifo.SyncFIFOBuffered(width=jl.size, depth=JOB_QUEUE_DEPTH)
        wiring.connect(m, wiring.flipped(self.req_in), rx.inp)
        wiring.connect(m, tx.out, wiring.flipped(self.resp_out))
        wiring.connect(m, f2m.mem, wiring.flipped(self.mem_rx))  # (atomics share mem_rx below)

        now = Signal(_TS_BITS)
        m.d.sync += now.eq(now + 1)
        served = Signal(32)
        refused = Signal(32)
        m.d.comb += [self.served.eq(served), self.refused.eq(refused)]

        # ---- request side ------------------------------------------------
        h = rx.header
        job = Signal(jl)
        cmd = Signal(3)          # the request's command
        addr = Signal(32)
        args = Signal(64)
        got = Signal(range(9))
        end = Signal(34)
        m.d.comb += end.eq(h.addr + h.length)
        atomic_req = Signal()
        atomic_inc = Signal(32)
        ctrl_valid = Signal()
        ctrl_we = Signal()
        ctrl_wdata = Signal(32)
        lane_bits = (self.mem_cfg.bank_width // 32 - 1).bit_length()
        rlen = Signal(32)
        ret = Signal(32)
        m.d.comb += [rlen.eq(args[32:64]), ret.eq(args[0:32])]
        rend = Signal(34)
        m.d.comb += rend.eq(addr + rlen)
        maxp = noc.max_payload_bytes

        # f2m's memory port carries the atomics too: the atomic request wins when
        # asked for (f2m is idle then, the FSM runs one request at a time).
        with m.If(atomic_req):
            m.d.comb += [
                self.mem_rx.req.valid.eq(1),
                self.mem_rx.req.payload.addr.eq(addr),
                self.mem_rx.req.payload.op.eq(L1Op.ATOMIC_INC),
                self.mem_rx.req.payload.mask.eq(0),
                self.mem_rx.req.payload.wdata.eq(atomic_inc.replicate(self.mem_cfg.bank_width // 32)),
                f2m.mem.req.ready.eq(0),
            ]
        if self.has_ctrl:
            ctrl = self.ctrl
            m.d.comb += [ctrl.req.valid.eq(ctrl_valid), ctrl.req.payload.addr.eq(addr & ~3),
                         ctrl.req.payload.we.eq(ctrl_we), ctrl.req.payload.mask.eq(0xF),
                         ctrl.req.payload.wdata.eq(ctrl_wdata)]

        def error_job(code_cmd):
            return [job.cmd.eq(Command.ERROR_RESP), job.from_mem.eq(0), job.length.eq(4),
                    job.value.eq(code_cmd), job.addr.eq(addr)]

        is_write = Signal()
        m.d.comb += is_write.eq((h.cmd == Command.WRITE_POSTED) | (h.cmd == Command.WRITE_ACKED))
        ack_job = Signal(jl)
        m.d.comb += [ack_job.eq(job), ack_job.cmd.eq(Command.WRITE_ACK), ack_job.length.eq(0),
                     ack_job.from_mem.eq(0)]

        def take_header():
            """Accept the next request header if one is there and decide what to do with it."""
            with m.If(rx.header_valid):
                m.d.comb += rx.accept.eq(1)
                m.d.sync += [cmd.eq(h.cmd), addr.eq(h.addr), args.eq(0), got.eq(0),
                             job.dst_x.eq(h.src_x), job.dst_y.eq(h.src_y), job.txn.eq(h.txn),
                             job.ts.eq(now), job.addr.eq(h.addr)]
                with m.If(is_write & rx.has_payload & (h.length != 0) & (end <= size)):
                    m.d.comb += [f2m.start.eq(1), f2m.addr.eq(h.addr), f2m.length.eq(h.length),
                                 f2m.discard.eq(0)]
                    m.next = "WRITE_MEM"
                with m.Elif(rx.has_payload & (h.length != 0) & (
                        (is_write & (h.length == 4) & (h.addr[:2] == 0) & Const(self.has_ctrl))
                        | (h.cmd == Command.READ) | (h.cmd == Command.ATOMIC_INC))):
                    m.next = "COLLECT"
                with m.Elif(rx.has_payload):
                    m.next = "DRAIN"
                with m.Else():
                    m.next = "REFUSE"

        with m.FSM(name="rx_fsm") as rx_fsm:
            with m.State("HEADER"):
                take_header()
            with m.State("WRITE_MEM"):
                payload_into_memory(m, rx, f2m)
                with m.If(f2m.done):
                    acked = cmd == Command.WRITE_ACKED
                    with m.If(acked):
                        m.d.comb += [jobs.w_en.eq(1), jobs.w_data.eq(ack_job.as_value())]
                    with m.If(~acked | jobs.w_rdy):
                        # Back to back: the next header is taken in this same cycle.
                        m.d.sync += served.eq(served + 1)
                        m.next = "HEADER"
                        take_header()
                    with m.Else():
                        m.d.sync += job.eq(ack_job)
                        m.next = "PUSH"
            with m.State("COLLECT"):
                m.d.comb += rx.pay_ready.eq(1)
                with m.If(rx.pay_valid):
                    with m.If(got < 8):
                        m.d.sync += [args.eq(args | (rx.pay_data << (got * 8))[:64]),
                                     got.eq(got + fb)]
                    with m.If(rx.pay_last):
                        m.next = "EXEC"
            with m.State("EXEC"):
                with m.If((cmd == Command.WRITE_POSTED) | (cmd == Command.WRITE_ACKED)):
                    # Only an MMIO word reaches here (see HEADER).
                    m.d.comb += [ctrl_valid.eq(1), ctrl_we.eq(1), ctrl_wdata.eq(args[:32])]
                    if self.has_ctrl:
                        with m.If(self.ctrl.req.ready):
                            m.next = "CTRL_RESP"
                with m.Elif(cmd == Command.READ):
                    with m.If((rlen != 0) & (rlen <= maxp) & (rend <= size)):
                        m.d.sync += [job.cmd.eq(Command.READ_RESP), job.from_mem.eq(1),
                                     job.src_addr.eq(addr), job.length.eq(rlen), job.addr.eq(ret)]
                        m.next = "PUSH"
                    with m.Elif(Const(self.has_ctrl) & (rlen == 4) & (addr[:2] == 0) & (addr >= size)):
                        m.d.comb += [ctrl_valid.eq(1), ctrl_we.eq(0)]
                        if self.has_ctrl:
                            with m.If(self.ctrl.req.ready):
                                m.next = "CTRL_RESP"
                    with m.Else():
                        m.next = "REFUSE"
                with m.Else():  # ATOMIC_INC
                    with m.If((addr[:2] == 0) & (addr < size)):
                        m.d.comb += [atomic_req.eq(1), atomic_inc.eq(args[:32])]
                        with m.If(self.mem_rx.req.ready):
                            m.next = "ATOMIC_RESP"
                    with m.Else():
                        m.next = "REFUSE"
            with m.State("ATOMIC_RESP"):
                lane = addr[2:2 + lane_bits] if lane_bits else Const(0, 1)
                old = (self.mem_rx.resp.rdata >> (lane * 32))[:32]
                m.d.sync += [job.cmd.eq(Command.ATOMIC_INC_RESP), job.from_mem.eq(0), job.length.eq(4),
                             job.value.eq(old), job.addr.eq(args[32:64])]
                m.next = "PUSH"
            with m.State("CTRL_RESP"):
                if self.has_ctrl:
                    resp = self.ctrl.resp
                    with m.If(resp.valid):
                        with m.If(resp.err):
                            m.next = "REFUSE"
                        with m.Elif(cmd == Command.READ):
                            m.d.sync += [job.cmd.eq(Command.READ_RESP), job.from_mem.eq(0),
                                         job.length.eq(4), job.value.eq(resp.rdata), job.addr.eq(ret)]
                            m.next = "PUSH"
                        with m.Elif(cmd == Command.WRITE_ACKED):
                            m.d.sync += [job.cmd.eq(Command.WRITE_ACK), job.length.eq(0), job.from_mem.eq(0)]
                            m.next = "PUSH"
                        with m.Else():
                            m.d.sync += served.eq(served + 1)
                            m.next = "HEADER"
            with m.State("DRAIN"):
                m.d.comb += rx.pay_ready.eq(1)
                with m.If(rx.pay_valid & rx.pay_last):
                    m.next = "REFUSE"
            with m.State("REFUSE"):
                m.d.sync += error_job(cmd)
                m.d.sync += refused.eq(refused + 1)
                m.next = "PUSH_ERROR"
            with m.State("PUSH_ERROR"):
                m.d.comb += [jobs.w_en.eq(1), jobs.w_data.eq(job.as_value())]
                with m.If(jobs.w_rdy):
                    m.next = "HEADER"
            with m.State("PUSH"):
                m.d.comb += [jobs.w_en.eq(1), jobs.w_data.eq(job.as_value())]
                with m.If(jobs.w_rdy):
                    m.d.sync += served.eq(served + 1)
                    m.next = "HEADER"

        # ---- response side -----------------------------------------------
        if noc.target_read_prefetch:
            loaded = self._send_responses_in_turn(m, jobs, m2f, tx, now)
        else:
            loaded = self._send_responses_one_by_one(m, jobs, m2f, tx, now)
        # Observation only: nothing reads it.
        m.d.comb += self.busy.eq(~rx_fsm.ongoing("HEADER") | jobs.r_rdy | loaded.any() | ~tx.idle)
        return m

    def _due_job(self, m, jobs, now):
        """The job at the head of the queue, and whether its DRAM latency has passed."""
        incoming = data.View(job_layout(self.noc), jobs.r_data)
        waited = Signal(_TS_BITS)
        m.d.comb += waited.eq(now - incoming.ts)
        due = Const(1) if self.latency == 0 else (waited >= self.latency)
        return incoming, due

    def _response_header(self, m, tx, job):
        hd = tx.header
        m.d.comb += [
            hd.cls.eq(MessageClass.RESPONSE), hd.mcast.eq(0), hd.exclude_self.eq(0),
            hd.cmd.eq(job.cmd), hd.dst_x.eq(job.dst_x), hd.dst_y.eq(job.dst_y),
            hd.src_x.eq(self.x), hd.src_y.eq(self.y), hd.txn.eq(job.txn),
            hd.addr.eq(job.addr), hd.length.eq(job.length),
        ]

    def _send_responses_one_by_one(self, m, jobs, m2f, tx, now):
        """One MemToFlits: a job leaves the queue only once the reader has sent the whole
        payload of the previous one, so its data is read from memory after the previous packet's
        tail (a few idle cycles on the wire per response).  Returns the "slot loaded" flag."""
        wiring.connect(m, m2f.mem, wiring.flipped(self.mem_tx))
        slot = Signal(job_layout(self.noc), name="tx_job")
        loaded = Signal()      # slot holds a job whose packet has not started
        incoming, due = self._due_job(m, jobs, now)
        take = Signal()
        m.d.comb += [take.eq(jobs.r_rdy & due & ~loaded & m2f.idle), jobs.r_en.eq(take)]
        with m.If(take):
            m.d.sync += [slot.eq(incoming), loaded.eq(1)]
            with m.If(incoming.length != 0):
                m.d.comb += [m2f.start.eq(1), m2f.addr.eq(incoming.src_addr), m2f.length.eq(incoming.length),
                             m2f.use_inline.eq(~incoming.from_mem), m2f.inline_value.eq(incoming.value),
                             m2f.inline_len.eq(4)]
        self._response_header(m, tx, slot)
        # PacketTx latches the header at start, so the slot may take the next job at once.
        with m.If(tx.idle & loaded):
            m.d.comb += tx.start.eq(1)
            m.d.sync += loaded.eq(0)
        m.d.comb += [tx.pay_valid.eq(m2f.out_valid), tx.pay_data.eq(m2f.out_data), tx.pay_last.eq(m2f.out_last),
                     m2f.out_ready.eq(tx.pay_ready)]
        return loaded

    def _send_responses_in_turn(self, m, jobs, m2f, tx, now):
        """Two MemToFlits (``m2f`` and a second one) take jobs in turn; returns the two
        "slot loaded" flags."""
        fb = self.noc.flit_bytes
        jl = job_layout(self.noc)
        # Two MemToFlits take jobs in turn, so the data of the next response is
        # fetched while the current one is still on the wire.  The memory port
        # gives one word per cycle, just what the wire takes, so the reader of
        # the packet on the wire (``sel``) has it whenever it asks and the other
        # one prefetches in the cycles left over.  (Shared round robin instead,
        # the prefetch would take every other word from the packet on the wire
        # and leave about three idle cycles in each 256-byte response.)
        m.submodules.m2f_b = m2f_b = MemToFlits(self.mem_cfg, fb, alignment=self.noc.transfer_alignment)
        units = (m2f, m2f_b)
        mem_users = [m2f.mem, m2f_b.mem]
        m.submodules.tx_mem = tx_mem = L1PortArbiter(self.mem_cfg, 2, with_preference=True)
        for k, u in enumerate(mem_users):
            wiring.connect(m, u, tx_mem.user[k])
        wiring.connect(m, tx_mem.mem, wiring.flipped(self.mem_tx))
        slot = [Signal(jl, name=f"tx_job{k}") for k in range(2)]
        loaded = Signal(2)     # slot k holds a job whose packet has not started
        fill = Signal()        # slot of the next job taken from the queue
        head = Signal()        # slot of the next packet to send
        sel = Signal()         # slot feeding the packet on the wire
        incoming, due = self._due_job(m, jobs, now)
        free = Signal()
        m.d.comb += free.eq(Mux(fill, ~loaded[1] & m2f_b.idle, ~loaded[0] & m2f.idle))
        take = Signal()
        m.d.comb += [take.eq(jobs.r_rdy & due & free), jobs.r_en.eq(take)]
        set_loaded = Signal(2)
        clear_loaded = Signal(2)
        m.d.sync += loaded.eq((loaded | set_loaded) & ~clear_loaded)
        with m.If(take):
            m.d.sync += fill.eq(~fill)
            m.d.comb += set_loaded.eq(Mux(fill, 2, 1))
            for k, u in enumerate(units):
                with m.If(fill == k):
                    m.d.sync += slot[k].eq(incoming)
                    with m.If(incoming.length != 0):
                        m.d.comb += [u.start.eq(1), u.addr.eq(incoming.src_addr), u.length.eq(incoming.length),
                                     u.use_inline.eq(~incoming.from_mem), u.inline_value.eq(incoming.value),
                                     u.inline_len.eq(4)]
        cur = Signal(jl)
        m.d.comb += cur.eq(Mux(head, slot[1], slot[0]))
        m.d.comb += tx_mem.prefer.eq(sel)
        self._response_header(m, tx, cur)
        with m.If(tx.idle & Mux(head, loaded[1], loaded[0])):
            m.d.comb += [tx.start.eq(1), clear_loaded.eq(Mux(head, 2, 1))]
            m.d.sync += [head.eq(~head), sel.eq(head)]
        for k, u in enumerate(units):
            with m.If(sel == k):
                m.d.comb += [tx.pay_valid.eq(u.out_valid), tx.pay_data.eq(u.out_data), tx.pay_last.eq(u.out_last),
                             u.out_ready.eq(tx.pay_ready)]
        return loaded
