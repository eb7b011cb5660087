"""Adapter from one RV32 core bus (data or instruction fetch, :mod:`hw.core.bus`) to one L1 requester port.

The 32-bit word at ``addr`` is one lane of a bank word: the adapter shifts the
byte mask into that lane and replicates ``wdata`` across all lanes (only the
masked bytes are written), and picks the lane out of the returned bank word.
Addresses at or above the L1 size are answered with ``err`` without touching
L1 (the core turns it into an access fault); address bits 1:0 are ignored
(the core never issues a misaligned access).

Timing: the L1's fixed latency passes through unchanged — a request accepted
on edge t is answered (valid, rdata or err) in the next cycle, and every
response comes from registers or the bank's synchronous read port (no
combinational path from request to response, as the core bus requires).
``req.ready`` is the L1 arbiter's grant, evaluated afresh every cycle, so the
core may change or withdraw a request before it is taken.  Because both the
L1's and the error path's latency is one cycle, responses stay in order
without a queue; the only state is the lane (and error flag) of the request
in flight.  A zero-wait bank sustains one access per cycle.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.config import L1Config
from tessera.hw.core.bus import DataBus, InstructionBus
from tessera.hw.tile.l1_port import L1AddressMap, L1Op, L1PortSignature

__all__ = ["L1CoreAdapter", "BUS_KINDS"]

BUS_KINDS = ("data", "instruction")


class L1CoreAdapter(wiring.Component):
    """``bus`` (target side of a core's data or instruction bus) → ``l1`` (an L1 requester port)."""

    def __init__(self, l1: L1Config, kind: str = "data"):
        if not isinstance(l1, L1Config):
            raise TypeError(f"L1CoreAdapter needs an L1Config (cfg.l1), got {l1!r}")
        if kind not in BUS_KINDS:
            raise ValueError(f"L1CoreAdapter kind must be one of {BUS_KINDS}, got {kind!r}")
        self.l1cfg = l1
        self.kind = kind
        self.amap = L1AddressMap(l1)
        bus = DataBus.Signature() if kind == "data" else InstructionBus.Signature()
        super().__init__({
            "bus": In(bus),
            "l1": Out(L1PortSignature(l1)),
        })

    def elaborate(self, platform):
        m = Module()
        l1, amap = self.l1cfg, self.amap
        req = self.bus.req.payload
        in_range = Signal()
        lane = Signal(max(1, amap.lane_bits))
        m.d.comb += [
            in_range.eq(req.addr < l1.size_bytes),
            self.l1.req.valid.eq(self.bus.req.valid & in_range),
            self.l1.req.payload.addr.eq(req.addr[:l1.address_bits]),
            self.bus.req.ready.eq(self.l1.req.ready | ~in_range),
        ]
        if amap.lanes > 1:
            m.d.comb += lane.eq(req.addr[2:2 + amap.lane_bits])
        if self.kind == "data":
            with m.If(req.we):
                m.d.comb += self.l1.req.payload.op.eq(L1Op.WRITE)
            with m.Else():
                m.d.comb += self.l1.req.payload.op.eq(L1Op.READ)
            m.d.comb += [
                self.l1.req.payload.mask.eq(req.mask << (lane * 4)),
                self.l1.req.payload.wdata.eq(req.wdata.replicate(amap.lanes)),
            ]
        else:
            m.d.comb += self.l1.req.payload.op.eq(L1Op.READ)

        # The one request in flight: its lane, and whether it was refused.
        resp_lane = Signal.like(lane)
        err_pending = Signal()
        accepted = self.bus.req.valid & self.bus.req.ready
        m.d.sync += err_pending.eq(accepted & ~in_range)
        with m.If(accepted):
            m.d.sync += resp_lane.eq(lane)
        rdata = self.l1.resp.rdata.word_select(resp_lane, 32) if amap.lanes > 1 else self.l1.resp.rdata
        m.d.comb += [
            self.bus.resp.valid.eq(self.l1.resp.valid | err_pending),
            self.bus.resp.err.eq(err_pending),
            self.bus.resp.rdata.eq(rdata),
        ]
        return m
