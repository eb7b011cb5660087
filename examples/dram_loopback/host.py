"""DRAM loopback: tiles of bfloat16 go DRAM -> L1 -> DRAM on one Tensix core, checked bit for bit.

A reader kernel on RISCV_1 (ncrisc) reads each 32x32 Float16_b tile of the
source buffer into a two-page circular buffer in L1; a writer kernel on
RISCV_0 (brisc) writes it from there to the destination buffer.  The host
writes random tiles, runs the program, reads the destination back and
compares the bit patterns.

Run it: ``python examples/dram_loopback/host.py [--tiles 50] [--seed 0]``
(the first run builds the chip model, minutes; later runs reuse it).
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


def run(device, tiles: int = 50, seed: int = 0, core=ttm.CoreCoord(0, 0), trace=None) -> dict:
    """Loop ``tiles`` random bfloat16 tiles through ``core`` of ``device``; returns what happened.

    ``trace``: a file path without suffix for the run's timeline (``.json`` for ui.perfetto.dev, ``.png``)."""
    queue = device.command_queue()
    tile_bytes = ttm.tile_bytes(ttm.DataFormat.Float16_b)
    size = tiles * tile_bytes
    buffers = ex.DramBuffers(device, tile_bytes)
    try:
        src, dst = buffers.make(tiles), buffers.make(tiles)
        program = ttm.CreateProgram()
        cb = 0
        ttm.CreateCircularBuffer(program, core, ttm.CircularBufferConfig(2 * tile_bytes, {cb: ttm.DataFormat.Float16_b})
                                 .set_page_size(cb, tile_bytes))
        reader = ttm.CreateKernel(program, KERNELS / "reader.c", core,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1, compile_args=[cb]))
        writer = ttm.CreateKernel(program, KERNELS / "writer.c", core,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0, compile_args=[cb]))
        ttm.SetRuntimeArgs(program, reader, core, [src.address(), tiles])
        ttm.SetRuntimeArgs(program, writer, core, [dst.address(), tiles])

        rng = np.random.default_rng(seed)
        values = rng.standard_normal((tiles, 32, 32)).astype(np.float32)
        host_in = ttm.tilize(ttm.to_bfloat16(values))      # uint16, TILE layout
        host_out = np.zeros_like(host_in)
        start = time.monotonic()
        ttm.EnqueueWriteBuffer(queue, src, host_in, blocking=False)
        ttm.EnqueueProgram(queue, program, blocking=False, trace=trace)
        ttm.EnqueueReadBuffer(queue, dst, host_out, blocking=False)
        ttm.Finish(queue)
        wall = time.monotonic() - start
        mismatches = int(np.count_nonzero(host_in != host_out))
        back = ttm.from_bfloat16(ttm.untilize(host_out, values.shape))
        return {"tiles": tiles, "bytes": size, "seed": seed, "mismatches": mismatches,
                "values_match": bool(np.array_equal(back, ttm.from_bfloat16(ttm.to_bfloat16(values)))),
                "kernel_cycles": program.last_run["cycles"], "wall_seconds": wall,
                "src": src.address(), "dst": dst.address(), "trace": program.last_run.get("trace")}
    finally:
        buffers.deallocate()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiles", type=int, default=50, help="32x32 bfloat16 tiles to loop (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random tiles (default 0)")
    parser.add_argument("--trace", metavar="PATH", help="write the run's timeline to PATH.json (open it at "
                                                          "ui.perfetto.dev) and a summary PATH.png")
    args = parser.parse_args(argv)
    with ttm.CreateDevice(0) as device:
        result = run(device, args.tiles, args.seed, trace=args.trace)
    ok = result["mismatches"] == 0 and result["values_match"]
    print(f"DRAM loopback: {result['tiles']} tiles ({result['bytes']} bytes) DRAM {result['src']:#x} -> L1 -> "
          f"DRAM {result['dst']:#x} in {result['kernel_cycles']} cycles, {result['wall_seconds']:.1f} s: "
          + ("bit-exact" if ok else f"{result['mismatches']} of {result['bytes'] // 2} values differ "
                                    f"(seed {result['seed']})"))
    if result["trace"]:
        print(f"timeline: {result['trace']['json']}" + (f", summary {result['trace']['png']}"
                                                        if result["trace"]["png"] else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
