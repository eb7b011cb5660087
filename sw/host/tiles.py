"""Tiles in the engine's L1 order, and bfloat16 (``DataFormat.Float16_b``) conversions.

The engine reads a 32x32 tile face by face: four 16x16 faces in row-major
order (top-left, top-right, bottom-left, bottom-right), each face row-major
(sim/golden/formats.py ``tile_to_l1_order`` is the reference, docs/engine.md
the hardware).  A buffer of tiles holds them one after another, each
``tile_bytes`` long (2048 for Float16_b).

* :func:`tilize`: an array of shape (..., H, W), H and W multiples of the
  tile size, into a flat array in TILE layout: tiles in row-major order of
  the tile grid, each tile in face order.
* :func:`untilize`: the inverse, given the shape.
* :func:`to_bfloat16` / :func:`from_bfloat16`: float32 <-> bfloat16 bit
  patterns (``uint16``), round to nearest even (ml_dtypes).

The tile geometry defaults to the engine's 32x32 with 16x16 faces; pass
``tile=(rows, cols), face=(rows, cols)`` for another configuration
(``cfg.engine.tile_rows`` ...).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from .errors import RuntimeInputError

__all__ = ["TILE", "FACE", "tilize", "untilize", "to_bfloat16", "from_bfloat16", "tile_bytes"]

TILE = (32, 32)
FACE = (16, 16)

_ELEMENT_BYTES = {"float32": 4, "float16_b": 2}


def tile_bytes(data_format, tile=TILE) -> int:
    """Bytes of one tile of ``data_format`` (a DataFormat or its name; Bfp8_b: exponents then values)."""
    name = getattr(data_format, "value", data_format)
    if name == "bfp8_b":
        return tile[0] * tile[1] + tile[0] * tile[1] // 16
    if name not in _ELEMENT_BYTES:
        raise RuntimeInputError(f"unknown data format {data_format!r}")
    return tile[0] * tile[1] * _ELEMENT_BYTES[name]


def _check(shape, tile, face):
    if len(shape) < 2:
        raise RuntimeInputError(f"tilize needs an array of at least 2 dimensions, got shape {shape}")
    h, w = shape[-2:]
    if h % tile[0] or w % tile[1]:
        raise RuntimeInputError(f"array of shape {shape}: the last two dimensions must be multiples of the "
                                f"tile {tile[0]}x{tile[1]}")
    if tile[0] % face[0] or tile[1] % face[1]:
        raise RuntimeInputError(f"tile {tile} is not made of whole faces {face}")


def tilize(array, tile=TILE, face=FACE) -> np.ndarray:
    """Flat array in TILE layout (same dtype) of ``array`` with shape (..., H, W)."""
    a = np.asarray(array)
    _check(a.shape, tile, face)
    *lead, h, w = a.shape
    tr, tc = tile
    fr, fc = face
    # (..., tile row, face row, row in face, tile col, face col, col in face)
    t = a.reshape(*lead, h // tr, tr // fr, fr, w // tc, tc // fc, fc)
    n = len(lead)
    order = list(range(n)) + [n + 0, n + 3, n + 1, n + 4, n + 2, n + 5]
    return np.ascontiguousarray(t.transpose(order)).reshape(-1)


def untilize(flat, shape, tile=TILE, face=FACE) -> np.ndarray:
    """The array of ``shape`` (..., H, W) whose TILE layout is ``flat``."""
    shape = tuple(shape)
    _check(shape, tile, face)
    *lead, h, w = shape
    tr, tc = tile
    fr, fc = face
    f = np.asarray(flat)
    if f.size != int(np.prod(shape)):
        raise RuntimeInputError(f"untilize: {f.size} elements for shape {shape}")
    n = len(lead)
    t = f.reshape(*lead, h // tr, w // tc, tr // fr, tc // fc, fr, fc)
    order = list(range(n)) + [n + 0, n + 2, n + 4, n + 1, n + 3, n + 5]
    return np.ascontiguousarray(t.transpose(order)).reshape(shape)


def to_bfloat16(values) -> np.ndarray:
    """float values -> bfloat16 bit patterns (``uint16``), round to nearest even."""
    return np.asarray(values, dtype=np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)


def from_bfloat16(bits) -> np.ndarray:
    """bfloat16 bit patterns (``uint16``) -> float32 values (exact)."""
    return np.asarray(bits, dtype=np.uint16).view(ml_dtypes.bfloat16).astype(np.float32)
