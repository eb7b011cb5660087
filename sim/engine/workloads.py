"""Engine workloads shared by the tests and the benchmark."""

from __future__ import annotations

import numpy as np

from tessera.hw.engine.commands import encode_math, encode_pack, encode_unpack
from tessera.sim.engine.data import random_values, tile_bytes
from tessera.sim.engine.env import compare_bytes
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm


async def matmul_k_loop(env, cfg, rng, m_tiles, n_tiles, k_tiles, fidelity, fmt_in="float16_b",
                        fmt_out="bfp8_b", pools=4):
    """C[m, n] = sum_k A[m, k] @ B[k, n] with unpack, math and pack overlapped.

    A and B tiles come from pools of ``pools`` tiles each (L1 is small); the
    result tiles are checked against the golden.  Returns (cycles, MACs).
    """
    ecfg = cfg.engine
    base = cfg.l1_data_base
    size_in = ecfg.tile_bytes(fmt_in)
    size_out = ecfg.tile_bytes(fmt_out)
    a_addr = [base + i * size_in for i in range(pools)]
    b_addr = [base + (pools + i) * size_in for i in range(pools)]
    out_base = base + 2 * pools * size_in
    if out_base + m_tiles * n_tiles * size_out > cfg.l1.size_bytes:
        raise ValueError("matmul benchmark does not fit in L1")
    a_bits = [random_values(rng, ecfg) for _ in range(pools)]
    b_bits = [random_values(rng, ecfg) for _ in range(pools)]
    for i in range(pools):
        env.write(a_addr[i], tile_bytes(a_bits[i], fmt_in, ecfg))
        env.write(b_addr[i], tile_bytes(b_bits[i], fmt_in, ecfg))
    ga = [fm.unpack_tile(env.read(a_addr[i], size_in), fmt_in, ecfg) for i in range(pools)]
    gb = [fm.unpack_tile(env.read(b_addr[i], size_in), fmt_in, ecfg) for i in range(pools)]
    want = {}
    for mi in range(m_tiles):
        for ni in range(n_tiles):
            d = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
            for k in range(k_tiles):
                ai, bi = (mi + k) % pools, (k + ni) % pools
                env.push("unpack", encode_unpack(a_addr[ai], fmt_in, "a"),
                         encode_unpack(b_addr[bi], fmt_in, "b", push=True))
                env.push("math", encode_math("matmul", fidelity=fidelity, acc=k > 0, pop=True))
                d = ge.matmul(d, ga[ai], gb[bi], ecfg, fidelity, acc=k > 0)
            env.push("math", encode_math("commit"))
            out = out_base + (mi * n_tiles + ni) * size_out
            env.push("pack", encode_pack(out, fmt_out, release=True))
            want[out] = fm.pack_tile(d, fmt_out, ecfg)
    start = env.cycle
    await env.drain(timeout=50_000_000)
    cycles = env.cycle - start
    for addr, w in want.items():
        compare_bytes(env.read(addr, len(w)), w, f"matmul k-loop output at {addr:#x}")
    macs = m_tiles * n_tiles * k_tiles * ecfg.tile_rows * ecfg.tile_cols * ecfg.tile_cols
    return cycles, macs


