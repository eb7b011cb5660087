"""The FPU tile engine: unpacker, math (lane array + SFPU) and packer, with their register files.

Three command streams, one per TRISC thread (unpack, math, pack), each
behind a small FIFO.  The threads run concurrently and synchronise through
two semaphore pairs:

* Src slots (double-buffered SrcA+SrcB): the unpacker fills slot ``u`` and
  marks it valid with a command's ``push``; math operations wait for slot
  ``m`` to be valid and release it with ``pop``.
* Dst halves (double-buffered Dst): math writes half ``h`` and hands it to
  the packer with COMMIT; the packer reads its half and hands it back with
  a command's ``release``.

Memory side: two L1 requester ports (``unpack_l1``, ``pack_l1``) of
hw.tile.l1_port (bank-width data, byte mask, valid/ready, in-order
responses).  docs/engine.md has the full contract.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.config import TesseraConfig
from tessera.hw.engine.geometry import EngineGeometry
from tessera.hw.engine.math_unit import MathUnit
from tessera.hw.engine.packer import Packer
from tessera.hw.engine.unpacker import Unpacker
from tessera.hw.stream_fifo import StreamFifo
from tessera.hw.tile.l1_port import L1PortSignature

__all__ = ["Engine", "build_engine", "CMD_WIDTH"]

CMD_WIDTH = 64


class Engine(wiring.Component):
    def __init__(self, cfg: TesseraConfig, cmd_depth: int = 4):
        self.geo = EngineGeometry(cfg)
        if not isinstance(cmd_depth, int) or cmd_depth < 2 or cmd_depth & (cmd_depth - 1):
            raise ValueError(f"engine cmd_depth must be a power of two of at least 2, got {cmd_depth!r}")
        self.cmd_depth = cmd_depth
        super().__init__({
            "unpack_cmd": In(stream.Signature(unsigned(CMD_WIDTH))),
            "math_cmd": In(stream.Signature(unsigned(CMD_WIDTH))),
            "pack_cmd": In(stream.Signature(unsigned(CMD_WIDTH))),
            "unpack_l1": Out(L1PortSignature(cfg.l1)),
            "pack_l1": Out(L1PortSignature(cfg.l1)),
            #: Bit 0 unpack, 1 math, 2 pack: the thread has work queued or in flight.
            "busy": Out(3),
            "src_valid": Out(2),
            "dst_full": Out(2),
            #: High in every cycle the lane array issues a matmul step.
            "mm_issue": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        a_rd, a_wr, b_rd, b_wr = [], [], [], []
        for i in range(g.R):
            mem = Memory(shape=unsigned(32 * g.K), depth=2 * g.a_depth, init=[])
            m.submodules[f"srca{i}"] = mem
            a_wr.append(mem.write_port(granularity=32))
            a_rd.append(mem.read_port(domain="sync"))
        for k in range(g.K):
            mem = Memory(shape=unsigned(32 * g.C), depth=2 * g.b_depth, init=[])
            m.submodules[f"srcb{k}"] = mem
            b_wr.append(mem.write_port(granularity=32))
            b_rd.append(mem.read_port(domain="sync"))
        d_wr, d_rd, d_pk = [], [], []
        for i in range(g.R):
            mem = Memory(shape=unsigned(32 * g.C), depth=g.dst_tiles * g.tile_words, init=[])
            m.submodules[f"dst{i}"] = mem
            wr = mem.write_port(granularity=32)
            d_wr.append(wr)
            d_rd.append(mem.read_port(domain="sync", transparent_for=(wr,)))
            d_pk.append(mem.read_port(domain="sync"))

        m.submodules.unpacker = unpacker = Unpacker(g, a_wr, b_wr)
        m.submodules.math = math = MathUnit(g, a_rd, b_rd, d_rd, d_wr)
        m.submodules.packer = packer = Packer(g, d_pk)
        for name, unit in (("unpack", unpacker), ("math", math), ("pack", packer)):
            fifo = StreamFifo(CMD_WIDTH, self.cmd_depth)
            m.submodules[f"{name}_fifo"] = fifo
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_cmd")), fifo.i)
            m.d.comb += [unit.cmd.valid.eq(fifo.o.valid), unit.cmd.payload.eq(fifo.o.payload),
                         fifo.o.ready.eq(unit.cmd.ready)]
        wiring.connect(m, wiring.flipped(self.unpack_l1), unpacker.l1)
        wiring.connect(m, wiring.flipped(self.pack_l1), packer.l1)

        # Semaphores.
        src_valid = Signal(2)
        u_buf, m_buf = Signal(), Signal()
        dst_full = Signal(2)
        m_half, p_half = Signal(), Signal()
        m.d.comb += [
            unpacker.buf.eq(u_buf), unpacker.slot_free.eq(~src_valid.bit_select(u_buf, 1)),
            math.src_buf.eq(m_buf), math.src_valid.eq(src_valid.bit_select(m_buf, 1)),
            math.half.eq(m_half), math.half_full.eq(dst_full.bit_select(m_half, 1)),
            packer.half.eq(p_half), packer.half_full.eq(dst_full.bit_select(p_half, 1)),
        ]
        set_src = Signal(2)
        clr_src = Signal(2)
        set_dst = Signal(2)
        clr_dst = Signal(2)
        with m.If(unpacker.push):
            m.d.comb += set_src.eq(1 << u_buf)
            m.d.sync += u_buf.eq(~u_buf)
        with m.If(math.pop):
            m.d.comb += clr_src.eq(1 << m_buf)
            m.d.sync += m_buf.eq(~m_buf)
        with m.If(math.commit):
            m.d.comb += set_dst.eq(1 << m_half)
            m.d.sync += m_half.eq(~m_half)
        with m.If(packer.release):
            m.d.comb += clr_dst.eq(1 << p_half)
            m.d.sync += p_half.eq(~p_half)
        m.d.sync += [src_valid.eq((src_valid | set_src) & ~clr_src), dst_full.eq((dst_full | set_dst) & ~clr_dst)]
        m.d.comb += [
            self.busy.eq(Cat(unpacker.busy, math.busy, packer.busy)),
            self.src_valid.eq(src_valid), self.dst_full.eq(dst_full), self.mm_issue.eq(math.mm_issue),
        ]
        return m


def build_engine(cfg: TesseraConfig, cmd_depth: int = 4):
    """Block factory: the engine with flat ports for Verilog export (same port names)."""
    return Engine(cfg, cmd_depth=cmd_depth)
