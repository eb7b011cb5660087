"""ttnn.matmul and ttnn.linear on the chip: batched and broadcast A @ B, the bias added on the engine,
bit-exact against the engine's golden (tessera.sim.golden: k-blocks, fidelity passes, fp32 Dst, the
pack) with the padding included, PCC >= 0.99 against float64; fidelities, formats, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ttnn
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sw.host.device import EnqueueReadBuffer
from tessera.sw.ttnn import op as top
from tessera.sw.ttnn.device import state
from tb.ttnn.tensors import Tensors

pytestmark = pytest.mark.xdist_group("ttnn_matmul")

GOLDEN_FORMATS = {ttnn.float32: "float32", ttnn.bfloat16: "float16_b", ttnn.bfloat8_b: "bfp8_b"}


def random_values(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.fixture
def tensors(device):
    made = RandomTensors(device)
    yield made
    made.free()


class RandomTensors(Tensors):
    def random(self, rng, shape, dtype=ttnn.bfloat16):
        return self.put(random_values(rng, shape), dtype)


def pages(t) -> list:
    """The tensor's device pages (tiles in the engine's L1 order), as stored."""
    raw = EnqueueReadBuffer(t.device.command_queue(), t.buffer, blocking=True).tobytes()
    return [raw[i:i + t.page_size] for i in range(0, len(raw), t.page_size)]


def golden(a, b, out_dtype, fidelity: str, bias=None) -> list:
    """The output pages the engine must produce: per output tile the K steps of ge.matmul from the
    stored input tiles, then (bias) Dst += bias tile + 0 with the bias in the rows of M only."""
    ecfg = a.device.cfg.engine
    tiles_a = [fm.unpack_tile(p, GOLDEN_FORMATS[a.dtype], ecfg) for p in pages(a)]
    tiles_b = [fm.unpack_tile(p, GOLDEN_FORMATS[b.dtype], ecfg) for p in pages(b)]
    a_batch, mt, kt = a.tile_grid
    b_batch, _, nt = b.tile_grid
    m = a.shape[-2]
    zero = np.zeros((32, 32), dtype=np.uint32)
    bias_tiles = [fm.unpack_tile(p, GOLDEN_FORMATS[bias.dtype], ecfg) for p in pages(bias)] if bias else None
    out = []
    for n_batch in range(max(a_batch, b_batch)):
        for mi in range(mt):
            for ni in range(nt):
                dst = zero
                for k in range(kt):
                    ab, bb = (n_batch if a_batch > 1 else 0), (n_batch if b_batch > 1 else 0)
                    dst = ge.matmul(dst, tiles_a[(ab * mt + mi) * kt + k], tiles_b[(bb * kt + k) * nt + ni],
                                    ecfg, fidelity, acc=k > 0)
                if bias_tiles is not None:
                    rows = np.zeros((32, 32), dtype=np.uint32)
                    rows[:max(0, min(32, m - 32 * mi))] = bias_tiles[ni][0]
                    dst = ge.eltwise(dst, rows, zero, "add", acc=True)
                out.append(fm.pack_tile(dst, GOLDEN_FORMATS[out_dtype], ecfg))
    return out


def pcc(got, want) -> float:
    return float(np.corrcoef(np.asarray(got, np.float64).ravel(), np.asarray(want, np.float64).ravel())[0, 1])


def check(out, a, b, fidelity, bias=None, shape=None):
    """Bit-exact pages (padding included) and PCC against float64 of the stored inputs."""
    want_pages = golden(a, b, out.dtype, fidelity, bias)
    got_pages = pages(out)
    differ = sum(g != w for g, w in zip(got_pages, want_pages))
    assert len(got_pages) == len(want_pages) and differ == 0, f"{differ} of {len(want_pages)} tiles differ"
    want = ttnn.to_numpy(a).astype(np.float64) @ ttnn.to_numpy(b).astype(np.float64)
    if bias is not None:
        want = want + ttnn.to_numpy(bias).astype(np.float64).reshape(-1)
    got = ttnn.to_numpy(out)
    assert got.shape == (shape or want.shape)
    assert pcc(got, want) >= 0.99


def last_run(device) -> dict:
    return ttnn.op_log(device)[-1]


def test_batched_matmul_splits_the_output_tiles_over_every_core(device, tensors):
    rng = np.random.default_rng(10)
    a = tensors.random(rng, (2, 64, 96))
    b = tensors.random(rng, (2, 96, 64))
    out = tensors.keep(ttnn.matmul(a, b))
    run = last_run(device)
    print(f"matmul [2, 64, 96] @ [2, 96, 64] bf16 HiFi2: {run['cycles']} cycles")
    assert out.shape == (2, 64, 64) and out.dtype is ttnn.bfloat16 and out.layout is ttnn.TILE_LAYOUT
    assert run["op"] == "matmul" and run["cores"] == len(top.compute_cores(device))
    assert run["tiles"] == 8 and run["macs"] == 8 * 3 * 32 ** 3
    check(out, a, b, "hifi2")


def test_a_single_matrix_is_used_for_every_matrix_of_the_other_and_odd_shapes_keep_zero_padding(device, tensors):
    rng = np.random.default_rng(11)
    a = tensors.random(rng, (1, 2, 40, 50))
    b = tensors.random(rng, (50, 70))
    out = tensors.keep(ttnn.matmul(a, b))
    print(f"matmul [1, 2, 40, 50] @ [50, 70] bf16 HiFi2: {last_run(device)['cycles']} cycles")
    check(out, a, b, "hifi2", shape=(1, 2, 40, 70))
    b4 = tensors.random(rng, (1, 1, 50, 70))      # leading dimensions of 1 broadcast too
    check(tensors.keep(ttnn.matmul(a, b4)), a, b4, "hifi2", shape=(1, 2, 40, 70))
    a2 = tensors.random(rng, (40, 50))                  # a single A for every matrix of B
    b3 = tensors.random(rng, (3, 50, 20))
    check(tensors.keep(ttnn.matmul(a2, b3)), a2, b3, "hifi2", shape=(3, 40, 20))


def test_transposed_inputs(device, tensors):
    rng = np.random.default_rng(18)
    q = tensors.random(rng, (2, 40, 64))
    k = tensors.random(rng, (2, 50, 64))
    allocated = len(device.allocator(ttnn.DRAM_MEMORY_CONFIG.buffer_type).used)
    out = tensors.keep(ttnn.matmul(q, k, transpose_b=True))          # q @ k^T, as attention scores
    assert [e["op"] for e in ttnn.op_log(device)[-2:]] == ["transpose", "matmul"]
    assert len(device.allocator(ttnn.DRAM_MEMORY_CONFIG.buffer_type).used) == allocated + 1   # k^T freed
    want = ttnn.to_numpy(q).astype(np.float64) @ np.swapaxes(ttnn.to_numpy(k).astype(np.float64), -2, -1)
    got = ttnn.to_numpy(out)
    assert got.shape == (2, 40, 50) and pcc(got, want) >= 0.99
    at, w = tensors.random(rng, (64, 40)), tensors.random(rng, (64, 16))
    got = ttnn.to_numpy(tensors.keep(ttnn.linear(at, w, transpose_a=True)))
    want = ttnn.to_numpy(at).astype(np.float64).T @ ttnn.to_numpy(w).astype(np.float64)
    assert got.shape == (40, 16) and pcc(got, want) >= 0.99


def test_inputs_and_output_in_l1(device, tensors):
    rng = np.random.default_rng(17)
    a = tensors.keep(ttnn.to_device(ttnn.from_numpy(random_values(rng, (64, 64)), layout=ttnn.TILE_LAYOUT), device,
                                    ttnn.L1_MEMORY_CONFIG))
    w = tensors.random(rng, (64, 32))
    bias = tensors.keep(ttnn.to_device(ttnn.from_numpy(random_values(rng, (32,)), layout=ttnn.TILE_LAYOUT), device,
                                       ttnn.L1_MEMORY_CONFIG))
    out = tensors.keep(ttnn.linear(a, w, bias=bias, memory_config=ttnn.L1_MEMORY_CONFIG))
    assert out.memory_config == ttnn.L1_MEMORY_CONFIG
    check(out, a, w, "hifi2", bias=bias)


@pytest.mark.parametrize("bias_shape", [(70,), (1, 70)])
def test_linear_adds_the_bias_on_the_engine_to_real_rows_only(device, tensors, bias_shape):
    rng = np.random.default_rng(12)
    a = tensors.random(rng, (3, 40))
    w = tensors.random(rng, (40, 70))
    bias = tensors.random(rng, bias_shape)
    out = tensors.keep(ttnn.linear(a, w, bias=bias))
    print(f"linear [3, 40] @ [40, 70] + bias {list(bias_shape)}: {last_run(device)['cycles']} cycles")
    assert last_run(device)["op"] == "linear"
    check(out, a, w, "hifi2", bias=bias, shape=(3, 70))
    plain = tensors.keep(ttnn.linear(a, w))
    check(plain, a, w, "hifi2")


@pytest.mark.parametrize("fidelity, name", [(None, "hifi2"), ("lofi", "lofi"), ("HiFi4", "hifi4")])
def test_math_fidelity_is_honoured_and_hifi2_is_the_bfloat16_default(device, tensors, fidelity, name):
    from tessera import metal as ttm
    rng = np.random.default_rng(13)
    a = tensors.random(rng, (32, 64))
    b = tensors.random(rng, (64, 32))
    kwargs = {} if fidelity is None else {"math_fidelity": fidelity}
    check(tensors.keep(ttnn.matmul(a, b, **kwargs)), a, b, name)
    if name == "lofi":     # an enum member works as well as a name
        check(tensors.keep(ttnn.matmul(a, b, math_fidelity=ttm.MathFidelity.LoFi)), a, b, "lofi")


def test_mixed_formats_and_an_fp32_output(device, tensors):
    rng = np.random.default_rng(14)
    a = tensors.random(rng, (64, 32), ttnn.float32)
    w = tensors.random(rng, (32, 64), ttnn.bfloat8_b)
    bias = tensors.random(rng, (64,), ttnn.float32)
    out = tensors.keep(ttnn.linear(a, w, bias=bias, dtype=ttnn.float32))
    print(f"linear fp32 x bfp8_b -> fp32, HiFi4: {last_run(device)['cycles']} cycles")
    assert out.dtype is ttnn.float32
    check(out, a, w, "hifi4", bias=bias)         # a float32 input: HiFi4 by default
    a8 = tensors.random(rng, (32, 32), ttnn.bfloat8_b)
    out8 = tensors.keep(ttnn.matmul(a8, w, dtype=ttnn.bfloat8_b))
    assert out8.dtype is ttnn.bfloat8_b
    check(out8, a8, w, "hifi2")                 # bfloat8_b inputs: HiFi2, packed to bfloat8_b


def test_programs_are_built_once_and_reused_for_other_shapes(device, tensors):
    rng = np.random.default_rng(15)
    a = tensors.random(rng, (128, 32))
    b = tensors.random(rng, (32, 32))
    tensors.keep(ttnn.matmul(a, b))
    before = len(state(device).programs)
    a2 = tensors.random(rng, (96, 64))
    b2 = tensors.random(rng, (64, 64))
    out = tensors.keep(ttnn.matmul(a2, b2))         # 3 x 2 = 6 output tiles: every core again, same formats
    assert len(state(device).programs) == before
    check(out, a2, b2, "hifi2")


def test_bad_arguments_are_refused_by_name(device, tensors):
    rng = np.random.default_rng(16)
    a = tensors.random(rng, (2, 32, 64))
    b = tensors.random(rng, (64, 32))
    cases = [
        (lambda: ttnn.matmul(a, tensors.random(rng, (32, 32))), "inner dimensions differ"),
        (lambda: ttnn.matmul(a, tensors.random(rng, (3, 64, 32))), "leading dimensions"),
        (lambda: ttnn.matmul(ttnn.from_numpy(np.ones((32, 64)), layout=ttnn.TILE_LAYOUT), b), "on the host"),
        (lambda: ttnn.matmul(tensors.random(rng, (64,)), b), "at least 2 dimensions"),
        (lambda: ttnn.matmul(a, b, math_fidelity="ultra"), "not a fidelity"),
        (lambda: ttnn.matmul(a, b, dtype=ttnn.uint32), "not a tile format"),
        (lambda: ttnn.linear(a, b, bias=tensors.random(rng, (2, 32))), "bias has shape"),
        (lambda: ttnn.linear(a, b, bias=tensors.random(rng, (32,), ttnn.bfloat8_b)), "bias has dtype"),
        (lambda: ttnn.matmul(tensors.keep(ttnn.from_numpy(np.arange(64).reshape(1, 64), dtype=ttnn.uint32,
                                                          device=device)), b), "ROW_MAJOR"),
    ]
    for call, message in cases:
        with pytest.raises(ttnn.TtnnError, match=message):
            call()
