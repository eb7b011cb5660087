"""Matmul with data reuse: each core computes one block of output tiles from A rows and B
columns it reads from DRAM once and keeps in L1.

The Tensix grid (gx x gy cores) tiles C (Mt x Nt tiles) into blocks of
Mb = Mt / gy by Nb = Nt / gx tiles; core (x, y) computes the block at
C(y * Mb, x * Nb).  Its reader on RISCV_1 (ncrisc) reads the block's Mb rows
of A and Nb columns of B (Kt tiles each) into circular buffers 0 and 1, sized
to hold them all; the compute kernel uses every A tile Nb times and every B
tile Mb times from L1, starting as soon as the first row and column are in;
the writer on RISCV_0 (brisc) writes the block's tiles to DRAM.  Against
``matmul_multi_core`` (every output tile reads its own K pairs) the DRAM
traffic drops from 2 Mt Nt Kt to (gx Mt + gy Nt) Kt tiles.  ``matmul_multicast``
runs the same compute and writer kernels with A and B multicast.

Bit-exact against the engine's golden, PCC against float64.

Run it: ``python examples/matmul_reuse/host.py [--mt 4 --kt 4 --nt 4] [--fidelity lofi]``
or ``tessera run-example matmul_reuse``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from tessera import metal as ttm
from tessera.sim import examples as ex

KERNELS = Path(__file__).resolve().parent / "kernels"
MCAST_KERNELS = Path(__file__).resolve().parents[1] / "matmul_multicast" / "kernels"


def blocks(device, mt: int, nt: int) -> tuple:
    """(grid width, grid height, Mb, Nb): one output block per core of the compute grid."""
    grid = device.compute_with_storage_grid_size()
    if mt % grid.y or nt % grid.x:
        raise ValueError(f"Mt={mt} and Nt={nt} must be multiples of the compute grid's {grid.y} rows and "
                         f"{grid.x} columns (one output block per core)")
    return grid.x, grid.y, mt // grid.y, nt // grid.x


def run_blocked(device, mt: int, kt: int, nt: int, fidelity: str, seed: int, multicast: bool,
                out_pages: int = 2) -> dict:
    queue = device.command_queue()
    page = ttm.tile_bytes(ttm.DataFormat.Float16_b)
    gx, gy, mb, nb = blocks(device, mt, nt)
    cores = ttm.CoreRange(ttm.CoreCoord(0, 0), ttm.CoreCoord(gx - 1, gy - 1))
    buffers = ex.DramBuffers(device, page)
    try:
        a_buf, b_buf, c_buf = buffers.make(mt * kt), buffers.make(kt * nt), buffers.make(mt * nt)
        program = ttm.CreateProgram()
        bf16 = ttm.DataFormat.Float16_b
        for cb, pages in ((0, mb * kt), (1, nb * kt), (16, out_pages)):
            ttm.CreateCircularBuffer(program, cores, ttm.CircularBufferConfig(pages * page, {cb: bf16})
                                     .set_page_size(cb, page))
        reader_source = MCAST_KERNELS / "reader_mcast.c" if multicast else KERNELS / "reader_block.c"
        semaphores = []
        if multicast:
            # A sender, A receiver, B sender, B receiver, and the gate of the writer.
            semaphores = [ttm.CreateSemaphore(program, cores, 0) for _ in range(5)]
        reader = ttm.CreateKernel(program, reader_source, cores,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1,
                                                         compile_args=semaphores))
        writer = ttm.CreateKernel(program, KERNELS / "writer_block.c", cores,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0))
        compute = ttm.CreateKernel(program, KERNELS / "matmul_block.c", cores,
                                   ttm.ComputeConfig(math_fidelity=ex.math_fidelity(fidelity)))
        gate = semaphores[4] + 1 if multicast else 0
        for y in range(gy):
            for x in range(gx):
                core = ttm.CoreCoord(x, y)
                m0, n0 = y * mb, x * nb
                args = [a_buf.address(), b_buf.address(), kt, nt, m0, n0, mb, nb]
                if multicast:
                    args += mcast_args(device, x, y, gx, gy)
                ttm.SetRuntimeArgs(program, reader, core, args)
                ttm.SetRuntimeArgs(program, writer, core, [c_buf.address(), nt, m0, n0, mb, nb, gate])
                ttm.SetRuntimeArgs(program, compute, core, [mb, nb, kt])

        inputs = ex.matmul_inputs(np.random.default_rng(seed), mt, kt, nt)
        got = np.zeros(mt * nt * 32 * 32, dtype=np.uint16)
        start = time.monotonic()
        ttm.EnqueueWriteBuffer(queue, a_buf, inputs[1], blocking=False)
        ttm.EnqueueWriteBuffer(queue, b_buf, inputs[3], blocking=False)
        ttm.EnqueueProgram(queue, program, blocking=False)
        ttm.EnqueueReadBuffer(queue, c_buf, got, blocking=False)
        ttm.Finish(queue)
        wall = time.monotonic() - start
        noc, dram_bytes = traffic(mt, kt, nt, gx, gy, page, multicast)
        return {"cores": gx * gy, "cycles": program.last_run["cycles"], "macs": mt * nt * kt * 32 ** 3,
                "noc_bytes": noc, "dram_bytes": dram_bytes, "seed": seed, "fidelity": fidelity,
                "block": [mb, nb], "wall_seconds": wall,
                **ex.check_matmul(got, inputs, mt, kt, nt, fidelity, device.cfg.engine)}
    finally:
        buffers.deallocate()


def mcast_args(device, x: int, y: int, gx: int, gy: int) -> list:
    """The multicast reader's NoC coordinates: the senders of this core's A row (core (0, y)) and B
    column (core (x, 0)), and the rectangles they multicast to (the whole row, the whole column)."""
    def noc(cx, cy):
        c = device.worker_core_from_logical_core(ttm.CoreCoord(cx, cy))
        return [c.x, c.y]
    row_start, row_end = noc(0, y), noc(gx - 1, y)
    col_start, col_end = noc(x, 0), noc(x, gy - 1)
    return [*noc(0, y), *noc(x, 0), *row_start, *row_end, *col_start, *col_end,
            int(x == 0), int(y == 0), gx - 1, gy - 1]


def traffic(mt: int, kt: int, nt: int, gx: int, gy: int, page: int, multicast: bool) -> tuple:
    """(NoC bytes, DRAM bytes) the kernels move: reads from DRAM, multicasts (counted once per
    sender), semaphore words, writes of C."""
    writes = mt * nt * page
    if not multicast:
        reads = (gx * mt + gy * nt) * kt * page          # every core its Mb rows and Nb columns
        return reads + writes, reads + writes
    reads = (mt + nt) * kt * page                       # each A row by its row's sender, each B column once
    a_mcast, b_mcast = gx > 1, gy > 1
    mcast = (mt * kt * a_mcast + nt * kt * b_mcast) * page
    # per piece (a row or column's first Kt pieces of one tile, then one per further row or
    # column): each receiver increments its sender's semaphore, the sender multicasts the flag
    mb, nb = mt // gy, nt // gx
    a_pieces, b_pieces = gy * (kt + mb - 1), gx * (kt + nb - 1)
    sem_words = a_pieces * gx * a_mcast + b_pieces * gy * b_mcast
    return reads + mcast + 4 * sem_words + writes, reads + writes


def main(argv=None) -> int:
    single = ex.load("matmul_single_core")
    args = single.arguments(__doc__, 4, 4, 4).parse_args(argv)
    with ttm.CreateDevice(0) as device:
        result = run(device, args.mt, args.kt, args.nt, args.fidelity, args.seed)
    print(ex.summary_line("matmul with reuse", result))
    return 0 if result["mismatches"] == 0 else 1


def run(device, mt: int = 4, kt: int = 4, nt: int = 4, fidelity: str = "lofi", seed: int = 0,
        out_pages: int = 2) -> dict:
    return run_blocked(device, mt, kt, nt, fidelity, seed, multicast=False, out_pages=out_pages)


if __name__ == "__main__":
    sys.exit(main())
