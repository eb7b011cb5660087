"""Unpacker: one tile from L1 into SrcA or SrcB, converting the format to fp32.

Requests stream out one L1 word per cycle while credits last (a response
FIFO of ``RESP_FIFO_DEPTH`` words absorbs the L1's latency and wait states);
each response word is converted and written into the Src register file,
``min(values per word, K)`` values per cycle.  Bfp8_b reads the exponent
section into a register file first, then the magnitudes.

Conversion (sim.golden.formats.unpack_tile): Float32 as is, Float16_b
shifted to the top half; Bfp8_b decoded exactly; denormals flush to signed
zero and NaN becomes 0x7FC00000.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.commands import Format, SrcOperand, UnpackCmd, UnpackOp
from tessera.hw.engine.geometry import FORMAT_BYTES, EngineGeometry, log2, require_geometry, require_ports
from tessera.hw.stream_fifo import StreamFifo
from tessera.hw.tile.l1_port import L1Op, L1PortSignature

__all__ = ["Unpacker", "RESP_FIFO_DEPTH", "bfp8_decode"]

RESP_FIFO_DEPTH = 4


def bfp8_decode(m: Module, exp, byte, name):
    """One Bfp8_b byte with its block exponent -> fp32 pattern (golden: formats.bfp8_decode)."""
    sign = byte[7]
    mag = byte[0:7]
    zeros = fp.lzc(m, mag, name=f"{name}_lz")  # 0..7
    length = Signal(range(8), name=f"{name}_len")
    m.d.comb += length.eq(7 - zeros)
    biased = Signal(fp.signed(11), name=f"{name}_be")
    m.d.comb += biased.eq(fp.sx(exp) + length - 7)
    mant = Signal(24, name=f"{name}_mant")
    m.d.comb += mant.eq(Cat(Const(0, 17), mag) << zeros)
    out = Signal(32, name=name)
    with m.If(exp == 255):
        m.d.comb += out.eq(Mux(mag == 0, Cat(Const(0, 31), sign),
                               Mux(mag == 0x40, Cat(Const(0x7F800000, 31), sign), fp.NAN)))
    with m.Elif((mag == 0) | (exp == 0) | (biased <= 0)):
        m.d.comb += out.eq(Cat(Const(0, 31), sign))
    with m.Else():
        m.d.comb += out.eq(Cat(mant[0:23], biased[0:8], sign))
    return out


class Unpacker(wiring.Component):
    """The unpack thread of ``geo``, writing through ``srca_ports`` / ``srcb_ports``.

    Parameters: ``srca_ports`` are the R write ports of the SrcA memories, ``srcb_ports`` the K
    write ports of the SrcB memories (R = mm_rows, K = mm_inner of ``geo``), each with one
    enable per 32-bit value and both Src slots (slot s at word ``s * srca_words`` / ``srcb_words``).

    Ports:

    * ``cmd``: incoming stream of :data:`~hw.engine.commands.UnpackCmd`, taken while idle.
    * ``l1``: L1 requester port (:class:`~hw.tile.l1_port.L1PortSignature`; reads only).
    * ``slot`` / ``slot_free``: the Src slot the unpacker fills, and whether math has released
      it (a command waits for that before its first read); ``push``: one-cycle strobe at the
      end of a command with ``push``, the slot is full.
    * ``busy``: a command is queued or running.
    """

    def __init__(self, geo: EngineGeometry, srca_ports, srcb_ports):
        self.geo = require_geometry("Unpacker", geo)
        self.srca_ports = require_ports("Unpacker", "SrcA write ports", srca_ports, geo.mm_rows)
        self.srcb_ports = require_ports("Unpacker", "SrcB write ports", srcb_ports, geo.mm_inner)
        super().__init__({
            "cmd": In(stream.Signature(UnpackCmd)),
            "l1": Out(L1PortSignature(geo.cfg.l1)),
            "slot": In(1),
            "slot_free": In(1),
            "push": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        bank_bytes = geo.bank_bytes
        m.submodules.resp_fifo = fifo = StreamFifo(geo.bank_width, RESP_FIFO_DEPTH)
        cmd = Signal(UnpackCmd)
        exp_words = geo.bfp_exp_bytes // bank_bytes
        max_words = max(geo.data_words(fmt) for fmt in Format) + exp_words
        total = Signal(range(max_words + 1))       # L1 words of the command's tile
        req_index = Signal(range(max_words + 1))   # next L1 word to request
        word_index = Signal(range(max_words + 1))  # next L1 word to consume
        sub_step = Signal(range(8))                # writes of the current word done so far
        inflight = Signal(range(RESP_FIFO_DEPTH + 3))
        running = Signal()
        exps = Array([Signal(8, name=f"bfp_exp{i}") for i in range(geo.bfp_exp_bytes)])

        is_bfp = cmd.fmt == Format.BFP8_B
        m.d.comb += self.busy.eq(running | self.cmd.valid)

        def per_format(fmt_value, values):
            """The entry of ``values`` (a dict by Format) for the format ``fmt_value``."""
            return Mux(fmt_value == Format.BFP8_B, values[Format.BFP8_B],
                       Mux(fmt_value == Format.FLOAT16_B, values[Format.FLOAT16_B], values[Format.FLOAT32]))

        # -- command intake -------------------------------------------------
        m.d.comb += self.cmd.ready.eq(~running)
        with m.If(self.cmd.valid & ~running):
            m.d.sync += [cmd.eq(self.cmd.payload), req_index.eq(0), word_index.eq(0), sub_step.eq(0)]
            m.d.sync += total.eq(per_format(self.cmd.payload.fmt, {
                Format.BFP8_B: geo.data_words(Format.BFP8_B) + exp_words,
                Format.FLOAT16_B: geo.data_words(Format.FLOAT16_B), Format.FLOAT32: geo.data_words(Format.FLOAT32)}))
            m.d.sync += running.eq(self.cmd.payload.op == UnpackOp.UNPACK)
        started = Signal()
        with m.If(~running):
            m.d.sync += started.eq(0)
        with m.Elif(self.slot_free):
            m.d.sync += started.eq(1)

        # -- requests ---------------------------------------------------------
        req = self.l1.req
        credit_ok = (inflight + fifo.level) < RESP_FIFO_DEPTH
        m.d.comb += [
            req.valid.eq(running & started & (req_index < total) & credit_ok),
            req.payload.addr.eq(cmd.addr + req_index * bank_bytes),
            req.payload.op.eq(L1Op.READ),
            req.payload.mask.eq(0),
            req.payload.wdata.eq(0),
        ]
        accepted = req.valid & req.ready
        with m.If(accepted):
            m.d.sync += req_index.eq(req_index + 1)
        m.d.sync += inflight.eq(inflight + accepted - self.l1.resp.valid)
        m.d.comb += [fifo.i.valid.eq(self.l1.resp.valid), fifo.i.payload.eq(self.l1.resp.rdata)]

        # -- consume words ----------------------------------------------------
        word = fifo.o.payload
        in_exp = is_bfp & (word_index < exp_words)
        data_index = Signal(range(max_words + 1))
        m.d.comb += data_index.eq(word_index - Mux(is_bfp, exp_words, 0))
        src_values = geo.mm_inner  # values of one Src word (mm_inner == mm_cols)
        # Values written per cycle and sub-steps per word, per format.
        per_step = {fmt: min(geo.values_per_word(fmt), src_values) for fmt in Format}
        steps = {fmt: geo.values_per_word(fmt) // per_step[fmt] for fmt in Format}
        last_step = Signal()
        m.d.comb += last_step.eq(per_format(cmd.fmt, {fmt: sub_step == steps[fmt] - 1 for fmt in Format}))
        consume = running & fifo.o.valid
        pop = Signal()
        m.d.comb += pop.eq(consume & (in_exp | last_step))
        m.d.comb += fifo.o.ready.eq(pop)
        with m.If(pop):
            m.d.sync += [word_index.eq(word_index + 1), sub_step.eq(0)]
        with m.Elif(consume):
            m.d.sync += sub_step.eq(sub_step + 1)
        with m.If(consume & in_exp):
            for w in range(exp_words):
                with m.If(word_index == w):
                    for i in range(bank_bytes):
                        m.d.sync += exps[w * bank_bytes + i].eq(word.word_select(i, 8))

        # Converted values of this sub-step, per format.
        values = {}
        first_index = {}
        for fmt in Format:
            value_bits = 8 * FORMAT_BYTES[fmt]
            count = per_step[fmt]
            step_chunks = Array([word[value_bits * count * step:value_bits * count * (step + 1)]
                                 for step in range(steps[fmt])])
            chunk = Signal(value_bits * count, name=f"chunk_f{fmt.value}")
            m.d.comb += chunk.eq(step_chunks[sub_step])
            values[fmt] = []
            for t in range(count):
                raw = chunk.word_select(t, value_bits)
                if fmt == Format.FLOAT32:
                    value = fp.ftz(m, raw, name=f"u32_{t}")
                elif fmt == Format.FLOAT16_B:
                    value = fp.ftz(m, Cat(Const(0, 16), raw), name=f"u16_{t}")
                else:
                    block_index = (data_index * geo.values_per_word(fmt)) >> log2(geo.bfp_block)
                    value = bfp8_decode(m, exps[block_index], raw, name=f"ub_{t}")
                values[fmt].append(value)
            first_index[fmt] = data_index * geo.values_per_word(fmt) + sub_step * count

        # Write into Src: position of the first value of this sub-step.
        for fmt in Format:
            with m.If(consume & ~in_exp & (cmd.fmt == fmt)):
                row, col = geo.position(first_index[fmt])
                lanes = per_step[fmt]
                lane_offset = col[:log2(src_values)] if src_values > 1 else Const(0, 1)
                src_col_chunk = col >> log2(src_values)
                replicated = Cat(*(values[fmt] * (src_values // lanes)))
                lane_enables = Signal(src_values, name=f"lane_en_f{fmt.value}")
                m.d.comb += lane_enables.eq(Const((1 << lanes) - 1, src_values) << lane_offset)
                for operand, ports, slot_words in ((SrcOperand.A, self.srca_ports, geo.srca_words),
                                                   (SrcOperand.B, self.srcb_ports, geo.srcb_words)):
                    memories = len(ports)
                    memory_bits = log2(memories)
                    for i, port in enumerate(ports):
                        selected = (cmd.operand == operand) & ((row[:memory_bits] == i) if memories > 1 else 1)
                        with m.If(selected):
                            m.d.comb += [
                                port.addr.eq(self.slot * slot_words + (row >> memory_bits) * (geo.tile_cols // src_values)
                                             + src_col_chunk),
                                port.data.eq(replicated),
                                port.en.eq(lane_enables),
                            ]

        # -- completion ---------------------------------------------------------
        done = running & started & (word_index == total) & (total != 0)
        with m.If(done):
            m.d.sync += running.eq(0)
            m.d.comb += self.push.eq(cmd.push)
        return m
