"""The router's ports, virtual channels and crossbar legs, worked out in Python at elaboration.

Virtual channel ``lane * vcs_per_class + set * dateline_vcs + dateline``;
lanes are unicast requests, unicast responses and multicasts (always
requests).  ``dateline`` is the dateline bit of the dimension being
travelled on a torus (``dateline_vcs`` = 2; on a mesh ``dateline_vcs`` = 1
and the bit is always 0): a packet that will cross the wrap link of the ring
it enters starts on 0 and moves to 1 on the wrap link; one that will not
cross may use either, and a flow hash picks which, so the two dateline VCs
share the ring's load.  VCs beyond what the dateline needs form ``sets``: a
packet keeps the set the injecting router gave it, so each set is a separate
copy of the lane's network.  A packet's *VC selector* is (set, entry dateline
bit); at every router it picks one of the output VCs listed here.

Everything here is a constant of the router's position and the
configuration; the HDL units (:mod:`~tessera.hw.noc.route_computation`,
:mod:`~tessera.hw.noc.allocator`, ...) read it.
"""

from __future__ import annotations

from tessera.hw.noc.layout import Port

__all__ = ["NORTH", "EAST", "SOUTH", "WEST", "LOCAL", "DIRECTIONS", "ALL_PORTS", "REACHABLE",
           "UNICAST", "MULTICAST", "VirtualChannelPlan"]

NORTH, EAST, SOUTH, WEST, LOCAL = (int(p) for p in Port)
DIRECTIONS = (NORTH, EAST, SOUTH, WEST)
ALL_PORTS = DIRECTIONS + (LOCAL,)
#: Output ports a packet arriving on each input port can take: X then Y then
#: local, never back the way it came, never from Y into X.
REACHABLE = {LOCAL: (NORTH, EAST, SOUTH, WEST, LOCAL), WEST: (EAST, NORTH, SOUTH, LOCAL),
             EAST: (WEST, NORTH, SOUTH, LOCAL), NORTH: (SOUTH, LOCAL), SOUTH: (NORTH, LOCAL)}

#: The two kinds of crossbar leg: an input's unicast lane or its multicast lane.
UNICAST, MULTICAST = "unicast", "multicast"


class VirtualChannelPlan:
    """Inputs, output channels and VC choices of the router at (``x``, ``y``) of ``noc``.

    * ``inputs``: the input VCs as (port, vc); a link port has one per VC,
      the local port one per message class (numbered by its class's first VC).
    * ``channels``: the output channels as (port, class or ``None``): the
      four links, then one ejection channel per class (each class's
      ejection FIFO has its own crossbar output).
    """

    def __init__(self, noc, x: int, y: int):
        self.noc, self.x, self.y = noc, x, y
        self.torus = noc.topology == "torus"
        self.num_vcs = noc.num_vcs
        self.vcs_per_class = noc.vcs_per_class
        self.num_classes = noc.num_classes
        self.multicast_lane = noc.mcast_lane
        self.dateline_vcs = 2 if self.torus else 1
        usable_sets = max(1, self.vcs_per_class // self.dateline_vcs)
        self.set_bits = usable_sets.bit_length() - 1      # largest power of two <= usable_sets
        self.sets = 1 << self.set_bits
        # The selector is (set, entry dateline bit); the bit exists on a torus only.
        self.selector_bits = self.set_bits + (1 if self.torus else 0)
        self.selector_width = max(1, self.selector_bits)   # as a signal
        self.selectors = 1 << self.selector_bits

        vcs_per_class = self.vcs_per_class
        self.inputs = ([(port, vc) for port in DIRECTIONS for vc in range(self.num_vcs)]
                       + [(LOCAL, cls * vcs_per_class) for cls in range(self.num_classes)])
        # Multicasts are requests: their lane belongs to class 0.
        self.input_class = [0 if vc // vcs_per_class == self.multicast_lane else vc // vcs_per_class
                            for _, vc in self.inputs]
        # A link VC belongs to one lane; the local class-0 input carries unicast
        # requests and multicasts.
        self.carries_unicast = [port == LOCAL or vc // vcs_per_class != self.multicast_lane
                                for port, vc in self.inputs]
        self.carries_multicast = [(port == LOCAL and vc == 0)
                                  or (port != LOCAL and vc // vcs_per_class == self.multicast_lane)
                                  for port, vc in self.inputs]
        self.channels = ([(port, None) for port in DIRECTIONS]
                         + [(LOCAL, cls) for cls in range(self.num_classes)])

    # -- output channels ------------------------------------------------------

    def channel_name(self, channel) -> str:
        port, cls = channel
        return Port(port).name.lower() if cls is None else f"eject{cls}"

    def channel_vcs(self, channel) -> list:
        """The VCs an output channel carries: all of them on a link, its class's first on ejection."""
        port, cls = channel
        return list(range(self.num_vcs)) if cls is None else [cls * self.vcs_per_class]

    def channel_index(self, out_port: int, vc: int) -> int:
        """Index in ``channels`` of the channel that carries ``vc`` out of ``out_port``."""
        if out_port != LOCAL:
            return DIRECTIONS.index(out_port)
        return len(DIRECTIONS) + vc // self.vcs_per_class

    def reachable_inputs(self, out_port: int) -> list:
        """Inputs that can ever use ``out_port`` (XY order, no U-turns): pruning the
        impossible pairs shrinks arbiters and the crossbar."""
        return [i for i, (port, _) in enumerate(self.inputs) if out_port in REACHABLE[port]]

    def channel_inputs(self, channel) -> list:
        """Inputs that can use an output channel (an ejection channel: those of its class)."""
        out_port, cls = channel
        return [i for i in self.reachable_inputs(out_port) if cls is None or self.input_class[i] == cls]

    def unicast_users(self, channel) -> list:
        return [i for i in self.channel_inputs(channel) if self.carries_unicast[i]]

    def multicast_inputs(self) -> list:
        return [i for i in range(len(self.inputs)) if self.carries_multicast[i]]

    def legs(self, channel) -> list:
        """The crossbar legs of an output channel as (input, lane kind): its
        unicast users, then the multicast inputs that can reach it."""
        inputs = self.channel_inputs(channel)
        return ([(i, UNICAST) for i in self.unicast_users(channel)]
                + [(i, MULTICAST) for i in self.multicast_inputs() if i in inputs])

    # -- VC choice ------------------------------------------------------------

    def crosses_dateline(self, out_port: int) -> bool:
        """Does ``out_port`` of this router lead over the wrap link of its ring?"""
        if not self.torus:
            return False
        return {EAST: self.x == self.noc.width - 1, WEST: self.x == 0,
                SOUTH: self.y == self.noc.height - 1, NORTH: self.y == 0}[out_port]

    def set_of_vc(self, vc: int) -> int:
        """The VC set a link VC belongs to (a packet keeps it hop after hop)."""
        return ((vc % self.vcs_per_class) // self.dateline_vcs) % self.sets

    def output_vc(self, input_index: int, out_port: int, lane: int, vc_set: int,
                  entry_dateline: bool) -> int:
        """Output VC of a packet of ``lane`` from input ``input_index`` leaving on
        ``out_port``, in set ``vc_set``, with entry dateline bit ``entry_dateline``."""
        if out_port == LOCAL:
            # The ejection FIFO of the lane's class; multicasts eject as requests.
            return 0 if lane == self.multicast_lane else lane * self.vcs_per_class
        in_port, in_vc = self.inputs[input_index]
        horizontal = (EAST, WEST)
        same_dimension = in_port != LOCAL and ((in_port in horizontal) == (out_port in horizontal))
        crossed = in_port != LOCAL and (in_vc % self.vcs_per_class) % self.dateline_vcs != 0
        dateline = (crossed if same_dimension else entry_dateline) or self.crosses_dateline(out_port)
        return (lane * self.vcs_per_class + vc_set * self.dateline_vcs
                + (1 if dateline and self.dateline_vcs > 1 else 0))

    def output_vcs(self, input_index: int, out_port: int, lane: int) -> list:
        """The output VC for each value of the packet's VC selector.  A link
        input keeps the set of its VC; the local input takes the selector's."""
        in_port, in_vc = self.inputs[input_index]

        def selected_set(selector):
            return self.set_of_vc(in_vc) if in_port != LOCAL else selector % self.sets
        return [self.output_vc(input_index, out_port, lane, selected_set(selector),
                               bool(selector >> self.set_bits))
                for selector in range(self.selectors)]

    def lane_of(self, input_index: int, kind: str) -> int:
        """The lane a leg of ``kind`` (UNICAST or MULTICAST) of an input uses."""
        return self.multicast_lane if kind == MULTICAST else self.input_class[input_index]
