"""Engine workloads shared by the tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tessera.hw.engine.commands import encode_math, encode_pack, encode_unpack
from tessera.sim.engine.data import random_values, tile_bytes
from tessera.sim.engine.env import compare_bytes
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm

__all__ = ["PLAN_POOLS", "FIDELITY_PASSES", "EngineWorkload", "plan_matmul_k_loop", "matmul_k_loop",
           "matmul_k_loop_on_bench_top"]

#: Tiles in each of the A and B pools of :func:`plan_matmul_k_loop` unless told otherwise.
PLAN_POOLS = 4

#: Passes of the lane array per MAC at each fidelity.
FIDELITY_PASSES = {"lofi": 1, "hifi2": 2, "hifi3": 3, "hifi4": 4}


@dataclass
class EngineWorkload:
    """What to load into L1, the command words of each thread, and the L1 bytes expected after."""

    inputs: list = field(default_factory=list)       # [(addr, bytes)]
    commands: dict = field(default_factory=lambda: {"unpack": [], "math": [], "pack": []})
    expected: dict = field(default_factory=dict)     # {addr: bytes}
    macs: int = 0
    #: Cycles the lane array needs at its peak (a lower bound of the run).
    lane_cycles: int = 0


def plan_matmul_k_loop(cfg, rng, m_tiles, n_tiles, k_tiles, fidelity, fmt_in="float16_b",
                       fmt_out="bfp8_b", pools=PLAN_POOLS) -> EngineWorkload:
    """C[m, n] = sum_k A[m, k] @ B[k, n] with unpack, math and pack overlapped.

    A and B tiles come from pools of ``pools`` tiles each (L1 is small); the
    expected result tiles are the golden's.
    """
    if fidelity not in FIDELITY_PASSES:
        raise ValueError(f"unknown fidelity {fidelity!r}; fidelities are {', '.join(FIDELITY_PASSES)}")
    ecfg = cfg.engine
    base = cfg.l1_data_base
    size_in = ecfg.tile_bytes(fmt_in)
    size_out = ecfg.tile_bytes(fmt_out)
    a_addr = [base + i * size_in for i in range(pools)]
    b_addr = [base + (pools + i) * size_in for i in range(pools)]
    out_base = base + 2 * pools * size_in
    if out_base + m_tiles * n_tiles * size_out > cfg.l1.size_bytes:
        raise ValueError(f"matmul of {m_tiles}x{n_tiles} output tiles ({fmt_out}) does not fit in "
                         f"the {cfg.l1.size_bytes}-byte L1")
    work = EngineWorkload()
    a_bits = [random_values(rng, ecfg) for _ in range(pools)]
    b_bits = [random_values(rng, ecfg) for _ in range(pools)]
    a_raw = [tile_bytes(a_bits[i], fmt_in, ecfg) for i in range(pools)]
    b_raw = [tile_bytes(b_bits[i], fmt_in, ecfg) for i in range(pools)]
    for i in range(pools):
        work.inputs += [(a_addr[i], a_raw[i]), (b_addr[i], b_raw[i])]
    ga = [fm.unpack_tile(a_raw[i], fmt_in, ecfg) for i in range(pools)]
    gb = [fm.unpack_tile(b_raw[i], fmt_in, ecfg) for i in range(pools)]
    cmds = work.commands
    for mi in range(m_tiles):
        for ni in range(n_tiles):
            d = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
            for k in range(k_tiles):
                ai, bi = (mi + k) % pools, (k + ni) % pools
                cmds["unpack"] += [encode_unpack(a_addr[ai], fmt_in, "a"),
                                   encode_unpack(b_addr[bi], fmt_in, "b", push=True)]
                cmds["math"].append(encode_math("matmul", fidelity=fidelity, acc=k > 0, pop=True))
                d = ge.matmul(d, ga[ai], gb[bi], ecfg, fidelity, acc=k > 0)
            cmds["math"].append(encode_math("commit"))
            out = out_base + (mi * n_tiles + ni) * size_out
            cmds["pack"].append(encode_pack(out, fmt_out, release=True))
            work.expected[out] = fm.pack_tile(d, fmt_out, ecfg)
    work.macs = m_tiles * n_tiles * k_tiles * ecfg.tile_rows * ecfg.tile_cols * ecfg.tile_cols
    work.lane_cycles = work.macs * FIDELITY_PASSES[fidelity] // ecfg.macs_per_cycle
    return work


async def matmul_k_loop(env, cfg, rng, m_tiles, n_tiles, k_tiles, fidelity, fmt_in="float16_b",
                        fmt_out="bfp8_b", pools=4):
    """:func:`plan_matmul_k_loop` on an :class:`~tessera.sim.engine.env.EngineEnv` (L1 and
    command streams in Python); the result tiles are checked.  Returns (cycles, MACs)."""
    work = plan_matmul_k_loop(cfg, rng, m_tiles, n_tiles, k_tiles, fidelity, fmt_in, fmt_out, pools)
    for addr, data in work.inputs:
        env.write(addr, data)
    for thread, words in work.commands.items():
        env.push(thread, *words)
    start = env.cycle
    await env.drain(timeout=50_000_000)
    cycles = env.cycle - start
    for addr, w in work.expected.items():
        compare_bytes(env.read(addr, len(w)), w, f"matmul k-loop output at {addr:#x}")
    return cycles, work.macs


async def matmul_k_loop_on_bench_top(driver, cfg, rng, m_tiles, n_tiles, k_tiles, fidelity,
                                     fmt_in="float16_b", fmt_out="bfp8_b", pools=4) -> dict:
    """:func:`plan_matmul_k_loop` on the engine bench top (a
    :class:`~tessera.sim.engine.bench_driver.BenchTopDriver`): L1 and commands in hardware,
    cycles counted there; the result tiles are checked.  Returns the driver's run figures
    (``cycles``, ``mm_issue_cycles``, ``wall_seconds``) and ``macs``."""
    work = plan_matmul_k_loop(cfg, rng, m_tiles, n_tiles, k_tiles, fidelity, fmt_in, fmt_out, pools)
    for addr, data in work.inputs:
        driver.write(addr, data)
    await driver.load(work.commands)
    # Generous: the matmul runs near the lane array's peak; a hang ends at the budget.
    run = await driver.run(budget=100_000 + 4 * work.lane_cycles)
    for addr, w in work.expected.items():
        compare_bytes(await driver.read(addr, len(w)), w, f"matmul k-loop output at {addr:#x}")
    return {**run, "macs": work.macs}
