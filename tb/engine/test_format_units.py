"""Amaranth-simulator tests of the format converters (bfp8 decode/encode, bf16 rounding) vs the golden."""

import numpy as np
import pytest
from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from tessera.hw.engine.packer import (Bfp8Scan, bfp8_block_exponent, bfp8_byte, bfp8_encode_block, bfp8_scan,
                                      bfp8_shift, to_bf16)
from tessera.hw.engine.unpacker import bfp8_decode
from tessera.sim.golden import formats as fm
from tessera.sim.golden import numerics as nx

BLOCK = 16


#: Values that stress the format converters: zeros, infinities, NaN, the
#: largest and smallest normal, and rounding carries into the exponent.
BLOCK_CORNERS = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F7FFFFF, 0x00800000,
                          0x3FFFFFFF, 0x3F7FFFFF, 0x7F7F0000], np.uint32)


def random_blocks(seed: int, count: int, corners_every: int, corners_per_block: int) -> list:
    """``count`` blocks of random fp32 patterns over a wide exponent range (flushed to zero as the
    engine does); every ``corners_every``-th block gets ``corners_per_block`` BLOCK_CORNERS, every 7th
    is all 0x3FFFFFFF (rounds up to 128: exponent bump), every 11th all 0x7F7FFFFF (bump past 254:
    an infinity block)."""
    rng = np.random.default_rng(seed)
    blocks = []
    for i in range(count):
        v = (rng.standard_normal(BLOCK) * np.exp2(rng.integers(-30, 30))).astype(np.float32).view(np.uint32)
        if i % corners_every == 0:
            v[rng.integers(0, BLOCK, corners_per_block)] = rng.choice(BLOCK_CORNERS, corners_per_block)
        if i % 7 == 0:
            v = np.full(BLOCK, 0x3FFFFFFF, np.uint32)
        if i % 11 == 0:
            v = np.full(BLOCK, 0x7F7FFFFF, np.uint32)
        blocks.append(nx.ftz(v))
    return blocks


def block_value(block) -> int:
    """A block of fp32 patterns as one integer, element 0 in the low bits (the ``vals`` inputs)."""
    return int(sum(int(v) << (32 * i) for i, v in enumerate(block)))


def check_encoded(blocks, got) -> None:
    """``got[i]`` = (shared exponent, packed bytes) of blocks[i] from the HDL, against the golden."""
    for blk, (ge_, gd) in zip(blocks, got):
        we, wd = fm.bfp8_encode(blk, BLOCK)
        gbytes = [(gd >> (8 * i)) & 0xFF for i in range(BLOCK)]
        assert ge_ == we[0] and gbytes == list(wd), \
            f"encode {[hex(v) for v in blk]}: hdl {ge_} {gbytes} golden {we[0]} {list(wd)}"


class Converters(wiring.Component):
    exp: In(8)
    byte: In(8)
    dec: Out(32)
    vals: In(32 * BLOCK)
    enc_exp: Out(8)
    enc: Out(8 * BLOCK)
    bf16: Out(16)

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.dec.eq(bfp8_decode(m, self.exp, self.byte, "dec"))
        e, data = bfp8_encode_block(m, [self.vals[32 * i:32 * i + 32] for i in range(BLOCK)])
        m.d.comb += [self.enc_exp.eq(e), self.enc.eq(Cat(*data))]
        m.d.comb += self.bf16.eq(to_bf16(m, self.vals[0:32], "bf"))
        return m


def test_converters_match_golden():
    blocks = random_blocks(21, 120, corners_every=3, corners_per_block=2)
    pairs = [(int(e), int(b)) for e in list(range(0, 256, 5)) + [0, 1, 126, 127, 254, 255]
             for b in (0, 1, 0x40, 0x7F, 0x80, 0xC0, 0xFF, 0x35, 0x01)]
    got_dec, got_enc, got_bf = [], [], []
    dut = Converters()
    sim = Simulator(dut)

    async def bench(ctx):
        for e, b in pairs:
            ctx.set(dut.exp, e)
            ctx.set(dut.byte, b)
            got_dec.append(ctx.get(dut.dec))
        for blk in blocks:
            ctx.set(dut.vals, block_value(blk))
            got_enc.append((ctx.get(dut.enc_exp), ctx.get(dut.enc)))
            got_bf.append(ctx.get(dut.bf16))

    sim.add_testbench(bench)
    sim.run()
    for (e, b), g in zip(pairs, got_dec):
        want = fm.bfp8_decode(np.array([e], np.uint8), np.array([b] + [0] * (BLOCK - 1), np.uint8), BLOCK)[0]
        assert g == want, f"decode exp={e} byte={b:#04x}: hdl {g:#010x} golden {int(want):#010x}"
    check_encoded(blocks, got_enc)
    for blk, g in zip(blocks, got_bf):
        assert g == fm.to_bf16_bits(blk[:1])[0], f"bf16 of {blk[0]:#010x}: hdl {g:#06x}"


class StreamedEncoder(wiring.Component):
    """The packer's Bfp8 encoder as the packer runs it: the block's scan takes ``per_cycle`` values
    a cycle into a register, then the exponent and each value's byte come from the final scan."""
    vals: In(32 * BLOCK)
    step: In(range(BLOCK))
    clear: In(1)
    enc_exp: Out(8)
    enc: Out(8 * BLOCK)

    def __init__(self, per_cycle):
        self.per_cycle = per_cycle
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        scan = Signal(Bfp8Scan)
        values = [self.vals[32 * i:32 * i + 32] for i in range(BLOCK)]
        arriving = [Array(values[t::self.per_cycle])[self.step] for t in range(self.per_cycle)]
        m.d.sync += scan.eq(Mux(self.clear, 0, bfp8_scan(m, scan, arriving)))
        exp_out, special, exp_byte = bfp8_block_exponent(m, scan)
        data = [bfp8_byte(m, v, bfp8_shift(m, exp_out, v, f"v{i}"), exp_out, special, f"v{i}")
                for i, v in enumerate(values)]
        m.d.comb += [self.enc_exp.eq(exp_byte), self.enc.eq(Cat(*data))]
        return m


@pytest.mark.parametrize("per_cycle", [1, 2, 4])
def test_streamed_bfp8_encoder_matches_golden(per_cycle):
    """The scan fed ``per_cycle`` values a cycle (the Dst word of the engine shapes) in any order of
    arrival ends at the golden's exponent and bytes."""
    blocks = random_blocks(22 + per_cycle, 150, corners_every=2, corners_per_block=3)
    dut = StreamedEncoder(per_cycle)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    got = []

    async def bench(ctx):
        for blk in blocks:
            ctx.set(dut.vals, block_value(blk))
            ctx.set(dut.clear, 1)
            await ctx.tick()
            ctx.set(dut.clear, 0)
            for step in range(BLOCK // per_cycle):
                ctx.set(dut.step, step)
                await ctx.tick()
            got.append((ctx.get(dut.enc_exp), ctx.get(dut.enc)))

    sim.add_testbench(bench)
    sim.run()
    check_encoded(blocks, got)
