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
    return cfg, env, nprng


class Layout:
    """Tile slots in L1 above the firmware region."""

    def __init__(self, cfg):
        self.base = cfg.l1_data_base
        self.slot = cfg.engine.tile_bytes("float32")

    def __getitem__(self, i):
        return self.base + i * self.slot


async def _run_binary(env, cfg, lay, raw_a, raw_b, fmt_in, math_cmds, fmt_out):
    """Unpack A and B, run math commands (the last one pops), commit, pack; return L1 bytes of the result."""
    ecfg = cfg.engine
    env.write(lay[0], raw_a)
    env.write(lay[1], raw_b)
    env.push("unpack", encode_unpack(lay[0], fmt_in, "a"), encode_unpack(lay[1], fmt_in, "b", push=True))
    env.push("math", *math_cmds, encode_math("commit"))
    env.push("pack", encode_pack(lay[2], fmt_out, release=True))
    await env.drain()
    return env.read(lay[2], ecfg.tile_bytes(fmt_out))


@cocotb.test()
async def formats_roundtrip_with_wait_states(dut):
    """Every input x output format, random tiles with corner values, L1 stalls 30% of cycles."""
    cfg, env, rng = await _setup(dut, "formats", stall_prob=0.3)
    ecfg, lay = cfg.engine, Layout(cfg)
    zero = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    for fin in FORMATS:
        for fout in FORMATS:
            a = random_values(rng, ecfg, scale=3.0, corners=40, wide=True)
            raw_a = tile_bytes(a, fin, ecfg)
            if fin == "bfp8_b" and fout == "float32":
                # Arbitrary bytes: every exponent (0, 255 included) and magnitude decode.
                raw_a = rng.integers(0, 256, ecfg.tile_bytes("bfp8_b"), dtype=np.uint8).tobytes()
            raw_b = tile_bytes(zero, fin, ecfg)
            got = await _run_binary(env, cfg, lay, raw_a, raw_b, fin, [encode_math("add", pop=True)], fout)
            ga = fm.unpack_tile(raw_a, fin, ecfg)
            gb = fm.unpack_tile(raw_b, fin, ecfg)
            want = fm.pack_tile(ge.eltwise(zero, ga, gb, "add"), fout, ecfg)
            compare_bytes(got, want, f"{fin} -> {fout}")


@cocotb.test()
async def matmul_every_fidelity_and_format(dut):
    """Dst = A @ B for every fidelity and input format (one case with corner values)."""
    cfg, env, rng = await _setup(dut, "matmul")
    ecfg, lay = cfg.engine, Layout(cfg)
    zero = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    for fin in FORMATS:
        for fid in ge.FIDELITIES:
            corners = 6 if (fin == "float32" and fid == "hifi4") else 0
            a = random_values(rng, ecfg, corners=corners)
            b = random_values(rng, ecfg, corners=corners)
            raw_a, raw_b = tile_bytes(a, fin, ecfg), tile_bytes(b, fin, ecfg)
            got = await _run_binary(env, cfg, lay, raw_a, raw_b, fin,
                                    [encode_math("matmul", fidelity=fid, pop=True)], "float32")
            ga, gb = fm.unpack_tile(raw_a, fin, ecfg), fm.unpack_tile(raw_b, fin, ecfg)
            want = fm.pack_tile(ge.matmul(zero, ga, gb, ecfg, fid, acc=False), "float32", ecfg)
            compare_bytes(got, want, f"matmul {fin} {fid}")


@cocotb.test()
async def eltwise_ops(dut):
    """add, sub (with accumulate) and mul at every fidelity, fp32 inputs with corners."""
    cfg, env, rng = await _setup(dut, "eltwise")
    ecfg, lay = cfg.engine, Layout(cfg)
    zero = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    cases = [("add", "hifi4", False), ("sub", "hifi4", False)] + [("mul", f, False) for f in ge.FIDELITIES]
    for op, fid, _ in cases:
        a = random_values(rng, ecfg, scale=2.0, corners=30, wide=(op == "mul"))
        b = random_values(rng, ecfg, scale=2.0, corners=30)
        raw_a, raw_b = tile_bytes(a, "float32", ecfg), tile_bytes(b, "float32", ecfg)
        got = await _run_binary(env, cfg, lay, raw_a, raw_b, "float32",
                                [encode_math(op, fidelity=fid, pop=True)], "float32")
        ga, gb = fm.unpack_tile(raw_a, "float32", ecfg), fm.unpack_tile(raw_b, "float32", ecfg)
        want = fm.pack_tile(ge.eltwise(zero, ga, gb, op, fid), "float32", ecfg)
        compare_bytes(got, want, f"eltwise {op} {fid}")
    # Accumulate: Dst = A + B, then Dst += A - B.
    a = random_values(rng, ecfg)
    b = random_values(rng, ecfg)
    raw_a, raw_b = tile_bytes(a, "float16_b", ecfg), tile_bytes(b, "float16_b", ecfg)
    got = await _run_binary(env, cfg, lay, raw_a, raw_b, "float16_b",
                            [encode_math("add"), encode_math("sub", acc=True, pop=True)], "float32")
    ga, gb = fm.unpack_tile(raw_a, "float16_b", ecfg), fm.unpack_tile(raw_b, "float16_b", ecfg)
    d = ge.eltwise(zero, ga, gb, "add")
    want = fm.pack_tile(ge.eltwise(d, ga, gb, "sub", acc=True), "float32", ecfg)
    compare_bytes(got, want, "eltwise add then sub acc")


@cocotb.test()
async def reductions(dut):
    """Row / column / scalar sum and max, on a zeroed Dst tile."""
    cfg, env, rng = await _setup(dut, "reduce")
    ecfg, lay = cfg.engine, Layout(cfg)
    zero = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    for dim in ("row", "col", "scalar"):
        for kind in ("sum", "max"):
            a = random_values(rng, ecfg, scale=4.0, corners=2 if kind == "max" else 0)
            b = random_values(rng, ecfg, scale=4.0, corners=2 if kind == "max" else 0)
            raw_a, raw_b = tile_bytes(a, "float32", ecfg), tile_bytes(b, "float32", ecfg)
            got = await _run_binary(env, cfg, lay, raw_a, raw_b, "float32",
                                    [encode_math("zero"), encode_math("reduce", dim=dim, kind=kind, pop=True)],
                                    "float32")
            ga, gb = fm.unpack_tile(raw_a, "float32", ecfg), fm.unpack_tile(raw_b, "float32", ecfg)
            want = fm.pack_tile(ge.reduce(zero, gb if dim == "col" else ga, dim, kind, ecfg),
                                "float32", ecfg)
            compare_bytes(got, want, f"reduce {dim} {kind}")


@cocotb.test()
async def sfpu_ops(dut):
    """Every SFPU op on Dst = A (wide range, corners), packed as Float32."""
    cfg, env, rng = await _setup(dut, "sfpu")
    ecfg, lay = cfg.engine, Layout(cfg)
    zero = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    scalar = int(np.float32(-1.375).view(np.uint32))
    for op in ge.SFPU_OPS:
        a = random_values(rng, ecfg, scale=3.0, corners=24, wide=op in ("recip", "sqrt", "muls"))
        if op == "exp":
            a = random_values(rng, ecfg, scale=30.0, corners=24)
        raw_a, raw_b = tile_bytes(a, "float32", ecfg), tile_bytes(zero, "float32", ecfg)
        got = await _run_binary(env, cfg, lay, raw_a, raw_b, "float32",
                                [encode_math("add", pop=True), encode_math("sfpu", sfpu=op, scalar=scalar)],
                                "float32")
        ga, gb = fm.unpack_tile(raw_a, "float32", ecfg), fm.unpack_tile(raw_b, "float32", ecfg)
        want = fm.pack_tile(ge.sfpu(ge.eltwise(zero, ga, gb, "add"), op, scalar), "float32", ecfg)
        compare_bytes(got, want, f"sfpu {op}")


@cocotb.test()
async def overlapped_matmul_throughput(dut):
    """A 2x2-tile output with K = 3 tiles at LoFi: results exact, and >= 85% of peak MACs/cycle."""
    cfg, env, rng = await _setup(dut, "overlap")
    cycles, macs = await matmul_k_loop(env, cfg, rng, 2, 2, 3, "lofi")
    frac = macs / cycles / cfg.engine.macs_per_cycle
    dut._log.info("k-loop matmul: %d MACs in %d cycles = %.3f of peak", macs, cycles, frac)
    assert frac >= 0.85, f"overlapped matmul reached only {frac:.3f} of peak"
