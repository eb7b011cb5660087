"""cocotb benchmark of the engine: overlapped K-loop matmul, MACs per cycle per fidelity.

Parameters come from the environment (set by ``tessera engine-bench``):
TESSERA_BENCH_SHAPE "m,n,k" in tiles, TESSERA_BENCH_FIDELITIES, TESSERA_BENCH_FORMATS
("in:out,..."), TESSERA_BENCH_OUT (JSON path).
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np

from tessera.sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from tessera.sim.engine.env import EngineEnv
from tessera.sim.engine.workloads import matmul_k_loop


@cocotb.test()
async def matmul_bench(dut):
    cfg = load_config()
    start_clock(dut)
    for t in ("unpack", "math", "pack"):
        getattr(dut, f"{t}_cmd__valid").value = 0
    await reset(dut)
    rng = seeded_rng(dut, "bench")
    env = EngineEnv(dut, cfg, rng)
    env.start()
    nprng = np.random.default_rng(rng.getrandbits(32))
    m, n, k = (int(v) for v in os.environ.get("TESSERA_BENCH_SHAPE", "4,4,8").split(","))
    fids = os.environ.get("TESSERA_BENCH_FIDELITIES", "lofi,hifi2,hifi3,hifi4").split(",")
    fmts = [tuple(p.split(":")) for p in os.environ.get("TESSERA_BENCH_FORMATS", "float16_b:bfp8_b").split(",")]
    rows = []
    for fin, fout in fmts:
        for fid in fids:
            env.mm_issue = 0
            cycles, macs = await matmul_k_loop(env, cfg, nprng, m, n, k, fid, fmt_in=fin, fmt_out=fout)
            passes = {"lofi": 1, "hifi2": 2, "hifi3": 3, "hifi4": 4}[fid]
            peak = cfg.engine.macs_per_cycle
            row = {"fidelity": fid, "fmt_in": fin, "fmt_out": fout, "m_tiles": m, "n_tiles": n,
                   "k_tiles": k, "cycles": cycles, "macs": macs, "peak_macs_per_cycle": peak,
                   "macs_per_cycle": macs / cycles, "fraction_of_peak": macs / cycles / peak,
                   "fraction_of_fidelity_bound": macs * passes / cycles / peak,
                   "math_busy_fraction": env.mm_issue / cycles, "bit_exact": True}
            dut._log.info("%s", row)
            rows.append(row)
    out = os.environ.get("TESSERA_BENCH_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(rows, f, indent=1)
