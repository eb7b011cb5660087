"""What every ttnn op is built from: checks that name the bad argument, output allocation, the
cores to spread over, programs built once per shape, and the run that lands in the op log.

An op (sw/ttnn/ops/) checks its inputs with :func:`require` / :func:`require_tile`,
allocates its output with :func:`allocate_tensor`, gets its program from
:func:`program_cache` (kernels, circular buffers and semaphores are set up once
per key; each call only sets runtime arguments: buffer addresses, tile ranges)
and runs it with :func:`run`, which records the cycles in the device's op log.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

from tessera.sw.host.core import CoreCoord
from tessera.sw.host.device import EnqueueProgram, Finish

from .device import state
from .tensor import Tensor, _allocate
from .types import DataType, Layout, TtnnError, data_type, memory_config_of

__all__ = ["allocate_tensor", "require", "require_tile", "compute_cores", "split", "kernel_path", "program_cache",
           "run", "FLOAT_TYPES"]

FLOAT_TYPES = (DataType.float32, DataType.bfloat16, DataType.bfloat8_b)


def require(condition, message: str) -> None:
    """Raise :class:`TtnnError` with ``message`` unless ``condition``."""
    if not condition:
        raise TtnnError(message)


def require_tile(t, opname: str, dtypes=FLOAT_TYPES, what: str = "input") -> Tensor:
    """``t`` must be a device tensor in TILE layout of one of ``dtypes``; the refusal names op and value."""
    if not isinstance(t, Tensor):
        raise TtnnError(f"ttnn.{opname}: {what} must be a ttnn.Tensor, got {type(t).__name__}")
    if not t.is_on_device:
        raise TtnnError(f"ttnn.{opname}: {what} {t!r} is on the host; ops run on the device "
                        f"(ttnn.to_device or from_numpy(..., device=device))")
    if t.buffer is None or not t.buffer.allocated:
        raise TtnnError(f"ttnn.{opname}: {what} was deallocated")
    if t.layout is not Layout.TILE:
        raise TtnnError(f"ttnn.{opname}: {what} is in {t.layout!r}; this op takes ttnn.TILE_LAYOUT")
    if t.dtype not in dtypes:
        allowed = ", ".join(repr(d) for d in dtypes)
        raise TtnnError(f"ttnn.{opname}: {what} has dtype {t.dtype!r}; allowed: {allowed}")
    return t


def allocate_tensor(device, shape, dtype=DataType.bfloat16, memory_config=None) -> Tensor:
    """A device TILE tensor of ``shape`` (contents undefined until an op writes it)."""
    dtype = data_type(dtype)
    require(dtype.is_float, f"allocate_tensor: TILE tensors hold float32, bfloat16 or bfloat8_b, not {dtype!r}")
    return _allocate(device, tuple(shape), dtype, Layout.TILE, memory_config_of(memory_config))


def compute_cores(device) -> list:
    """The Tensix cores the ops use, row by row (logical coordinates): the whole compute grid, or the
    corner ``open_device(compute_grid=(x, y))`` chose."""
    grid = device.compute_with_storage_grid_size()
    width, height = state(device).compute_grid or (grid.x, grid.y)
    return [CoreCoord(x, y) for y in range(height) for x in range(width)]


def split(total: int, parts: int) -> list:
    """(first, count) of ``parts`` contiguous, balanced ranges covering ``total`` items."""
    base, extra = divmod(total, parts)
    out, first = [], 0
    for i in range(parts):
        count = base + (i < extra)
        out.append((first, count))
        first += count
    return out


def kernel_path(name: str) -> Path:
    """A kernel source of the ttnn layer (sw/ttnn/kernels, installed as package data)."""
    path = Path(str(resources.files("tessera.sw.ttnn") / "kernels" / name))
    if not path.is_file():
        raise FileNotFoundError(f"ttnn kernel {name!r} not found at {path}")
    return path


def program_cache(device, key, build):
    """``build()``'s result, built once per ``(device, key)``: ops keep their programs (kernels,
    circular buffers) and change only runtime arguments between calls."""
    programs = state(device).programs
    if key not in programs:
        programs[key] = build()
    return programs[key]


def run(device, opname: str, program, *, macs: int = 0, dram_bytes: int = 0, tiles: int = 0,
        cycle_budget: int | None = None) -> dict:
    """Run ``program`` to completion and log it as one call of ``opname``; returns the log entry."""
    queue = device.command_queue()
    start = time.monotonic()
    EnqueueProgram(queue, program, blocking=False, cycle_budget=cycle_budget)
    Finish(queue)
    cores = {core for kernel in program.kernels for core in kernel.cores}
    entry = {"op": opname, "cycles": program.last_run["cycles"], "cores": len(cores), "tiles": tiles,
             "macs": macs, "dram_bytes": dram_bytes, "wall_seconds": round(time.monotonic() - start, 3)}
    if "trace" in program.last_run:
        entry["trace"] = program.last_run["trace"]
    state(device).log.append(entry)
    return entry
