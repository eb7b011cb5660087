"""Injection framing: every packet enters the network exactly as long as its header says.

The router's local input frames packets itself: the first flit after a tail
is a head, and the head's ``length`` fixes where the packet ends
(``header_flits + ceil(length / flit_bytes)`` flits).  The sender's ``tail``
bit must agree; when it does not the packet is cut to its declared length:

* **longer** (no tail on the declared last flit): the declared last flit goes
  in as the tail and the excess, up to the sender's tail, is consumed and
  dropped;
* **shorter** (a tail before the declared end): the flit goes in as a body
  flit and padding flits are pushed up to the declared end (the injection
  stream is not ready meanwhile).  Their data is whatever the injection
  port holds (unspecified): forcing it to zero cost about 400 LUT4 per
  router on an ECP5, for a packet that is wrong either way.

Either is reported with one ``cut`` pulse.  Inside the network a packet is
then always framed as its header says, which the multicast lane's
cut-through rule (a multicast fits one buffer, checked on the header's length)
and the endpoints (which read the length) rely on.

A packet whose header the router refuses (``refused``) is not framed by its
length, which may be out of range: it is consumed up to the sender's tail,
as the input VC drops it whole.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.layout import NocFormat, flit_layout, local_stream_signature
from tessera.hw.noc.route_computation import routing_header_layout

__all__ = ["InjectionFraming"]


class InjectionFraming(wiring.Component):
    """Frames one local injection stream by the header's length.

    Parameters
    ----------
    noc : NocConfig

    Ports
    -----
    inject : In(local_stream_signature(noc))
        The node's injection stream; the sender's ``head`` bit is ignored.
        ``ready`` depends on the unit's state and ``room``, never on ``valid``.
    refused : In(1)
        Route computation refuses the header on ``inject`` (meaningful when
        the flit is a head).
    room : In(1)
        The input buffer can take a flit this cycle.
    push : Out(1)
        Write ``flit`` into the input buffer.
    flit : Out(flit_layout(noc))
        The flit with the router's framing: ``head`` on the first flit of a
        packet, ``tail`` on the last one its header declares; the data is
        always the injection port's.
    cut : Out(1)
        A packet's flits did not end where its header says: pulsed once per
        such packet, when the mismatch is seen.
    """

    def __init__(self, noc):
        self.noc = noc
        self.fmt = NocFormat(noc)
        super().__init__({
            "inject": In(local_stream_signature(noc)),
            "refused": In(1),
            "room": In(1),
            "push": Out(1),
            "flit": Out(flit_layout(noc)),
            "cut": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        noc, fmt = self.noc, self.fmt
        inject = self.inject
        sender = data.View(flit_layout(noc), inject.payload)
        header = data.View(routing_header_layout(noc),
                           sender.data[:routing_header_layout(noc).size])
        # Flits a packet with a valid header declares: at most one full payload.
        most_flits = fmt.header_flits + noc.max_payload_flits
        declared = Signal(range(most_flits + 1))
        data_flits = (header.length + noc.flit_bytes - 1) >> (noc.flit_bytes.bit_length() - 1)
        m.d.comb += declared.eq(fmt.header_flits + data_flits)

        expect_head = Signal(init=1)
        framed = Signal()                       # the packet in progress is framed by its length
        left = Signal(range(most_flits))        # its declared flits still to come
        dropping = Signal()                     # consuming the excess of a cut packet
        padding = Signal()                      # pushing padding flits up to the declared end

        # Is the sender's flit the declared last one?  (A refused header:
        # the sender's tail decides.)
        declared_last = Signal()
        with m.If(expect_head):
            m.d.comb += declared_last.eq(Mux(self.refused, sender.tail, declared == 1))
        with m.Else():
            m.d.comb += declared_last.eq(Mux(framed, left == 1, sender.tail))

        m.d.comb += self.flit.data.eq(sender.data)
        with m.If(dropping):
            m.d.comb += inject.ready.eq(1)
            with m.If(inject.valid & sender.tail):
                m.d.sync += [dropping.eq(0), expect_head.eq(1)]
        with m.Elif(padding):
            m.d.comb += [self.push.eq(self.room), self.flit.tail.eq(left == 1)]
            with m.If(self.room):
                m.d.sync += left.eq(left - 1)
                with m.If(left == 1):
                    m.d.sync += [padding.eq(0), expect_head.eq(1)]
        with m.Else():
            m.d.comb += [inject.ready.eq(self.room),
                         self.push.eq(inject.valid & self.room),
                         self.flit.head.eq(expect_head),
                         self.flit.tail.eq(declared_last)]
            with m.If(self.push):
                with m.If(expect_head):
                    m.d.sync += [framed.eq(~self.refused), left.eq(declared - 1)]
                with m.Else():
                    m.d.sync += left.eq(left - 1)
                m.d.sync += expect_head.eq(declared_last)
                with m.If(declared_last & ~sender.tail):
                    m.d.comb += self.cut.eq(1)
                    m.d.sync += [dropping.eq(1), expect_head.eq(0)]
                with m.Elif(sender.tail & ~declared_last):
                    m.d.comb += self.cut.eq(1)
                    m.d.sync += padding.eq(1)
        return m
