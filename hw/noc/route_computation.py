"""Route computation: the output ports of a head flit, the bad-packet checks and the VC selector.

Unicast: dimension order, X then Y then local.  On a mesh a packet goes east
if its destination column is larger, west if smaller, then south/north the
same way.  On a torus it goes the shorter way round; a tie (exactly half the
ring) goes east/south from even coordinates and west/north from odd ones.

Multicast: an XY tree over the rectangle ``dst_x..dst_x1`` x ``dst_y..dst_y1``
(wrapping on a torus when the first column or row is above the last).  At
the source the packet sweeps the row, forking east and west when the source
column is inside the span, else going the shorter way; routers of the sweep
inside the span fork into Y the same way and deliver locally inside the
rectangle; a router reached from the west continues east to the span's last
column, and likewise for the other directions.

Bad packets are caught at the injecting router only (see :class:`RouteComputation`).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.layout import HEADER_ROUTING_FIELDS, NocFormat
from tessera.hw.noc.vc_plan import ALL_PORTS, DIRECTIONS, EAST, LOCAL, NORTH, SOUTH, WEST

__all__ = ["RouteComputation", "routing_header_layout"]


def routing_header_layout(noc) -> data.StructLayout:
    """The header fields a router reads; they lead the header, so they are the low bits of flit 0."""
    return data.StructLayout({name: width for name, width in NocFormat(noc).fields
                              if name in HEADER_ROUTING_FIELDS})


def _hops_forward(position: int, target, ring_size: int):
    """(target - position) mod ring_size for a constant ``position``: hops going east/south."""
    return Mux(target >= position, target - position, target + (ring_size - position))


def _hops_backward(position: int, target, ring_size: int):
    """(position - target) mod ring_size: hops going west/north."""
    return Mux(target <= position, position - target, position + ring_size - target)


def _in_span(position: int, first, last, torus: bool):
    """``position`` in first..last; on a torus a span with first > last wraps around the ring."""
    inside = (first <= position) & (position <= last)
    if torus:
        return Mux(first <= last, inside, (position >= first) | (position <= last))
    return inside


def _any(terms):
    return Cat(*terms).any() if terms else Const(0, 1)


class RouteComputation(wiring.Component):
    """Routes the head flit arriving on one input port of the router at (``x``, ``y``).

    Combinational.  The router computes a head's route once per input port as
    the flit arrives and stores it beside the flit in the input buffer.

    Parameters
    ----------
    plan : VirtualChannelPlan
        The router's position, configuration and VC layout.
    port : int
        The input port (a :class:`~tessera.hw.noc.layout.Port`).
    injection_class : int
        For the local port only: the message class of the injection stream.

    Ports
    -----
    header : In(routing_header_layout(noc))
        The routing fields of the flit (meaningful when it is a head).
    route : Out(5)
        One bit per output port (north, east, south, west, local) the packet
        takes; one bit for a unicast, a set of branches for a multicast, none
        for a bad packet or a multicast whose only target is its excluded
        sender.
    bad : Out(1)
        Local port only (always 0 on a link): the packet is refused --
        destination or rectangle corner off the grid, rectangle with
        first > last on a mesh, multicast longer than one input buffer or on
        the response class, source not this router, class field not the
        injection stream's, length above ``max_payload_bytes``.
    entry_dateline : Out(1)
        The dateline VC the packet takes in the dimension it enters here: 1
        only on a torus, for a unicast that will not cross that dimension's
        wrap link and whose flow hash picks the second dateline VC.
    flow_set : Out(max(1, plan.set_bits)), local port only
        The VC set the injecting router gives the packet: low bits of the flow
        hash ``src_x ^ src_y ^ dst_x ^ dst_y`` for a unicast, of
        ``dst_x ^ dst_y`` (the rectangle's corner) for a multicast.
    """

    def __init__(self, plan, port: int, injection_class: int = 0):
        if port not in ALL_PORTS:
            raise ValueError(f"router port must be one of {ALL_PORTS}, got {port!r}")
        if not (isinstance(injection_class, int) and 0 <= injection_class < plan.num_classes):
            raise ValueError(f"injection class must be in 0..{plan.num_classes - 1}, "
                             f"got {injection_class!r}")
        self.plan = plan
        self.port = port
        self.injection_class = injection_class
        members = {
            "header": In(routing_header_layout(plan.noc)),
            "route": Out(len(ALL_PORTS)),
            "bad": Out(1),
            "entry_dateline": Out(1),
        }
        if port == LOCAL:
            members["flow_set"] = Out(max(1, plan.set_bits))
        super().__init__(members)

    def _flow_hash(self):
        """Low ``selector_bits`` bits of the per-flow hash: the set, then the entry dateline choice."""
        noc, header = self.plan.noc, self.header
        flow = header.src_x ^ header.src_y ^ header.dst_x ^ header.dst_y
        width = max(noc.x_bits, noc.y_bits, 1)
        bits = [flow[k % width] for k in range(self.plan.selector_bits)]
        return Cat(*bits) if bits else Const(0, 1)

    def _unicast_route(self, m):
        plan, header = self.plan, self.header
        x, y, width, height = plan.x, plan.y, plan.noc.width, plan.noc.height
        if plan.torus:
            hops_east = _hops_forward(x, header.dst_x, width)
            east = (hops_east * 2 < width) | ((hops_east * 2 == width) & (x % 2 == 0))
            hops_south = _hops_forward(y, header.dst_y, height)
            south = (hops_south * 2 < height) | ((hops_south * 2 == height) & (y % 2 == 0))
        else:
            east = header.dst_x > x
            south = header.dst_y > y
        route = [Signal(name=f"unicast_{port}") for port in ALL_PORTS]
        with m.If(header.dst_x != x):
            m.d.comb += [route[EAST].eq(east), route[WEST].eq(~east)]
        with m.Elif(header.dst_y != y):
            m.d.comb += [route[SOUTH].eq(south), route[NORTH].eq(~south)]
        with m.Else():
            m.d.comb += route[LOCAL].eq(1)
        return route

    def _multicast_route(self, m):
        plan, header, port = self.plan, self.header, self.port
        x, y, width, height, torus = plan.x, plan.y, plan.noc.width, plan.noc.height, plan.torus
        first_column, last_column = header.dst_x, header.dst_x1
        first_row, last_row = header.dst_y, header.dst_y1
        in_columns = _in_span(x, first_column, last_column, torus)
        in_rows = _in_span(y, first_row, last_row, torus)
        at_source = (header.src_x == x) & (header.src_y == y)
        deliver = in_columns & in_rows & ~(header.exclude_self & at_source)
        route = [Signal(name=f"multicast_{port}") for port in ALL_PORTS]
        if port in (LOCAL, EAST, WEST):  # X phase: in the source row
            if port == LOCAL:
                if torus:
                    sweep_east = (_hops_forward(x, last_column, width)
                                  <= _hops_backward(x, first_column, width))
                else:
                    sweep_east = x < first_column
                m.d.comb += [route[EAST].eq(Mux(in_columns, last_column != x, sweep_east)),
                             route[WEST].eq(Mux(in_columns, first_column != x, ~sweep_east))]
            elif port == WEST:  # arrived from the west: sweeping east up to the last column
                m.d.comb += route[EAST].eq(last_column != x)
            else:
                m.d.comb += route[WEST].eq(first_column != x)
            # Fork into Y at every column of the span.
            if torus:
                sweep_south = _hops_forward(y, last_row, height) <= _hops_backward(y, first_row, height)
            else:
                sweep_south = y < first_row
            m.d.comb += [
                route[SOUTH].eq(in_columns & Mux(in_rows, last_row != y, sweep_south)),
                route[NORTH].eq(in_columns & Mux(in_rows, first_row != y, ~sweep_south)),
                route[LOCAL].eq(deliver),
            ]
        elif port == NORTH:  # arrived from the north: sweeping south up to the last row
            m.d.comb += [route[SOUTH].eq(last_row != y), route[LOCAL].eq(deliver)]
        else:  # arrived from the south
            m.d.comb += [route[NORTH].eq(first_row != y), route[LOCAL].eq(deliver)]
        return route

    def _bad_packet(self):
        """The injection checks (local port only)."""
        plan, header, noc = self.plan, self.header, self.plan.noc
        width, height = noc.width, noc.height
        checks = [header.src_x != plan.x, header.src_y != plan.y,
                  header.length > noc.max_payload_bytes, header.cls != self.injection_class]
        if self.injection_class != 0:
            checks.append(header.mcast)   # multicasts are requests (class 0)
        unicast_bad = []
        if (1 << noc.x_bits) > width:
            unicast_bad.append(header.dst_x >= width)
        if (1 << noc.y_bits) > height:
            unicast_bad.append(header.dst_y >= height)
        multicast_bad = [header.length > NocFormat(noc).max_multicast_length(),
                         header.dst_x >= width, header.dst_x1 >= width,
                         header.dst_y >= height, header.dst_y1 >= height]
        if not plan.torus:
            multicast_bad += [header.dst_x > header.dst_x1, header.dst_y > header.dst_y1]
        return _any(checks) | Mux(header.mcast, _any(multicast_bad), _any(unicast_bad))

    def _entry_dateline(self):
        """The flow's entry dateline bit for the dimension it enters here (0 if
        it will cross that dimension's wrap link, if it stays in its
        dimension, for a multicast, or on a mesh)."""
        plan, header, port = self.plan, self.header, self.port
        if not plan.torus:
            return Const(0, 1)
        crosses = {EAST: header.dst_x < plan.x, WEST: header.dst_x > plan.x,
                   SOUTH: header.dst_y < plan.y, NORTH: header.dst_y > plan.y}
        horizontal = (EAST, WEST)
        entering = [out for out in DIRECTIONS
                    if port == LOCAL or (port in horizontal) != (out in horizontal)]
        terms = [self.route[out] & ~crosses[out] for out in entering]
        hash_picks_second = self._flow_hash()[plan.selector_bits - 1]
        return _any(terms) & hash_picks_second & ~header.mcast

    def elaborate(self, platform):
        m = Module()
        header = self.header
        unicast = self._unicast_route(m)
        multicast = self._multicast_route(m)
        if self.port == LOCAL:
            m.d.comb += self.bad.eq(self._bad_packet())
        m.d.comb += self.route.eq(Cat(*[~self.bad & Mux(header.mcast, multicast[out], unicast[out])
                                        for out in ALL_PORTS]))
        m.d.comb += self.entry_dateline.eq(self._entry_dateline())
        if self.port == LOCAL:
            m.d.comb += self.flow_set.eq(
                Mux(header.mcast, header.dst_x ^ header.dst_y, self._flow_hash())[:self.plan.set_bits])
        return m
