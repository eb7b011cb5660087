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
from tessera.hw.engine.commands import Format, UnpackCmd, UnpackOp
from tessera.hw.engine.geometry import EngineGeometry
from tessera.hw.stream_fifo import StreamFifo
from tessera.hw.tile.l1_port import L1Op, L1PortSignature

__all__ = ["Unpacker", "RESP_FIFO_DEPTH", "bfp8_decode"]

RESP_FIFO_DEPTH = 4


def bfp8_decode(m: Module, exp, byte, name):
    """One Bfp8_b byte with its block exponent -> fp32 pattern (golden: formats.bfp8_decode)."""
    s = byte[7]
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
        m.d.comb += out.eq(Mux(mag == 0, Cat(Const(0, 31), s),
                               Mux(mag == 0x40, Cat(Const(0x7F800000, 31), s), fp.NAN)))
    with m.Elif((mag == 0) | (exp == 0) | (biased <= 0)):
        m.d.comb += out.eq(Cat(Const(0, 31), s))
    with m.Else():
        m.d.comb += out.eq(Cat(mant[0:23], biased[0:8], s))
    return out


class Unpacker(wiring.Component):
    """Ports: ``cmd`` (UnpackCmd stream), ``l1`` (requester port), slot handshake, Src write ports."""

    def __init__(self, geo: EngineGeometry, a_ports, b_ports):
        self.geo = geo
        self.a_ports = a_ports
        self.b_ports = b_ports
        super().__init__({
            "cmd": In(stream.Signature(UnpackCmd)),
            "l1": Out(L1PortSignature(geo.cfg.l1)),
            "buf": In(1),          # which Src slot the unpacker fills
            "slot_free": In(1),    # that slot has been released by math
            "push": Out(1),        # strobe: the slot is full
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        bb = g.bank_bytes
        m.submodules.resp_fifo = fifo = StreamFifo(g.bank_width, RESP_FIFO_DEPTH)
        cmd = Signal(UnpackCmd)
        exp_words = g.exp_bytes // bb
        max_words = max(g.data_words(f) for f in (0, 1, 2)) + exp_words
        total = Signal(range(max_words + 1))
        req_idx = Signal(range(max_words + 1))
        con_idx = Signal(range(max_words + 1))
        sub = Signal(range(8))
        inflight = Signal(range(RESP_FIFO_DEPTH + 3))
        running = Signal()
        exps = Array([Signal(8, name=f"bfp_exp{i}") for i in range(g.exp_bytes)])

        is_bfp = cmd.fmt == Format.BFP8_B
        m.d.comb += self.busy.eq(running | self.cmd.valid)

        # -- command intake -------------------------------------------------
        m.d.comb += self.cmd.ready.eq(~running)
        with m.If(self.cmd.valid & ~running):
            m.d.sync += [cmd.eq(self.cmd.payload), req_idx.eq(0), con_idx.eq(0), sub.eq(0)]
            fmt = self.cmd.payload.fmt
            m.d.sync += total.eq(Mux(fmt == Format.BFP8_B, g.data_words(2) + exp_words,
                                     Mux(fmt == Format.FLOAT16_B, g.data_words(1), g.data_words(0))))
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
            req.valid.eq(running & started & (req_idx < total) & credit_ok),
            req.payload.addr.eq(cmd.addr + req_idx * bb),
            req.payload.op.eq(L1Op.READ),
            req.payload.mask.eq(0),
            req.payload.wdata.eq(0),
        ]
        accepted = req.valid & req.ready
        with m.If(accepted):
            m.d.sync += req_idx.eq(req_idx + 1)
        m.d.sync += inflight.eq(inflight + accepted - self.l1.resp.valid)
        m.d.comb += [fifo.i.valid.eq(self.l1.resp.valid), fifo.i.payload.eq(self.l1.resp.rdata)]

        # -- consume words ----------------------------------------------------
        word = fifo.o.payload
        in_exp = is_bfp & (con_idx < exp_words)
        data_idx = Signal(range(max_words + 1))
        m.d.comb += data_idx.eq(con_idx - Mux(is_bfp, exp_words, 0))
        x = g.K  # Src word width in values (K == C)
        # Values written per cycle and sub-steps per word, per format.
        per = {f: min(g.vpw(f), x) for f in (0, 1, 2)}
        nsub = {f: g.vpw(f) // per[f] for f in (0, 1, 2)}
        last_sub = Signal()
        m.d.comb += last_sub.eq(Mux(is_bfp, sub == nsub[2] - 1,
                                    Mux(cmd.fmt == Format.FLOAT16_B, sub == nsub[1] - 1, sub == nsub[0] - 1)))
        consume = running & fifo.o.valid
        pop = Signal()
        m.d.comb += pop.eq(consume & (in_exp | last_sub))
        m.d.comb += fifo.o.ready.eq(pop)
        with m.If(pop):
            m.d.sync += [con_idx.eq(con_idx + 1), sub.eq(0)]
        with m.Elif(consume):
            m.d.sync += sub.eq(sub + 1)
        with m.If(consume & in_exp):
            for w in range(exp_words):
                with m.If(con_idx == w):
                    for i in range(bb):
                        m.d.sync += exps[w * bb + i].eq(word[8 * i:8 * i + 8])

        # Converted values of this sub-step, per format.
        vals = {}
        first_idx = {}
        for f in (0, 1, 2):
            bpv = 4 if f == 0 else 2 if f == 1 else 1
            vals[f] = []
            sub_vals = Array([Cat(*[word[8 * bpv * (s * per[f] + t):8 * bpv * (s * per[f] + t + 1)]
                                    for t in range(per[f])]) for s in range(nsub[f])])
            chunk = Signal(8 * bpv * per[f], name=f"chunk_f{f}")
            m.d.comb += chunk.eq(sub_vals[sub])
            for t in range(per[f]):
                raw = chunk[8 * bpv * t:8 * bpv * (t + 1)]
                if f == 0:
                    v = fp.ftz(m, raw, name=f"u32_{t}")
                elif f == 1:
                    v = fp.ftz(m, Cat(Const(0, 16), raw), name=f"u16_{t}")
                else:
                    block_idx = (data_idx * g.vpw(2)) >> (g.block.bit_length() - 1)
                    v = bfp8_decode(m, exps[block_idx], raw, name=f"ub_{t}")
                vals[f].append(v)
            first_idx[f] = data_idx * g.vpw(f) + sub * per[f]

        # Write into Src: position of the first value of this sub-step.
        for f in (0, 1, 2):
            with m.If(consume & ~in_exp & (cmd.fmt == Format(f))):
                row, col = g.position(first_idx[f])
                lanes = per[f]
                lane_off = col[:(x.bit_length() - 1)] if x > 1 else Const(0, 1)
                chunk_col = col >> (x.bit_length() - 1)
                rep = Cat(*(vals[f] * (x // lanes)))
                en = Signal(x, name=f"lane_en_f{f}")
                m.d.comb += en.eq(Const((1 << lanes) - 1, x) << lane_off)
                for opnd, ports in ((0, self.a_ports), (1, self.b_ports)):
                    nm = len(ports)
                    lnm = nm.bit_length() - 1
                    depth = g.a_depth if opnd == 0 else g.b_depth
                    for i, port in enumerate(ports):
                        sel = (cmd.operand == opnd) & ((row[:lnm] == i) if nm > 1 else 1)
                        with m.If(sel):
                            m.d.comb += [
                                port.addr.eq(self.buf * depth + (row >> lnm) * (g.cols // x) + chunk_col),
                                port.data.eq(rep),
                                port.en.eq(en),
                            ]

        # -- completion ---------------------------------------------------------
        done = running & started & (con_idx == total) & (total != 0)
        with m.If(done):
            m.d.sync += running.eq(0)
            m.d.comb += self.push.eq(cmd.push)
        return m
