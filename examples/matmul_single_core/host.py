"""Matmul on one core: C = A @ B, bfloat16 in and out, one output tile at a time.

A is Mt x Kt tiles of 32x32, B Kt x Nt, C Mt x Nt, all in DRAM.  For each
output tile a reader on RISCV_1 (ncrisc) sends the K pairs A(m, k), B(k, n)
through circular buffers 0 and 1, the compute kernel accumulates
``matmul_tiles`` of each pair in Dst (fp32) and packs the sum to circular
buffer 16, and a writer on RISCV_0 (brisc) writes it to DRAM.  The result is
compared bit for bit with the engine's golden (``tessera.sim.golden``: the
engine's k-blocks and fidelity passes, fp32 accumulation, bf16 pack) and by
PCC with float64 A @ B.  ``matmul_multi_core`` runs the same kernels on every
core with the output tiles split.

Run it: ``python examples/matmul_single_core/host.py [--mt 2 --kt 2 --nt 2] [--fidelity lofi]``
or ``tessera run-example matmul_single_core``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from tessera import metal as ttm
from tessera.sim import examples as ex

KERNELS = Path(__file__).resolve().parent / "kernels"
SHARED = Path(__file__).resolve().parents[1] / "kernels"     # kernels several examples use


def run(device, mt: int = 2, kt: int = 2, nt: int = 2, fidelity: str = "lofi", seed: int = 0,
        cores: int | None = 1, cb_pages: int = 2) -> dict:
    """C = A @ B on the first ``cores`` cores of the grid (None: all), output tiles split."""
    queue = device.command_queue()
    page = ttm.tile_bytes(ttm.DataFormat.Float16_b)
    grid = ex.grid_cores(device)[:cores]
    ranges = [r for r in ex.split(mt * nt, len(grid)) if r[1]]
    used = grid[:len(ranges)]
    buffers = ex.DramBuffers(device, page)
    try:
        a_buf, b_buf, c_buf = buffers.make(mt * kt), buffers.make(kt * nt), buffers.make(mt * nt)
        program = ttm.CreateProgram()
        bf16 = ttm.DataFormat.Float16_b
        for cb in (0, 1, 16):
            ttm.CreateCircularBuffer(program, used, ttm.CircularBufferConfig(cb_pages * page, {cb: bf16})
                                     .set_page_size(cb, page))
        reader = ttm.CreateKernel(program, KERNELS / "reader_matmul.c", used,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1))
        writer = ttm.CreateKernel(program, SHARED / "writer_unary.c", used,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0))
        compute = ttm.CreateKernel(program, KERNELS / "matmul.c", used,
                                   ttm.ComputeConfig(math_fidelity=ex.math_fidelity(fidelity)))
        for core, (first, count) in zip(used, ranges):
            ttm.SetRuntimeArgs(program, reader, core, [a_buf.address(), b_buf.address(), mt, kt, nt, first, count])
            ttm.SetRuntimeArgs(program, writer, core, [c_buf.address(), first, count])
            ttm.SetRuntimeArgs(program, compute, core, [count, kt])

        inputs = ex.matmul_inputs(np.random.default_rng(seed), mt, kt, nt)
        got = np.zeros(mt * nt * 32 * 32, dtype=np.uint16)
        start = time.monotonic()
        ttm.EnqueueWriteBuffer(queue, a_buf, inputs[1], blocking=False)
        ttm.EnqueueWriteBuffer(queue, b_buf, inputs[3], blocking=False)
        ttm.EnqueueProgram(queue, program, blocking=False)
        ttm.EnqueueReadBuffer(queue, c_buf, got, blocking=False)
        ttm.Finish(queue)
        wall = time.monotonic() - start
        moved = (2 * mt * nt * kt + mt * nt) * page      # every output tile reads its K pairs
        return {"cores": len(used), "cycles": program.last_run["cycles"], "macs": mt * nt * kt * 32 ** 3,
                "noc_bytes": moved, "dram_bytes": moved, "seed": seed, "fidelity": fidelity, "wall_seconds": wall,
                **ex.check_matmul(got, inputs, mt, kt, nt, fidelity, device.cfg.engine)}
    finally:
        buffers.deallocate()


def arguments(doc: str, mt: int, kt: int, nt: int):
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--mt", type=int, default=mt, help=f"tile rows of A and C (default {mt})")
    parser.add_argument("--kt", type=int, default=kt, help=f"tile columns of A, rows of B (default {kt})")
    parser.add_argument("--nt", type=int, default=nt, help=f"tile columns of B and C (default {nt})")
    parser.add_argument("--fidelity", default="lofi", choices=("lofi", "hifi2", "hifi3", "hifi4"),
                        help="math fidelity (default lofi)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    return parser


def main(argv=None) -> int:
    args = arguments(__doc__, 2, 2, 2).parse_args(argv)
    with ttm.CreateDevice(0) as device:
        result = run(device, args.mt, args.kt, args.nt, args.fidelity, args.seed)
    print(ex.summary_line("matmul on one core", result))
    return 0 if result["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
