"""Packer: one Dst tile to L1 in Float32, Float16_b or Bfp8_b.

Float32 and Float16_b stream one L1 word per cycle: a Dst read (one run of
consecutive values of a face row) feeds a one-word output register that
holds the L1 write request while the L1 stalls.  Float16_b rounds to nearest
even (NaN -> 0x7FC0).

Bfp8_b works a block (``bfp_block`` values of one face row) at a time (shared
exponent = largest exponent; RNE with sticky; a magnitude rounding up to 128
raises the exponent and the block is rounded again; Inf/NaN blocks get
exponent 255).  The block streams from Dst into a buffer while a scan keeps
the running largest exponent, whether a value at it rounds up and whether an
Inf/NaN went by (:func:`bfp8_scan`); one ENCODE cycle then registers the
block's exponent and every value's shift; each magnitude word is encoded
one word ahead of its write, so there are only as many shifters as values
in an L1 word (not one -- or two -- per value of the block).  The exponent section is
written one full L1 word at a time.  See sim.golden.formats for the
bit-exact reference.

A command finishes when every write has been acknowledged by the L1; with
``release`` it then hands the Dst half back to math.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.commands import Format, PackCmd, PackOp
from tessera.hw.engine.geometry import EngineGeometry, log2, require_geometry, require_ports
from tessera.hw.tile.l1_port import L1Op, L1PortSignature

__all__ = ["Packer", "to_bf16", "Bfp8Scan", "bfp8_scan", "bfp8_block_exponent", "bfp8_shift", "bfp8_byte",
           "bfp8_encode_block"]


def to_bf16(m: Module, v, name):
    out = Signal(16, name=name)
    _, e, f = fp.fields(v)
    nan = (e == 0xFF) & (f != 0)
    rounded = Signal(33, name=f"{name}_r")
    m.d.comb += rounded.eq(v + 0x7FFF + v[16])
    m.d.comb += out.eq(Mux(nan, 0x7FC0, rounded[16:32]))
    return out


def _clamp_shift(m: Module, shift, name):
    """The shift of _mag_at: any shift above 33 leaves only sticky bits, so it is clamped to 33."""
    clamped = Signal(6, name=f"{name}_sh")
    m.d.comb += clamped.eq(Mux(shift > 33, 33, shift))
    return clamped


def _mag_at(m: Module, mant24, shift, name):
    """RNE(mant24 >> shift) for a clamped shift 17 <= shift <= 33, as an 8-bit magnitude (may be 128)."""
    extended = Signal(56, name=f"{name}_x")
    m.d.comb += extended.eq(Cat(Const(0, 32), mant24) >> shift)
    out = Signal(9, name=name)
    m.d.comb += out.eq(fp.rne(extended[32:40], extended[31], extended[0:31] != 0))
    return out


#: What a Bfp8 block's shared exponent depends on, gathered value by value as the block streams in:
#: the largest exponent of its finite values (0 if none), whether a finite value at that exponent
#: rounds its magnitude up to 128 (then the exponent goes one up), and whether any value is Inf/NaN.
Bfp8Scan = data.StructLayout({"exp_max": 8, "rounds_up": 1, "special": 1})


def bfp8_scan(m: Module, scan, values, name="scan"):
    """``scan`` (a :data:`Bfp8Scan` value) updated with the fp32 patterns ``values`` of a block.

    A magnitude is RNE(significand >> (17 + exp_max - e)).  Only a value at ``exp_max`` (shift 17:
    64..127 before rounding) can reach 128: its kept bits (fraction 17..22) must all be ones and
    its round bit (fraction 16) set, whatever the sticky bits.  So the block's rounding carry is
    known from the values at the running maximum alone, without a magnitude per value, and the
    scan can take a few values per cycle as they arrive from Dst."""
    for i, v in enumerate(values):
        _, e, f = fp.fields(v)
        finite = (e != 0) & (e != 0xFF)
        carries = f[16:23] == 0x7F
        step = Signal(Bfp8Scan, name=f"{name}_{i}")
        m.d.comb += step.eq(scan)
        with m.If(finite & (e > scan.exp_max)):
            m.d.comb += [step.exp_max.eq(e), step.rounds_up.eq(carries)]
        with m.Elif(finite & (e == scan.exp_max)):
            m.d.comb += step.rounds_up.eq(scan.rounds_up | carries)
        m.d.comb += step.special.eq(scan.special | (e == 0xFF))
        scan = step
    return scan


def bfp8_block_exponent(m: Module, scan, name="bfp"):
    """(exponent of the magnitudes (9 bits: 255 or more means the block saturates), whether the
    block is special (Inf/NaN inside, or the exponent overflowed), the exponent byte)."""
    exp_out = Signal(9, name=f"{name}_eout")
    m.d.comb += exp_out.eq(scan.exp_max + scan.rounds_up)
    special = Signal(name=f"{name}_special")
    m.d.comb += special.eq(scan.special | (exp_out >= 255))
    exp_byte = Signal(8, name=f"{name}_exp")
    m.d.comb += exp_byte.eq(Mux(special, 255, exp_out[0:8]))
    return exp_out, special, exp_byte


def bfp8_shift(m: Module, exp_out, value, name):
    """The clamped right shift that takes ``value``'s 24-bit significand to the block's exponent."""
    _, e, _ = fp.fields(value)
    shift = Signal(10, name=f"{name}_s")
    m.d.comb += shift.eq(17 + exp_out - e)
    return _clamp_shift(m, shift, name)


def bfp8_byte(m: Module, value, shift, exp_out, special, name):
    """The data byte of one fp32 ``value`` of a block (sign and 7-bit magnitude), given its shift
    from :func:`bfp8_shift` and the block's exponent and special flag."""
    sign = value[31]
    _, e, f = fp.fields(value)
    finite = (e != 0) & (e != 0xFF)
    mag = Signal(9, name=f"{name}_mag")
    m.d.comb += mag.eq(Mux(finite, _mag_at(m, Cat(value[0:23], Const(1, 1)), shift, f"{name}_m"), 0))
    byte = Signal(8, name=f"{name}_b")
    with m.If(special):
        with m.If((e == 0xFF) & (f != 0)):
            m.d.comb += byte.eq(0x7F)
        with m.Elif(((e == 0xFF) & (f == 0)) | ((exp_out >= 255) & (mag >= 64))):
            m.d.comb += byte.eq(Cat(Const(0x40, 7), sign))
        with m.Else():
            m.d.comb += byte.eq(Cat(Const(0, 7), sign))
    with m.Else():
        m.d.comb += byte.eq(Cat(mag[0:7], sign))
    return byte


def bfp8_encode_block(m: Module, values, name="bfp"):
    """fp32 patterns of one block -> (exponent byte, list of data bytes), combinationally
    (golden: formats.bfp8_encode); the packer builds the same pieces over several cycles."""
    scan = Signal(Bfp8Scan, name=f"{name}_scan0")
    scan = bfp8_scan(m, scan, values, f"{name}_scan")
    exp_out, special, exp_byte = bfp8_block_exponent(m, scan, name)
    data_bytes = [bfp8_byte(m, v, bfp8_shift(m, exp_out, v, f"{name}_{i}"), exp_out, special, f"{name}_{i}")
                  for i, v in enumerate(values)]
    return exp_byte, data_bytes


class Packer(wiring.Component):
    """The pack thread of ``geo``, reading Dst through ``dst_ports``.

    Parameter ``dst_ports``: R synchronous read ports of the Dst memories (R = mm_rows of
    ``geo``; C = mm_cols fp32 values a word), reserved for the packer.

    Ports:

    * ``cmd``: incoming stream of :data:`~hw.engine.commands.PackCmd`, taken while idle.
    * ``l1``: L1 requester port (:class:`~hw.tile.l1_port.L1PortSignature`; full-word writes only).
    * ``half`` / ``half_full``: the Dst half the packer reads, and whether math has committed
      it (a command waits for that); ``release``: one-cycle strobe when a command with
      ``release`` has all its writes acknowledged, the half goes back to math.
    * ``busy``: a command is queued or running.
    """

    def __init__(self, geo: EngineGeometry, dst_ports):
        self.geo = require_geometry("Packer", geo)
        self.dst_ports = require_ports("Packer", "Dst read ports", dst_ports, geo.mm_rows)
        super().__init__({
            "cmd": In(stream.Signature(PackCmd)),
            "l1": Out(L1PortSignature(geo.cfg.l1)),
            "half": In(1),
            "half_full": In(1),
            "release": Out(1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        bank_bytes, mm_rows, mm_cols = geo.bank_bytes, geo.mm_rows, geo.mm_cols
        row_bits, col_bits = log2(mm_rows), log2(mm_cols)
        cmd = Signal(PackCmd)
        blocks = geo.bfp_exp_bytes          # bfp8 blocks of a tile (one exponent byte each)
        block = Signal(range(blocks + 1))
        running = Signal()
        started = Signal()
        max_words = geo.data_words(Format.FLOAT32)
        read_word = Signal(range(max_words + 1))    # next L1 word to read from Dst (Float32/16)
        out_count = Signal(range(max_words + geo.bfp_exp_bytes + 2))
        outstanding = Signal(range(64))
        # s1: the Dst read of one L1 word (which Dst memory, value offset in its word, L1 word).
        s1_valid = Signal()
        s1_memory = Signal(range(max(mm_rows, 2)))
        s1_offset = Signal(range(max(mm_cols, 2)))
        s1_word = Signal(range(max_words + 1))
        out_valid = Signal()
        out_addr = Signal(geo.l1_address_bits)
        out_data = Signal(geo.bank_width)
        req = self.l1.req
        is_bfp = cmd.fmt == Format.BFP8_B
        tile_base = geo.dst_tile_base(m, self.half, cmd.dst_tile)

        m.d.comb += self.busy.eq(running | self.cmd.valid)
        m.d.comb += self.cmd.ready.eq(~running)
        with m.If(self.cmd.valid & ~running):
            m.d.sync += [cmd.eq(self.cmd.payload), running.eq(self.cmd.payload.op == PackOp.PACK),
                         read_word.eq(0), out_count.eq(0), started.eq(0), block.eq(0)]
        with m.If(running & ~started & self.half_full):
            m.d.sync += started.eq(1)

        accepted = req.valid & req.ready
        m.d.comb += [req.valid.eq(out_valid), req.payload.addr.eq(out_addr), req.payload.op.eq(L1Op.WRITE),
                     req.payload.mask.eq((1 << bank_bytes) - 1), req.payload.wdata.eq(out_data)]
        m.d.sync += outstanding.eq(outstanding + accepted - self.l1.resp.valid)
        with m.If(accepted):
            m.d.sync += [out_valid.eq(0), out_count.eq(out_count + 1)]
        out_free = ~out_valid | accepted

        def dst_read(index, enable):
            row, col = geo.position(index)
            addr = tile_base + (row >> row_bits) * geo.col_chunks + (col >> col_bits)
            for port in self.dst_ports:
                m.d.comb += [port.addr.eq(addr), port.en.eq(enable)]
            return row, col

        def memory_of(row):
            return row[:row_bits] if mm_rows > 1 else 0

        read_data = Array([p.data for p in self.dst_ports])[s1_memory]

        # -- Float32 / Float16_b: one word per cycle ------------------------------
        words = Signal(range(max_words + 1))
        m.d.comb += words.eq(Mux(cmd.fmt == Format.FLOAT16_B, geo.data_words(Format.FLOAT16_B),
                                 geo.data_words(Format.FLOAT32)))
        s1_move = s1_valid & out_free
        issue = Signal()
        m.d.comb += issue.eq(running & started & ~is_bfp & (read_word < words) & (~s1_valid | s1_move))
        values_per_word = Mux(cmd.fmt == Format.FLOAT16_B, geo.values_per_word(Format.FLOAT16_B),
                              geo.values_per_word(Format.FLOAT32))
        with m.If(running & ~is_bfp):
            row, col = dst_read(read_word * values_per_word, issue)
        with m.If(issue):
            m.d.sync += [read_word.eq(read_word + 1), s1_valid.eq(1), s1_memory.eq(memory_of(row)),
                         s1_offset.eq(col[:col_bits] if mm_cols > 1 else 0), s1_word.eq(read_word)]
        with m.Elif(s1_move):
            m.d.sync += s1_valid.eq(0)
        converted = {}
        for fmt in (Format.FLOAT32, Format.FLOAT16_B):
            per_word = geo.values_per_word(fmt)
            chunk = read_data.word_select(s1_offset >> log2(per_word), 32 * per_word)
            if fmt == Format.FLOAT32:
                converted[fmt] = chunk
            else:
                converted[fmt] = Cat(*[to_bf16(m, chunk.word_select(t, 32), f"pk16_{t}") for t in range(per_word)])
        with m.If(s1_move & ~is_bfp):
            m.d.sync += [out_valid.eq(1), out_addr.eq(cmd.addr + s1_word * bank_bytes),
                         out_data.eq(Mux(cmd.fmt == Format.FLOAT16_B, converted[Format.FLOAT16_B],
                                         converted[Format.FLOAT32]))]

        # -- Bfp8_b: a block at a time -----------------------------------------------
        block_dst_words = geo.bfp_block // mm_cols       # Dst words per block
        block_l1_words = geo.bfp_block // bank_bytes     # L1 words of magnitudes per block
        fill_step = Signal(range(block_dst_words + 1))      # Dst reads of the block issued
        capture_step = Signal(range(block_dst_words + 1))   # Dst words of the block captured
        capture_valid = Signal()
        capture_memory = Signal(range(max(mm_rows, 2)))
        emit_step = Signal(range(block_l1_words + 1))       # magnitude words of the block written
        held = [Signal(32, name=f"blk{i}") for i in range(geo.bfp_block)]
        exp_word = [Signal(8, name=f"expw{i}") for i in range(bank_bytes)]
        scan = Signal(Bfp8Scan)
        # Registered in ENCODE from the finished scan: the block's exponent, its special flag and
        # every held value's shift, so EMIT's path is one word's shifters and byte logic.
        block_exp = Signal(9)
        block_special = Signal()
        block_exp_byte = Signal(8)
        shifts = [Signal(6, name=f"blk_sh{i}") for i in range(geo.bfp_block)]
        encoded = Signal(8 * bank_bytes)                    # the next magnitude word, encoded
        encoded_valid = Signal()
        encode_step = Signal(range(block_l1_words + 1))     # magnitude words of the block encoded
        exp_index_bits = log2(bank_bytes)   # exponent bytes of one L1 word
        with m.FSM(name="bfp"):
            with m.State("IDLE"):
                with m.If(running & started & is_bfp):
                    m.d.sync += [block.eq(0), fill_step.eq(0), capture_step.eq(0), emit_step.eq(0),
                                 encode_step.eq(0), scan.eq(0)]
                    m.next = "FILL"
            with m.State("FILL"):
                with m.If(fill_step < block_dst_words):
                    row, col = dst_read(block * geo.bfp_block + fill_step * mm_cols, 1)
                    m.d.sync += [fill_step.eq(fill_step + 1), capture_memory.eq(memory_of(row))]
                m.d.sync += capture_valid.eq(fill_step < block_dst_words)
                with m.If(capture_valid):
                    word = Array([p.data for p in self.dst_ports])[capture_memory]
                    arriving = [word.word_select(t, 32) for t in range(mm_cols)]
                    m.d.sync += scan.eq(bfp8_scan(m, scan, arriving))
                    for q in range(block_dst_words):
                        with m.If(capture_step == q):
                            for t in range(mm_cols):
                                m.d.sync += held[q * mm_cols + t].eq(arriving[t])
                    m.d.sync += capture_step.eq(capture_step + 1)
                    with m.If(capture_step == block_dst_words - 1):
                        m.d.sync += capture_valid.eq(0)
                        m.next = "ENCODE"
            with m.State("ENCODE"):
                exp_out, special, exp_byte = bfp8_block_exponent(m, scan)
                m.d.sync += [block_exp.eq(exp_out), block_special.eq(special), block_exp_byte.eq(exp_byte)]
                for i, v in enumerate(held):
                    m.d.sync += shifts[i].eq(bfp8_shift(m, exp_out, v, f"bfp_{i}"))
                m.next = "EMIT"
            with m.State("EMIT"):
                # One magnitude word is encoded ahead into ``encoded`` (the shifters' path ends at
                # a register) while the one before it waits for the L1 in ``out_data``.
                take = encoded_valid & out_free
                with m.If(take):
                    m.d.sync += [out_valid.eq(1), out_data.eq(encoded),
                                 out_addr.eq(cmd.addr + blocks + block * geo.bfp_block + emit_step * bank_bytes),
                                 emit_step.eq(emit_step + 1), encoded_valid.eq(0)]
                with m.If((~encoded_valid | take) & (encode_step < block_l1_words)):
                    word_values = Signal(32 * bank_bytes)
                    word_shifts = Signal(6 * bank_bytes)
                    m.d.comb += [
                        word_values.eq(Array([Cat(*held[q * bank_bytes:(q + 1) * bank_bytes])
                                              for q in range(block_l1_words)])[encode_step]),
                        word_shifts.eq(Array([Cat(*shifts[q * bank_bytes:(q + 1) * bank_bytes])
                                              for q in range(block_l1_words)])[encode_step]),
                    ]
                    magnitudes = [bfp8_byte(m, word_values.word_select(j, 32), word_shifts.word_select(j, 6),
                                            block_exp, block_special, f"bfp_w{j}")
                                  for j in range(bank_bytes)]
                    m.d.sync += [encoded.eq(Cat(*magnitudes)), encoded_valid.eq(1), encode_step.eq(encode_step + 1)]
                with m.If(take & (emit_step == block_l1_words - 1)):
                    for i in range(bank_bytes):
                        with m.If(block[:exp_index_bits] == i if bank_bytes > 1 else 1):
                            m.d.sync += exp_word[i].eq(block_exp_byte)
                    m.next = "EXP"
            with m.State("EXP"):
                last_in_word = block[:exp_index_bits] == bank_bytes - 1 if bank_bytes > 1 else Const(1, 1)
                with m.If(~last_in_word):
                    m.next = "NEXT"
                with m.Elif(out_free):
                    m.d.sync += [out_valid.eq(1), out_addr.eq(cmd.addr + (block >> exp_index_bits) * bank_bytes),
                                 out_data.eq(Cat(*exp_word))]
                    m.next = "NEXT"
            with m.State("NEXT"):
                with m.If(block == blocks - 1):
                    m.d.sync += block.eq(blocks)
                    m.next = "WAIT"
                with m.Else():
                    m.d.sync += [block.eq(block + 1), fill_step.eq(0), capture_step.eq(0), emit_step.eq(0),
                                 encode_step.eq(0), scan.eq(0)]
                    m.next = "FILL"
            with m.State("WAIT"):
                with m.If(~running):
                    m.next = "IDLE"

        # -- completion ---------------------------------------------------------------
        all_sent = Mux(is_bfp, block == blocks, (read_word == words) & ~s1_valid)
        done = running & started & all_sent & ~out_valid & (outstanding == 0)
        with m.If(done):
            m.d.sync += running.eq(0)
            m.d.comb += self.release.eq(cmd.release)
        return m
