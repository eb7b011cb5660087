"""Small building blocks shared by the blocks: an OR tree and a round-robin arbiter."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["or_all", "RoundRobin"]


def or_all(values):
    """Bitwise OR of ``values`` as a balanced tree (``Const(0, 1)`` for none).

    Used for AND-OR multiplexers: each term is already gated by its select,
    so the OR of all terms is the selected value.
    """
    values = list(values)
    if not values:
        return Const(0, 1)
    while len(values) > 1:
        values = [values[i] | values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


class RoundRobin(wiring.Component):
    """Round-robin arbiter over ``count`` requesters.

    Parameters
    ----------
    count : int
        Number of requesters, at least 1.
    with_advance : bool
        Without it (the default) the priority moves past the granted
        requester in every cycle with a grant.  With it the arbiter gets an
        ``advance`` input and the priority moves only in cycles where
        ``advance`` is high (and there is a grant): a requester that was
        granted but could not use the grant (its output was taken by someone
        else this cycle) keeps its turn.

    Ports
    -----
    requests : In(count)
        One bit per requester.
    advance : In(1), only with ``with_advance``
        The grant of this cycle was used: move the priority past it.  Without
        a grant it does nothing.
    grant : Out(count)
        One-hot: the first requester after the last one served, in cyclic
        order (after reset requester 0 comes first); zero when nobody
        requests.  Combinational from ``requests``.
    grant_index : Out(range(max(2, count)))
        The index of the granted requester (0 when there is no grant).

    A requester that keeps requesting is granted within ``count`` cycles
    that move the priority: each one moves the priority past at least one
    requester ahead of it.
    """

    def __init__(self, count: int, *, with_advance: bool = False):
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"RoundRobin count must be a positive integer, got {count!r}")
        if not isinstance(with_advance, bool):
            raise TypeError(f"RoundRobin with_advance must be a bool, got {with_advance!r}")
        self.count = count
        self.with_advance = with_advance
        members = {"requests": In(count), "grant": Out(count),
                   "grant_index": Out(range(max(2, count)))}
        if with_advance:
            members["advance"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        count = self.count
        # Requesters after the last one served have priority; all of them
        # after reset.  The first requester of that group wins, else the
        # first requester of all (the search wraps around).
        after_last_served = Signal(count, init=(1 << count) - 1)
        requests_after = Signal(count)
        candidates = Signal(count)
        served_and_before = Signal(count)
        m.d.comb += [
            requests_after.eq(self.requests & after_last_served),
            candidates.eq(Mux(requests_after.any(), requests_after, self.requests)),
            # The lowest set bit of the candidates.
            self.grant.eq(candidates & (~candidates + 1)),
            served_and_before.eq(self.grant | (self.grant - 1)),
            self.grant_index.eq(or_all(Mux(self.grant[k], k, 0) for k in range(count))),
        ]
        move = self.grant.any()
        if self.with_advance:
            move &= self.advance
        with m.If(move):
            m.d.sync += after_last_served.eq(~served_and_before)
        return m
