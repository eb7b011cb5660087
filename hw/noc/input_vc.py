"""One input virtual channel of the router: its buffer and the state of the packet at its head."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.allocator import AllocationRequestSignature
from tessera.hw.noc.layout import flit_layout
from tessera.hw.noc.vc_buffer import VcBuffer
from tessera.hw.noc.vc_plan import ALL_PORTS

__all__ = ["InputVirtualChannel", "buffer_entry_layout"]


def buffer_entry_layout(noc, selector_width: int) -> data.StructLayout:
    """An input buffer entry: the flit and, for a head, what route computation found."""
    return data.StructLayout({"flit": flit_layout(noc), "route": len(ALL_PORTS), "bad": 1,
                              "multicast": 1, "vc_selector": selector_width})


class InputVirtualChannel(wiring.Component):
    """An input VC: a ``buffer_depth`` FIFO of routed flits and its packet's state.

    A head's route, multicast flag and VC selector come with it in the buffer
    entry; when the head leaves they are latched for the packet's body flits
    and held until the tail leaves.

    Parameters
    ----------
    noc : NocConfig
    selector_width : int
        Width of the VC selector (``VirtualChannelPlan.selector_width``).
    carries_unicast, carries_multicast : bool
        The lanes this input can hold (a link VC belongs to one lane; the local
        class-0 input carries both): with one lane the multicast flag is a
        constant.

    Ports
    -----
    push : In(1)
        Write ``entry`` into the buffer (the writer respects credits, or
        ``not_full``).
    entry : In(buffer_entry_layout(noc, selector_width))
    not_full : Out(1)
        The buffer has room (for the local injection stream's ``ready``).
    credit : Out(1)
        A flit left the buffer this cycle: a credit for the upstream sender.
    front : Out(flit_layout(noc))
        The flit at the head of the buffer.
    request : Out(AllocationRequestSignature(selector_width))
        To the switch allocator; ``transfer`` pops the buffer.
    bad_head : Out(1)
        The head of a packet route computation refused is at the front.
    """

    def __init__(self, noc, selector_width: int, *, carries_unicast: bool, carries_multicast: bool):
        if not (carries_unicast or carries_multicast):
            raise ValueError("an input VC must carry unicasts, multicasts or both")
        self.noc = noc
        self.selector_width = selector_width
        self.carries_unicast = carries_unicast
        self.carries_multicast = carries_multicast
        self.entry_layout = buffer_entry_layout(noc, selector_width)
        super().__init__({
            "push": In(1),
            "entry": In(self.entry_layout),
            "not_full": Out(1),
            "credit": Out(1),
            "front": Out(flit_layout(noc)),
            "request": Out(AllocationRequestSignature(selector_width)),
            "bad_head": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        depth = self.noc.buffer_depth
        request = self.request
        m.submodules.buffer = buffer = VcBuffer(self.entry_layout, depth)
        head_entry = buffer.data
        front = head_entry.flit
        m.d.comb += [buffer.push.eq(self.push), buffer.push_data.eq(self.entry),
                     self.not_full.eq(buffer.count < depth), self.front.eq(front)]

        in_packet = Signal()                                     # between a head and its tail
        packet_route = Signal(len(ALL_PORTS))                    # latched at the head
        packet_multicast = Signal()
        packet_selector = Signal(self.selector_width)
        nonempty = buffer.count != 0
        multicast = Signal()
        m.d.comb += [
            request.at_head.eq(~in_packet & front.head),
            request.wants.eq(nonempty & (in_packet | front.head)),
            request.route.eq(Mux(in_packet, packet_route, head_entry.route)),
            request.vc_selector.eq(Mux(in_packet, packet_selector, head_entry.vc_selector)),
            request.multicast.eq(multicast),
            self.bad_head.eq(nonempty & request.at_head & head_entry.bad),
        ]
        if self.carries_unicast and self.carries_multicast:
            m.d.comb += multicast.eq(Mux(in_packet, packet_multicast, head_entry.multicast & ~head_entry.bad))
        else:
            m.d.comb += multicast.eq(int(self.carries_multicast))

        transfer = request.transfer
        m.d.comb += [buffer.pop.eq(transfer), self.credit.eq(transfer)]
        with m.If(transfer):
            with m.If(~in_packet & front.head & ~front.tail):
                m.d.sync += [in_packet.eq(1), packet_route.eq(head_entry.route),
                             packet_multicast.eq(multicast), packet_selector.eq(head_entry.vc_selector)]
            with m.Elif(in_packet & front.tail):
                m.d.sync += in_packet.eq(0)
        return m
