"""Engine MMIO front end: the register-bus target through which the TRISC cores feed
the engine's three 64-bit command streams.

The register map is ``cfg.mmio.region("engine")``; offsets come from there and
are never restated here.  Like hw.tile.tile_ctrl, the block decodes only the
address bits inside the region (``addr`` modulo the region size); selecting
the region is the tile interconnect's job.

Bus: the target side of a core data bus (:class:`hw.core.bus.DataBus`), with
tile_ctrl's conventions: every accepted request is answered exactly one cycle
after acceptance; reads return the value in that response cycle.

Registers (W = write-only, R = read-only):

* ``<s>_cmd_lo`` W (s = unpack, math, pack): byte-masked write of bits 31..0 of
  stream s's next command into a latch (one latch per stream, so the three
  cores can interleave their writes freely).
* ``<s>_cmd_hi`` W: pushes ``{wdata & byte mask, latch}`` onto stream s.  The
  push happens in the accepting cycle: ``req.ready`` follows the stream's
  ``ready`` while a ``*_cmd_hi`` write is presented, so a full command FIFO
  stalls the core (back-pressure) and a command is never dropped or repeated.
* ``status`` R: bits 2..0 engine busy (unpack, math, pack), 4..3 Src slots
  valid, 6..5 Dst halves full, 9..7 command stream ready (unpack, math, pack:
  a ``*_cmd_hi`` write would be accepted without stalling).  Other bits 0.

Misuse answers ``err``: unmapped offsets, writes to ``status`` and reads of the
write-only command registers (reads return 0, erring writes change nothing).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.bus import DataBus
from tessera.hw.engine.engine import CMD_WIDTH, THREADS
from tessera.hw.logic import or_all

__all__ = ["EngineMmio", "STREAMS", "STATUS_FIELDS"]

#: The command streams, one per engine thread, in the order of the engine's ``busy`` bits.
STREAMS = THREADS

#: status register layout: (field, lsb, width).
STATUS_FIELDS = (("busy", 0, 3), ("src_valid", 3, 2), ("dst_full", 5, 2), ("cmd_ready", 7, 3))


class EngineMmio(wiring.Component):
    """The engine command/status registers of ``cfg`` (see the module docstring for the map).

    Ports: ``bus`` (data-bus target), ``<s>_cmd`` (outgoing streams of 64-bit command words,
    to the engine's ``<s>_cmd``), and ``busy`` / ``src_valid`` / ``dst_full``, the engine's
    outputs of the same names, read through ``status``.
    """

    def __init__(self, cfg):
        try:
            region = cfg.mmio.region("engine")
        except (AttributeError, KeyError) as exc:
            raise ValueError(f"EngineMmio needs a TesseraConfig with an 'engine' mmio region, "
                             f"got {cfg!r}: {exc}") from None
        regs = {r.name: r for r in region.registers}
        wanted = [f"{stream_name}_cmd_{half}" for stream_name in STREAMS for half in ("lo", "hi")] + ["status"]
        for name in wanted:
            if name not in regs:
                raise ValueError(f"mmio region engine lacks register {name!r}; has {sorted(regs)}")
            if regs[name].count != 1:
                raise ValueError(f"mmio register engine.{name} must be a single word, "
                                 f"got count {regs[name].count!r}")
        self.cfg = cfg
        self.region = region
        self.regs = regs
        super().__init__({
            "bus": In(DataBus.Signature()),
            **{f"{stream_name}_cmd": Out(stream.Signature(unsigned(CMD_WIDTH))) for stream_name in STREAMS},
            "busy": In(len(STREAMS)),
            "src_valid": In(2),
            "dst_full": In(2),
        })

    def elaborate(self, platform):
        m = Module()
        regs = self.regs
        offset_bits = (self.region.size - 1).bit_length()
        req = self.bus.req.payload
        word = Signal(offset_bits - 2)
        m.d.comb += word.eq(req.addr[2:offset_bits])

        def hit(name):
            sig = Signal(name=f"hit_{name}")
            m.d.comb += sig.eq(word == regs[name].offset >> 2)
            return sig

        byte_enables = Signal(32)
        m.d.comb += byte_enables.eq(Cat(*[req.mask[i].replicate(8) for i in range(4)]))

        outs = [getattr(self, f"{stream_name}_cmd") for stream_name in STREAMS]
        hit_lo = [hit(f"{stream_name}_cmd_lo") for stream_name in STREAMS]
        hit_hi = [hit(f"{stream_name}_cmd_hi") for stream_name in STREAMS]
        hit_status = hit("status")

        # A *_cmd_hi write is accepted exactly when its stream takes the command.
        stall = Signal()
        m.d.comb += stall.eq(req.we & or_all([hi_hit & ~out.ready for hi_hit, out in zip(hit_hi, outs)]))
        m.d.comb += self.bus.req.ready.eq(~stall)
        accept = Signal()
        write = Signal()
        m.d.comb += [accept.eq(self.bus.req.valid & self.bus.req.ready), write.eq(accept & req.we)]

        for stream_name, lo_hit, hi_hit, out in zip(STREAMS, hit_lo, hit_hi, outs):
            latch = Signal(32, name=f"{stream_name}_lo")
            with m.If(write & lo_hit):
                m.d.sync += latch.eq((req.wdata & byte_enables) | (latch & ~byte_enables))
            m.d.comb += [out.valid.eq(self.bus.req.valid & req.we & hi_hit),
                         out.payload.eq(Cat(latch, req.wdata & byte_enables))]

        cmd_ready = Cat(*[out.ready for out in outs])
        status = Signal(32)
        m.d.comb += status.eq(Cat(self.busy, self.src_valid, self.dst_full, cmd_ready))

        write_ok = or_all(hit_lo + hit_hi)
        ok = Signal()
        m.d.comb += ok.eq(Mux(req.we, write_ok, hit_status))
        read_status = Signal()
        resp_valid = Signal()
        resp_err = Signal()
        m.d.sync += [read_status.eq(accept & ~req.we & hit_status),
                     resp_valid.eq(accept), resp_err.eq(accept & ~ok)]
        m.d.comb += [self.bus.resp.valid.eq(resp_valid), self.bus.resp.err.eq(resp_err),
                     self.bus.resp.rdata.eq(status & read_status.replicate(32))]
        return m
