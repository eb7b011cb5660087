"""ttnn tensors: host arrays and device buffers of tiles, and the conversions between them.

A :class:`Tensor` has a logical ``shape``, a :class:`~.types.DataType`, a
:class:`~.types.Layout` and, on a device, a buffer:

* **TILE layout** pads the last two dimensions with zeros to whole 32x32
  tiles (``padded_shape``; a 1-D tensor of N values is a 1 x N matrix).  On
  the device every tile is one page of its data type's engine format
  (float32, bfloat16 = Float16_b, bfloat8_b = Bfp8_b: 1,088 bytes per tile,
  one shared exponent per 16 values), pages in row-major order over
  (batch, tile row, tile col) where *batch* runs over the leading dimensions,
  interleaved page by page over the DRAM banks (or the Tensix L1 banks).
* **ROW_MAJOR layout** keeps the values as they are.  On a device only
  uint32 tensors (token ids for ``embedding``) may be row-major: one page per
  row of the last dimension, padded to a multiple of 32 bytes.

bfloat16 values are rounded to nearest even when a tensor is made; bfloat8_b
is quantised when it is tilized (its shared exponents belong to 16
neighbouring values of a face row), so a bfloat8_b tensor exists in TILE
layout only, as in ttnn.
"""

from __future__ import annotations

import weakref

import ml_dtypes
import numpy as np

from tessera.sim.golden import formats
from tessera.sw.host.buffer import CreateBuffer, InterleavedBufferConfig
from tessera.sw.host.device import EnqueueReadBuffer, EnqueueWriteBuffer
from tessera.sw.host.tiles import tile_bytes, tilize, untilize

from .types import (TILE_SIZE, DataType, Layout, MemoryConfig, TtnnError, data_type,
                    layout_of, memory_config_of)

__all__ = ["Tensor", "from_numpy", "to_numpy", "from_torch", "to_torch", "to_device", "from_device", "to_layout",
           "deallocate", "typecast", "view", "encode_tiles", "decode_tiles", "round_to"]

ROW_ALIGN = 32      # bytes: a row-major page is padded to this


def _ceil_tile(n: int) -> int:
    return -(-n // TILE_SIZE) * TILE_SIZE


def _matrix_shape(shape: tuple) -> tuple:
    """The (leading..., H, W) view a TILE tensor is tiled in (a 1-D tensor is one row)."""
    return (1,) + tuple(shape) if len(shape) == 1 else tuple(shape)


def round_to(values: np.ndarray, dtype: DataType) -> np.ndarray:
    """float32 values as ``dtype`` holds them (bfloat16: round to nearest even; bfloat8_b: only when tilized)."""
    values = np.asarray(values, dtype=np.float32)
    if dtype is DataType.bfloat16:
        return values.astype(ml_dtypes.bfloat16).astype(np.float32)
    return values


def encode_tiles(padded: np.ndarray, dtype: DataType, ecfg) -> bytes:
    """float32 array (..., Hp, Wp) of whole tiles -> the device pages (one tile each, in page order)."""
    flat = tilize(np.asarray(padded, dtype=np.float32))   # tiles one after another, each in L1 (face) order
    if dtype is DataType.float32:
        return flat.astype("<f4").tobytes()
    if dtype is DataType.bfloat16:
        return flat.astype(ml_dtypes.bfloat16).view("<u2").tobytes()
    if dtype is DataType.bfloat8_b:
        n = ecfg.tile_elems
        exps, data = formats.bfp8_encode(flat.view(np.uint32), ecfg.bfp_block)
        tiles = flat.size // n
        nb = n // ecfg.bfp_block
        pages = np.concatenate([exps.reshape(tiles, nb).astype(np.uint8), data.reshape(tiles, n).astype(np.uint8)],
                               axis=1)
        return pages.tobytes()
    raise TtnnError(f"no tile format for {dtype!r}")


def decode_tiles(raw: bytes, dtype: DataType, padded_shape: tuple, ecfg) -> np.ndarray:
    """The device pages of a TILE tensor -> float32 array of ``padded_shape`` (values as stored, no flushing)."""
    count = int(np.prod(padded_shape))
    if dtype is DataType.float32:
        flat = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
    elif dtype is DataType.bfloat16:
        flat = np.frombuffer(raw, dtype="<u2", count=count).view(ml_dtypes.bfloat16).astype(np.float32)
    elif dtype is DataType.bfloat8_b:
        n, nb = ecfg.tile_elems, ecfg.tile_elems // ecfg.bfp_block
        pages = np.frombuffer(raw, dtype=np.uint8, count=count // n * (n + nb)).reshape(-1, n + nb)
        bits = formats.bfp8_decode(pages[:, :nb].reshape(-1), pages[:, nb:].reshape(-1), ecfg.bfp_block)
        flat = np.asarray(bits, dtype=np.uint32).view(np.float32)
    else:
        raise TtnnError(f"no tile format for {dtype!r}")
    return untilize(flat, padded_shape)


class Tensor:
    """A ttnn tensor (see the module docstring); make one with :func:`from_numpy` or an op."""

    def __init__(self, shape, dtype: DataType, layout: Layout, *, values=None, buffer=None, device=None,
                 memory_config: MemoryConfig | None = None):
        self.shape = tuple(int(d) for d in shape)
        self.dtype, self.layout = dtype, layout
        self._values, self.buffer, self.device = values, buffer, device
        self.base = None     # the tensor a view (:func:`view`) shares its buffer with
        self.memory_config = memory_config if device is not None else None

    # -- geometry --------------------------------------------------------------------------

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_on_device(self) -> bool:
        return self.device is not None

    @property
    def data_format(self):
        return self.dtype.data_format

    @property
    def padded_shape(self) -> tuple:
        if self.layout is Layout.ROW_MAJOR:
            return self.shape
        *lead, h, w = _matrix_shape(self.shape)
        return (*lead, _ceil_tile(h), _ceil_tile(w))

    @property
    def volume(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def tile_grid(self) -> tuple:
        """(batch, Ht, Wt): matrices (the leading dimensions flattened) and tiles per column / row."""
        *lead, hp, wp = self.padded_shape
        return (int(np.prod(lead, dtype=np.int64)) if lead else 1, hp // TILE_SIZE, wp // TILE_SIZE)

    @property
    def num_tiles(self) -> int:
        b, ht, wt = self.tile_grid
        return b * ht * wt

    def tile_index(self, b: int, r: int, c: int) -> int:
        """Page number of tile (matrix ``b``, tile row ``r``, tile col ``c``)."""
        _, ht, wt = self.tile_grid
        return (b * ht + r) * wt + c

    @property
    def page_size(self) -> int:
        if self.layout is Layout.TILE:
            return tile_bytes(self.data_format)
        return -(-4 * self.shape[-1] // ROW_ALIGN) * ROW_ALIGN

    def __repr__(self) -> str:
        where = f"device {self.device.id}, {self.memory_config!r}" if self.device is not None else "host"
        return f"ttnn.Tensor(shape={list(self.shape)}, dtype={self.dtype!r}, layout={self.layout!r}, {where})"

    def __len__(self) -> int:
        return self.shape[0]

    def to_numpy(self) -> np.ndarray:
        return to_numpy(self)


def _check_shape(shape, what: str) -> tuple:
    shape = tuple(shape)
    if not shape or any(d <= 0 for d in shape):
        raise TtnnError(f"{what}: shape {list(shape)} is not supported; a tensor needs at least one dimension and "
                        f"no empty dimension")
    return shape


def _host_tensor(values: np.ndarray, dtype: DataType, layout: Layout) -> Tensor:
    if dtype is DataType.uint32:
        if layout is Layout.TILE:
            raise TtnnError("uint32 tensors are ROW_MAJOR only (token ids); TILE layout holds float32, "
                            "bfloat16 and bfloat8_b")
        return Tensor(values.shape, dtype, layout, values=values.astype(np.uint32))
    if dtype is DataType.bfloat8_b and layout is not Layout.TILE:
        raise TtnnError("bfloat8_b tensors exist in TILE layout only (the shared exponents belong to tiles); "
                        "pass layout=ttnn.TILE_LAYOUT")
    return Tensor(values.shape, dtype, layout, values=round_to(values, dtype))


def from_numpy(array, dtype=DataType.bfloat16, layout=Layout.ROW_MAJOR, device=None, memory_config=None) -> Tensor:
    """A tensor of ``array``'s values as ``dtype`` in ``layout``; with ``device`` it is written to the device."""
    dtype, layout = data_type(dtype), layout_of(layout)
    values = np.asarray(array)
    _check_shape(values.shape, "from_numpy")
    if dtype is DataType.uint32:
        if values.dtype.kind not in "iu" or (values.size and (values.min() < 0 or values.max() >= 1 << 32)):
            raise TtnnError(f"from_numpy: a uint32 tensor needs non-negative integers below 2**32, got {values.dtype}")
    elif values.dtype.kind not in "fiub":
        raise TtnnError(f"from_numpy: cannot make a {dtype!r} tensor from numpy dtype {values.dtype}")
    tensor = _host_tensor(values, dtype, layout)
    if device is not None:
        return to_device(tensor, device, memory_config)
    return tensor


def from_torch(tensor, dtype=None, layout=Layout.ROW_MAJOR, device=None, memory_config=None) -> Tensor:
    """As :func:`from_numpy` for a torch tensor (torch is optional; dtype defaults to bfloat16)."""
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise TtnnError("from_torch needs torch, which is not installed; use from_numpy") from err
    values = tensor.detach().to("cpu")
    values = values.to(torch.int64).numpy() if not values.is_floating_point() else values.to(torch.float32).numpy()
    return from_numpy(values, dtype or DataType.bfloat16, layout, device, memory_config)


def to_torch(tensor: Tensor):
    """The tensor's values as a torch tensor (float32, or int64 for uint32 tensors)."""
    try:
        import torch
    except ImportError as err:  # pragma: no cover
        raise TtnnError("to_torch needs torch, which is not installed; use to_numpy") from err
    values = to_numpy(tensor)
    return torch.from_numpy(values.astype(np.int64) if tensor.dtype is DataType.uint32 else values)


def _check_tensor(t, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TtnnError(f"{what}: expected a ttnn.Tensor, got {type(t).__name__}")
    if t.is_on_device and (t.buffer is None or not t.buffer.allocated):
        raise TtnnError(f"{what}: the tensor was deallocated")
    return t


def _allocate(device, shape, dtype: DataType, layout: Layout, memory_config: MemoryConfig) -> Tensor:
    t = Tensor(shape, dtype, layout, device=device, memory_config=memory_config)
    if layout is Layout.TILE:
        pages = t.num_tiles
    else:
        pages = int(np.prod(shape[:-1], dtype=np.int64)) if len(shape) > 1 else 1
    config = InterleavedBufferConfig(device=device, size=pages * t.page_size, page_size=t.page_size,
                                     buffer_type=memory_config.buffer_type)
    t.buffer = CreateBuffer(config)
    # A device tensor frees its buffer when it is garbage (intermediates of a model would fill the
    # DRAM otherwise); ttnn.deallocate frees it earlier, and freeing twice is a no-op.
    weakref.finalize(t, t.buffer.deallocate)
    return t


def _padded_values(t: Tensor) -> np.ndarray:
    values = t._values.reshape(_matrix_shape(t.shape))
    *lead, h, w = values.shape
    out = np.zeros((*lead, _ceil_tile(h), _ceil_tile(w)), dtype=np.float32)
    out[..., :h, :w] = values
    return out


def to_device(tensor: Tensor, device, memory_config=None) -> Tensor:
    """A copy of host ``tensor`` on ``device`` (TILE tensors as pages of tiles; ROW_MAJOR: uint32 only)."""
    _check_tensor(tensor, "to_device")
    memory_config = memory_config_of(memory_config)
    if tensor.is_on_device:
        if tensor.device is device and tensor.memory_config == memory_config:
            return tensor
        tensor = from_device(tensor)
    if tensor.layout is Layout.ROW_MAJOR and tensor.dtype is not DataType.uint32:
        raise TtnnError(f"to_device: a ROW_MAJOR {tensor.dtype!r} tensor cannot go to the device; ops take TILE "
                        f"tensors (ttnn.to_layout(t, ttnn.TILE_LAYOUT) first); only uint32 ids stay row-major")
    out = _allocate(device, tensor.shape, tensor.dtype, tensor.layout, memory_config)
    queue = device.command_queue()
    if tensor.layout is Layout.TILE:
        blob = encode_tiles(_padded_values(tensor), tensor.dtype, device.cfg.engine)
    else:
        rows = tensor._values.reshape(-1, tensor.shape[-1])
        padded = np.zeros((rows.shape[0], out.page_size // 4), dtype="<u4")
        padded[:, :rows.shape[1]] = rows
        blob = padded.tobytes()
    EnqueueWriteBuffer(queue, out.buffer, blob, blocking=True)
    return out


def _device_values(t: Tensor) -> np.ndarray:
    queue = t.device.command_queue()
    raw = EnqueueReadBuffer(queue, t.buffer, blocking=True).tobytes()
    if t.layout is Layout.TILE:
        padded = decode_tiles(raw, t.dtype, t.padded_shape, t.device.cfg.engine)
        h, w = _matrix_shape(t.shape)[-2:]
        return np.ascontiguousarray(padded[..., :h, :w]).reshape(t.shape)
    rows = np.frombuffer(raw, dtype="<u4").reshape(-1, t.page_size // 4)[:, :t.shape[-1]]
    return rows.astype(np.uint32).reshape(t.shape)


def from_device(tensor: Tensor) -> Tensor:
    """A host copy of a device tensor (same dtype and layout)."""
    _check_tensor(tensor, "from_device")
    if not tensor.is_on_device:
        return tensor
    return Tensor(tensor.shape, tensor.dtype, tensor.layout, values=_device_values(tensor))


def to_numpy(tensor: Tensor) -> np.ndarray:
    """The tensor's logical values: float32 (uint32 for uint32 tensors), read from the device if it is there."""
    _check_tensor(tensor, "to_numpy")
    if tensor.is_on_device:
        return _device_values(tensor)
    if tensor.dtype is DataType.bfloat8_b:   # quantised as its tiles hold it
        padded = decode_tiles(encode_tiles(_padded_values(tensor), tensor.dtype, _default_ecfg()), tensor.dtype,
                              tensor.padded_shape, _default_ecfg())
        h, w = _matrix_shape(tensor.shape)[-2:]
        return np.ascontiguousarray(padded[..., :h, :w]).reshape(tensor.shape)
    return tensor._values.copy()


def _default_ecfg():
    from tessera.hw.config import preset
    return preset("tiny").engine


def to_layout(tensor: Tensor, layout) -> Tensor:
    """``tensor`` in ``layout``.  On a device the values go through the host (no device tilizer yet)."""
    _check_tensor(tensor, "to_layout")
    layout = layout_of(layout)
    if tensor.layout is layout:
        return tensor
    if tensor.dtype is DataType.uint32 and layout is Layout.TILE:
        raise TtnnError("to_layout: uint32 tensors are ROW_MAJOR only (token ids)")
    if tensor.dtype is DataType.bfloat8_b and layout is Layout.ROW_MAJOR:
        raise TtnnError("to_layout: bfloat8_b tensors exist in TILE layout only; ttnn.typecast to bfloat16 first")
    host = _host_tensor(to_numpy(tensor), tensor.dtype, layout)
    if tensor.is_on_device:
        return to_device(host, tensor.device, tensor.memory_config)
    return host


def view(tensor: Tensor, shape) -> Tensor:
    """A device TILE tensor of ``shape`` on ``tensor``'s pages, without moving data.

    Its tiles are the first pages of ``tensor`` in page order: the caller vouches that they mean
    what ``shape`` says (a prefix of the tile rows, or tile rows regrouped into matrices of whole
    tiles).  The view keeps ``tensor`` (and so its buffer) alive; deallocating either frees both.
    """
    _check_tensor(tensor, "view")
    if not tensor.is_on_device or tensor.layout is not Layout.TILE:
        raise TtnnError(f"view: {tensor!r} is not a device tensor in TILE layout")
    shape = _check_shape(tuple(int(d) for d in shape), "view")
    out = Tensor(shape, tensor.dtype, tensor.layout, buffer=tensor.buffer, device=tensor.device,
                 memory_config=tensor.memory_config)
    if out.num_tiles > tensor.num_tiles:
        raise TtnnError(f"view: shape {list(shape)} needs {out.num_tiles} tiles, {tensor!r} has {tensor.num_tiles}")
    out.base = tensor
    return out


def deallocate(tensor: Tensor) -> None:
    """Free a device tensor's buffer (the tensor can no longer be used)."""
    _check_tensor(tensor, "deallocate")
    if tensor.buffer is not None:
        tensor.buffer.deallocate()
        tensor.buffer = None


def typecast(tensor: Tensor, dtype) -> Tensor:
    """``tensor`` as ``dtype`` (through the host for device tensors)."""
    _check_tensor(tensor, "typecast")
    dtype = data_type(dtype)
    if dtype is tensor.dtype:
        return tensor
    host = _host_tensor(to_numpy(tensor), dtype, tensor.layout)
    if tensor.is_on_device:
        return to_device(host, tensor.device, tensor.memory_config)
    return host

