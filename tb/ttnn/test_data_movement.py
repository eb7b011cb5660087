"""ttnn data movement on the chip's data-movement cores: transpose, reshape, concat, embedding.

Every result is compared bit for bit with numpy on the stored input values, and the whole padded
tensor is read back so that the padding is checked to be zero; the whole-tile paths are checked to
be the ones used, and every refusal names the bad value."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ttnn
from tessera.sw.host.device import EnqueueReadBuffer
from tessera.sw.ttnn.device import state
from tb.ttnn.tensors import Tensors
from tessera.sw.ttnn.tensor import decode_tiles

pytestmark = pytest.mark.xdist_group("ttnn_data_movement")


class RandomTensors(Tensors):
    def random(self, rng, shape, dtype=ttnn.bfloat16):
        """A device tensor of random values and the values it holds."""
        t = self.put(rng.standard_normal(shape).astype(np.float32), dtype)
        return t, ttnn.to_numpy(t)


@pytest.fixture
def tensors(device):
    made = RandomTensors(device)
    yield made
    made.free()


def padded(t) -> np.ndarray:
    raw = EnqueueReadBuffer(t.device.command_queue(), t.buffer, blocking=True).tobytes()
    return decode_tiles(raw, t.dtype, t.padded_shape, t.device.cfg.engine)


def assert_exact(out, want):
    """``out`` holds exactly ``want`` (bit patterns) and zeros in its padding."""
    want = np.asarray(want, dtype=np.float32)
    assert out.shape == want.shape, (out.shape, want.shape)
    full = padded(out)
    h, w = (1,) + want.shape if want.ndim == 1 else want.shape[-2:]
    matrix = full.reshape(-1, *full.shape[-2:])
    got = matrix[:, :h, :w].reshape(want.shape)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), \
        f"{int(np.count_nonzero(got.view(np.uint32) != want.view(np.uint32)))} values differ"
    pad = matrix.copy()
    pad[:, :h, :w] = 0
    assert not pad.view(np.uint32).any(), "padding is not zero"


def last_cycles(device) -> int:
    return ttnn.op_log(device)[-1]["cycles"]


def readers_used(device) -> set:
    return {key[1] for key in state(device).programs if key[0] in ("reshape", "concat", "transpose", "embedding")}


# ---- transpose ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(-2, -1), (2, 1)])
def test_transpose_swaps_the_last_two_dimensions_of_odd_shapes(device, tensors, dims):
    rng = np.random.default_rng(20)
    t, x = tensors.random(rng, (2, 40, 70))
    out = tensors.keep(ttnn.transpose(t, *dims))
    print(f"transpose [2, 40, 70] bf16 (12 tiles): {last_cycles(device)} cycles")
    assert_exact(out, np.swapaxes(x, -2, -1))


def test_transpose_of_float32_values(device, tensors):
    rng = np.random.default_rng(21)
    t, x = tensors.random(rng, (33, 64), ttnn.float32)
    out = tensors.keep(ttnn.transpose(t, 0, 1))
    print(f"transpose [33, 64] fp32 (4 tiles): {last_cycles(device)} cycles")
    assert out.dtype is ttnn.float32
    assert_exact(out, x.T)


def test_data_movement_between_l1_and_dram(device, tensors):
    rng = np.random.default_rng(31)
    x = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal((40, 50)).astype(np.float32)))
    t = tensors.keep(ttnn.to_device(ttnn.from_numpy(x, layout=ttnn.TILE_LAYOUT), device, ttnn.L1_MEMORY_CONFIG))
    out = tensors.keep(ttnn.transpose(t, -2, -1, memory_config=ttnn.L1_MEMORY_CONFIG))
    assert out.memory_config == ttnn.L1_MEMORY_CONFIG
    assert_exact(out, x.T)
    assert_exact(tensors.keep(ttnn.reshape(out, (25, 80))), x.T.reshape(25, 80))
    assert_exact(tensors.keep(ttnn.concat([t, t], -1)), np.concatenate([x, x], -1))
    picks = np.array([[3, 1, 4, 1, 5]], np.uint32)
    ids = tensors.keep(ttnn.to_device(ttnn.from_numpy(picks, dtype=ttnn.uint32), device, ttnn.L1_MEMORY_CONFIG))
    assert_exact(tensors.keep(ttnn.embedding(ids, t)), x[picks])


# ---- reshape --------------------------------------------------------------------------------------

@pytest.mark.parametrize("src, dst", [((2, 40, 70), (70, 80)), ((2, 10, 28), (-1,)), ((64, 40), (2, -1, 160)),
                                      ((3, 5, 7), (7, 15)), ((1, 5, 64), (5, 2, 32))])
def test_reshape_moves_values_in_row_major_order(device, tensors, src, dst):
    rng = np.random.default_rng(22)
    t, x = tensors.random(rng, src)
    out = tensors.keep(ttnn.reshape(t, dst))
    print(f"reshape {list(src)} -> {list(dst)} (values): {last_cycles(device)} cycles")
    assert_exact(out, x.reshape(dst))


def test_reshape_of_float32_values(device, tensors):
    rng = np.random.default_rng(23)
    t, x = tensors.random(rng, (1, 48, 20), ttnn.float32)
    assert_exact(tensors.keep(ttnn.reshape(t, (20, 48))), x.reshape(20, 48))


def test_reshape_that_keeps_tile_rows_moves_whole_tiles_in_any_format(device, tensors):
    rng = np.random.default_rng(24)
    t, x = tensors.random(rng, (2, 2, 32, 70), ttnn.bfloat8_b)
    before = len(state(device).programs)
    out = tensors.keep(ttnn.reshape(t, (4, 32, 70)))
    print(f"reshape [2, 2, 32, 70] -> [4, 32, 70] bfp8_b (tiles): {last_cycles(device)} cycles")
    assert "dm_tiles.c" in readers_used(device) and len(state(device).programs) <= before + 1
    assert out.dtype is ttnn.bfloat8_b
    raw_in = EnqueueReadBuffer(device.command_queue(), t.buffer, blocking=True)
    raw_out = EnqueueReadBuffer(device.command_queue(), out.buffer, blocking=True)
    assert np.array_equal(raw_in, raw_out)
    t16, x16 = tensors.random(rng, (2, 64, 50))
    assert_exact(tensors.keep(ttnn.reshape(t16, (128, 50))), x16.reshape(128, 50))


# ---- concat ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes, dim", [
    ([(2, 40, 70), (2, 40, 20)], -1),                    # values: 70 columns do not fill whole tiles
    ([(2, 40, 70), (2, 7, 70), (2, 40, 70)], 1),         # values along the rows
    ([(2, 40, 70), (3, 40, 70)], 0),                     # tiles: a leading dimension
    ([(1, 2, 64, 70), (1, 2, 40, 70)], 2),               # tiles: 64 rows fill whole tiles
    ([(40, 32), (40, 64), (40, 5)], 1),                  # tiles along the columns
    ([(5,), (9,), (3,)], 0),                             # 1-D tensors are rows
])
def test_concat_along_any_dimension(device, tensors, shapes, dim):
    rng = np.random.default_rng(25)
    pairs = [tensors.random(rng, s) for s in shapes]
    out = tensors.keep(ttnn.concat([t for t, _ in pairs], dim))
    print(f"concat {[list(s) for s in shapes]} dim {dim}: {last_cycles(device)} cycles")
    assert_exact(out, np.concatenate([x for _, x in pairs], dim))


def test_concat_of_float32_and_of_more_inputs_than_one_program_takes(device, tensors):
    rng = np.random.default_rng(26)
    pairs = [tensors.random(rng, (2, 3 + i % 4), ttnn.float32) for i in range(13)]
    out = tensors.keep(ttnn.concat([t for t, _ in pairs], -1))
    assert_exact(out, np.concatenate([x for _, x in pairs], -1))


def test_aligned_concats_use_the_whole_tile_kernel(device, tensors):
    rng = np.random.default_rng(27)
    a, x = tensors.random(rng, (2, 32, 64), ttnn.bfloat8_b)
    b, y = tensors.random(rng, (2, 32, 40), ttnn.bfloat8_b)
    state(device).programs.clear()
    out = tensors.keep(ttnn.concat([a, b], -1))
    assert readers_used(device) == {"dm_tiles.c"}
    assert np.array_equal(ttnn.to_numpy(out), np.concatenate([x, y], -1))


# ---- embedding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("ids_shape, dtype", [((2, 37), ttnn.bfloat16), ((70,), ttnn.float32)])
def test_embedding_gathers_weight_rows(device, tensors, ids_shape, dtype):
    rng = np.random.default_rng(28)
    w, wx = tensors.random(rng, (50, 40), dtype)
    ids = rng.integers(0, 50, size=ids_shape)
    out = tensors.keep(ttnn.embedding(tensors.ids(ids), w))
    print(f"embedding ids {list(ids_shape)} from [50, 40] {dtype!r}: {last_cycles(device)} cycles")
    assert out.dtype is dtype and out.layout is ttnn.TILE_LAYOUT
    assert_exact(out, wx[ids])


def test_embedding_refuses_an_id_outside_the_vocabulary_and_the_device_stays_usable(device, tensors):
    rng = np.random.default_rng(29)
    w, wx = tensors.random(rng, (50, 40))
    ids = rng.integers(0, 50, size=(1, 10))
    bad = ids.copy()
    bad[0, 4] = 50
    with pytest.raises(ttnn.TtnnError, match="outside the vocabulary"):
        ttnn.embedding(tensors.ids(bad), w)
    assert_exact(tensors.keep(ttnn.embedding(tensors.ids(ids), w)), wx[ids])


# ---- refusals -------------------------------------------------------------------------------------

def test_bad_arguments_are_refused_by_name(device, tensors):
    rng = np.random.default_rng(30)
    t, _ = tensors.random(rng, (2, 32, 32))
    t8, _ = tensors.random(rng, (2, 32, 40), ttnn.bfloat8_b)
    w, _ = tensors.random(rng, (50, 40))
    ids = tensors.ids([[1, 2, 3]])
    cases = [
        (lambda: ttnn.transpose(t, 0, 1), "only the last two"),
        (lambda: ttnn.transpose(t, -1, 3), "not a dimension"),
        (lambda: ttnn.transpose(t8, -2, -1), "bfloat8_b"),
        (lambda: ttnn.transpose(ttnn.from_numpy(np.ones((32, 32)), layout=ttnn.TILE_LAYOUT), 0, 1), "on the host"),
        (lambda: ttnn.reshape(t, (3, 32, 32)), "cannot reshape"),
        (lambda: ttnn.reshape(t, (-1, -1)), "at most one -1"),
        (lambda: ttnn.reshape(t, (7, -1)), "cannot reshape"),
        (lambda: ttnn.reshape(t8, (40, 64)), "bfloat8_b"),
        (lambda: ttnn.concat([], 0), "non-empty list"),
        (lambda: ttnn.concat([t, tensors.random(rng, (2, 32, 16))[0]], 1), "may differ only in dim 1"),
        (lambda: ttnn.concat([t, tensors.random(rng, (2, 32, 32), ttnn.float32)[0]], 0), "dtype"),
        (lambda: ttnn.concat([t, t], 3), "not a dimension"),
        (lambda: ttnn.concat([t8, tensors.random(rng, (2, 32, 40), ttnn.bfloat8_b)[0]], -1), "bfloat8_b"),
        (lambda: ttnn.embedding(t, w), "ids are ttnn.bfloat16"),
        (lambda: ttnn.embedding(ttnn.from_numpy(np.ones((1, 3), np.uint32), dtype=ttnn.uint32), w), "on the device"),
        (lambda: ttnn.embedding(ids, t), "weight has shape"),
        (lambda: ttnn.embedding(ids, tensors.random(rng, (50, 40), ttnn.bfloat8_b)[0]), "weight has dtype"),
        (lambda: ttnn.embedding(tensors.ids(np.ones((1, 2, 3))), w), "ids have shape"),
        (lambda: ttnn.embedding(ids, w, dtype=ttnn.float32), "differs from the weight"),
    ]
    for call, message in cases:
        with pytest.raises(ttnn.TtnnError, match=message):
            call()
