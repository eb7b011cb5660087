"""Element-wise binary add: C = A + B on bfloat16 tiles, split over every Tensix core.

Each core gets a contiguous range of tiles: a reader on RISCV_1 (ncrisc) reads
its A and B tiles from DRAM into circular buffers 0 and 1, the compute kernel
(the three TRISCs, ``add_tiles``) adds them into circular buffer 16, and a
writer on RISCV_0 (brisc) writes the sums to DRAM.  The result is compared
bit for bit with the engine's golden (``tessera.sim.golden``: bf16 unpack,
the fused adder, bf16 pack) and by PCC with the float64 sum.

Run it: ``python examples/eltwise_binary/host.py [--tiles 64] [--seed 0]``
or ``tessera run-example eltwise_binary``.
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


def run(device, tiles: int = 64, seed: int = 0, cb_pages: int = 2) -> dict:
    queue = device.command_queue()
    page = ttm.tile_bytes(ttm.DataFormat.Float16_b)
    grid = ex.grid_cores(device)
    cores = [c for c, (_, n) in zip(grid, ex.split(tiles, len(grid))) if n]
    buffers = ex.DramBuffers(device, page)
    try:
        a_buf, b_buf, c_buf = buffers.make(tiles), buffers.make(tiles), buffers.make(tiles)
        program = ttm.CreateProgram()
        bf16 = ttm.DataFormat.Float16_b
        for cb in (0, 1, 16):
            ttm.CreateCircularBuffer(program, cores, ttm.CircularBufferConfig(cb_pages * page, {cb: bf16})
                                     .set_page_size(cb, page))
        reader = ttm.CreateKernel(program, KERNELS / "reader_binary.c", cores,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1))
        writer = ttm.CreateKernel(program, SHARED / "writer_unary.c", cores,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0))
        compute = ttm.CreateKernel(program, KERNELS / "add.c", cores, ttm.ComputeConfig())
        for core, (first, count) in zip(cores, ex.split(tiles, len(cores))):
            ttm.SetRuntimeArgs(program, reader, core, [a_buf.address(), b_buf.address(), first, count])
            ttm.SetRuntimeArgs(program, writer, core, [c_buf.address(), first, count])
            ttm.SetRuntimeArgs(program, compute, core, [count])

        rng = np.random.default_rng(seed)
        a, a_bits = ex.random_bf16(rng, (tiles, 32, 32))
        b, b_bits = ex.random_bf16(rng, (tiles, 32, 32))
        got = np.zeros_like(a_bits)
        start = time.monotonic()
        ttm.EnqueueWriteBuffer(queue, a_buf, a_bits, blocking=False)
        ttm.EnqueueWriteBuffer(queue, b_buf, b_bits, blocking=False)
        ttm.EnqueueProgram(queue, program, blocking=False)
        ttm.EnqueueReadBuffer(queue, c_buf, got, blocking=False)
        ttm.Finish(queue)
        wall = time.monotonic() - start
        want = ex.golden_eltwise(ex.tile_list(a_bits), ex.tile_list(b_bits), "add", device.cfg.engine)
        mismatches = int(np.count_nonzero(got != want))
        return {"cores": len(cores), "cycles": program.last_run["cycles"], "macs": 0,
                "noc_bytes": 3 * tiles * page, "dram_bytes": 3 * tiles * page,
                "mismatches": mismatches, "values": got.size, "seed": seed,
                "pcc": ex.pcc(ex.bf16_values(got, a.shape), a.astype(np.float64) + b.astype(np.float64)),
                "wall_seconds": wall}
    finally:
        buffers.deallocate()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=64, help="32x32 bfloat16 tiles per input (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    args = parser.parse_args(argv)
    with ttm.CreateDevice(0) as device:
        result = run(device, args.tiles, args.seed)
    print(ex.summary_line("eltwise add", result))
    return 0 if result["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
