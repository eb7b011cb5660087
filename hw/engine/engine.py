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

__all__ = ["Engine", "build_engine", "CMD_WIDTH", "THREADS"]

#: Bits of one command word of any thread (the layouts of hw.engine.commands).
CMD_WIDTH = 64

#: The command threads, in the order of the ``busy`` bits.
THREADS = ("unpack", "math", "pack")


def _semaphore_pair(m: Module, name: str, fill, drain):
    """Two flags handed round between a producer and a consumer (the Src slots, the Dst halves).

    The producer works on flag ``fill_at`` and sets it with a ``fill`` strobe, the consumer works
    on flag ``drain_at`` and clears it with ``drain``; each strobe moves its side to the other
    flag.  Returns ``(flags, fill_at, drain_at)``.
    """
    flags = Signal(2, name=f"{name}_flags")
    fill_at, drain_at = Signal(name=f"{name}_fill_at"), Signal(name=f"{name}_drain_at")
    filled, drained = Signal(2, name=f"{name}_filled"), Signal(2, name=f"{name}_drained")
    for strobe, pointer, onehot in ((fill, fill_at, filled), (drain, drain_at, drained)):
        with m.If(strobe):
            m.d.comb += onehot.eq(1 << pointer)
            m.d.sync += pointer.eq(~pointer)
    m.d.sync += flags.eq((flags | filled) & ~drained)
    return flags, fill_at, drain_at


class Engine(wiring.Component):
    """The engine of ``cfg`` (see the module docstring), its command FIFOs ``cmd_depth`` deep.

    Ports (R, K, C and the L1 widths from ``cfg``; docs/engine.md has the command layouts):

    * ``unpack_cmd``, ``math_cmd``, ``pack_cmd``: incoming ``lib.stream`` of
      :data:`CMD_WIDTH`-bit command words (``UnpackCmd`` / ``MathCmd`` / ``PackCmd``
      of :mod:`hw.engine.commands`), one per cycle at most, each into a
      ``cmd_depth``-entry FIFO.
    * ``unpack_l1``, ``pack_l1``: L1 requester ports (:class:`~hw.tile.l1_port.L1PortSignature`
      of ``cfg.l1``: ``l1.address_bits`` byte address, ``l1.bank_width`` data); the
      unpacker only reads, the packer only writes.
    * ``busy`` (3 bits: unpack, math, pack): the thread has a command queued or in flight.
    * ``src_valid`` (2 bits): which Src slots hold unpacked operands not yet popped.
    * ``dst_full`` (2 bits): which Dst halves are committed to the packer and not yet released.
    * ``mm_issue``: high in every cycle the lane array issues a matmul step (R·K·C MACs).
    """

    def __init__(self, cfg: TesseraConfig, cmd_depth: int = 4):
        self.geo = EngineGeometry(cfg)
        if not isinstance(cmd_depth, int) or cmd_depth < 2 or cmd_depth & (cmd_depth - 1):
            raise ValueError(f"engine cmd_depth must be a power of two of at least 2, got {cmd_depth!r}")
        self.cmd_depth = cmd_depth
        super().__init__({
            **{f"{thread}_cmd": In(stream.Signature(unsigned(CMD_WIDTH))) for thread in THREADS},
            "unpack_l1": Out(L1PortSignature(cfg.l1)),
            "pack_l1": Out(L1PortSignature(cfg.l1)),
            "busy": Out(len(THREADS)),
            "src_valid": Out(2),
            "dst_full": Out(2),
            "mm_issue": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        srca_read, srca_write, srcb_read, srcb_write = [], [], [], []
        for row in range(geo.mm_rows):
            mem = Memory(shape=unsigned(32 * geo.mm_inner), depth=2 * geo.srca_words, init=[])
            m.submodules[f"srca{row}"] = mem
            srca_write.append(mem.write_port(granularity=32))
            srca_read.append(mem.read_port(domain="sync"))
        for inner in range(geo.mm_inner):
            mem = Memory(shape=unsigned(32 * geo.mm_cols), depth=2 * geo.srcb_words, init=[])
            m.submodules[f"srcb{inner}"] = mem
            srcb_write.append(mem.write_port(granularity=32))
            srcb_read.append(mem.read_port(domain="sync"))
        dst_write, dst_read, dst_pack_read = [], [], []
        for row in range(geo.mm_rows):
            mem = Memory(shape=unsigned(32 * geo.mm_cols), depth=geo.dst_words, init=[])
            m.submodules[f"dst{row}"] = mem
            write = mem.write_port(granularity=32)
            dst_write.append(write)
            # Transparent: the math unit reads a block in the cycle its previous result is written.
            dst_read.append(mem.read_port(domain="sync", transparent_for=(write,)))
            dst_pack_read.append(mem.read_port(domain="sync"))

        m.submodules.unpacker = unpacker = Unpacker(geo, srca_write, srcb_write)
        m.submodules.math = math = MathUnit(geo, srca_read, srcb_read, dst_read, dst_write)
        m.submodules.packer = packer = Packer(geo, dst_pack_read)
        units = {"unpack": unpacker, "math": math, "pack": packer}
        for thread in THREADS:
            fifo = StreamFifo(CMD_WIDTH, self.cmd_depth)
            m.submodules[f"{thread}_fifo"] = fifo
            wiring.connect(m, wiring.flipped(getattr(self, f"{thread}_cmd")), fifo.i)
            unit = units[thread]
            m.d.comb += [unit.cmd.valid.eq(fifo.o.valid), unit.cmd.payload.eq(fifo.o.payload),
                         fifo.o.ready.eq(unit.cmd.ready)]
        wiring.connect(m, wiring.flipped(self.unpack_l1), unpacker.l1)
        wiring.connect(m, wiring.flipped(self.pack_l1), packer.l1)

        # Src slots: filled by the unpacker (push), drained by math (pop).
        src_valid, unpack_slot, math_slot = _semaphore_pair(m, "src", unpacker.push, math.pop)
        # Dst halves: filled by math (commit), drained by the packer (release).
        dst_full, math_half, pack_half = _semaphore_pair(m, "dst", math.commit, packer.release)
        m.d.comb += [
            unpacker.slot.eq(unpack_slot), unpacker.slot_free.eq(~src_valid.bit_select(unpack_slot, 1)),
            math.src_slot.eq(math_slot), math.src_valid.eq(src_valid.bit_select(math_slot, 1)),
            math.half.eq(math_half), math.half_full.eq(dst_full.bit_select(math_half, 1)),
            packer.half.eq(pack_half), packer.half_full.eq(dst_full.bit_select(pack_half, 1)),
        ]
        m.d.comb += [
            self.busy.eq(Cat(*[units[thread].busy for thread in THREADS])),
            self.src_valid.eq(src_valid), self.dst_full.eq(dst_full), self.mm_issue.eq(math.mm_issue),
        ]
        return m


def build_engine(cfg: TesseraConfig, cmd_depth: int = 4):
    """Block factory: the engine with flat ports for Verilog export (same port names)."""
    return Engine(cfg, cmd_depth=cmd_depth)
