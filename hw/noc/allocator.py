"""Switch and VC allocation: which input VC's front flit crosses to which output channel, on which VC.

All combinational from the input buffers' heads and the output channels'
registered state; one cycle per hop.

* **Unicast**: one round-robin arbiter per output channel over the unicast
  input VCs that can reach it.  An output VC is owned by one packet from
  head to tail (wormhole); a head needs its output VC free and a credit, a
  body flit a credit.  The priority moves only when a flit actually leaves,
  so every requester is served within one round.
* **Multicast** (virtual cut-through on its own lane): one multicast flit
  per router moves per cycle, chosen round robin among the multicasts whose
  *every* branch can move now; a head also needs each branch's output VC
  free and its downstream buffer empty (an ejection branch only a credit:
  the endpoint always drains it), so once allocated a multicast never waits
  for credits.  The chosen one takes all its outputs at once, overriding the
  unicast arbiters of those outputs for that cycle (they keep their turn).
  No packet ever waits for a router-wide turn, which keeps multicasts
  deadlock free (docs/noc.md section 5).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.logic import RoundRobin, or_all
from tessera.hw.signature import ValueSignature
from tessera.hw.noc.vc_plan import ALL_PORTS, LOCAL, MULTICAST, UNICAST

__all__ = ["AllocationRequestSignature", "ChannelStatusSignature", "ChannelGrantSignature",
           "SwitchAllocator"]


def _positive(what: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


class AllocationRequestSignature(ValueSignature):
    """What an input VC asks of the allocator, as seen by the input VC.

    ``wants``: the front flit may move (the buffer holds a head, or the body
    of the packet in progress); ``at_head``: it is a head (the packet needs
    output VCs); ``multicast``: the packet is on the multicast lane;
    ``route``: its output ports; ``vc_selector`` (``selector_width`` bits):
    picks its output VCs (see
    :class:`~tessera.hw.noc.vc_plan.VirtualChannelPlan`).  ``transfer`` comes
    back: the front flit leaves the buffer this cycle (through the crossbar,
    or dropped when the route is empty).
    """

    def __init__(self, selector_width: int):
        self.selector_width = _positive("selector_width", selector_width)
        super().__init__({
            "wants": Out(1),
            "at_head": Out(1),
            "multicast": Out(1),
            "route": Out(len(ALL_PORTS)),
            "vc_selector": Out(selector_width),
            "transfer": In(1),
        })

    def parameters(self) -> dict:
        return {"selector_width": self.selector_width}


class ChannelStatusSignature(ValueSignature):
    """Per-VC state of an output channel, as seen by the channel: one bit per VC
    of the network's ``num_vcs`` (VCs the channel does not carry read 0).

    ``free``: no packet owns the output VC; ``has_credit``: the downstream
    buffer has room for a flit; ``drained``: it is empty.
    """

    def __init__(self, num_vcs: int):
        self.num_vcs = _positive("num_vcs", num_vcs)
        super().__init__({"free": Out(num_vcs), "has_credit": Out(num_vcs), "drained": Out(num_vcs)})

    def parameters(self) -> dict:
        return {"num_vcs": self.num_vcs}


class ChannelGrantSignature(ValueSignature):
    """What moves through one output channel this cycle, as seen by the allocator.

    ``unicast`` / ``multicast``: one bit per input VC (``num_inputs``), at
    most one set in both together: that input's unicast or multicast leg
    crosses.  ``vc``: the output VC (of ``num_vcs``) it goes out on.
    """

    def __init__(self, num_inputs: int, num_vcs: int):
        self.num_inputs = _positive("num_inputs", num_inputs)
        self.num_vcs = _positive("num_vcs", num_vcs)
        super().__init__({"unicast": Out(num_inputs), "multicast": Out(num_inputs),
                          "vc": Out(range(num_vcs))})

    def parameters(self) -> dict:
        return {"num_inputs": self.num_inputs, "num_vcs": self.num_vcs}


class SwitchAllocator(wiring.Component):
    """Unicast and multicast switch allocation of one router, with the output-VC choice.

    Parameters
    ----------
    plan : VirtualChannelPlan
        Inputs, output channels and VC tables of the router.

    Ports
    -----
    request : In(AllocationRequestSignature(selector_width)).array(len(plan.inputs))
        One per input VC, in ``plan.inputs`` order; ``transfer`` goes back.
    status : In(ChannelStatusSignature(num_vcs)).array(len(plan.channels))
        The output channels' VC state, in ``plan.channels`` order.
    grant : Out(ChannelGrantSignature(len(plan.inputs), num_vcs)).array(len(plan.channels))
        Per output channel: the crossing leg and its VC.
    """

    def __init__(self, plan):
        self.plan = plan
        num_inputs, num_channels = len(plan.inputs), len(plan.channels)
        # Output VCs per input, output port and lane kind, one per selector value.
        self.output_vcs = {(i, out_port, kind): plan.output_vcs(i, out_port, plan.lane_of(i, kind))
                           for i in range(num_inputs) for out_port in ALL_PORTS
                           for kind in (UNICAST, MULTICAST)}
        super().__init__({
            "request": In(AllocationRequestSignature(plan.selector_width)).array(num_inputs),
            "status": In(ChannelStatusSignature(plan.num_vcs)).array(num_channels),
            "grant": Out(ChannelGrantSignature(num_inputs, plan.num_vcs)).array(num_channels),
        })

    def _may_take(self, input_index: int, out_port: int, vcs_by_selector: list, multicast: bool):
        """May the input's front flit take ``out_port`` now, on the VC its selector picks?

        * body flit: a credit;
        * unicast head: the output VC free (wormhole) and a credit;
        * multicast head (virtual cut-through): the output VC free and the
          downstream buffer empty -- the whole packet (at most one buffer)
          then fits; an ejection buffer needs only a credit.
        """
        request = self.request[input_index]
        allowed = []
        for vc in vcs_by_selector:
            status = self.status[self.plan.channel_index(out_port, vc)]
            has_credit, free = status.has_credit[vc], status.free[vc]
            if multicast:
                head = free & (status.drained[vc] if out_port != LOCAL else has_credit)
            else:
                head = free & has_credit
            allowed.append(Mux(request.at_head, head, has_credit))
        allowed = Cat(*allowed)
        return allowed.bit_select(request.vc_selector, 1) if len(vcs_by_selector) > 1 else allowed[0]

    def _selected_vc(self, input_index: int, vcs_by_selector: list):
        """The output VC the input's selector picks from ``vcs_by_selector``."""
        if len(vcs_by_selector) == 1:
            return vcs_by_selector[0]
        num_vcs = self.plan.num_vcs
        return (Cat(*[Const(vc, range(num_vcs)) for vc in vcs_by_selector])
                .word_select(self.request[input_index].vc_selector, Shape.cast(range(num_vcs)).width))

    def _unicast_arbiters(self, m, multicast_on):
        """One round-robin arbiter per output channel over the unicast inputs
        that want it and may go.  Returns the arbiters and, per (input, output
        port), "its arbiter picked it and no multicast took the channel"."""
        plan, request = self.plan, self.request
        arbiters, won = {}, {}
        for k, channel in enumerate(plan.channels):
            out_port, name = channel[0], plan.channel_name(channel)
            users = plan.unicast_users(channel)
            requests = []
            for i in users:
                may_take = Signal(name=f"unicast_may_take_{i}_{name}")
                m.d.comb += may_take.eq(self._may_take(i, out_port, self.output_vcs[(i, out_port, UNICAST)],
                                                       False))
                requests.append(request[i].wants & ~request[i].multicast & request[i].route[out_port]
                                & may_take)
            arbiter = m.submodules[f"unicast_arbiter_{name}"] = RoundRobin(len(users), with_advance=True)
            m.d.comb += arbiter.requests.eq(Cat(*requests))
            arbiters[k] = arbiter
            for bit, i in enumerate(users):
                # The multicast turn overrides the arbiter's pick (which keeps its turn).
                won[(i, out_port)] = Signal(name=f"unicast_won_{i}_{name}")
                m.d.comb += won[(i, out_port)].eq(arbiter.grant[bit] & ~multicast_on[k])
        return arbiters, won

    def _multicast_pick(self, m, multicast_on):
        """One multicast per router per cycle, chosen round robin among those
        that can move every branch now; it takes all its outputs at once
        (synchronous replication) and so always moves when chosen.  Returns
        {input: chosen} and drives ``multicast_on`` per channel."""
        plan, request = self.plan, self.request
        multicast_inputs = plan.multicast_inputs()
        ready = []
        for i in multicast_inputs:
            branch_ready = []
            for out_port in ALL_PORTS:
                if i in plan.reachable_inputs(out_port):
                    may_take = Signal(name=f"multicast_may_take_{i}_{out_port}")
                    m.d.comb += may_take.eq(~request[i].route[out_port] | self._may_take(
                        i, out_port, self.output_vcs[(i, out_port, MULTICAST)], True))
                    branch_ready.append(may_take)
                else:
                    branch_ready.append(~request[i].route[out_port])
            all_ready = Signal(name=f"multicast_ready_{i}")
            m.d.comb += all_ready.eq(request[i].wants & request[i].multicast & Cat(*branch_ready).all())
            ready.append(all_ready)
        arbiter = m.submodules.multicast_arbiter = RoundRobin(len(multicast_inputs))
        m.d.comb += arbiter.requests.eq(Cat(*ready))
        chosen = {i: arbiter.grant[bit] for bit, i in enumerate(multicast_inputs)}
        for k, channel in enumerate(plan.channels):
            inputs = plan.channel_inputs(channel)
            terms = [chosen[i] & request[i].route[channel[0]] for i in multicast_inputs if i in inputs]
            m.d.comb += multicast_on[k].eq(Cat(*terms).any() if terms else 0)
        return chosen

    def _transfers(self, m, unicast_won, multicast_chosen):
        """Which front flits leave their buffers this cycle."""
        plan, request = self.plan, self.request
        transfer = []
        for i in range(len(plan.inputs)):
            if plan.carries_unicast[i]:
                # A unicast has exactly one output.
                won_unicast = Cat(*[request[i].route[out_port] & unicast_won[(i, out_port)]
                                    for out_port in ALL_PORTS if (i, out_port) in unicast_won]).any()
            else:
                won_unicast = Const(0)
            won_multicast = multicast_chosen.get(i, Const(0))
            # A packet with an empty route (a bad packet at the injecting
            # router, or a multicast whose only target is its excluded sender)
            # is consumed without using any output.
            dropped = request[i].route == 0
            transfer.append(Signal(name=f"transfer_{i}"))
            m.d.comb += [transfer[i].eq(request[i].wants
                                        & (dropped | Mux(request[i].multicast, won_multicast, won_unicast))),
                         request[i].transfer.eq(transfer[i])]
        return transfer

    def _grants(self, m, unicast_arbiters, unicast_won, multicast_chosen, transfer):
        """The crossing leg of each channel and its output VC; a unicast
        arbiter's priority moves when its pick crossed."""
        plan, request = self.plan, self.request
        for k, channel in enumerate(plan.channels):
            out_port, name = channel[0], plan.channel_name(channel)
            grant = self.grant[k]
            unicast_sent, vc_terms = [], []
            for i, kind in plan.legs(channel):
                crosses = Signal(name=f"crosses_{kind}_{i}_{name}")
                if kind == UNICAST:
                    m.d.comb += [crosses.eq(unicast_won[(i, out_port)] & transfer[i]),
                                 grant.unicast[i].eq(crosses)]
                    unicast_sent.append(crosses)
                else:
                    m.d.comb += [crosses.eq(multicast_chosen[i] & request[i].route[out_port]),
                                 grant.multicast[i].eq(crosses)]
                vc_terms.append(Mux(crosses, self._selected_vc(i, self.output_vcs[(i, out_port, kind)]), 0))
            m.d.comb += [unicast_arbiters[k].advance.eq(Cat(*unicast_sent).any() if unicast_sent else 0),
                         grant.vc.eq(or_all(vc_terms))]

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        # multicast_on[k]: the chosen multicast takes channel k this cycle.
        multicast_on = {k: Signal(name=f"multicast_on_{plan.channel_name(channel)}")
                        for k, channel in enumerate(plan.channels)}
        unicast_arbiters, unicast_won = self._unicast_arbiters(m, multicast_on)
        multicast_chosen = self._multicast_pick(m, multicast_on)
        transfer = self._transfers(m, unicast_won, multicast_chosen)
        self._grants(m, unicast_arbiters, unicast_won, multicast_chosen, transfer)
        return m
