"""Five-port wormhole router with virtual channels, XY/dateline routing and XY-tree multicast.

Ports 0..3 are links to the north, east, south and west neighbours (credit
flow control, see :class:`~tessera.hw.noc.layout.LinkSignature`); port 4 is
the local node: one injection stream and one ejection stream per message
class.

Pipeline: a flit written into an input buffer at the end of cycle t is routed,
arbitrated and sent across the crossbar in cycle t+1, landing in the next
router's input buffer at the end of that cycle: one cycle per hop.  Route
computation, allocation and switch traversal are one combinational stage fed
by the buffer heads; credit counters and ownership bits are registers, so no
combinational path crosses a link.

The units, each its own module:

* :class:`~tessera.hw.noc.route_computation.RouteComputation`, one per input
  port: output ports, bad-packet checks and VC selector of a head flit,
  computed as it arrives and stored beside it in the input buffer, so the
  buffers of one port share one routing unit;
* :class:`~tessera.hw.noc.input_vc.InputVirtualChannel`, one per input VC:
  the buffer (:class:`~tessera.hw.noc.vc_buffer.VcBuffer`) and the route of
  the packet in progress;
* :class:`~tessera.hw.noc.allocator.SwitchAllocator`: unicast arbiters per
  output channel, the multicast pick, the output VC of every crossing flit;
* :class:`~tessera.hw.noc.output_channel.OutputChannel`, one per link and one
  per ejection FIFO (so a request and a response can eject in the same cycle):
  crossbar leg, credits, VC ownership.

Which VCs exist and which one a packet takes is worked out in Python by
:class:`~tessera.hw.noc.vc_plan.VirtualChannelPlan`.

Bad packets at the local input (destination outside the grid, malformed
rectangle, multicast longer than a buffer or on the response class, wrong
source or class, length above ``max_payload_bytes``) are consumed whole and
reported on ``bad_packet``; nothing enters the network, nothing hangs.
A packet whose flits do not end where its header's length says is cut to
that length at injection
(:class:`~tessera.hw.noc.injection_framing.InjectionFraming`) and reported on
``cut_packet``: inside the network every packet is as long as its header
says.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.allocator import SwitchAllocator
from tessera.hw.noc.injection_framing import InjectionFraming
from tessera.hw.noc.input_vc import InputVirtualChannel
from tessera.hw.noc.layout import LinkSignature, Port, flit_layout, local_stream_signature
from tessera.hw.noc.output_channel import OutputChannel
from tessera.hw.noc.route_computation import RouteComputation, routing_header_layout
from tessera.hw.noc.vc_buffer import VcBuffer
from tessera.hw.noc.vc_plan import DIRECTIONS, LOCAL, MULTICAST, VirtualChannelPlan

__all__ = ["Router", "build_noc_router"]


class Router(wiring.Component):
    """The router at grid position (``x``, ``y``) of the network described by ``noc``.

    Parameters
    ----------
    noc : NocConfig
        Grid size and topology, flit width, VCs per class, buffer depth.
    x, y : int
        The router's column (0 west) and row (0 north) in the grid.

    Ports
    -----
    in_link : In(LinkSignature(noc)).array(4)
        Links from the north, east, south and west neighbours (indexed by
        :class:`~tessera.hw.noc.layout.Port`); the router returns their
        credits.
    out_link : Out(LinkSignature(noc)).array(4)
        Links to the neighbours.  On a mesh the links off the grid edge stay
        unconnected: the routing never selects them.
    inject : In(local_stream_signature(noc)).array(num_classes)
        One injection stream per message class.  The router frames packets
        itself: the flit after a tail is the next head, and a packet ends
        where its header's ``length`` says (longer ones are cut, shorter ones
        padded, and reported on ``cut_packet``).  ``ready`` is "the local
        input buffer is not full" (1 while a cut packet's excess is dropped,
        0 while padding is pushed), independent of ``valid``.
    eject : Out(local_stream_signature(noc)).array(num_classes)
        One ejection stream per class, each behind a ``buffer_depth`` FIFO;
        multicasts eject on class 0.
    bad_packet : Out(num_classes)
        One bit per class: the head of a refused packet was consumed this cycle.
    cut_packet : Out(num_classes)
        One bit per class: an injected packet whose flits did not end where
        its header says was cut or padded to its declared length (see
        :class:`~tessera.hw.noc.injection_framing.InjectionFraming`).
    """

    def __init__(self, noc, x: int, y: int):
        if not (isinstance(x, int) and 0 <= x < noc.width):
            raise ValueError(f"router x must be in 0..{noc.width - 1}, got {x!r}")
        if not (isinstance(y, int) and 0 <= y < noc.height):
            raise ValueError(f"router y must be in 0..{noc.height - 1}, got {y!r}")
        self.noc = noc
        self.x, self.y = x, y
        self.plan = VirtualChannelPlan(noc, x, y)
        super().__init__({
            "in_link": In(LinkSignature(noc)).array(len(DIRECTIONS)),
            "out_link": Out(LinkSignature(noc)).array(len(DIRECTIONS)),
            "inject": In(local_stream_signature(noc)).array(noc.num_classes),
            "eject": Out(local_stream_signature(noc)).array(noc.num_classes),
            "bad_packet": Out(noc.num_classes),
            "cut_packet": Out(noc.num_classes),
        })

    def _routing_header(self, flit_bits):
        """The routing fields of a flit given as plain bits (they lead flit 0)."""
        layout = routing_header_layout(self.noc)
        return data.View(layout, data.View(flit_layout(self.noc), flit_bits).data[:layout.size])

    def _connect_link_inputs(self, m, input_vcs):
        """Link inputs: one route computation per port, shared by the port's VC buffers."""
        plan = self.plan
        for port in DIRECTIONS:
            link = self.in_link[port]
            header = self._routing_header(link.flit)
            routing = m.submodules[f"route_{Port(port).name.lower()}"] = RouteComputation(plan, port)
            m.d.comb += routing.header.eq(header)
            for i, (input_port, vc) in enumerate(plan.inputs):
                if input_port != port:
                    continue
                input_vc = input_vcs[i]
                vc_set = Const(plan.set_of_vc(vc), max(1, plan.set_bits))[:plan.set_bits]
                m.d.comb += [input_vc.push.eq(link.valid & (link.vc == vc)),
                             input_vc.entry.flit.eq(link.flit),
                             input_vc.entry.route.eq(routing.route),
                             input_vc.entry.bad.eq(routing.bad),
                             input_vc.entry.multicast.eq(header.mcast),
                             input_vc.entry.vc_selector.eq(Cat(vc_set, routing.entry_dateline)),
                             link.credit[vc].eq(input_vc.credit)]

    def _connect_local_inputs(self, m, input_vcs):
        """Injection: one route computation and one framing unit per class (the
        router frames packets by their headers' lengths).  Returns the framing
        units' ``cut`` pulses per class."""
        plan = self.plan
        cut_packet = [0] * self.noc.num_classes
        for i, (input_port, _) in enumerate(plan.inputs):
            if input_port != LOCAL:
                continue
            cls = plan.input_class[i]
            inject, input_vc = self.inject[cls], input_vcs[i]
            header = self._routing_header(inject.payload)
            routing = m.submodules[f"route_inject{cls}"] = RouteComputation(plan, LOCAL, cls)
            framing = m.submodules[f"framing_inject{cls}"] = InjectionFraming(self.noc)
            wiring.connect(m, wiring.flipped(inject), framing.inject)
            m.d.comb += [routing.header.eq(header),
                         framing.refused.eq(routing.bad),
                         framing.room.eq(input_vc.not_full),
                         input_vc.push.eq(framing.push),
                         input_vc.entry.flit.eq(framing.flit),
                         input_vc.entry.route.eq(routing.route),
                         input_vc.entry.bad.eq(routing.bad),
                         input_vc.entry.multicast.eq(header.mcast),
                         input_vc.entry.vc_selector.eq(Cat(routing.flow_set[:plan.set_bits],
                                                           routing.entry_dateline))]
            cut_packet[cls] = framing.cut
        return cut_packet

    def _connect_outputs(self, m, input_vcs, allocator):
        """Output channels behind the allocator's grants; ejection FIFOs behind the local ones."""
        plan, noc = self.plan, self.noc
        for k, channel in enumerate(plan.channels):
            out_port, cls = channel
            name = plan.channel_name(channel)
            legs = plan.legs(channel)
            output = m.submodules[f"output_{name}"] = OutputChannel(noc, plan.channel_vcs(channel), len(legs))
            grant = allocator.grant[k]
            wiring.connect(m, output.status, allocator.status[k])
            m.d.comb += output.vc.eq(grant.vc)
            for leg, (i, kind) in enumerate(legs):
                select = grant.multicast[i] if kind == MULTICAST else grant.unicast[i]
                m.d.comb += [output.select[leg].eq(select), output.flits[leg].eq(input_vcs[i].front)]
            if out_port != LOCAL:
                wiring.connect(m, output.link, wiring.flipped(self.out_link[out_port]))
                continue
            # The local output behaves like a link into the class's ejection FIFO.
            fifo = m.submodules[f"eject_fifo{cls}"] = VcBuffer(flit_layout(noc), noc.buffer_depth)
            eject = self.eject[cls]
            m.d.comb += [eject.valid.eq(fifo.count != 0),
                         eject.payload.eq(fifo.data),
                         fifo.pop.eq(eject.valid & eject.ready),
                         fifo.push.eq(output.link.valid),
                         fifo.push_data.eq(output.link.flit),
                         output.link.credit[plan.channel_vcs(channel)[0]].eq(fifo.pop)]

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        m.submodules.allocator = allocator = SwitchAllocator(plan)
        input_vcs = []
        for i, (port, vc) in enumerate(plan.inputs):
            name = f"input_{Port(port).name.lower()}_{vc}"
            input_vc = m.submodules[name] = InputVirtualChannel(
                self.noc, plan.selector_width, carries_unicast=plan.carries_unicast[i],
                carries_multicast=plan.carries_multicast[i])
            wiring.connect(m, input_vc.request, allocator.request[i])
            input_vcs.append(input_vc)
        self._connect_link_inputs(m, input_vcs)
        cut_packet = self._connect_local_inputs(m, input_vcs)
        self._connect_outputs(m, input_vcs, allocator)
        bad_packet = [0] * self.noc.num_classes
        for i, (port, _) in enumerate(plan.inputs):
            if port == LOCAL:
                bad_packet[plan.input_class[i]] = input_vcs[i].bad_head & input_vcs[i].request.transfer
        m.d.comb += [self.bad_packet.eq(Cat(*bad_packet)), self.cut_packet.eq(Cat(*cut_packet))]
        return m


def build_noc_router(cfg, x: int = 0, y: int = 0):
    """Block factory: the router at (x, y) of ``cfg``'s network."""
    return Router(cfg.noc, x, y)
