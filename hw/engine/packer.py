"""Packer: one Dst tile to L1 in Float32, Float16_b or Bfp8_b.

Float32 and Float16_b stream one L1 word per cycle: a Dst read (one run of
consecutive values of a face row) feeds a one-word output register that
holds the L1 write request while the L1 stalls.  Float16_b rounds to nearest
even (NaN -> 0x7FC0).

Bfp8_b works a block (``bfp_block`` values of one face row) at a time: read
the block into a buffer, encode it (shared exponent = largest exponent; RNE
with sticky; a magnitude rounding up to 128 raises the exponent and the block
is rounded again; Inf/NaN blocks get exponent 255; the encoder has two
register cuts -- shared exponent | shifts | magnitudes -- so an ENCODE state
waits three cycles on the held block), write its magnitude words, and write the exponent
section one full L1 word at a time.  See
sim.golden.formats for the bit-exact reference.

A command finishes when every write has been acknowledged by the L1; with
``release`` it then hands the Dst half back to math.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.commands import Format, PackCmd, PackOp
from tessera.hw.engine.geometry import EngineGeometry
from tessera.hw.tile.l1_port import L1Op, L1PortSignature

__all__ = ["Packer", "to_bf16", "bfp8_encode_block"]


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
    sh = Signal(6, name=f"{name}_sh")
    m.d.comb += sh.eq(Mux(shift > 33, 33, shift))
    return sh


def _mag_at(m: Module, mant24, sh, name):
    """RNE(mant24 >> sh) for a clamped shift 17 <= sh <= 33, as an 8-bit magnitude (may be 128)."""
    ext = Signal(56, name=f"{name}_x")
    m.d.comb += ext.eq(Cat(Const(0, 32), mant24) >> sh)
    q = ext[32:40]
    out = Signal(9, name=name)
    m.d.comb += out.eq(fp.rne(q, ext[31], ext[0:31] != 0))
    return out


def bfp8_encode_block(m: Module, values, name="bfp", stages=None):
    """fp32 patterns of one block -> (exponent byte, list of data bytes) (golden: formats.bfp8_encode).

    With ``stages`` (fp.Stages) it has 3 cuts: shared exponent | shifts | magnitudes | bytes; the
    packer holds the block in registers while it settles (ENCODE state)."""
    n = len(values)
    es, finite, special = [], [], []
    for i, v in enumerate(values):
        _, e, _ = fp.fields(v)
        es.append(e)
        fin = Signal(name=f"{name}_fin{i}")
        m.d.comb += fin.eq((e != 0) & (e != 0xFF))
        finite.append(fin)
        special.append(e == 0xFF)
    # Largest exponent of the finite values (0 if none): a balanced tree of max (log depth).
    level = [Mux(finite[i], es[i], 0) for i in range(n)]
    k = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            cur = Signal(8, name=f"{name}_em{k}")
            k += 1
            m.d.comb += cur.eq(Mux(level[i + 1] > level[i], level[i + 1], level[i]))
            nxt.append(cur)
        if len(level) & 1:
            nxt.append(level[-1])
        level = nxt
    emax = Signal(8, name=f"{name}_emax")
    m.d.comb += emax.eq(level[0])
    # -- cut 1: shared exponent (the values themselves are held by the caller) ---------------
    (emax,) = fp.cut_values(m, stages, emax)
    sh1, sh2 = [], []
    for i in range(n):
        s1 = Signal(10, name=f"{name}_s1_{i}")
        m.d.comb += s1.eq(17 + emax - es[i])
        sh1.append(_clamp_shift(m, s1, f"{name}_m1_{i}"))
        sh2.append(_clamp_shift(m, s1 + 1, f"{name}_m2_{i}"))
    # -- cut 2: shift amounts --------------------------------------------------------------
    cut = fp.cut_values(m, stages, emax, *sh1, *sh2)
    emax, sh1, sh2 = cut[0], cut[1:n + 1], cut[n + 1:]
    mags1, mags2 = [], []
    for i, v in enumerate(values):
        mant = Cat(v[0:23], Const(1, 1))
        mags1.append(_mag_at(m, mant, sh1[i], f"{name}_m1_{i}"))
        mags2.append(_mag_at(m, mant, sh2[i], f"{name}_m2_{i}"))
    # -- cut 3: magnitudes at the shared exponent and one above ---------------------------------
    cut = fp.cut_values(m, stages, emax, *mags1, *mags2)
    emax, mags1, mags2 = cut[0], cut[1:n + 1], cut[n + 1:]
    ovf = Signal(name=f"{name}_ovf")
    m.d.comb += ovf.eq(Cat(*[finite[i] & (mags1[i] >= 128) for i in range(n)]).any())
    eout = Signal(9, name=f"{name}_eout")
    m.d.comb += eout.eq(emax + ovf)
    any_special = Signal(name=f"{name}_special")
    m.d.comb += any_special.eq(Cat(*special).any() | (eout >= 255))
    exp_byte = Signal(8, name=f"{name}_exp")
    m.d.comb += exp_byte.eq(Mux(any_special, 255, eout[0:8]))
    data = []
    for i, v in enumerate(values):
        s = v[31]
        _, e, f = fp.fields(v)
        mag = Signal(9, name=f"{name}_mag{i}")
        m.d.comb += mag.eq(Mux(finite[i], Mux(ovf, mags2[i], mags1[i]), 0))
        byte = Signal(8, name=f"{name}_b{i}")
        is_nan = (e == 0xFF) & (f != 0)
        is_inf = (e == 0xFF) & (f == 0)
        with m.If(any_special):
            with m.If(is_nan):
                m.d.comb += byte.eq(0x7F)
            with m.Elif(is_inf | ((eout >= 255) & (mag >= 64))):
                m.d.comb += byte.eq(Cat(Const(0x40, 7), s))
            with m.Else():
                m.d.comb += byte.eq(Cat(Const(0, 7), s))
        with m.Else():
            m.d.comb += byte.eq(Cat(mag[0:7], s))
        data.append(byte)
    return exp_byte, data


class Packer(wiring.Component):
    def __init__(self, geo: EngineGeometry, dst_ports):
        self.geo = geo
        self.dst_ports = dst_ports
        super().__init__({
            "cmd": In(stream.Signature(PackCmd)),
            "l1": Out(L1PortSignature(geo.cfg.l1)),
            "half": In(1),         # the Dst half the packer reads
            "half_full": In(1),    # math has committed that half
            "release": Out(1),     # strobe: the half is free again
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        bb, R, C = g.bank_bytes, g.R, g.C
        lr, lc = R.bit_length() - 1, C.bit_length() - 1
        cmd = Signal(PackCmd)
        nb = g.exp_bytes
        blk = Signal(range(nb + 1))
        running = Signal()
        started = Signal()
        max_words = g.data_words(0)
        rd_w = Signal(range(max_words + 1))
        out_count = Signal(range(max_words + g.exp_bytes + 2))
        outstanding = Signal(range(64))
        s1_valid = Signal()
        s1_mem = Signal(range(max(R, 2)))
        s1_off = Signal(range(max(C, 2)))
        s1_w = Signal(range(max_words + 1))
        out_valid = Signal()
        out_addr = Signal(g.addr_bits)
        out_data = Signal(g.bank_width)
        req = self.l1.req
        is_bfp = cmd.fmt == Format.BFP8_B
        tile_base = Signal(range(g.dst_tiles * g.tile_words + 1))
        tile_in_half = cmd.dst_tile[:(g.half_tiles - 1).bit_length()] if g.half_tiles > 1 else 0
        m.d.comb += tile_base.eq((self.half * g.half_tiles + tile_in_half) * g.tile_words)

        m.d.comb += self.busy.eq(running | self.cmd.valid)
        m.d.comb += self.cmd.ready.eq(~running)
        with m.If(self.cmd.valid & ~running):
            m.d.sync += [cmd.eq(self.cmd.payload), running.eq(self.cmd.payload.op == PackOp.PACK),
                         rd_w.eq(0), out_count.eq(0), started.eq(0), blk.eq(0)]
        with m.If(running & ~started & self.half_full):
            m.d.sync += started.eq(1)

        accepted = req.valid & req.ready
        m.d.comb += [req.valid.eq(out_valid), req.payload.addr.eq(out_addr), req.payload.op.eq(L1Op.WRITE),
                     req.payload.mask.eq((1 << bb) - 1), req.payload.wdata.eq(out_data)]
        m.d.sync += outstanding.eq(outstanding + accepted - self.l1.resp.valid)
        with m.If(accepted):
            m.d.sync += [out_valid.eq(0), out_count.eq(out_count + 1)]
        out_free = ~out_valid | accepted

        def dst_read(idx, en):
            row, col = g.position(idx)
            addr = tile_base + (row >> lr) * g.ncc + (col >> lc)
            for port in self.dst_ports:
                m.d.comb += [port.addr.eq(addr), port.en.eq(en)]
            return row, col

        rdata = Array([p.data for p in self.dst_ports])[s1_mem]

        # -- Float32 / Float16_b: one word per cycle ------------------------------
        nwords = Signal(range(max_words + 1))
        m.d.comb += nwords.eq(Mux(cmd.fmt == Format.FLOAT16_B, g.data_words(1), g.data_words(0)))
        s1_move = s1_valid & out_free
        issue = Signal()
        m.d.comb += issue.eq(running & started & ~is_bfp & (rd_w < nwords) & (~s1_valid | s1_move))
        vpw_sig = Mux(cmd.fmt == Format.FLOAT16_B, g.vpw(1), g.vpw(0))
        with m.If(running & ~is_bfp):
            row, col = dst_read(rd_w * vpw_sig, issue)
        with m.If(issue):
            m.d.sync += [rd_w.eq(rd_w + 1), s1_valid.eq(1), s1_mem.eq(row[:lr] if R > 1 else 0),
                         s1_off.eq(col[:lc] if C > 1 else 0), s1_w.eq(rd_w)]
        with m.Elif(s1_move):
            m.d.sync += s1_valid.eq(0)
        conv = {}
        for f in (0, 1):
            vpw = g.vpw(f)
            chunk = rdata.word_select(s1_off >> (vpw.bit_length() - 1), 32 * vpw)
            if f == 0:
                conv[f] = chunk
            else:
                conv[f] = Cat(*[to_bf16(m, chunk[32 * t:32 * t + 32], f"pk16_{t}") for t in range(vpw)])
        with m.If(s1_move & ~is_bfp):
            m.d.sync += [out_valid.eq(1), out_addr.eq(cmd.addr + s1_w * bb),
                         out_data.eq(Mux(cmd.fmt == Format.FLOAT16_B, conv[1], conv[0]))]

        # -- Bfp8_b: a block at a time -----------------------------------------------
        nb = g.exp_bytes
        nbw = g.block // C          # Dst words per block
        nmw = g.block // bb         # L1 words of magnitudes per block
        fill_q = Signal(range(nbw + 1))
        cap_q = Signal(range(nbw + 1))
        cap_valid = Signal()
        cap_mem = Signal(range(max(R, 2)))
        emit_q = Signal(range(nmw + 1))
        buf = [Signal(32, name=f"blk{i}") for i in range(g.block)]
        expbuf = [Signal(8, name=f"expw{i}") for i in range(bb)]
        enc_stages = fp.Stages()
        exp_byte, data_bytes = bfp8_encode_block(m, buf, stages=enc_stages)
        enc_left = Signal(range(enc_stages.count + 1))
        with m.FSM(name="bfp"):
            with m.State("IDLE"):
                with m.If(running & started & is_bfp):
                    m.d.sync += [blk.eq(0), fill_q.eq(0), cap_q.eq(0), emit_q.eq(0)]
                    m.next = "FILL"
            with m.State("FILL"):
                with m.If(fill_q < nbw):
                    row, col = dst_read(blk * g.block + fill_q * C, 1)
                    m.d.sync += [fill_q.eq(fill_q + 1), cap_mem.eq(row[:lr] if R > 1 else 0)]
                m.d.sync += cap_valid.eq(fill_q < nbw)
                with m.If(cap_valid):
                    word = Array([p.data for p in self.dst_ports])[cap_mem]
                    for q in range(nbw):
                        with m.If(cap_q == q):
                            for t in range(C):
                                m.d.sync += buf[q * C + t].eq(word[32 * t:32 * t + 32])
                    m.d.sync += cap_q.eq(cap_q + 1)
                    with m.If(cap_q == nbw - 1):
                        m.d.sync += [cap_valid.eq(0), enc_left.eq(enc_stages.count - 1)]
                        m.next = "ENCODE"
            with m.State("ENCODE"):
                # The encoder's register stages settle on the held block.
                m.d.sync += enc_left.eq(enc_left - 1)
                with m.If(enc_left == 0):
                    m.next = "EMIT"
            with m.State("EMIT"):
                with m.If(out_free):
                    words = Array([Cat(*data_bytes[q * bb:(q + 1) * bb]) for q in range(nmw)])
                    m.d.sync += [out_valid.eq(1), out_addr.eq(cmd.addr + nb + blk * g.block + emit_q * bb),
                                 out_data.eq(words[emit_q]), emit_q.eq(emit_q + 1)]
                    with m.If(emit_q == nmw - 1):
                        for i in range(bb):
                            with m.If(blk[:bb.bit_length() - 1] == i if bb > 1 else 1):
                                m.d.sync += expbuf[i].eq(exp_byte)
                        m.next = "EXP"
            with m.State("EXP"):
                last_in_word = blk[:bb.bit_length() - 1] == bb - 1 if bb > 1 else Const(1, 1)
                with m.If(~last_in_word):
                    m.next = "NEXT"
                with m.Elif(out_free):
                    m.d.sync += [out_valid.eq(1), out_addr.eq(cmd.addr + (blk >> (bb.bit_length() - 1)) * bb),
                                 out_data.eq(Cat(*expbuf))]
                    m.next = "NEXT"
            with m.State("NEXT"):
                with m.If(blk == nb - 1):
                    m.d.sync += blk.eq(nb)
                    m.next = "WAIT"
                with m.Else():
                    m.d.sync += [blk.eq(blk + 1), fill_q.eq(0), cap_q.eq(0), emit_q.eq(0)]
                    m.next = "FILL"
            with m.State("WAIT"):
                with m.If(~running):
                    m.next = "IDLE"

        # -- completion ---------------------------------------------------------------
        all_sent = Mux(is_bfp, blk == nb, (rd_w == nwords) & ~s1_valid)
        done = running & started & all_sent & ~out_valid & (outstanding == 0)
        with m.If(done):
            m.d.sync += running.eq(0)
            m.d.comb += self.release.eq(cmd.release)
        return m
