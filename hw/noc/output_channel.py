"""One output channel of the router: its crossbar leg, credit counters and VC ownership."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.logic import or_all
from tessera.hw.noc.allocator import ChannelStatusSignature
from tessera.hw.noc.layout import LinkSignature, flit_layout

__all__ = ["OutputChannel"]


class OutputChannel(wiring.Component):
    """A link to a neighbour, or the link into one ejection FIFO.

    The crossbar leg is an AND-OR multiplexer over the candidate flits (the
    allocator's select is one-hot).  Per output VC the channel keeps a credit
    counter (the free slots of the downstream buffer, ``buffer_depth`` after
    reset, one returned by each ``credit`` pulse) and an ownership bit (set
    by a head that is not also a tail, cleared by the tail).  Counters and
    bits are registers, so no combinational path crosses a link.

    Parameters
    ----------
    noc : NocConfig
    vcs : list of int
        The VCs this channel carries: all of the network's on a link, one on
        an ejection channel (a one-VC channel puts every flit on that VC
        without looking at ``vc``).
    legs : int
        Number of crossbar legs (candidate flits), at least 1.

    Ports
    -----
    select : In(legs)
        One-hot (or zero): the leg whose flit crosses this cycle.
    vc : In(range(num_vcs))
        The output VC of the crossing flit.
    flits : In(flit_layout(noc)).array(legs)
        The candidate flits: the front flits of the input VCs behind the legs.
    link : Out(LinkSignature(noc))
        The outgoing link; ``credit`` comes back from the downstream buffer.
    status : Out(ChannelStatusSignature(num_vcs))
        Per VC: free (not owned), has a credit, downstream buffer empty
        (all credits back).
    """

    def __init__(self, noc, vcs, legs: int):
        vcs = list(vcs)
        if not vcs or any(not (isinstance(vc, int) and 0 <= vc < noc.num_vcs) for vc in vcs):
            raise ValueError(f"output channel VCs must be a non-empty list in 0..{noc.num_vcs - 1}, "
                             f"got {vcs!r}")
        if not isinstance(legs, int) or isinstance(legs, bool) or legs < 1:
            raise ValueError(f"output channel legs must be a positive integer, got {legs!r}")
        self.noc = noc
        self.vcs = vcs
        self.legs = legs
        super().__init__({
            "select": In(legs),
            "vc": In(range(noc.num_vcs)),
            "flits": In(flit_layout(noc)).array(legs),
            "link": Out(LinkSignature(noc)),
            "status": Out(ChannelStatusSignature(noc.num_vcs)),
        })

    def elaborate(self, platform):
        m = Module()
        depth = self.noc.buffer_depth
        sent = Signal()
        flit = Signal(flit_layout(self.noc))
        m.d.comb += [
            sent.eq(self.select.any()),
            flit.eq(or_all(Mux(self.select[leg], self.flits[leg].as_value(), 0) for leg in range(self.legs))),
            self.link.valid.eq(sent),
            self.link.vc.eq(self.vc),
            self.link.flit.eq(flit),
        ]
        for vc in self.vcs:
            uses = sent & (self.vc == vc) if len(self.vcs) > 1 else sent
            credits = Signal(range(depth + 1), init=depth, name=f"credits_{vc}")
            owned = Signal(name=f"owned_{vc}")
            m.d.sync += credits.eq(credits + self.link.credit[vc] - uses)
            with m.If(uses & flit.head & ~flit.tail):
                m.d.sync += owned.eq(1)
            with m.Elif(uses & flit.tail):
                m.d.sync += owned.eq(0)
            m.d.comb += [self.status.free[vc].eq(~owned),
                         self.status.has_credit[vc].eq(credits != 0),
                         self.status.drained[vc].eq(credits == depth)]
        return m
