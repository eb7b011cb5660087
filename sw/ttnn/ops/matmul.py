"""ttnn.matmul and ttnn.linear on the engine: batched A @ B (+ bias), output tiles split over every Tensix core.

Each core gets a contiguous range of output tiles.  Per output tile the reader
(``mm_reader.c``, RISCV_1) streams the K pairs A(b, m, k), B(b, k, n) through
CB 0 / CB 1, the compute kernel (``mm_compute.c``, the TRISCs) accumulates
``matmul_tiles`` in Dst (fp32) and packs to CB 16 in the output's format, and
the writer (``eltwise_writer.c``, RISCV_0) stores it.  No reuse: every A and B
tile is read once per output tile that needs it.

**Bias** (``linear``): the bias tile n ([1, N]: the bias in row 0) is read per
output tile; the reader copies row 0 down the rows that hold real output rows
(padding rows stay zero, so the output's padding stays zero) and the compute
kernel adds it onto the accumulated Dst tile (``add_tiles`` accumulating into
Dst, the second operand a zero tile written once): C = fp32(A @ B) + bias,
rounded once when packed.

**Transposed inputs**: ``transpose_a`` / ``transpose_b`` run ttnn.transpose on
that input first (its own op-log entry; the temporary is freed).

**Fidelity**: ``math_fidelity=`` (``MathFidelity`` or "lofi" .. "hifi4");
default HiFi2 when both inputs are bfloat16 / bfloat8_b, HiFi4 when either is
float32.  ttnn's ``compute_kernel_config`` is not taken.
"""

from __future__ import annotations

from tessera.sw.host.buffer import BufferType
from tessera.sw.host.program import (CircularBufferConfig, ComputeConfig, CreateCircularBuffer, CreateKernel,
                                     CreateProgram, DataFormat, DataMovementConfig, DataMovementProcessor, MathFidelity,
                                     SetRuntimeArgs)
from tessera.sw.host.tiles import tile_bytes

from .. import op as top
from ..tensor import deallocate
from ..types import TILE_SIZE, DataType, TtnnError, data_type, memory_config_of
from .data_movement import transpose

__all__ = ["matmul", "linear"]

_FIDELITY_NAMES = {"lofi": MathFidelity.LoFi, "hifi2": MathFidelity.HiFi2, "hifi3": MathFidelity.HiFi3,
                   "hifi4": MathFidelity.HiFi4}
CB_A, CB_B, CB_BIAS, CB_ZERO, CB_OUT = 0, 1, 2, 3, 16


def _fidelity(value, opname: str, inputs) -> MathFidelity:
    if value is None:
        wide = any(t.dtype is DataType.float32 for t in inputs)
        return MathFidelity.HiFi4 if wide else MathFidelity.HiFi2
    if isinstance(value, MathFidelity):
        return value
    if isinstance(value, str) and value.lower() in _FIDELITY_NAMES:
        return _FIDELITY_NAMES[value.lower()]
    raise TtnnError(f"ttnn.{opname}: math_fidelity {value!r} is not a fidelity; allowed: MathFidelity.LoFi, "
                        f"HiFi2, HiFi3, HiFi4 or their names {', '.join(_FIDELITY_NAMES)}")


def _build(device, cores, formats, bias_format, fidelity):
    program = CreateProgram()
    for cb, fmt, pages in ((CB_A, formats[0], 2), (CB_B, formats[1], 2), (CB_OUT, formats[2], 2)):
        size = tile_bytes(fmt)
        CreateCircularBuffer(program, cores, CircularBufferConfig(pages * size, {cb: fmt}).set_page_size(cb, size))
    if bias_format is not None:
        size = tile_bytes(bias_format)
        CreateCircularBuffer(program, cores, CircularBufferConfig(2 * size, {CB_BIAS: bias_format})
                             .set_page_size(CB_BIAS, size))
        zero = tile_bytes(DataFormat.Bfp8_b)
        CreateCircularBuffer(program, cores, CircularBufferConfig(zero, {CB_ZERO: DataFormat.Bfp8_b})
                             .set_page_size(CB_ZERO, zero))
    kernels = {
        "reader": CreateKernel(program, top.kernel_path("mm_reader.c"), cores,
                               DataMovementConfig(processor=DataMovementProcessor.RISCV_1)),
        "writer": CreateKernel(program, top.kernel_path("eltwise_writer.c"), cores,
                               DataMovementConfig(processor=DataMovementProcessor.RISCV_0)),
        "compute": CreateKernel(program, top.kernel_path("mm_compute.c"), cores,
                                ComputeConfig(math_fidelity=fidelity)),
    }
    return program, kernels


def _batch_dims(opname: str, a_lead, b_lead, a_batch: int, b_batch: int) -> tuple:
    """The output's leading dimensions: a's and b's when equal, else those of the one that is not a
    single matrix (the other is used for every matrix)."""
    if tuple(a_lead) == tuple(b_lead):
        return tuple(a_lead)
    if b_batch == 1 and len(b_lead) <= len(a_lead):
        return tuple(a_lead)
    if a_batch == 1 and len(a_lead) <= len(b_lead):
        return tuple(b_lead)
    if a_batch == 1 and b_batch == 1:
        return (1,) * max(len(a_lead), len(b_lead))
    raise TtnnError(f"ttnn.{opname}: the leading dimensions {list(a_lead)} of input_tensor_a and {list(b_lead)} of "
                    f"input_tensor_b neither match nor is one side a single matrix (all 1) to use for every matrix")


def _is_dram(t) -> int:
    return int(t.buffer.buffer_type is BufferType.DRAM)


def _matmul(opname, a, b, bias, dtype, memory_config, math_fidelity):
    top.require_tile(a, opname, what="input_tensor_a")
    top.require_tile(b, opname, what="input_tensor_b")
    top.require(a.device is b.device, f"ttnn.{opname}: input_tensor_a and input_tensor_b are on different devices")
    top.require(a.rank >= 2 and b.rank >= 2,
                f"ttnn.{opname}: inputs need at least 2 dimensions, got shapes {list(a.shape)} and {list(b.shape)}")
    *a_lead, m, k = a.shape
    *b_lead, k_b, n = b.shape
    top.require(k == k_b, f"ttnn.{opname}: the inner dimensions differ: input_tensor_a {list(a.shape)} has K={k}, "
                          f"input_tensor_b {list(b.shape)} has K={k_b}")
    a_batch, mt, kt = a.tile_grid
    b_batch, _, nt = b.tile_grid
    lead = _batch_dims(opname, a_lead, b_lead, a_batch, b_batch)
    batch = max(a_batch, b_batch)
    if bias is not None:
        top.require_tile(bias, opname, dtypes=(DataType.bfloat16, DataType.float32), what="bias")
        top.require(bias.device is a.device, f"ttnn.{opname}: bias is on another device")
        top.require(bias.shape in ((n,), (1, n)),
                    f"ttnn.{opname}: bias has shape {list(bias.shape)}; allowed: [{n}] or [1, {n}] (N of the weight)")
    out_dtype = data_type(dtype if dtype is not None else a.dtype)
    top.require(out_dtype.is_float, f"ttnn.{opname}: dtype {out_dtype!r} is not a tile format; allowed: "
                                    f"ttnn.float32, ttnn.bfloat16, ttnn.bfloat8_b")
    fidelity = _fidelity(math_fidelity, opname, (a, b))
    device = a.device
    out = top.allocate_tensor(device, (*lead, m, n), out_dtype, memory_config_of(memory_config))

    tiles = batch * mt * nt
    ranges = [r for r in top.split(tiles, len(top.compute_cores(device))) if r[1]]
    cores = top.compute_cores(device)[:len(ranges)]
    bias_format = bias.data_format if bias is not None else None
    formats = (a.data_format, b.data_format, out_dtype.data_format)
    key = ("matmul", formats, bias_format, fidelity, len(cores))
    program, kernels = top.program_cache(device, key, lambda: _build(device, cores, formats, bias_format, fidelity))
    for core, (first, count) in zip(cores, ranges):
        SetRuntimeArgs(program, kernels["reader"], core,
                       [a.buffer.address(), _is_dram(a), b.buffer.address(), _is_dram(b), mt, kt, nt, b_batch, first,
                        count, int(bias is not None), bias.buffer.address() if bias is not None else 0,
                        _is_dram(bias) if bias is not None else 1, m, a_batch])
        SetRuntimeArgs(program, kernels["writer"], core, [out.buffer.address(), _is_dram(out), first, count])
        SetRuntimeArgs(program, kernels["compute"], core, [count, kt, int(bias is not None)])
    moved = tiles * (kt * (a.page_size + b.page_size) + (bias.page_size if bias is not None else 0) + out.page_size)
    top.run(device, opname, program, macs=tiles * kt * TILE_SIZE ** 3, dram_bytes=moved, tiles=tiles)
    return out


def _transposed_inputs(opname, a, b, transpose_a: bool, transpose_b: bool, run):
    """``run(a, b)`` on a and b, each transposed first (ttnn.transpose, its own op run) if asked."""
    made = []
    try:
        if transpose_a:
            a = transpose(top.require_tile(a, opname, what="input_tensor_a"), -2, -1)
            made.append(a)
        if transpose_b:
            b = transpose(top.require_tile(b, opname, what="input_tensor_b"), -2, -1)
            made.append(b)
        return run(a, b)
    finally:
        for t in made:
            deallocate(t)


def matmul(input_tensor_a, input_tensor_b, *, transpose_a=False, transpose_b=False, dtype=None, memory_config=None,
           math_fidelity=None):
    """``input_tensor_a @ input_tensor_b``: a [..., M, K], b [..., K, N] with the same leading dimensions, or
    one of them a single matrix (no leading dimensions or all 1) used for every matrix of the other.  Output
    [..., M, N] in ``dtype`` (default a's), TILE layout; fidelity HiFi2 for bfloat16 / bfloat8_b inputs,
    HiFi4 with a float32 input.  ``transpose_a`` / ``transpose_b`` swap an input's last two dimensions first
    (a ttnn.transpose run: bfloat16 or float32 inputs)."""
    return _transposed_inputs("matmul", input_tensor_a, input_tensor_b, transpose_a, transpose_b,
                              lambda a, b: _matmul("matmul", a, b, None, dtype, memory_config, math_fidelity))


def linear(input_tensor_a, weight, *, bias=None, transpose_a=False, transpose_b=False, dtype=None,
           memory_config=None, math_fidelity=None):
    """``input_tensor_a @ weight (+ bias)``: weight [K, N] (or batched as for :func:`matmul`), bias [N] or [1, N]
    (bfloat16 or float32) added to every row on the engine."""
    return _transposed_inputs("linear", input_tensor_a, weight, transpose_a, transpose_b,
                              lambda a, b: _matmul("linear", a, b, bias, dtype, memory_config, math_fidelity))
