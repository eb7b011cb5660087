"""ttnn data movement on the data-movement cores: transpose, reshape, concat, embedding.

Every op here runs a reader kernel on RISCV_1 that builds output tiles in L1 and
``eltwise_writer.c`` on RISCV_0 that stores them, the output tiles split over
every Tensix core.  Nothing goes through the engine, so every value moves
bit for bit.

* **Whole tiles** (``dm_tiles.c``): where no tile changes inside (concat along
  a leading dimension, or along one of the last two when every input but the
  last fills whole tiles along it; reshape that keeps the last dimension and
  the tile rows) output pages are read unchanged from the input pages, in any
  tile format (bfloat8_b too).
* **Pieces** (``dm_reshape.c``, ``dm_concat.c``, ``dm_embedding.c``): each
  output tile row is cut into runs contiguous in both the output tile and one
  input tile (at most a face row, 16 values); each run is one NoC read from the
  input page straight to its place in the output page (the NIU realigns the
  bytes).  bfloat16 and float32 only (bfloat8_b shares one exponent per 16
  values).
* **Transpose** (``dm_transpose.c``): output tile (r, c) is input tile (c, r)
  transposed element by element by the core (bfloat16, float32).

Padding stays zero: tiles that hold padding are cleared before the pieces land.
"""

from __future__ import annotations

import math

from tessera.sw.host.buffer import BufferType
from tessera.sw.host.errors import KernelError
from tessera.sw.host.program import (CircularBufferConfig, CreateCircularBuffer, CreateKernel, CreateProgram,
                                     DataFormat, DataMovementConfig, DataMovementProcessor, SetRuntimeArgs)
from tessera.sw.host.tiles import tile_bytes

from .. import op as top
from ..tensor import Tensor, deallocate
from ..types import TILE_SIZE, DataType, Layout, TtnnError, data_type, memory_config_of

__all__ = ["transpose", "reshape", "concat", "embedding"]

CB_IN, CB_IDS, CB_OUT = 0, 1, 16
ELEMENT_TYPES = (DataType.bfloat16, DataType.float32)
#: Inputs one program takes (runtime arguments: 64 words per kernel and core).
TILE_INPUTS_PER_PROGRAM = (64 - 5) // 3
PIECE_INPUTS_PER_PROGRAM = (64 - 8) // 5
BAD_ID_EXIT_CODE = 3


def _is_dram(t) -> int:
    return int(t.buffer.buffer_type is BufferType.DRAM)


def _matrix(shape: tuple) -> tuple:
    """The (leading..., H, W) view tiles are laid out in (a 1-D tensor is one row)."""
    return (1,) + tuple(shape) if len(shape) == 1 else tuple(shape)


def _element_dtype(t, opname: str, why: str) -> None:
    top.require(t.dtype in ELEMENT_TYPES,
                f"ttnn.{opname}: {why} moves single values, which a {t.dtype!r} tensor does not hold (16 values share "
                f"an exponent); allowed: ttnn.bfloat16, ttnn.float32 (ttnn.typecast first)")


def _cb(program, cores, index, fmt, pages, page_size=None):
    size = page_size or tile_bytes(fmt)
    CreateCircularBuffer(program, cores, CircularBufferConfig(pages * size, {index: fmt}).set_page_size(index, size))


def _build(reader: str, cores, fmt, scratch=None):
    """A reader (``reader``) + writer program on ``cores``, output CB 16 of ``fmt``; ``scratch``:
    (cb, format, pages, page size) of a CB the reader uses as memory."""
    def build():
        program = CreateProgram()
        _cb(program, cores, CB_OUT, fmt, 2)
        if scratch is not None:
            _cb(program, cores, *scratch)
        kernels = {"reader": CreateKernel(program, top.kernel_path(reader), cores,
                                          DataMovementConfig(processor=DataMovementProcessor.RISCV_1)),
                   "writer": CreateKernel(program, top.kernel_path("eltwise_writer.c"), cores,
                                          DataMovementConfig(processor=DataMovementProcessor.RISCV_0))}
        return program, kernels
    return build


def _launch(opname: str, reader: str, out: Tensor, reader_args, dram_bytes: int, scratch=None):
    """Split ``out``'s tiles over the cores; ``reader_args(first, count)`` gives a core's reader arguments."""
    device = out.device
    tiles = out.num_tiles
    ranges = [r for r in top.split(tiles, len(top.compute_cores(device))) if r[1]]
    cores = top.compute_cores(device)[:len(ranges)]
    key = (opname, reader, out.data_format, len(cores), scratch)
    program, kernels = top.program_cache(device, key, _build(reader, cores, out.data_format, scratch))
    for core, (first, count) in zip(cores, ranges):
        SetRuntimeArgs(program, kernels["reader"], core, reader_args(first, count))
        SetRuntimeArgs(program, kernels["writer"], core, [out.buffer.address(), _is_dram(out), first, count])
    return top.run(device, opname, program, dram_bytes=dram_bytes, tiles=tiles)


# ---- whole tiles ----------------------------------------------------------------------------------

def _gather_tiles(opname: str, inputs: list, out: Tensor, d_parts: list, inner: int) -> None:
    """Output pages [outer, sum(d_parts), inner]; input k supplies [outer, d_parts[k], inner]."""
    words = []
    for t, d in zip(inputs, d_parts):
        words += [t.buffer.address(), _is_dram(t), d]
    total = sum(d_parts)
    _launch(opname, "dm_tiles.c", out, lambda first, count: [total, inner, first, count, len(inputs), *words],
            dram_bytes=2 * out.num_tiles * out.page_size)


# ---- transpose ------------------------------------------------------------------------------------

def transpose(input_tensor, dim0: int, dim1: int, *, memory_config=None) -> Tensor:
    """Swap the last two dimensions (``dim0``, ``dim1`` = -2, -1 in either order, or their positive
    numbers); bfloat16 or float32, TILE layout."""
    t = top.require_tile(input_tensor, "transpose")
    top.require(t.rank >= 2, f"ttnn.transpose: the input has shape {list(t.shape)}; it needs 2 dimensions or more")
    dims = []
    for d in (dim0, dim1):
        top.require(isinstance(d, int) and not isinstance(d, bool) and -t.rank <= d < t.rank,
                    f"ttnn.transpose: dim {d!r} is not a dimension of a rank-{t.rank} tensor")
        dims.append(d % t.rank)
    top.require(sorted(dims) == [t.rank - 2, t.rank - 1],
                f"ttnn.transpose: dims ({dim0}, {dim1}) of shape {list(t.shape)}; only the last two dimensions "
                f"(-2, -1) can be swapped")
    _element_dtype(t, "transpose", "a transpose")
    *lead, h, w = t.shape
    out = top.allocate_tensor(t.device, (*lead, w, h), t.dtype, memory_config_of(memory_config))
    _, ht, wt = t.tile_grid
    _launch("transpose", "dm_transpose.c", out,
            lambda first, count: [t.buffer.address(), _is_dram(t), ht, wt, first, count],
            dram_bytes=2 * out.num_tiles * out.page_size, scratch=(CB_IN, t.data_format, 2))
    return out


# ---- reshape --------------------------------------------------------------------------------------

def _target_shape(t: Tensor, shape) -> tuple:
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise TtnnError(f"ttnn.reshape: shape {shape!r} is not a sequence of integers") from None
    top.require(len(shape) >= 1, "ttnn.reshape: the new shape is empty")
    unknown = [i for i, d in enumerate(shape) if d == -1]
    top.require(len(unknown) <= 1 and all(d > 0 or d == -1 for d in shape),
                f"ttnn.reshape: shape {list(shape)}: dimensions must be positive, with at most one -1")
    known = math.prod(d for d in shape if d != -1)
    if unknown:
        top.require(t.volume % known == 0, f"ttnn.reshape: cannot reshape {list(t.shape)} ({t.volume} values) to "
                                           f"{list(shape)}")
        shape = tuple(t.volume // known if d == -1 else d for d in shape)
    top.require(math.prod(shape) == t.volume,
                f"ttnn.reshape: cannot reshape {list(t.shape)} ({t.volume} values) to {list(shape)} "
                f"({math.prod(shape)} values)")
    return shape


def reshape(input_tensor, shape, *, memory_config=None) -> Tensor:
    """The same values in row-major order in ``shape`` (one dimension may be -1); TILE layout.
    Whole tiles move when the last dimension and the tile rows stay (any tile format); otherwise
    values move (bfloat16, float32)."""
    t = top.require_tile(input_tensor, "reshape")
    shape = _target_shape(t, shape)
    *_, h_in, w_in = _matrix(t.shape)
    *_, h_out, w_out = _matrix(shape)
    out_config = memory_config_of(memory_config)
    same_pages = w_in == w_out and (h_in == h_out or (h_in % TILE_SIZE == 0 and h_out % TILE_SIZE == 0))
    if not same_pages:
        _element_dtype(t, "reshape", f"a reshape from {list(t.shape)} to {list(shape)} (the last dimension or the "
                                     f"tile rows change)")
    out = top.allocate_tensor(t.device, shape, t.dtype, out_config)
    if same_pages:
        _gather_tiles("reshape", [t], out, [out.num_tiles], 1)
        return out
    _, ht_in, wt_in = t.tile_grid
    _, ht_out, wt_out = out.tile_grid
    _launch("reshape", "dm_reshape.c", out,
            lambda first, count: [t.buffer.address(), _is_dram(t), h_in, w_in, ht_in, wt_in, h_out, w_out, ht_out,
                                  wt_out, first, count],
            dram_bytes=2 * out.num_tiles * out.page_size)
    return out


# ---- concat ---------------------------------------------------------------------------------------

def concat(tensors, dim: int = 0, *, memory_config=None) -> Tensor:
    """``tensors`` joined along ``dim`` (any dimension): same rank, dtype and device, equal sizes in every other
    dimension; TILE layout.  Whole tiles move along leading dimensions and along the last two when
    every input but the last fills whole tiles there; otherwise values move (bfloat16, float32)."""
    top.require(isinstance(tensors, (list, tuple)) and len(tensors) > 0,
                f"ttnn.concat: expected a non-empty list of tensors, got {tensors!r}")
    tensors = [top.require_tile(t, "concat", what=f"tensor {i}") for i, t in enumerate(tensors)]
    first = tensors[0]
    rank = first.rank
    top.require(isinstance(dim, int) and not isinstance(dim, bool) and -rank <= dim < rank,
                f"ttnn.concat: dim {dim!r} is not a dimension of a rank-{rank} tensor")
    dim %= rank
    for i, t in enumerate(tensors[1:], 1):
        top.require(t.device is first.device, f"ttnn.concat: tensor {i} is on another device than tensor 0")
        top.require(t.dtype is first.dtype, f"ttnn.concat: tensor {i} has dtype {t.dtype!r}, tensor 0 {first.dtype!r}")
        top.require(t.rank == rank and all(a == b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != dim),
                    f"ttnn.concat: tensor {i} has shape {list(t.shape)}, tensor 0 {list(first.shape)}; they may "
                    f"differ only in dim {dim}")
    out_config = memory_config_of(memory_config)
    if len(tensors) == 1:
        return first
    # Too many inputs for one program's runtime arguments: join them in groups.
    limit = PIECE_INPUTS_PER_PROGRAM
    if len(tensors) > limit:
        head = concat(tensors[:limit], dim, memory_config=out_config)
        out = concat([head, *tensors[limit:]], dim, memory_config=out_config)
        deallocate(head)
        return out
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    out = top.allocate_tensor(first.device, shape, first.dtype, out_config)
    m_rank = max(rank, 2)
    m_dim = dim + (m_rank - rank)           # the dimension in the (leading..., H, W) view
    lead = _matrix(first.shape)[:-2]
    _, ht, wt = first.tile_grid
    if m_dim < m_rank - 2:
        inner = math.prod(lead[m_dim + 1:]) * ht * wt
        _gather_tiles("concat", tensors, out, [t.shape[dim] for t in tensors], inner)
        return out
    rows = m_dim == m_rank - 2
    extents = [_matrix(t.shape)[m_dim] for t in tensors]
    if all(e % TILE_SIZE == 0 for e in extents[:-1]):
        grids = [t.tile_grid for t in tensors]
        if rows:
            _gather_tiles("concat", tensors, out, [g[1] for g in grids], wt)
        else:
            _gather_tiles("concat", tensors, out, [g[2] for g in grids], 1)
        return out
    _element_dtype(first, "concat", f"a concat along dim {dim} where an input does not fill whole tiles")
    words = []
    for t, extent in zip(tensors, extents):
        _, t_ht, t_wt = t.tile_grid
        words += [t.buffer.address(), _is_dram(t), extent, t_ht, t_wt]
    *_, h_out, w_out = _matrix(tuple(shape))
    _, ht_out, wt_out = out.tile_grid
    _launch("concat", "dm_concat.c", out,
            lambda first_tile, count: [0 if rows else 1, h_out, w_out, ht_out, wt_out, first_tile, count,
                                       len(tensors), *words],
            dram_bytes=2 * out.num_tiles * out.page_size)
    return out


# ---- embedding ------------------------------------------------------------------------------------

def embedding(input_tensor, weight, *, dtype=None, layout=Layout.TILE, memory_config=None) -> Tensor:
    """Rows of ``weight`` ([vocab, dim], TILE, bfloat16 or float32) picked by ``input_tensor`` (uint32 ids,
    ROW_MAJOR, [batch, seq] or [seq]); output ids.shape + [dim] in TILE layout and weight's dtype (``dtype``
    may only name it: rows are copied, not converted).  An id >= vocab raises TtnnError after the run."""
    ids = input_tensor
    top.require(isinstance(ids, Tensor), f"ttnn.embedding: ids must be a ttnn.Tensor, got {type(ids).__name__}")
    top.require(ids.dtype is DataType.uint32 and ids.layout is Layout.ROW_MAJOR,
                f"ttnn.embedding: ids are {ids.dtype!r} in {ids.layout!r}; allowed: ttnn.uint32 in "
                f"ttnn.ROW_MAJOR_LAYOUT")
    top.require(ids.is_on_device and ids.buffer is not None,
                "ttnn.embedding: ids must be on the device (from_numpy(..., device=device))")
    top.require(ids.rank in (1, 2), f"ttnn.embedding: ids have shape {list(ids.shape)}; allowed: [batch, seq] or "
                                    f"[seq]")
    w = top.require_tile(weight, "embedding", dtypes=ELEMENT_TYPES, what="weight")
    top.require(w.device is ids.device, "ttnn.embedding: ids and weight are on different devices")
    top.require(w.rank == 2, f"ttnn.embedding: weight has shape {list(w.shape)}; allowed: [vocab, dim]")
    top.require(layout in (Layout.TILE, "TILE_LAYOUT"), f"ttnn.embedding: layout {layout!r}; the output is "
                                                        f"ttnn.TILE_LAYOUT")
    top.require(dtype is None or data_type(dtype) is w.dtype,
                f"ttnn.embedding: dtype {dtype!r} differs from the weight's {w.dtype!r}; rows are copied as they are "
                f"(ttnn.typecast the weight first)")
    vocab, dim = w.shape
    seq = ids.shape[-1]
    out = top.allocate_tensor(ids.device, (*ids.shape, dim), w.dtype, memory_config_of(memory_config))
    _, st, wt = out.tile_grid
    ids_scratch = (CB_IDS, DataFormat.Float32, 1, ids.page_size)
    try:
        _launch("embedding", "dm_embedding.c", out,
                lambda first, count: [ids.buffer.address(), _is_dram(ids), ids.page_size, w.buffer.address(),
                                      _is_dram(w), vocab, wt, seq, st, first, count],
                dram_bytes=2 * out.num_tiles * out.page_size, scratch=ids_scratch)
    except KernelError as err:
        if f"exited with code {BAD_ID_EXIT_CODE}" not in str(err):
            raise
        out.buffer.deallocate()
        out.buffer = None
        raise TtnnError(f"ttnn.embedding: an id is outside the vocabulary (weight has {vocab} rows)") from err
    return out
