"""FIFO with a combinational head: the input buffers of the router and the NoC testbench's queues."""

from __future__ import annotations

from amaranth.hdl import Array, Module, Mux, Shape, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["VcBuffer", "REGISTER_DEPTH_LIMIT"]

#: Deepest buffer held in flip-flops rather than a memory.  An ECP5 LUT RAM (DPR16X4) is 16
#: words deep and takes six LUT4 sites for four bits however few words are used (1.5 sites a
#: bit); flip-flops need one LUT4 a bit for the head multiplexer at depth 2, two at depth 3 or
#: 4.  An 80-bit buffer (synth_ecp5): depth 2, 86 LUT4 sites in registers against 124 as LUT
#: RAM; depth 3, 169 against 126.
REGISTER_DEPTH_LIMIT = 2
STORAGES = ("auto", "registers", "memory")


class VcBuffer(wiring.Component):
    """First-in first-out buffer whose oldest entry is visible without a read cycle.

    One cycle from ``push`` to visibility at the head.  The storage is one
    memory with a combinational read port, which maps to LUT RAM, or for a
    depth of at most :data:`REGISTER_DEPTH_LIMIT` one register per entry and
    a multiplexer; the ports behave the same cycle by cycle either way.

    Parameters
    ----------
    shape : shape-castable
        What one entry holds (a plain width or a ``lib.data`` layout).
    depth : int
        Number of entries, at least 1.
    storage : str
        ``"auto"`` (registers up to :data:`REGISTER_DEPTH_LIMIT` entries, else
        a memory), ``"registers"`` or ``"memory"``.

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

    def __init__(self, shape, depth: int, storage: str = "auto"):
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise ValueError(f"buffer depth must be a positive integer, got {depth!r}")
        if storage not in STORAGES:
            raise ValueError(f"buffer storage must be one of {STORAGES}, got {storage!r}")
        self.shape = shape
        self.depth = depth
        if storage == "auto":
            storage = "registers" if depth <= REGISTER_DEPTH_LIMIT else "memory"
        self.storage = storage
        super().__init__({
            "push": In(1),
            "push_data": In(shape),
            "pop": In(1),
            "data": Out(shape),
            "count": Out(range(depth + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        write_pointer = Signal(range(self.depth))
        read_pointer = Signal(range(self.depth))
        if self.storage == "memory":
            m.submodules.mem = mem = Memory(shape=self.shape, depth=self.depth, init=[])
            write = mem.write_port()
            read = mem.read_port(domain="comb")
            m.d.comb += [write.addr.eq(write_pointer), write.data.eq(self.push_data), write.en.eq(self.push),
                         read.addr.eq(read_pointer), self.data.eq(read.data)]
        else:
            # Plain bits: the entries of a layout shape are stored and selected whole.
            width = Shape.cast(self.shape).width
            entries = Array(Signal(width, name=f"entry{k}") for k in range(self.depth))
            with m.If(self.push):
                m.d.sync += entries[write_pointer].eq(Value.cast(self.push_data))
            m.d.comb += self.data.eq(entries[read_pointer])
        with m.If(self.push):
            m.d.sync += write_pointer.eq(Mux(write_pointer == self.depth - 1, 0, write_pointer + 1))
        with m.If(self.pop):
            m.d.sync += read_pointer.eq(Mux(read_pointer == self.depth - 1, 0, read_pointer + 1))
        m.d.sync += self.count.eq(self.count + self.push - self.pop)
        return m
