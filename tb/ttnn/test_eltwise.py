"""ttnn element-wise ops on the Verilator chip, bit-exact against the engine's golden tile by tile
(tessera.sim.golden: unpack, the adder / multiplier / SFPU, pack) and by PCC against float64;
broadcasts, scalars, dtypes, memory configs, refusals.  One device serves the module."""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ttnn
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sim.examples import pcc
from tessera.sw.ttnn.tensor import decode_tiles, encode_tiles

pytestmark = pytest.mark.xdist_group("ttnn_eltwise")


def _pad(x):
    x = x.reshape((1,) + x.shape) if x.ndim == 1 else x
    *lead, h, w = x.shape
    out = np.zeros((*lead, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
    out[..., :h, :w] = x
    return out


def engine_golden(device, dtype, shape, a, b=None, binary=None, sfpu=None, scalar=0.0):
    """The engine's result of the op on ``a`` (and ``b``, already broadcast to a's shape): each
    tile unpacked from its dtype, one engine op, packed to ``dtype``; logical region returned."""
    ecfg = device.cfg.engine
    fmt = dtype.data_format.value
    pa = _pad(a)
    pb = _pad(b) if b is not None else None
    tiles_a = encode_tiles(pa, dtype, ecfg)
    tiles_b = encode_tiles(pb, dtype, ecfg) if b is not None else None
    size = len(tiles_a) // (pa.size // 1024)
    zero = np.zeros((32, 32), np.uint32)
    out = []
    for i in range(0, len(tiles_a), size):
        ta = fm.unpack_tile(tiles_a[i:i + size], fmt, ecfg)
        if binary:
            res = ge.eltwise(zero, ta, fm.unpack_tile(tiles_b[i:i + size], fmt, ecfg), binary)
        else:
            res = ge.eltwise(zero, ta, zero, "add")       # copy_tile: x + 0
            for op in sfpu:
                s = int(np.float32(scalar).view(np.uint32)) if op in ("adds", "muls") else 0
                res = ge.sfpu(res, op, s)
        out.append(fm.pack_tile(res, fmt, ecfg))
    full = decode_tiles(b"".join(out), dtype, pa.shape, ecfg)
    h, w = ((1,) + shape if len(shape) == 1 else shape)[-2:]
    return full[..., :h, :w].reshape(shape)


def _tensor(device, x, dtype=ttnn.bfloat16, memory_config=None):
    return ttnn.from_numpy(x, dtype=dtype, layout=ttnn.TILE_LAYOUT, device=device, memory_config=memory_config)


def _check(got, want_exact, want_f64, label, min_pcc=0.999):
    assert np.array_equal(got, want_exact, equal_nan=True), \
        f"{label}: {np.count_nonzero(got != want_exact)} of {got.size} values differ from the engine golden"
    assert pcc(got, want_f64) >= min_pcc, f"{label}: PCC {pcc(got, want_f64)}"


@pytest.mark.parametrize("dtype", [ttnn.float32, ttnn.bfloat16, ttnn.bfloat8_b])
@pytest.mark.parametrize("memory_config", [ttnn.DRAM_MEMORY_CONFIG, ttnn.L1_MEMORY_CONFIG])
def test_tensors_round_trip_through_the_device(device, dtype, memory_config):
    x = np.random.default_rng(7).standard_normal((2, 33, 40)).astype(np.float32)
    host = ttnn.from_numpy(x, dtype=dtype, layout=ttnn.TILE_LAYOUT)
    t = ttnn.to_device(host, device, memory_config)
    assert t.is_on_device and t.memory_config == memory_config
    assert np.array_equal(ttnn.to_numpy(t), ttnn.to_numpy(host))
    ttnn.deallocate(t)
    with pytest.raises(ttnn.TtnnError, match="deallocated"):
        ttnn.to_numpy(t)


def test_uint32_ids_stay_row_major_on_the_device(device):
    ids = np.arange(3 * 7, dtype=np.uint32).reshape(3, 7) * 1000003
    t = ttnn.from_numpy(ids, dtype=ttnn.uint32, device=device)
    assert t.layout is ttnn.ROW_MAJOR_LAYOUT and np.array_equal(ttnn.to_numpy(t), ids)
    with pytest.raises(ttnn.TtnnError, match="ROW_MAJOR .*bfloat16.* cannot go to the device"):
        ttnn.from_numpy(np.ones((2, 2)), device=device)


@pytest.mark.parametrize("op, golden", [("add", "add"), ("subtract", "sub"), ("multiply", "mul")])
def test_binary_ops_are_bit_exact(device, op, golden):
    rng = np.random.default_rng(11)
    shape = (2, 40, 70)
    x = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal(shape)))
    y = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal(shape)))
    got = ttnn.to_numpy(getattr(ttnn, op)(_tensor(device, x), _tensor(device, y)))
    f64 = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[golden](x.astype(np.float64), y)
    _check(got, engine_golden(device, ttnn.bfloat16, shape, x, y, binary=golden), f64, op)
    entry = ttnn.op_log(device)[-1]
    assert entry["op"] == op and entry["cores"] == 4 and entry["tiles"] == 12 and entry["cycles"] > 0


def test_broadcast_row_and_batch(device):
    rng = np.random.default_rng(12)
    x = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal((3, 40, 70))))
    row = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal((70,))))
    mat = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal((40, 70))))
    a = _tensor(device, x)
    got = ttnn.to_numpy(ttnn.add(a, _tensor(device, row)))
    want = engine_golden(device, ttnn.bfloat16, x.shape, x, np.broadcast_to(row, x.shape).copy(), binary="add")
    _check(got, want, x.astype(np.float64) + row, "row broadcast")
    got = ttnn.to_numpy(ttnn.multiply(a, _tensor(device, mat)))
    want = engine_golden(device, ttnn.bfloat16, x.shape, x, np.broadcast_to(mat, x.shape).copy(), binary="mul")
    _check(got, want, x.astype(np.float64) * mat, "batch broadcast")


@pytest.mark.parametrize("op, ops, f64", [
    ("exp", ["exp"], np.exp), ("relu", ["relu"], lambda v: np.maximum(v, 0)),
    ("sqrt", ["sqrt"], np.sqrt), ("reciprocal", ["recip"], lambda v: 1 / v),
    ("gelu", ["gelu"], None), ("sigmoid", ["muls", "exp", "adds", "recip"], lambda v: 1 / (1 + np.exp(-v))),
])
def test_unary_ops_are_bit_exact(device, op, ops, f64):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((40, 64)).astype(np.float32)
    if op in ("sqrt", "reciprocal"):
        x = np.abs(x) + 0.25
    x = ttnn.to_numpy(ttnn.from_numpy(x))
    got = ttnn.to_numpy(getattr(ttnn, op)(_tensor(device, x)))
    if op == "sigmoid":   # -1, exp, +1, recip, each with its own scalar
        want = _sigmoid_golden(x, device.cfg.engine)
    else:
        want = engine_golden(device, ttnn.bfloat16, x.shape, x, sfpu=ops)
    if f64 is None:  # GELU, erf form
        from math import erf
        f64 = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))
    _check(got, want, f64(x.astype(np.float64)), op, min_pcc=0.99)


def _sigmoid_golden(x, ecfg):
    """One copy, then four SFPU steps in Dst (fp32), one pack: as the kernel runs it."""
    pa = _pad(x)
    raw = encode_tiles(pa, ttnn.bfloat16, ecfg)
    zero = np.zeros((32, 32), np.uint32)
    out = []
    for i in range(0, len(raw), 2048):
        d = ge.eltwise(zero, fm.unpack_tile(raw[i:i + 2048], "float16_b", ecfg), zero, "add")
        d = ge.sfpu(d, "muls", int(np.float32(-1).view(np.uint32)))
        d = ge.sfpu(d, "exp")
        d = ge.sfpu(d, "adds", int(np.float32(1).view(np.uint32)))
        d = ge.sfpu(d, "recip")
        out.append(fm.pack_tile(d, "float16_b", ecfg))
    return decode_tiles(b"".join(out), ttnn.bfloat16, pa.shape, ecfg)[:x.shape[0], :x.shape[1]]


@pytest.mark.parametrize("op, scalar, step, f64", [
    ("add", 1.5, ("adds", 1.5), lambda v: v + 1.5), ("subtract", 0.75, ("adds", -0.75), lambda v: v - 0.75),
    ("multiply", -3.0, ("muls", -3.0), lambda v: v * -3.0),
])
def test_scalar_operands(device, op, scalar, step, f64):
    x = ttnn.to_numpy(ttnn.from_numpy(np.random.default_rng(14).standard_normal((32, 96))))
    got = ttnn.to_numpy(getattr(ttnn, op)(_tensor(device, x), scalar))
    want = engine_golden(device, ttnn.bfloat16, x.shape, x, sfpu=[step[0]], scalar=step[1])
    _check(got, want, f64(x.astype(np.float64)), f"{op} scalar")


def test_output_dtype_and_mixed_input_formats(device):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    a = _tensor(device, x, ttnn.bfloat8_b)
    b = _tensor(device, x, ttnn.float32, ttnn.L1_MEMORY_CONFIG)
    c = ttnn.add(a, b, dtype=ttnn.float32)
    assert c.dtype is ttnn.float32 and c.memory_config == ttnn.DRAM_MEMORY_CONFIG
    assert pcc(ttnn.to_numpy(c), 2 * x.astype(np.float64)) > 0.999


@pytest.mark.parametrize("call, message", [
    (lambda d: ttnn.add(ttnn.from_numpy(np.ones((2, 2)), layout=ttnn.TILE_LAYOUT), 1.0), "on the host"),
    (lambda d: ttnn.add(_tensor(d, np.ones((2, 32))), _tensor(d, np.ones((2, 33)))), "do not broadcast"),
    (lambda d: ttnn.add(_tensor(d, np.ones((2, 32))), _tensor(d, np.ones((3, 2, 32)))), "do not broadcast"),
    (lambda d: ttnn.add(_tensor(d, np.ones((4, 32))), _tensor(d, np.ones((2, 32)))), "do not broadcast"),
    (lambda d: ttnn.multiply(_tensor(d, np.ones((4, 32))), _tensor(d, np.ones((1, 32)), ttnn.bfloat8_b)),
     "broadcast row must be bfloat16 or float32"),
    (lambda d: ttnn.multiply(_tensor(d, np.ones((4, 32))), "2"), "must be a ttnn.Tensor or a number"),
    (lambda d: ttnn.exp(_tensor(d, np.ones((4, 32))), dtype=ttnn.uint32), "not a tile type"),
    (lambda d: ttnn.exp(ttnn.from_numpy(np.arange(4), dtype=ttnn.uint32, device=d)), "ROW_MAJOR"),
])
def test_bad_operands_are_refused_by_name(device, call, message):
    with pytest.raises(ttnn.TtnnError, match=message):
        call(device)


def test_a_compute_grid_override_spreads_ops_over_fewer_cores():
    x = ttnn.to_numpy(ttnn.from_numpy(np.random.default_rng(16).standard_normal((64, 96))))
    with ttnn.manage_device(0, compute_grid=(1, 2)) as dev:
        got = ttnn.to_numpy(ttnn.add(_tensor(dev, x), 1.0))
        entry = ttnn.op_log(dev)[-1]
        assert entry["cores"] == 2 and entry["tiles"] == 6
    assert np.array_equal(got, ttnn.to_numpy(ttnn.from_numpy(x + 1.0)))
    for bad in ((3, 1), (0, 1), (1,), "2x2"):
        with pytest.raises(ttnn.TtnnError, match=r"compute_grid .* is not \(x, y\)"):
            ttnn.open_device(0, compute_grid=bad)


def test_a_view_shares_pages_and_keeps_its_base_alive(device):
    x = ttnn.to_numpy(ttnn.from_numpy(np.random.default_rng(17).standard_normal((64, 32))))
    v = ttnn.view(_tensor(device, x), (32, 32))      # the base is referenced only by the view
    _tensor(device, np.zeros((64, 32)))              # a new allocation must not take the base's pages
    assert v.base is not None and np.array_equal(ttnn.to_numpy(v), x[:32])
    with pytest.raises(ttnn.TtnnError, match="needs 4 tiles"):
        ttnn.view(v.base, (128, 32))
    ttnn.deallocate(v)
    with pytest.raises(ttnn.TtnnError, match="deallocated"):
        ttnn.add(v.base, 1.0)
