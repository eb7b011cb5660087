"""Fused normalizations over the last dimension -- softmax, rms_norm, layer_norm -- and silu.

Each call is one program over the Tensix cores: the rows of tiles (a row = the
Wt tiles of 32 matrix rows) are split in contiguous ranges over the cores; per
core a reader on RISCV_1 fetches each row once per pass of the compute kernel,
the compute kernel on the three TRISCs runs the passes through intermediate
circular buffers (the tiny engine has one Dst tile per half, so every
intermediate tile goes through L1), and a writer on RISCV_0 writes the output.

**Broadcast of a row statistic.**  The engine has no broadcast operand:
REDUCE_ROW leaves row r's max / sum in column 0 of a tile.  The writer core
copies it across the tile (sw/ttnn/kernels/norm_writer.c), float32 for the
values that are subtracted (the row max, the mean: exact), bfloat16 rounded to
nearest even for the values that multiply (1 / sum, 1 / rms, 1 / std: the
multiplier reads bfloat16 operands anyway).  A matmul by a tile whose row 0 is
ones would do the same on the engine, but reads its operand as truncated
bfloat16 (the mean would lose its low bits, and every sum rounds down by up to
2^-7) and costs 2048 x passes engine cycles per broadcast, while the writer
core is otherwise idle.

**Padding.**  Logical widths that are not a multiple of 32: softmax adds a mask
tile (0 in logical columns, the most negative bfloat16 in padding columns, made
by the reader) to the last tile, so the max ignores the padding and exp gives 0
there; rms_norm needs nothing (padding x are 0); layer_norm subtracts the mean
broadcast only over the logical columns of the last tile, so x - mean stays 0 in
the padding.  Means divide by the logical width.  Outputs keep 0 in the whole
padding: in a matrix's last tile row, softmax's 1 / sum is broadcast as 0 into
the padding rows (their exponentials would give 1 / W), and layer_norm adds a
second copy of the bias whose padding rows are 0.

**Weight and bias** (``[W]`` or ``[1, W]``, any float dtype, host or device) are
prepared once per tensor: a ``[32, W]`` TILE tensor on the device whose rows all
repeat the vector (bfloat16 for the weight, what the multiplier reads; the bias
keeps float32 when it is float32), cached for the tensor's lifetime (the bias
also in the copy for a last tile row of each height modulo 32).
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from tessera.sw.host.buffer import BufferType
from tessera.sw.host.program import (CircularBufferConfig, ComputeConfig, CreateCircularBuffer, CreateKernel,
                                     CreateProgram, DataFormat, DataMovementConfig, DataMovementProcessor,
                                     MathFidelity, SetRuntimeArgs, cb_fifo_base)
from tessera.sw.host.tiles import tile_bytes

from .. import op as top
from ..tensor import Tensor, from_numpy, to_numpy
from ..types import TILE_SIZE, DataType, Layout, TtnnError

__all__ = ["softmax", "rms_norm", "layer_norm", "silu"]

# Circular buffers (the kernels' #defines).
CB_IN, CB_W, CB_B, CB_CONST_A, CB_CONST_B = 0, 1, 2, 3, 4
CB_OUT = 16
CB_STAT, CB_BCAST_F32, CB_BCAST_BF16 = 24, 25, 26
CB_T27, CB_T28, CB_T29, CB_T30 = 27, 28, 29, 30      # per-op intermediates (see each kernel)

_OPS = {"softmax": 0, "rms_norm": 1, "layer_norm": 2, "silu": 3}
_COMPUTE = {"softmax": "norm_softmax.c", "rms_norm": "norm_rms.c", "layer_norm": "norm_layer.c",
            "silu": "norm_silu.c"}
F32, BF16 = DataFormat.Float32, DataFormat.Float16_b

# Prepared weight / bias tiles, per vector tensor (dropped with it): {(device id, dtype, rows): Tensor}.
_PREPARED = weakref.WeakKeyDictionary()


def _fp32_bits(value: float) -> int:
    return int(np.float32(value).view(np.uint32))


def _is_dram(t: Tensor) -> int:
    return int(t.memory_config.buffer_type is BufferType.DRAM)


def _cb_budget(device) -> int:
    """Bytes of L1 for circular buffers now: from the FIFO base up to the lowest L1 buffer
    (tensors in L1_MEMORY_CONFIG take the top of every core's L1)."""
    cfg = device.cfg
    top_of_cbs = min(cfg.l1.base + cfg.l1.size_bytes, device.allocator(BufferType.L1).lowest)
    return top_of_cbs - cb_fifo_base(cfg)


def _circular_buffers(opname: str, t: Tensor, wfmt, bfmt) -> dict:
    """{cb: (format, pages)} of the op; input/output double-buffered when L1 allows."""
    _, _, wt = t.tile_grid
    masked = t.shape[-1] % TILE_SIZE != 0
    cbs = {CB_IN: (t.data_format, 2), CB_OUT: (t.data_format, 2)}      # the output keeps the input's dtype
    if opname == "silu":
        cbs.update({CB_CONST_A: (BF16, 1), CB_CONST_B: (BF16, 1), CB_T27: (BF16, 1)})
    elif opname == "softmax":
        cbs.update({CB_STAT: (F32, 1), CB_BCAST_F32: (F32, 1), CB_BCAST_BF16: (BF16, 1), CB_T28: (BF16, wt)})
        if masked:
            cbs.update({CB_CONST_A: (BF16, 1), CB_T27: (F32, 1)})
    else:
        cbs.update({CB_STAT: (F32, 1), CB_BCAST_BF16: (BF16, 1)})
        if wfmt is not None:
            cbs[CB_W] = (wfmt, 1)
        if opname == "rms_norm":
            cbs[CB_T28] = (F32, 1)
            if wfmt is not None:
                cbs[CB_T27] = (BF16, 1)
        else:
            cbs.update({CB_BCAST_F32: (F32, 2 if masked else 1), CB_T27: (BF16, 1), CB_T29: (F32, 1),
                        CB_CONST_B: (DataFormat.Bfp8_b, 1)})
            if wfmt is not None:
                cbs[CB_T30] = (BF16, 1)
            if bfmt is not None:
                cbs.update({CB_B: (bfmt, 1), CB_T28: (F32, 1)})
    return cbs


def _cb_bytes(cbs: dict) -> int:
    return sum(-(-tile_bytes(fmt) * pages // 8) * 8 for fmt, pages in cbs.values())


def _fit(opname: str, device, t: Tensor, cbs: dict) -> dict:
    """Single-buffer input and output when the L1 is short; refuse what still does not fit."""
    budget = _cb_budget(device)
    if _cb_bytes(cbs) > budget:
        cbs = {**cbs, CB_IN: (cbs[CB_IN][0], 1), CB_OUT: (cbs[CB_OUT][0], 1)}
    if _cb_bytes(cbs) > budget:
        if opname == "softmax":
            fixed = _cb_bytes({k: v for k, v in cbs.items() if k != CB_T28})
            widest = max(0, (budget - fixed) // tile_bytes(BF16)) * TILE_SIZE
            why = (f"softmax keeps a row's exponentials in L1 as bfloat16 tiles: widths up to {widest} fit for "
                   f"{t.dtype!r} now")
        else:
            why = "the op's circular buffers do not depend on the width"
        raise TtnnError(f"ttnn.{opname}: a row of {t.shape[-1]} values (padded {t.padded_shape[-1]}) does not fit "
                        f"the L1 of a core: {_cb_bytes(cbs)} bytes of circular buffers for {budget} free ({why}; "
                        f"tensors in L1_MEMORY_CONFIG take L1 too)")
    return cbs


def _build(device, opname: str, cbs: dict, ncores: int):
    cores = top.compute_cores(device)[:ncores]
    program = CreateProgram()
    for cb, (fmt, pages) in sorted(cbs.items()):
        page = tile_bytes(fmt)
        CreateCircularBuffer(program, cores, CircularBufferConfig(pages * page, {cb: fmt}).set_page_size(cb, page))
    defines = {"NORM_OP": str(_OPS[opname])}
    reader = CreateKernel(program, top.kernel_path("norm_reader.c"), cores,
                          DataMovementConfig(processor=DataMovementProcessor.RISCV_1, defines=defines))
    writer = CreateKernel(program, top.kernel_path("norm_writer.c"), cores,
                          DataMovementConfig(processor=DataMovementProcessor.RISCV_0, defines=defines))
    compute = CreateKernel(program, top.kernel_path(_COMPUTE[opname]), cores,
                           ComputeConfig(math_fidelity=MathFidelity.HiFi4))
    return program, cores, reader, writer, compute


def _check_input(opname: str, t) -> Tensor:
    top.require_tile(t, opname, what="input_tensor")
    return t


def _prepare_vector(opname: str, what: str, vector, t: Tensor, dtype: DataType, rows: int = TILE_SIZE) -> Tensor:
    """``vector`` ([W] or [1, .., 1, W]) as a [32, W] device TILE tensor of ``dtype`` whose first ``rows``
    rows repeat it (the others are 0)."""
    width = t.shape[-1]
    if not isinstance(vector, Tensor):
        raise TtnnError(f"ttnn.{opname}: {what} must be a ttnn.Tensor of shape [{width}] or [1, {width}], "
                        f"got {type(vector).__name__}")
    if vector.is_on_device and vector.buffer is None:
        raise TtnnError(f"ttnn.{opname}: {what} was deallocated")
    shape = list(vector.shape)
    if shape[-1] != width or any(d != 1 for d in shape[:-1]):
        raise TtnnError(f"ttnn.{opname}: {what} has shape {shape}; it must be [{width}] or [1, {width}] "
                        f"(the input's last dimension is {width})")
    if not vector.dtype.is_float:
        raise TtnnError(f"ttnn.{opname}: {what} has dtype {vector.dtype!r}; allowed: ttnn.float32, ttnn.bfloat16, "
                        f"ttnn.bfloat8_b")
    device = t.device
    cache = _PREPARED.setdefault(vector, {})
    key = (id(device), dtype, rows)
    prepared = cache.get(key)
    if prepared is None or prepared.device is not device or prepared.buffer is None:
        row = np.asarray(to_numpy(vector), dtype=np.float32).reshape(1, width)
        tiles = np.zeros((TILE_SIZE, width), np.float32)
        tiles[:rows] = row
        prepared = from_numpy(tiles, dtype=dtype, layout=Layout.TILE, device=device)
        cache[key] = prepared
    return prepared


def _run(opname: str, t: Tensor, memory_config, *, weight=None, bias=None, epsilon=0.0) -> Tensor:
    device = t.device
    w = _prepare_vector(opname, "weight", weight, t, DataType.bfloat16) if weight is not None else None
    height = t.shape[-2] if t.rank > 1 else 1
    b = b_last = None
    if bias is not None:
        bias_dtype = DataType.float32 if isinstance(bias, Tensor) and bias.dtype is DataType.float32 \
            else DataType.bfloat16
        b = _prepare_vector(opname, "bias", bias, t, bias_dtype)
        b_last = _prepare_vector(opname, "bias", bias, t, bias_dtype, height % TILE_SIZE or TILE_SIZE)
    wfmt = w.data_format if w is not None else None
    bfmt = b.data_format if b is not None else None
    batch, ht, wt = t.tile_grid
    units = t.num_tiles if opname == "silu" else batch * ht      # silu splits tiles, the others rows
    ncores = max(1, min(units, len(top.compute_cores(device))))
    out = top.allocate_tensor(device, t.shape, t.dtype, memory_config or t.memory_config)
    try:
        cbs = _fit(opname, device, t, _circular_buffers(opname, t, wfmt, bfmt))
    except TtnnError:
        out.buffer.deallocate()
        raise
    key = ("normalization", opname, tuple((cb, f.value, p) for cb, (f, p) in sorted(cbs.items())), ncores)
    program, cores, reader, writer, compute = top.program_cache(device, key,
                                                                lambda: _build(device, opname, cbs, ncores))
    width = t.shape[-1]
    last_valid = width % TILE_SIZE
    masked = int(last_valid != 0)
    inv_width, eps = _fp32_bits(1.0 / width), _fp32_bits(epsilon)
    for core, (first, count) in zip(cores, top.split(units, len(cores))):
        SetRuntimeArgs(program, reader, core,
                       [t.buffer.address(), _is_dram(t), first, count, wt, last_valid,
                        w.buffer.address() if w is not None else 0, _is_dram(w) if w is not None else 0,
                        b.buffer.address() if b is not None else 0, _is_dram(b) if b is not None else 0,
                        ht, b_last.buffer.address() if b is not None else 0])
        SetRuntimeArgs(program, writer, core, [out.buffer.address(), _is_dram(out), first, count, wt, last_valid, ht,
                                               height % TILE_SIZE])
        if opname == "silu":
            args = [count]
        elif opname == "softmax":
            args = [count, wt, masked]
        elif opname == "rms_norm":
            args = [count, wt, int(w is not None), inv_width, eps]
        else:
            args = [count, wt, masked, int(w is not None), int(b is not None), inv_width, eps]
        SetRuntimeArgs(program, compute, core, args)
    passes = {"silu": 1, "softmax": 2, "rms_norm": 2, "layer_norm": 3}[opname]
    tiles = t.num_tiles
    rows = batch * ht
    dram_bytes = tiles * (passes * tile_bytes(t.data_format) + tile_bytes(out.data_format))
    if w is not None:
        dram_bytes += rows * wt * tile_bytes(w.data_format)
    if b is not None:
        dram_bytes += rows * wt * tile_bytes(b.data_format)
    top.run(device, opname, program, tiles=tiles, dram_bytes=dram_bytes)
    return out


def _check_epsilon(opname: str, epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating, np.integer)):
        raise TtnnError(f"ttnn.{opname}: epsilon must be a number, got {type(epsilon).__name__}")
    value = float(epsilon)
    if not math.isfinite(value) or value < 0:
        raise TtnnError(f"ttnn.{opname}: epsilon {epsilon!r} must be finite and >= 0")
    return value


def softmax(input_tensor, dim: int = -1, *, memory_config=None) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) over the last dimension (the only ``dim`` supported)."""
    t = _check_input("softmax", input_tensor)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim not in (-1, t.rank - 1):
        raise TtnnError(f"ttnn.softmax: dim {dim!r} is not supported for a rank-{t.rank} tensor; only the last "
                        f"dimension (dim=-1 or {t.rank - 1})")
    return _run("softmax", t, memory_config)


def rms_norm(input_tensor, *, weight=None, epsilon: float = 1e-5, memory_config=None) -> Tensor:
    """x / sqrt(mean(x^2) + epsilon) * weight over the last dimension."""
    t = _check_input("rms_norm", input_tensor)
    return _run("rms_norm", t, memory_config, weight=weight, epsilon=_check_epsilon("rms_norm", epsilon))


def layer_norm(input_tensor, *, weight=None, bias=None, epsilon: float = 1e-5, memory_config=None) -> Tensor:
    """(x - mean) / sqrt(var + epsilon) * weight + bias over the last dimension (biased variance)."""
    t = _check_input("layer_norm", input_tensor)
    return _run("layer_norm", t, memory_config, weight=weight, bias=bias,
                epsilon=_check_epsilon("layer_norm", epsilon))


def silu(input_tensor, *, memory_config=None) -> Tensor:
    """x * sigmoid(x) = x / (1 + exp(-x))."""
    t = _check_input("silu", input_tensor)
    return _run("silu", t, memory_config)
