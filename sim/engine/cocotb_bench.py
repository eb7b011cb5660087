"""cocotb benchmark of the engine: overlapped K-loop matmul, MACs per cycle per fidelity.

Runs on the ``engine_bench`` block (:mod:`tessera.sim.engine.bench_top`): the
engine on the tile's banked L1 with command memories, so each matmul is one
wait for ``done`` and its cycles come from the block's counter.

Parameters come from the environment (set by ``tessera engine-bench``):
TESSERA_BENCH_SHAPE "m,n,k" in tiles, TESSERA_BENCH_FIDELITIES, TESSERA_BENCH_FORMATS
("in:out,..."), TESSERA_BENCH_OUT (JSON path).
"""

from __future__ import annotations

import json
import os
import time

import cocotb
import numpy as np

from tessera.sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from tessera.sim.engine.bench_driver import BenchTopDriver
from tessera.sim.engine.workloads import FIDELITY_PASSES, matmul_k_loop_on_bench_top


@cocotb.test()
async def matmul_bench(dut):
    cfg = load_config()
    start_clock(dut)
    driver = BenchTopDriver(dut, cfg)
    await reset(dut)
    rng = seeded_rng(dut, "bench")
    nprng = np.random.default_rng(rng.getrandbits(32))
    m, n, k = (int(v) for v in os.environ.get("TESSERA_BENCH_SHAPE", "4,4,8").split(","))
    fids = os.environ.get("TESSERA_BENCH_FIDELITIES", "lofi,hifi2,hifi3,hifi4").split(",")
    fmts = [tuple(p.split(":")) for p in os.environ.get("TESSERA_BENCH_FORMATS", "float16_b:bfp8_b").split(",")]
    rows = []
    for fin, fout in fmts:
        for fid in fids:
            wall = time.monotonic()
            run = await matmul_k_loop_on_bench_top(driver, cfg, nprng, m, n, k, fid, fmt_in=fin, fmt_out=fout)
            cycles, macs = run["cycles"], run["macs"]
            peak = cfg.engine.macs_per_cycle
            row = {"fidelity": fid, "fmt_in": fin, "fmt_out": fout, "m_tiles": m, "n_tiles": n,
                   "k_tiles": k, "cycles": cycles, "macs": macs, "peak_macs_per_cycle": peak,
                   "macs_per_cycle": macs / cycles, "fraction_of_peak": macs / cycles / peak,
                   "fraction_of_fidelity_bound": macs * FIDELITY_PASSES[fid] / cycles / peak,
                   "mm_issue_cycles": run["mm_issue_cycles"],
                   "math_busy_fraction": run["mm_issue_cycles"] / cycles, "bit_exact": True,
                   # The timed run alone, and the whole matmul with golden, loading and checking.
                   "run_wall_seconds": round(run["wall_seconds"], 3),
                   "run_cycles_per_second": round(cycles / max(run["wall_seconds"], 1e-9)),
                   "matmul_wall_seconds": round(time.monotonic() - wall, 3)}
            dut._log.info("%s", row)
            rows.append(row)
    out = os.environ.get("TESSERA_BENCH_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(rows, f, indent=1)
