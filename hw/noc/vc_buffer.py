"""FIFO with a combinational head: the input buffers of the router and the NoC testbench's queues."""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["VcBuffer"]


class VcBuffer(wiring.Component):
    """First-in first-out buffer whose oldest entry is visible without a read cycle.

    One cycle from ``push`` to visibility at the head; the storage is one
    memory with a combinational read port, which maps to LUT RAM.

    Parameters
    ----------
    shape : shape-castable
        What one entry holds (a plain width or a ``lib.data`` layout).
    depth : int
        Number of entries, at least 1.

    Ports
    -----
    push : In(1)
        Write ``push_data`` at the tail this cycle.  The writer must not push
        into a full buffer (``count == depth``).
    push_data : In(shape)
    pop : In(1)
        Drop the head entry this cycle.  The reader must not pop an empty
        buffer.
    data : Out(shape)
        The head entry; valid while ``count != 0``.
    count : Out(range(depth + 1))
        Entries held (registered: a push shows up one cycle later).
    """

    def __init__(self, shape, depth: int):
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise ValueError(f"buffer depth must be a positive integer, got {depth!r}")
        self.shape = shape
        self.depth = depth
        super().__init__({
            "push": In(1),
            "push_data": In(shape),
            "pop": In(1),
            "data": Out(shape),
            "count": Out(range(depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=self.shape, depth=self.depth, init=[])
        write = mem.write_port()
        read = mem.read_port(domain="comb")
        write_pointer = Signal(range(self.depth))
        read_pointer = Signal(range(self.depth))
        m.d.comb += [write.addr.eq(write_pointer), write.data.eq(self.push_data), write.en.eq(self.push),
                     read.addr.eq(read_pointer), self.data.eq(read.data)]
        with m.If(self.push):
            m.d.sync += write_pointer.eq(Mux(write_pointer == self.depth - 1, 0, write_pointer + 1))
        with m.If(self.pop):
            m.d.sync += read_pointer.eq(Mux(read_pointer == self.depth - 1, 0, read_pointer + 1))
        m.d.sync += self.count.eq(self.count + self.push - self.pop)
        return m
