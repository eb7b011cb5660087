"""ttnn softmax, rms_norm, layer_norm and silu on the Verilator chip.

Each op is checked bit for bit, padding included, against a tile-level model
of its kernels built from the engine's golden (tessera.sim.golden: unpack, the
adder / multiplier / reductions / SFPU, pack in each circular buffer's format,
the writer's broadcast of a row statistic), and against float64 numpy by PCC and
an error bound.  Shapes with padding columns and rows, tile-aligned shapes,
several rows per core, the three float dtypes, large values, and refusals.
One device serves the module.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tessera import metal as ttm
from tessera import ttnn
from tessera.sim.examples import pcc
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sw.host.device import EnqueueReadBuffer
from tessera.sw.ttnn import op as top
from tessera.sw.ttnn.device import state
from tessera.sw.ttnn.ops import normalization as norm
from tessera.sw.ttnn.tensor import decode_tiles, encode_tiles, round_to

pytestmark = pytest.mark.xdist_group("ttnn_normalization")

Z = np.zeros((32, 32), np.uint32)
F32, BF16 = "float32", "float16_b"


# -- a tile-level model of the kernels, from the engine's golden ---------------------------------

def _pad(x):
    x = x.reshape((1,) + x.shape) if x.ndim == 1 else x
    *lead, h, w = x.shape
    out = np.zeros((*lead, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
    out[..., :h, :w] = x
    return out


class Model:
    """The engine steps of the normalization kernels on tiles of fp32 bit patterns."""

    def __init__(self, ecfg):
        self.ecfg = ecfg

    def tiles(self, values, dtype) -> list:
        """A float32 array's tiles as the device holds them in ``dtype``, unpacked, in page order."""
        padded = _pad(round_to(values, dtype))
        raw = encode_tiles(padded, dtype, self.ecfg)
        size = len(raw) // (padded.size // 1024)
        return [fm.unpack_tile(raw[i:i + size], dtype.data_format.value, self.ecfg) for i in range(0, len(raw), size)]

    def vector_tiles(self, vector, dtype, rows=32) -> list:
        """A [W] vector as the op prepares it: tiles of ``dtype`` whose first ``rows`` rows repeat it."""
        row = np.asarray(vector, np.float32).reshape(1, -1)
        tiles = np.zeros((32, row.shape[1]), np.float32)
        tiles[:rows] = row
        return self.tiles(tiles, dtype)

    def through(self, bits, fmt):
        """A Dst tile packed into a circular buffer of format ``fmt`` and unpacked again."""
        return fm.unpack_tile(fm.pack_tile(bits, fmt, self.ecfg), fmt, self.ecfg)

    def row_sum(self, tiles, kind="sum"):
        d = Z
        for i, t in enumerate(tiles):
            d = ge.reduce(d, t, "row", kind, self.ecfg, acc=i > 0)
        return d

    @staticmethod
    def bcast_f32(stat, valid=32):
        t = np.repeat(stat[:, :1], 32, axis=1).astype(np.uint32)
        t[:, valid:] = 0
        return t

    @staticmethod
    def bcast_bf16(stat, rows=32):
        t = np.repeat((fm.to_bf16_bits(stat[:, 0]).astype(np.uint32) << 16)[:, None], 32, axis=1)
        t[rows:] = 0
        return t

    def inv_rms(self, squares, inv_width, eps):
        """The element-wise sum of squares in float32, its row sums, then 1 / sqrt(s / W + eps)."""
        d = ge.reduce(Z, self.through(squares, F32), "row", "sum", self.ecfg)
        d = ge.sfpu(ge.sfpu(d, "muls", inv_width), "adds", eps)
        return self.through(ge.sfpu(ge.sfpu(d, "sqrt"), "recip"), F32)

    def softmax(self, xs, ht, wt, height, valid, out_fmt):
        out = []
        mask = np.where(np.arange(32)[None, :] < valid, 0, 0xFF7F0000).astype(np.uint32).repeat(32, 0)
        for r in range(0, len(xs), wt):
            last_rows = height % 32 if (r // wt) % ht == ht - 1 and height % 32 else 32
            row = list(xs[r:r + wt])
            if valid:
                row[-1] = self.through(ge.eltwise(Z, row[-1], mask, "add"), F32)
                stat = self.through(self.row_sum([row[-1]] + row[:-1], "max"), F32)
            else:
                stat = self.through(self.row_sum(row, "max"), F32)
            m = self.bcast_f32(stat)
            es = [self.through(ge.sfpu(ge.eltwise(Z, x, m, "sub"), "exp"), BF16) for x in row]
            inv = self.bcast_bf16(self.through(ge.sfpu(self.row_sum(es), "recip"), F32), last_rows)
            out += [self.through(ge.eltwise(Z, e, inv, "mul"), out_fmt) for e in es]
        return out

    def rms_norm(self, xs, wt, inv_width, eps, ws, out_fmt):
        out = []
        for r in range(0, len(xs), wt):
            row = xs[r:r + wt]
            d = Z
            for j, x in enumerate(row):          # accumulating multiplies in one Dst tile
                d = ge.eltwise(d, x, x, "mul", acc=j > 0)
            inv = self.bcast_bf16(self.inv_rms(d, inv_width, eps))
            for j, x in enumerate(row):
                y = ge.eltwise(Z, x, inv, "mul")
                if ws is not None:
                    y = ge.eltwise(Z, self.through(y, BF16), ws[j], "mul")
                out.append(self.through(y, out_fmt))
        return out

    def layer_norm(self, xs, ht, wt, valid, inv_width, eps, ws, bs, bs_last, out_fmt):
        out = []
        for r in range(0, len(xs), wt):
            row = xs[r:r + wt]
            bias = bs_last if (r // wt) % ht == ht - 1 else bs
            stat = self.through(ge.sfpu(self.row_sum(row), "muls", inv_width), F32)
            means = [self.bcast_f32(stat)] * wt
            if valid:
                means[-1] = self.bcast_f32(stat, valid)
            centered = [self.through(ge.eltwise(Z, x, m, "sub"), BF16) for x, m in zip(row, means)]
            running = Z
            for j, c in enumerate(centered):     # copy of the running sum + accumulating multiply
                d = ge.eltwise(Z, running, Z, "add") if j else Z
                running = self.through(ge.eltwise(d, c, c, "mul", acc=j > 0), F32)
            inv = self.bcast_bf16(self.inv_rms(running, inv_width, eps))
            for j, c in enumerate(centered):
                y = ge.eltwise(Z, c, inv, "mul")
                if ws is not None:
                    y = ge.eltwise(Z, self.through(y, BF16), ws[j], "mul")
                if bias is not None:
                    y = ge.eltwise(Z, self.through(y, F32), bias[j], "add")
                out.append(self.through(y, out_fmt))
        return out

    def silu(self, xs, out_fmt):
        ones = np.full((32, 32), 0x3F800000, np.uint32)
        out = []
        for x in xs:
            d = ge.sfpu(ge.eltwise(Z, Z, x, "sub"), "exp")
            d = ge.sfpu(ge.eltwise(d, ones, Z, "add", acc=True), "recip")
            out.append(self.through(ge.eltwise(Z, x, self.through(d, BF16), "mul"), out_fmt))
        return out

    @staticmethod
    def assemble(tiles, padded_shape):
        """Output tiles (page order) -> the padded float32 array."""
        *lead, hp, wp = padded_shape
        batch = int(np.prod(lead, dtype=np.int64)) if lead else 1
        grid = np.stack(tiles).view(np.float32).reshape(batch, hp // 32, wp // 32, 32, 32)
        return grid.transpose(0, 1, 3, 2, 4).reshape(padded_shape)


def _fp32_bits(v):
    return int(np.float32(v).view(np.uint32))


def _device_padded(t):
    """A device tensor's whole tiles, padding included (float32)."""
    raw = EnqueueReadBuffer(t.device.command_queue(), t.buffer, blocking=True).tobytes()
    return decode_tiles(raw, t.dtype, t.padded_shape, t.device.cfg.engine)


def _tensor(device, x, dtype=ttnn.bfloat16, memory_config=None):
    return ttnn.from_numpy(x, dtype=dtype, layout=ttnn.TILE_LAYOUT, device=device, memory_config=memory_config)


def _check(out, want_padded, ref, label, *, min_pcc=0.99, tol=0.02):
    """Bit-exact against the kernel model (padding included), then PCC and max error vs float64."""
    got_padded = _device_padded(out)
    differ = np.count_nonzero(got_padded.view(np.uint32) != want_padded.view(np.uint32))
    assert differ == 0, f"{label}: {differ} of {got_padded.size} values differ from the engine golden"
    got = ttnn.to_numpy(out).astype(np.float64)
    h, w = ((1,) + ref.shape if ref.ndim == 1 else ref.shape)[-2:]
    assert not np.any(got_padded[..., :, w:]) and not np.any(got_padded[..., h:, :]), f"{label}: padding is not 0"
    err = float(np.max(np.abs(got - ref)))
    scale = float(np.max(np.abs(ref)))
    assert pcc(got, ref) >= min_pcc, f"{label}: PCC {pcc(got, ref)}"
    assert err <= tol * scale, f"{label}: max error {err} > {tol} x max |ref| {scale}"
    return err / scale


def _cycles(device):
    return ttnn.op_log(device)[-1]["cycles"]


# -- softmax ---------------------------------------------------------------------------------

def _softmax64(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("shape,dtype,memory_config,seed", [
    ((2, 40, 72), ttnn.bfloat16, ttnn.DRAM_MEMORY_CONFIG, 1),  # padding columns and rows, a row of tiles per core
    ((5, 32, 64), ttnn.bfloat16, ttnn.DRAM_MEMORY_CONFIG, 2),  # tile-aligned, 5 rows of tiles over 4 cores
    ((2, 1, 20, 40), ttnn.float32, ttnn.L1_MEMORY_CONFIG, 3),  # rank 4, in and out interleaved over the L1s
    ((32, 96), ttnn.bfloat8_b, ttnn.DRAM_MEMORY_CONFIG, 4),
])
def test_softmax_matches_the_golden_and_float64(device, shape, dtype, memory_config, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = _tensor(device, x, dtype, memory_config)
    out = ttnn.softmax(t, dim=len(shape) - 1)
    assert out.shape == t.shape and out.dtype is dtype and out.memory_config == memory_config
    model = Model(device.cfg.engine)
    _, ht, wt = t.tile_grid
    want = model.assemble(model.softmax(model.tiles(x, dtype), ht, wt, shape[-2], shape[-1] % 32,
                                        dtype.data_format.value), t.padded_shape)
    rel = _check(out, want, _softmax64(ttnn.to_numpy(t).astype(np.float64)), f"softmax {shape} {dtype} seed {seed}",
                 tol=0.02 if dtype is not ttnn.bfloat8_b else 0.06)
    print(f"softmax {shape} {dtype}: {_cycles(device)} cycles, max error {rel:.2e} of max |ref|")


def test_softmax_is_stable_for_large_values(device):
    """Rows around +1000 and -1000 (exp would overflow / underflow without the max), one row with
    a single dominant value, padding columns (W = 50): exactly what the golden gives, rows sum to 1."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 50)).astype(np.float32)
    x[0] += 1000.0
    x[1] -= 1000.0
    x[2, 7] = 3000.0
    x[3] *= 30.0
    t = _tensor(device, x)
    out = ttnn.softmax(t, -1)
    model = Model(device.cfg.engine)
    want = model.assemble(model.softmax(model.tiles(x, ttnn.bfloat16), 1, 2, 4, 50 % 32, BF16), t.padded_shape)
    _check(out, want, _softmax64(ttnn.to_numpy(t).astype(np.float64)), "softmax large values")
    got = ttnn.to_numpy(out)
    assert np.all(np.isfinite(got))
    assert np.allclose(got.sum(-1), 1.0, atol=0.03)
    assert got[2, 7] == 1.0


# -- rms_norm / layer_norm -------------------------------------------------------------------

def _rms64(x, w, eps):
    y = x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return y * w if w is not None else y


def _layer64(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    y = (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps)
    if w is not None:
        y = y * w
    return y + b if b is not None else y


@pytest.mark.parametrize("shape,dtype,weighted,seed", [
    ((2, 40, 72), ttnn.bfloat16, True, 5),
    ((64, 64), ttnn.bfloat16, False, 6),
    ((2, 70, 40), ttnn.float32, True, 7),   # 6 rows of 2 tiles over 4 cores (2, 2, 1, 1)
])
def test_rms_norm_matches_the_golden_and_float64(device, shape, dtype, weighted, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    width = shape[-1]
    w = (rng.standard_normal(width) * 0.5 + 1).astype(np.float32) if weighted else None
    t = _tensor(device, x, dtype)
    wt_ = ttnn.from_numpy(w, dtype=ttnn.bfloat16) if weighted else None    # a host [W] vector
    out = ttnn.rms_norm(t, weight=wt_, epsilon=1e-5)
    model = Model(device.cfg.engine)
    ws = model.vector_tiles(w, ttnn.bfloat16) if weighted else None
    want = model.assemble(model.rms_norm(model.tiles(x, dtype), t.tile_grid[2], _fp32_bits(1 / width),
                                         _fp32_bits(1e-5), ws, dtype.data_format.value), t.padded_shape)
    w64 = ttnn.to_numpy(wt_).astype(np.float64) if weighted else None
    rel = _check(out, want, _rms64(ttnn.to_numpy(t).astype(np.float64), w64, 1e-5), f"rms_norm {shape} seed {seed}")
    print(f"rms_norm {shape} {dtype} weight={weighted}: {_cycles(device)} cycles, max error {rel:.2e} of max |ref|")


@pytest.mark.parametrize("shape,dtype,affine,seed", [
    ((2, 40, 72), ttnn.bfloat16, True, 8),      # padding: x - mean must stay 0 there
    ((64, 64), ttnn.bfloat16, False, 9),
    ((20, 50), ttnn.bfloat8_b, True, 10),       # padding rows cleared in bfloat8_b tiles
])
def test_layer_norm_matches_the_golden_and_float64(device, shape, dtype, affine, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)     # a mean far from 0
    width = shape[-1]
    w = (rng.standard_normal(width) * 0.5 + 1).astype(np.float32) if affine else None
    b = rng.standard_normal((1, width)).astype(np.float32) if affine else None
    t = _tensor(device, x, dtype)
    wt_ = _tensor(device, w) if affine else None                          # device vectors, [W] and [1, W]
    bt_ = _tensor(device, b, ttnn.float32) if affine else None
    out = ttnn.layer_norm(t, weight=wt_, bias=bt_, epsilon=1e-5)
    model = Model(device.cfg.engine)
    ws = model.vector_tiles(w, ttnn.bfloat16) if affine else None
    bs = model.vector_tiles(b, ttnn.float32) if affine else None
    bs_last = model.vector_tiles(b, ttnn.float32, shape[-2] % 32 or 32) if affine else None
    _, ht, wt = t.tile_grid
    want = model.assemble(model.layer_norm(model.tiles(x, dtype), ht, wt, width % 32, _fp32_bits(1 / width),
                                           _fp32_bits(1e-5), ws, bs, bs_last, dtype.data_format.value),
                          t.padded_shape)
    ref = _layer64(ttnn.to_numpy(t).astype(np.float64), ttnn.to_numpy(wt_).astype(np.float64) if affine else None,
                   ttnn.to_numpy(bt_).astype(np.float64) if affine else None, 1e-5)
    rel = _check(out, want, ref, f"layer_norm {shape} {dtype} seed {seed}",
                 tol=0.02 if dtype is not ttnn.bfloat8_b else 0.06)
    print(f"layer_norm {shape} {dtype} affine={affine}: {_cycles(device)} cycles, max error {rel:.2e} of max |ref|")


def test_weights_are_prepared_once_per_tensor_and_programs_once_per_shape(device):
    rng = np.random.default_rng(12)
    t = _tensor(device, rng.standard_normal(24).astype(np.float32))                # rank 1: one row
    w = ttnn.from_numpy(rng.standard_normal(24).astype(np.float32))
    first = ttnn.to_numpy(ttnn.rms_norm(t, weight=w))
    x64, w64 = ttnn.to_numpy(t).astype(np.float64), ttnn.to_numpy(w).astype(np.float64)
    assert first.shape == (24,) and pcc(first, _rms64(x64, w64, 1e-5)) >= 0.999
    prepared = dict(norm._PREPARED[w])
    programs = len(state(device).programs)
    second = ttnn.to_numpy(ttnn.rms_norm(t, weight=w))
    assert np.array_equal(first, second)
    assert norm._PREPARED[w] == prepared and len(prepared) == 1
    assert len(state(device).programs) == programs


# -- silu ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,dtype,seed", [
    ((40, 72), ttnn.bfloat16, 13),          # 6 tiles over 4 cores (2, 2, 1, 1)
    ((64, 64), ttnn.float32, 14),
])
def test_silu_matches_the_golden_and_float64(device, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    x.flat[:4] = [-100.0, 100.0, 0.0, -0.5]
    t = _tensor(device, x, dtype)
    out = ttnn.silu(t)
    model = Model(device.cfg.engine)
    want = model.assemble(model.silu(model.tiles(x, dtype), dtype.data_format.value), t.padded_shape)
    x64 = ttnn.to_numpy(t).astype(np.float64)
    rel = _check(out, want, x64 / (1 + np.exp(-x64)), f"silu {shape} {dtype} seed {seed}")
    print(f"silu {shape} {dtype}: {_cycles(device)} cycles, max error {rel:.2e} of max |ref|")


# -- refusals --------------------------------------------------------------------------------

def test_bad_inputs_are_refused_by_name(device):
    x = np.ones((32, 40), np.float32)
    t = _tensor(device, x)
    host = ttnn.from_numpy(x, layout=ttnn.TILE_LAYOUT)
    for op in (ttnn.softmax, ttnn.rms_norm, ttnn.layer_norm, ttnn.silu):
        with pytest.raises(ttnn.TtnnError, match=rf"ttnn\.{op.__name__}: input_tensor .* is on the host"):
            op(host)
        with pytest.raises(ttnn.TtnnError, match=rf"ttnn\.{op.__name__}: input_tensor must be a ttnn.Tensor"):
            op(x)
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.softmax: dim 0 is not supported for a rank-2 tensor"):
        ttnn.softmax(t, dim=0)
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.rms_norm: weight has shape \[2, 40\]; it must be \[40\]"):
        ttnn.rms_norm(t, weight=ttnn.from_numpy(np.ones((2, 40), np.float32)))
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.layer_norm: bias has shape \[32\]"):
        ttnn.layer_norm(t, bias=ttnn.from_numpy(np.ones(32, np.float32)))
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.layer_norm: weight must be a ttnn.Tensor"):
        ttnn.layer_norm(t, weight=np.ones(40, np.float32))
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.rms_norm: epsilon -1.0 must be finite and >= 0"):
        ttnn.rms_norm(t, epsilon=-1.0)
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.layer_norm: epsilon must be a number, got str"):
        ttnn.layer_norm(t, epsilon="small")
    wide = _tensor(device, np.ones((32, 32 * 24), np.float32), ttnn.float32)
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.softmax: a row of 768 values .* does not fit the L1"):
        ttnn.softmax(wide)
    ids = ttnn.from_numpy(np.arange(8, dtype=np.uint32).reshape(1, 8), dtype=ttnn.uint32, device=device)
    with pytest.raises(ttnn.TtnnError, match=r"ttnn\.silu: input_tensor is in ttnn.ROW_MAJOR_LAYOUT"):
        ttnn.silu(ids)


# -- the broadcast of a row statistic: writer core vs a matmul by ones ------------------------

_DM_BENCH = """/* norm_writer.c sha256 {digest} */
#define main norm_writer_main
#include "{writer}"
#undef main
int main(void) {{
    const uint32_t n = get_arg_val(0), to_bf16 = get_arg_val(1);
    volatile const uint32_t *stat = (volatile const uint32_t *)get_write_ptr(CB_STAT);
    for (uint32_t i = 0; i < n; i++) {{
        const uint32_t cb = to_bf16 ? CB_BCAST_BF16 : CB_BCAST_F32;
        cb_reserve_back(cb, 1);
        if (to_bf16)
            broadcast_bf16(stat, TILE_DIM);
        else
            broadcast_f32(stat, TILE_DIM);
        cb_push_back(cb, 1);
        cb_wait_front(cb, 1);
        cb_pop_front(cb, 1);
    }}
    return 0;
}}
"""

_MM_BENCH = """#include "compute_kernel_api.h"
int main(void) {
    const uint32_t n = get_arg_val(0);
    mm_init(24u, 3u, 26u);
    for (uint32_t i = 0; i < n; i++) {
        cb_wait_front(24u, 1);
        cb_wait_front(3u, 1);
        tile_regs_acquire();
        matmul_tiles(24u, 3u, 0, 0, 0, 0);
        tile_regs_commit();
        cb_reserve_back(26u, 1);
        tile_regs_wait();
        pack_tile(0, 26u);
        tile_regs_release();
        cb_push_back(26u, 1);
    }
    return 0;
}
"""

_MM_FEED = """#include "tessera.h"
int main(void) {
    cb_reserve_back(24u, 1);
    cb_push_back(24u, 1);
    cb_reserve_back(3u, 1);
    cb_push_back(3u, 1);
    const uint32_t n = get_arg_val(0);
    for (uint32_t i = 0; i < n; i++) {
        cb_wait_front(26u, 1);
        cb_pop_front(26u, 1);
    }
    return 0;
}
"""


def test_broadcast_on_the_writer_core_is_cheaper_than_a_matmul(device, tmp_path):
    """Cycles per broadcast tile: the writer's copy (the kernels' own functions) against the engine's
    matmul by a ones-row tile (unpack both, MATMUL, pack), from 0 and 4 repetitions on one core."""
    writer = top.kernel_path("norm_writer.c")
    dm_src = tmp_path / "bcast_dm.c"
    dm_src.write_text(_DM_BENCH.format(writer=writer, digest=hashlib.sha256(writer.read_bytes()).hexdigest()))
    (tmp_path / "bcast_mm.c").write_text(_MM_BENCH)
    (tmp_path / "bcast_feed.c").write_text(_MM_FEED)
    core, queue = ttm.CoreCoord(0, 0), device.command_queue()

    def buffers(program, cbs):
        for index, fmt in cbs:
            page = ttm.tile_bytes(fmt)
            ttm.CreateCircularBuffer(program, core, ttm.CircularBufferConfig(page, {index: fmt})
                                     .set_page_size(index, page))

    def dm(n, to_bf16):
        program = ttm.CreateProgram()
        buffers(program, [(24, ttm.DataFormat.Float32), (25, ttm.DataFormat.Float32), (26, ttm.DataFormat.Float16_b)])
        k = ttm.CreateKernel(program, dm_src, core, ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0,
                                                                            defines={"NORM_OP": "1"}))
        ttm.SetRuntimeArgs(program, k, core, [n, to_bf16])
        ttm.EnqueueProgram(queue, program)
        ttm.Finish(queue)
        return program.last_run["cycles"]

    def mm(n, fidelity):
        program = ttm.CreateProgram()
        buffers(program, [(3, ttm.DataFormat.Float16_b), (24, ttm.DataFormat.Float16_b),
                          (26, ttm.DataFormat.Float16_b)])
        feed = ttm.CreateKernel(program, tmp_path / "bcast_feed.c", core,
                                ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1))
        compute = ttm.CreateKernel(program, tmp_path / "bcast_mm.c", core, ttm.ComputeConfig(math_fidelity=fidelity))
        ttm.SetRuntimeArgs(program, feed, core, [n])
        ttm.SetRuntimeArgs(program, compute, core, [n])
        ttm.EnqueueProgram(queue, program)
        ttm.Finish(queue)
        return program.last_run["cycles"]

    per = {"writer, float32": (dm(4, 0) - dm(0, 0)) / 4, "writer, bfloat16": (dm(4, 1) - dm(0, 1)) / 4,
           "matmul HiFi2": (mm(4, ttm.MathFidelity.HiFi2) - mm(0, ttm.MathFidelity.HiFi2)) / 4,
           "matmul HiFi4": (mm(4, ttm.MathFidelity.HiFi4) - mm(0, ttm.MathFidelity.HiFi4)) / 4}
    print("cycles per broadcast tile: " + ", ".join(f"{k} {v:.0f}" for k, v in per.items()))
    assert per["writer, bfloat16"] < per["writer, float32"] < per["matmul HiFi2"] < per["matmul HiFi4"]

