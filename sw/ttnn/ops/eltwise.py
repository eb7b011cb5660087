"""Element-wise ops on the engine: add / subtract / multiply (tensor or scalar) and the SFPU's
exp, relu, gelu, sqrt, reciprocal, sigmoid.

Each op is one program over every Tensix core (output tiles split in
contiguous ranges): a reader on RISCV_1 fetches the input tiles (for a
broadcast ``b`` it replicates b's single row down the tile in L1, since the
engine has no broadcast operand), the compute kernel on the three TRISCs runs
the engine op per tile, a writer on RISCV_0 stores the result.  A scalar
operand is an SFPU op with the scalar as an fp32 runtime argument.

Binary broadcasting (numpy rules, restricted to what the reader does):
``b`` may have fewer or size-1 leading dimensions when its matrix repeats over
all of ``a``'s matrices (batch broadcast), and a height of 1 against ``a``'s
height (row broadcast: a bias row).  Other broadcasts are refused by name.
"""

from __future__ import annotations

import numpy as np

from tessera.sw.host.buffer import BufferType
from tessera.sw.host.program import (CircularBufferConfig, ComputeConfig, CreateCircularBuffer, CreateKernel,
                                     CreateProgram, DataMovementConfig, DataMovementProcessor, MathFidelity,
                                     SetRuntimeArgs)
from tessera.sw.host.tiles import tile_bytes

from .. import op as top
from ..tensor import Tensor
from ..types import DataType, TtnnError, data_type

__all__ = ["add", "subtract", "multiply", "exp", "relu", "gelu", "sqrt", "reciprocal", "sigmoid", "neg"]

CB_A, CB_B, CB_OUT = 0, 1, 16
CB_PAGES = 2          # double-buffered: the reader fetches the next tile while the engine works
_BINARY = {"add": 0, "subtract": 1, "multiply": 2}
_UNARY = {"exp": 0, "relu": 1, "gelu": 2, "sqrt": 3, "reciprocal": 4, "add_scalar": 5, "multiply_scalar": 6,
          "sigmoid": 7}


def _is_dram(t: Tensor) -> int:
    return int(t.memory_config.buffer_type is BufferType.DRAM)


def _cores(device, tiles: int) -> list:
    cores = top.compute_cores(device)
    return cores[:max(1, min(tiles, len(cores)))]


def _out_dtype(dtype, a: Tensor, opname: str) -> DataType:
    if dtype is None:
        return a.dtype
    dtype = data_type(dtype, f"ttnn.{opname}: dtype")
    top.require(dtype in top.FLOAT_TYPES, f"ttnn.{opname}: output dtype {dtype!r} is not a tile type")
    return dtype


def _build(device, kind: str, code: int, formats: dict, ncores: int, fidelity: MathFidelity):
    cores = _cores(device, ncores)
    program = CreateProgram()
    for cb, fmt in formats.items():
        page = tile_bytes(fmt)
        CreateCircularBuffer(program, cores, CircularBufferConfig(CB_PAGES * page, {cb: fmt}).set_page_size(cb, page))
    reader = CreateKernel(program, top.kernel_path("eltwise_reader.c"), cores,
                          DataMovementConfig(processor=DataMovementProcessor.RISCV_1))
    writer = CreateKernel(program, top.kernel_path("eltwise_writer.c"), cores,
                          DataMovementConfig(processor=DataMovementProcessor.RISCV_0))
    source, define = ("eltwise_binary.c", "TT_BINARY_OP") if kind == "binary" else ("eltwise_unary.c", "TT_UNARY_OP")
    compute = CreateKernel(program, top.kernel_path(source), cores,
                           ComputeConfig(math_fidelity=fidelity, defines={define: str(code)}))
    return program, cores, reader, writer, compute


def _launch(device, opname, kind, code, a: Tensor, b: Tensor | None, out: Tensor, bcast, scalar_bits=0,
            fidelity=MathFidelity.HiFi4):
    tiles = out.num_tiles
    formats = {CB_A: a.data_format, CB_OUT: out.data_format}
    if b is not None:
        formats[CB_B] = b.data_format
    ncores = min(tiles, len(top.compute_cores(device)))
    key = ("eltwise", kind, code, tuple((cb, f.value) for cb, f in sorted(formats.items())), ncores, fidelity)
    program, cores, reader, writer, compute = top.program_cache(
        device, key, lambda: _build(device, kind, code, formats, ncores, fidelity))
    _, ht, wt = out.tile_grid
    b_batches, b_ht, bcast_row = bcast
    for core, (first, count) in zip(cores, top.split(tiles, len(cores))):
        SetRuntimeArgs(program, reader, core,
                       [a.buffer.address(), _is_dram(a), 1 + (b is not None), b.buffer.address() if b is not None else 0,
                        _is_dram(b) if b is not None else 0, first, count, ht, wt, b_batches, b_ht, bcast_row])
        SetRuntimeArgs(program, writer, core, [out.buffer.address(), _is_dram(out), first, count])
        SetRuntimeArgs(program, compute, core, [count, scalar_bits])
    inputs = 1 + (b is not None)
    return top.run(device, opname, program, tiles=tiles,
                   dram_bytes=tiles * (tile_bytes(a.data_format) * inputs + tile_bytes(out.data_format)))


def _broadcast(opname: str, a: Tensor, b: Tensor) -> tuple:
    """(b's matrices, b's tile rows, replicate b's row) for b against a, or a refusal naming the shapes."""
    sa, sb = list(a.shape), list(b.shape)
    if len(sa) == 1:
        sa = [1] + sa
    if len(sb) == 1:
        sb = [1] + sb
    refuse = (f"ttnn.{opname}: shapes {list(a.shape)} and {list(b.shape)} do not broadcast the ways this op "
              f"supports: equal shapes, b's leading dimensions missing or 1 (b's matrix repeated over a's), "
              f"b with one row ([..., 1, W]) against a's rows; a is never broadcast")
    top.require(len(sb) <= len(sa) and sb[-1] == sa[-1], refuse)
    top.require(sb[-2] in (1, sa[-2]), refuse)
    lead_a, lead_b = sa[:-2], sb[:-2]
    while lead_b and lead_b[0] == 1:
        lead_b = lead_b[1:]
    top.require(not lead_b or lead_b == lead_a[len(lead_a) - len(lead_b):], refuse)
    b_batches, b_ht, _ = b.tile_grid
    bcast_row = int(sb[-2] == 1 and sa[-2] > 1)
    if bcast_row:
        top.require(b.dtype in (DataType.bfloat16, DataType.float32),
                    f"ttnn.{opname}: a broadcast row must be bfloat16 or float32, got {b.dtype!r}")
    return b_batches, b_ht, bcast_row


def _fp32_bits(value: float, opname: str) -> int:
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise TtnnError(f"ttnn.{opname}: scalar {value!r} is not a number") from err
    return int(np.float32(v).view(np.uint32))


def _binary(opname: str, a, b, dtype, memory_config, fidelity=MathFidelity.HiFi4):
    top.require_tile(a, opname, what="input_tensor_a")
    out_dtype = _out_dtype(dtype, a, opname)
    if isinstance(b, Tensor):
        top.require_tile(b, opname, what="input_tensor_b")
        top.require(b.device is a.device, f"ttnn.{opname}: the two inputs are on different devices")
        bcast = _broadcast(opname, a, b)
        out = top.allocate_tensor(a.device, a.shape, out_dtype, memory_config or a.memory_config)
        _launch(a.device, opname, "binary", _BINARY[opname], a, b, out, bcast, fidelity=fidelity)
        return out
    if isinstance(b, bool) or not isinstance(b, (int, float, np.floating, np.integer)):
        raise TtnnError(f"ttnn.{opname}: input_tensor_b must be a ttnn.Tensor or a number, got {type(b).__name__}")
    if opname == "subtract":
        code, bits = _UNARY["add_scalar"], _fp32_bits(-float(b), opname)
    elif opname == "add":
        code, bits = _UNARY["add_scalar"], _fp32_bits(b, opname)
    else:
        code, bits = _UNARY["multiply_scalar"], _fp32_bits(b, opname)
    return _unary_code(opname, a, code, out_dtype, memory_config, bits)


def _unary_code(opname, a, code, out_dtype, memory_config, bits=0):
    out = top.allocate_tensor(a.device, a.shape, out_dtype, memory_config or a.memory_config)
    _launch(a.device, opname, "unary", code, a, None, out, (1, 1, 0), scalar_bits=bits)
    return out


def add(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None) -> Tensor:
    """a + b: b a tensor (same shape, or broadcast, see the module docstring) or a number."""
    return _binary("add", input_tensor_a, input_tensor_b, dtype, memory_config)


def subtract(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None) -> Tensor:
    """a - b: b a tensor or a number."""
    return _binary("subtract", input_tensor_a, input_tensor_b, dtype, memory_config)


def multiply(input_tensor_a, input_tensor_b, *, dtype=None, memory_config=None,
             math_fidelity=MathFidelity.HiFi4) -> Tensor:
    """a * b: b a tensor (products at ``math_fidelity``, HiFi4 = exact bf16 products) or a number."""
    return _binary("multiply", input_tensor_a, input_tensor_b, dtype, memory_config, math_fidelity)


def _unary(opname: str, a, dtype, memory_config) -> Tensor:
    top.require_tile(a, opname)
    return _unary_code(opname, a, _UNARY[opname], _out_dtype(dtype, a, opname), memory_config)


def exp(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    return _unary("exp", input_tensor, dtype, memory_config)


def relu(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    return _unary("relu", input_tensor, dtype, memory_config)


def gelu(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    """GELU as the SFPU computes it (docs/numerics.md: the engine's GELU approximation)."""
    return _unary("gelu", input_tensor, dtype, memory_config)


def sqrt(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    return _unary("sqrt", input_tensor, dtype, memory_config)


def reciprocal(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    return _unary("reciprocal", input_tensor, dtype, memory_config)


def sigmoid(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    """1 / (1 + exp(-x)), one SFPU sequence per tile."""
    return _unary("sigmoid", input_tensor, dtype, memory_config)


def neg(input_tensor, *, dtype=None, memory_config=None) -> Tensor:
    """-x (multiply by -1 on the SFPU: exact)."""
    top.require_tile(input_tensor, "neg")
    return _unary_code("neg", input_tensor, _UNARY["multiply_scalar"], _out_dtype(dtype, input_tensor, "neg"),
                       memory_config, _fp32_bits(-1.0, "neg"))
