"""A synchronous valid/ready FIFO between two ``lib.stream`` interfaces.

Used wherever a block needs elastic buffering (NoC input buffers, NIU command
queues, engine command queues).  Storage is a ``lib.memory.Memory`` with a
registered (transparent-off) read port, so on an FPGA it infers block RAM for
deep FIFOs and LUT RAM for shallow ones.

Timing: a word pushed at cycle t is offered on ``o`` at t+2 (one cycle to
commit the write, one for the synchronous read), and the FIFO sustains one
push and one pop every cycle when neither side stalls.  A one-entry skid
register catches a read that lands while ``o`` is stalled, so ``o.payload``
is stable while ``o.valid`` is high and ``o.ready`` low.
"""

from amaranth.hdl import Elaboratable, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["StreamFifo", "build_stream_fifo"]


class StreamFifo(wiring.Component):
    """FIFO of ``depth`` words of ``width`` bits.

    Ports: ``i`` (stream in), ``o`` (stream out), ``level`` (words held,
    including the one in the output register).
    """

    def __init__(self, width: int, depth: int):
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"FIFO width must be a positive integer, got {width!r}")
        if not isinstance(depth, int) or depth < 2 or depth & (depth - 1):
            raise ValueError(f"FIFO depth must be a power of two of at least 2, got {depth!r}")
        self.width = width
        self.depth = depth
        super().__init__({
            "i": In(stream.Signature(unsigned(width))),
            "o": Out(stream.Signature(unsigned(width))),
            "level": Out(range(depth + 2)),
        })

    def elaborate(self, platform):
        m = Module()
        # The memory holds `depth` words; one more can sit in the output
        # register, so total capacity is depth + 1.
        m.submodules.storage = storage = Memory(shape=unsigned(self.width), depth=self.depth, init=[])
        wr = storage.write_port()
        rd = storage.read_port(domain="sync", transparent_for=())

        ptr_bits = (self.depth - 1).bit_length()
        wr_ptr = Signal(ptr_bits + 1)
        rd_ptr = Signal(ptr_bits + 1)
        mem_count = Signal(range(self.depth + 1))
        out_valid = Signal()
        # A read issued last cycle lands in rd.data this cycle.
        read_pending = Signal()
        skid = Signal(self.width)
        skid_valid = Signal()

        push = Signal()
        m.d.comb += [
            self.i.ready.eq(mem_count < self.depth),
            push.eq(self.i.valid & self.i.ready),
            wr.addr.eq(wr_ptr[:ptr_bits]),
            wr.data.eq(self.i.payload),
            wr.en.eq(push),
        ]

        # Output stage: a value is presented either from the skid register or
        # straight from the memory read data.
        pop = Signal()
        m.d.comb += [
            self.o.valid.eq(skid_valid | read_pending),
            pop.eq(self.o.valid & self.o.ready),
        ]
        with m.If(skid_valid):
            m.d.comb += self.o.payload.eq(skid)
        with m.Else():
            m.d.comb += self.o.payload.eq(rd.data)

        # Issue a read when the output stage will have room next cycle.
        # Occupancy of the output stage after this cycle:
        stage_after = Signal(range(3))
        m.d.comb += stage_after.eq(skid_valid + read_pending - pop)
        issue = Signal()
        m.d.comb += [
            issue.eq((mem_count != 0) & (stage_after == 0)),
            rd.addr.eq(rd_ptr[:ptr_bits]),
            rd.en.eq(issue),
        ]
        # When a pending read arrives while the output is stalled, catch it.
        with m.If(read_pending & ~skid_valid & ~pop):
            m.d.sync += [skid.eq(rd.data), skid_valid.eq(1)]
        with m.Elif(skid_valid & pop):
            m.d.sync += skid_valid.eq(0)
        m.d.sync += read_pending.eq(issue)

        with m.If(push):
            m.d.sync += wr_ptr.eq(wr_ptr + 1)
        with m.If(issue):
            m.d.sync += rd_ptr.eq(rd_ptr + 1)
        m.d.sync += mem_count.eq(mem_count + push - issue)
        m.d.comb += self.level.eq(mem_count + skid_valid + read_pending)
        return m


def build_stream_fifo(cfg, width: int = 64, depth: int = 16) -> StreamFifo:
    """Block factory: the FIFO does not depend on the chip configuration."""
    return StreamFifo(width=width, depth=depth)
