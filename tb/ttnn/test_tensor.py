"""ttnn tensors on the host and their round trip through the chip's DRAM and L1 (dtypes, layouts,
padding), and the refusals of bad tensors; the tile encodings against the engine's golden formats."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ttnn
from tessera.hw.config import preset
from tessera.sim.golden import formats as fm
from tessera.sw.ttnn.tensor import decode_tiles, encode_tiles

ECFG = preset("tiny").engine


def test_tile_layout_pads_to_whole_tiles_and_keeps_the_logical_shape():
    t = ttnn.from_numpy(np.ones((3, 40, 70), np.float32), layout=ttnn.TILE_LAYOUT)
    assert t.shape == (3, 40, 70) and t.padded_shape == (3, 64, 96)
    assert t.tile_grid == (3, 2, 3) and t.num_tiles == 18 and t.tile_index(1, 1, 2) == 11
    v = ttnn.from_numpy(np.ones(5, np.float32), layout=ttnn.TILE_LAYOUT)
    assert v.padded_shape == (32, 32) and v.tile_grid == (1, 1, 1)
    assert ttnn.to_numpy(v).shape == (5,)


@pytest.mark.parametrize("dtype", [ttnn.float32, ttnn.bfloat16, ttnn.bfloat8_b])
def test_encoded_pages_match_the_engine_formats(dtype):
    rng = np.random.default_rng(1)
    values = rng.standard_normal((2, 64, 32)).astype(np.float32)
    raw = encode_tiles(values, dtype, ECFG)
    fmt = dtype.data_format.value
    want = b"".join(fm.pack_tile(fm.f32_to_bits(values[b, 32 * r:32 * r + 32]), fmt, ECFG)
                    for b in range(2) for r in range(2))
    assert raw == want
    back = decode_tiles(raw, dtype, values.shape, ECFG)
    if dtype is ttnn.float32:
        assert np.array_equal(back, values)
    else:
        step = 2.0 ** -7 if dtype is ttnn.bfloat16 else 2.0 ** -5
        np.testing.assert_allclose(back, values, rtol=step, atol=step * np.abs(values).max())


def test_bfloat16_rounds_to_nearest_even_on_the_host():
    x = np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5], np.float32)
    assert ttnn.to_numpy(ttnn.from_numpy(x)).tolist() == [1.0, 1 + 2 ** -6, -2.5]


@pytest.mark.parametrize("call, message", [
    (lambda: ttnn.from_numpy(np.ones(3), dtype="int8"), "not a data type"),
    (lambda: ttnn.from_numpy(np.ones(3), dtype=ttnn.bfloat8_b), "TILE layout only"),
    (lambda: ttnn.from_numpy(np.ones(3), dtype=ttnn.uint32), "non-negative integers"),
    (lambda: ttnn.from_numpy(np.arange(3), dtype=ttnn.uint32, layout=ttnn.TILE_LAYOUT), "ROW_MAJOR only"),
    (lambda: ttnn.from_numpy(np.ones((2, 0))), "empty dimension"),
    (lambda: ttnn.from_numpy(np.ones(3), layout="SPARSE"), "not a layout"),
    (lambda: ttnn.from_numpy(np.array(["a"])), "numpy dtype"),
    (lambda: ttnn.to_numpy(np.ones(3)), "expected a ttnn.Tensor"),
])
def test_bad_tensors_are_refused_by_name(call, message):
    with pytest.raises(ttnn.TtnnError, match=message):
        call()


def test_layout_conversions_on_the_host():
    x = np.random.default_rng(2).standard_normal((33, 5)).astype(np.float32)
    t = ttnn.from_numpy(x)
    tiled = ttnn.to_layout(t, ttnn.TILE_LAYOUT)
    assert tiled.layout is ttnn.TILE_LAYOUT and np.array_equal(ttnn.to_numpy(tiled), ttnn.to_numpy(t))
    assert ttnn.to_layout(tiled, ttnn.ROW_MAJOR_LAYOUT).layout is ttnn.ROW_MAJOR_LAYOUT
    assert ttnn.typecast(t, ttnn.float32).dtype is ttnn.float32


def test_torch_stays_optional():
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(ttnn.TtnnError, match="torch"):
            ttnn.from_torch(None)
    else:  # pragma: no cover - torch not in the pinned environment
        t = ttnn.from_torch(torch.ones(2, 3))
        assert ttnn.to_torch(t).shape == (2, 3)
