"""Reference for the engine bench top: the same K-loop matmuls on the ``engine`` block with L1 and
command streams modelled in Python (:class:`~tessera.sim.engine.env.EngineEnv`, an L1 that grants
every request at once), cycles counted in Python.

Same environment variables as :mod:`tessera.sim.engine.cocotb_bench` (TESSERA_BENCH_SHAPE,
TESSERA_BENCH_FIDELITIES, TESSERA_BENCH_FORMATS, TESSERA_BENCH_OUT) and the same random tiles
for the same seed, so the two runs' rows can be compared one by one.
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
async def matmul_python_l1(dut):
    cfg = load_config()
    start_clock(dut)
    for t in EngineEnv.THREADS:
        getattr(dut, f"{t}_cmd__valid").value = 0
    await reset(dut)
    rng = seeded_rng(dut, "bench")
    env = EngineEnv(dut, cfg, rng)
    env.start()
    nprng = np.random.default_rng(rng.getrandbits(32))
    m, n, k = (int(v) for v in os.environ["TESSERA_BENCH_SHAPE"].split(","))
    rows = []
    for pair in os.environ["TESSERA_BENCH_FORMATS"].split(","):
        fin, fout = pair.split(":")
        for fid in os.environ["TESSERA_BENCH_FIDELITIES"].split(","):
            env.mm_issue = 0
            cycles, macs = await matmul_k_loop(env, cfg, nprng, m, n, k, fid, fmt_in=fin, fmt_out=fout)
            rows.append({"fidelity": fid, "fmt_in": fin, "fmt_out": fout, "cycles": cycles,
                         "macs": macs, "mm_issue_cycles": env.mm_issue})
    with open(os.environ["TESSERA_BENCH_OUT"], "w") as f:
        json.dump(rows, f, indent=1)
