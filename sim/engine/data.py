"""Test data for the engine: random tiles in L1 formats, with corner values on request."""

from __future__ import annotations

import numpy as np

from tessera.sim.golden import formats as fm

#: +-0, smallest denormal, largest denormal, smallest / largest normal (+-), +-inf, NaNs.
CORNERS_F32 = np.array([0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x80800000,
                        0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001,
                        0x7F800001, 0x3F800000, 0xBF800000], dtype=np.uint32)


def random_values(rng: np.random.Generator, ecfg, scale=1.0, corners=0, wide=False):
    """fp32 patterns of one tile: normal(0, scale) values, optionally wide exponents and corners."""
    n = ecfg.tile_elems
    v = (rng.standard_normal(n) * scale).astype(np.float32)
    if wide:
        v = (v * np.exp2(rng.integers(-20, 20, n))).astype(np.float32)
    bits = v.view(np.uint32).copy()
    if corners:
        idx = rng.choice(n, size=corners, replace=False)
        bits[idx] = rng.choice(CORNERS_F32, size=corners)
    return bits.reshape(ecfg.tile_rows, ecfg.tile_cols)


def tile_bytes(bits, fmt: str, ecfg) -> bytes:
    """L1 image of a tile.  Float32 / Float16_b keep raw patterns (denormals and NaN payloads
    reach the unpacker); Bfp8_b goes through the golden encoder."""
    flat = fm.tile_to_l1_order(bits, ecfg)
    if fmt == "float32":
        return flat.astype("<u4").tobytes()
    if fmt == "float16_b":
        return (flat >> 16).astype("<u2").tobytes()
    return fm.pack_tile(bits, "bfp8_b", ecfg)
