"""cocotb tests of the engine block against the numpy golden (bit-exact, byte for byte in L1).

Every test goes through the whole engine: L1 -> unpacker -> Src -> math/SFPU
-> Dst -> packer -> L1, driven by the three command streams.
"""

from __future__ import annotations

import numpy as np
import cocotb

from tessera.hw.engine.commands import encode_math, encode_pack, encode_unpack
from tessera.sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sim.engine.data import random_values, tile_bytes
from tessera.sim.engine.env import EngineEnv, compare_bytes
from tessera.sim.engine.workloads import matmul_k_loop

FORMATS = ("float32", "float16_b", "bfp8_b")


async def _setup(dut, salt, stall_prob=0.0):
    cfg = load_config()
    start_clock(dut)
    for t in ("unpack", "math", "pack"):
        getattr(dut, f"{t}_cmd__valid").value = 0
    await reset(dut)
    rng = seeded_rng(dut, salt)
    env = EngineEnv(dut, cfg, rng, stall_prob=stall_prob)
    env.start()
    nprng = np.random.default_rng(rng.getrandbits(32))
    return Bench(cfg, env, nprng)


class Layout:
    """Tile slots in L1 above the firmware region."""

    def __init__(self, cfg):
        self.base = cfg.l1_data_base
        self.slot = cfg.engine.tile_bytes("float32")

    def __getitem__(self, i):
        return self.base + i * self.slot


class Bench:
    """One test's engine environment, numpy RNG and L1 layout, and the run-and-compare step."""

    def __init__(self, cfg, env, rng):
        self.cfg, self.ecfg, self.env, self.rng = cfg, cfg.engine, env, rng
        self.lay = Layout(cfg)
        self.zero = np.zeros((self.ecfg.tile_rows, self.ecfg.tile_cols), dtype=np.uint32)

    def random_tile(self, fmt, **kwargs) -> bytes:
        """``random_values(rng, ...)`` as the L1 bytes of a tile in ``fmt``."""
        return tile_bytes(random_values(self.rng, self.ecfg, **kwargs), fmt, self.ecfg)

    async def check(self, raw_a, raw_b, fmt_in, math_cmds, fmt_out, golden, what):
        """Unpack A and B, run ``math_cmds`` (one of them pops the Src slot), commit, pack as
        ``fmt_out``, and compare the L1 bytes with ``golden(a, b)`` (the Dst bits from the decoded
        inputs) packed alike."""
        env, ecfg, lay = self.env, self.ecfg, self.lay
        env.write(lay[0], raw_a)
        env.write(lay[1], raw_b)
        env.push("unpack", encode_unpack(lay[0], fmt_in, "a"), encode_unpack(lay[1], fmt_in, "b", push=True))
        env.push("math", *math_cmds, encode_math("commit"))
        env.push("pack", encode_pack(lay[2], fmt_out, release=True))
        await env.drain()
        got = env.read(lay[2], ecfg.tile_bytes(fmt_out))
        ga, gb = fm.unpack_tile(raw_a, fmt_in, ecfg), fm.unpack_tile(raw_b, fmt_in, ecfg)
        compare_bytes(got, fm.pack_tile(golden(ga, gb), fmt_out, ecfg), what)


@cocotb.test()
async def formats_roundtrip_with_wait_states(dut):
    """Every input x output format, random tiles with corner values, L1 stalls 30% of cycles."""
    b = await _setup(dut, "formats", stall_prob=0.3)
    for fin in FORMATS:
        for fout in FORMATS:
            raw_a = b.random_tile(fin, scale=3.0, corners=40, wide=True)
            if fin == "bfp8_b" and fout == "float32":
                # Arbitrary bytes: every exponent (0, 255 included) and magnitude decode.
                raw_a = b.rng.integers(0, 256, b.ecfg.tile_bytes("bfp8_b"), dtype=np.uint8).tobytes()
            raw_b = tile_bytes(b.zero, fin, b.ecfg)
            await b.check(raw_a, raw_b, fin, [encode_math("add", pop=True)], fout,
                          lambda ga, gb: ge.eltwise(b.zero, ga, gb, "add"), f"{fin} -> {fout}")


@cocotb.test()
async def matmul_every_fidelity_and_format(dut):
    """Dst = A @ B for every fidelity and input format (one case with corner values)."""
    b = await _setup(dut, "matmul")
    for fin in FORMATS:
        for fid in ge.FIDELITIES:
            corners = 6 if (fin == "float32" and fid == "hifi4") else 0
            raw_a = b.random_tile(fin, corners=corners)
            raw_b = b.random_tile(fin, corners=corners)
            await b.check(raw_a, raw_b, fin, [encode_math("matmul", fidelity=fid, pop=True)], "float32",
                          lambda ga, gb: ge.matmul(b.zero, ga, gb, b.ecfg, fid, acc=False),
                          f"matmul {fin} {fid}")


@cocotb.test()
async def eltwise_ops(dut):
    """add, sub (with accumulate) and mul at every fidelity, fp32 inputs with corners."""
    b = await _setup(dut, "eltwise")
    cases = [("add", "hifi4"), ("sub", "hifi4")] + [("mul", f) for f in ge.FIDELITIES]
    for op, fid in cases:
        raw_a = b.random_tile("float32", scale=2.0, corners=30, wide=(op == "mul"))
        raw_b = b.random_tile("float32", scale=2.0, corners=30)
        await b.check(raw_a, raw_b, "float32", [encode_math(op, fidelity=fid, pop=True)], "float32",
                      lambda ga, gb: ge.eltwise(b.zero, ga, gb, op, fid), f"eltwise {op} {fid}")
    # Accumulate: Dst = A + B, then Dst += A - B.
    raw_a = b.random_tile("float16_b")
    raw_b = b.random_tile("float16_b")
    await b.check(raw_a, raw_b, "float16_b", [encode_math("add"), encode_math("sub", acc=True, pop=True)],
                  "float32",
                  lambda ga, gb: ge.eltwise(ge.eltwise(b.zero, ga, gb, "add"), ga, gb, "sub", acc=True),
                  "eltwise add then sub acc")


@cocotb.test()
async def reductions(dut):
    """Row / column / scalar sum and max, on a zeroed Dst tile."""
    b = await _setup(dut, "reduce")
    for dim in ("row", "col", "scalar"):
        for kind in ("sum", "max"):
            raw_a = b.random_tile("float32", scale=4.0, corners=2 if kind == "max" else 0)
            raw_b = b.random_tile("float32", scale=4.0, corners=2 if kind == "max" else 0)
            await b.check(raw_a, raw_b, "float32",
                          [encode_math("zero"), encode_math("reduce", dim=dim, kind=kind, pop=True)], "float32",
                          lambda ga, gb: ge.reduce(b.zero, gb if dim == "col" else ga, dim, kind, b.ecfg),
                          f"reduce {dim} {kind}")


@cocotb.test()
async def sfpu_ops(dut):
    """Every SFPU op on Dst = A (wide range, corners), packed as Float32."""
    b = await _setup(dut, "sfpu")
    scalar = int(np.float32(-1.375).view(np.uint32))
    for op in ge.SFPU_OPS:
        a = random_values(b.rng, b.ecfg, scale=3.0, corners=24, wide=op in ("recip", "sqrt", "muls"))
        if op == "exp":
            a = random_values(b.rng, b.ecfg, scale=30.0, corners=24)
        raw_a, raw_b = tile_bytes(a, "float32", b.ecfg), tile_bytes(b.zero, "float32", b.ecfg)
        await b.check(raw_a, raw_b, "float32",
                      [encode_math("add", pop=True), encode_math("sfpu", sfpu=op, scalar=scalar)], "float32",
                      lambda ga, gb: ge.sfpu(ge.eltwise(b.zero, ga, gb, "add"), op, scalar), f"sfpu {op}")


@cocotb.test()
async def overlapped_matmul_throughput(dut):
    """A 2x2-tile output with K = 3 tiles at LoFi: results exact, and >= 85% of peak MACs/cycle."""
    b = await _setup(dut, "overlap")
    cycles, macs = await matmul_k_loop(b.env, b.cfg, b.rng, 2, 2, 3, "lofi")
    frac = macs / cycles / b.ecfg.macs_per_cycle
    dut._log.info("k-loop matmul: %d MACs in %d cycles = %.3f of peak", macs, cycles, frac)
    assert frac >= 0.85, f"overlapped matmul reached only {frac:.3f} of peak"
