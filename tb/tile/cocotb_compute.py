"""cocotb bench of the compute kernel API (sw/include/tessera_compute.h) on the tile (block ``tile``).

Every test runs a whole tt-metal-style program on the cores of the tile:
``dm_cb_reader.c`` on brisc copies input tiles from L1 staging areas into
circular buffers (``cb_reserve_back`` / ``cb_push_back`` on a data-movement
core), one ``compute_*.c`` source built for the three TRISCs (or for the one
fused compute core of a configuration that has one: tb/tile/test_fused_compute.py)
consumes them through the engine, and ``dm_cb_writer.c`` on ncrisc drains the output
circular buffer into an L1 area, which the host reads back and compares byte
for byte with the numpy goldens (sim/golden).  The circular buffers are
smaller than the streams, so the cores hold each other back through them.

The host side (loading, polling, hang reports) is the tile bench's
``TileHost`` (tb/tile/cocotb_tile.py).  Cycles go to ``build/bench/tile/compute_<case>.json``
(``compute_fused_<case>.json`` on a fused compute core).
"""

from __future__ import annotations

import cocotb
import numpy as np

from tessera.hw.engine.commands import FIDELITY_BY_NAME
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf
from tessera.sw.toolchain.cb import allocate_circular_buffers
from tessera.sw.toolchain.build import KERNELS_DIR
from tb.tile.cocotb_tile import _assert_bytes_equal, _kernel_cycles, _random_tile_bits, _record, _setup, \
    _trisc_cores

CB_IN0, CB_IN1, CB_OUT0 = 0, 1, 16
ELTWISE_OPS = {"add": 0, "sub": 1, "mul": 2}
SFPU_OPS = {"exp": 0, "recip": 1, "sqrt": 2, "gelu": 3, "relu": 4}
POOL = {"sum": 0, "max": 1}
REDUCE_DIM = {"row": 0, "col": 1, "scalar": 2}


def _zero_tile(ecfg):
    return np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)


async def _run_program(dut, salt: str, kernel: str, kernel_args: list, inputs: dict, steps: int,
                       fmt_out: str, out_tiles: int, cb_pages: int, defines=None, timeout: int = 600_000):
    """Run compute kernel ``kernel`` fed by the reader and drained by the writer.

    ``inputs``: ``{cb: (format, [raw tile bytes], period)}`` — at reader step s the tile
    ``s mod period`` of each input goes to its CB, in CB order.  Every CB has ``cb_pages`` pages.
    Returns (output tiles as raw bytes, kernel cycles, cfg)."""
    cfg, host, _rng, out = await _setup(dut, salt)
    ecfg = cfg.engine
    requests = [(cb, ecfg.tile_bytes(fmt), cb_pages, fmt) for cb, (fmt, _, _) in sorted(inputs.items())]
    requests.append((CB_OUT0, ecfg.tile_bytes(fmt_out), cb_pages, fmt_out))
    cbs = allocate_circular_buffers(cfg, requests)
    align = cfg.l1.bank_bytes
    addr = (max(cb.end for cb in cbs) + align - 1) // align * align
    reader_args, data_writes = [steps, len(inputs)], []
    for cb, (fmt, tiles, period) in sorted(inputs.items()):
        reader_args += [cb, addr, period]
        data_writes.append((addr, b"".join(tiles)))
        addr += len(tiles) * ecfg.tile_bytes(fmt)
    out_bytes = ecfg.tile_bytes(fmt_out)
    dest = addr
    assert dest + out_tiles * out_bytes <= cfg.l1.base + cfg.l1.size_bytes, "test data does not fit in L1"
    programs = [(kernel, core, kernel_args, defines) for core in _trisc_cores(cfg)]
    dm = [c.name for c in cfg.cores if c.role == "dm"]
    programs += [("dm_cb_reader", dm[0], reader_args, None), ("dm_cb_writer", dm[1], [out_tiles, CB_OUT0, dest], None)]
    specs = []
    for name, core, args, defs in programs:
        elf = compile_elf([KERNELS_DIR / f"{name}.c"], core, cfg, out / f"{name}_{core}.elf", defines=defs)
        host.symbols.add([(host.x, host.y)], core, elf)
        specs.append(ProgramSpec(core, [(host.x, host.y)], elf, runtime_args=list(args)))
    image = build_image(specs, cfg, {(host.x, host.y): cbs})
    await host.l1_write(dest, bytes(out_tiles * out_bytes))
    release = await host.load(image, data_writes)
    codes = await host.wait_done(timeout)
    done = host.cycle()
    assert codes == {p.core: 0 for p in host.programs}, f"{codes}\n{bytes(host.console).decode(errors='replace')}\n" \
        + host.report()
    got = [await host.l1_read(dest + i * out_bytes, out_bytes) for i in range(out_tiles)]
    cycles = await _kernel_cycles(host)
    dut._log.info("%s: %d output tiles, kernel %d cycles (unpack start -> pack end), %d from release to all "
                  "exited; CBs of %d pages; compute cores %s", salt, out_tiles, cycles, done - release, cb_pages,
                  cfg.compute_cores)
    # A fused compute core's figures sit beside the three-TRISC ones, not over them.
    _record(f"compute_{'fused_' if cfg.fused_compute else ''}{salt}",
            {"kernel": kernel, "output_tiles": out_tiles, "cb_pages": cb_pages, "kernel_cycles": cycles,
             "release_to_exit_cycles": done - release, "preset": cfg.name, "compute_cores": cfg.compute_cores})
    return got, cfg


def _tiles(rng, ecfg, fmt: str, count: int, scale: float = 1.0):
    return [fm.pack_tile(_random_tile_bits(rng, ecfg, scale), fmt, ecfg) for _ in range(count)]


@cocotb.test()
@cocotb.parametrize((("op", "fmt_in", "fmt_out", "tiles", "cb_pages"),
                     [("add", "float16_b", "float16_b", 4, 2), ("mul", "bfp8_b", "float32", 3, 1)]))
async def compute_eltwise(dut, op: str, fmt_in: str, fmt_out: str, tiles: int, cb_pages: int):
    """add_tiles / mul_tiles on a stream of tiles longer than the CBs (back-pressure between the
    reader, the three TRISCs and the writer); bit-exact against the golden."""
    from tessera.sim.cocotb_util import load_config, seeded_rng
    ecfg = load_config().engine
    rng = seeded_rng(dut, f"compute-eltwise-{op}")
    a, b = _tiles(rng, ecfg, fmt_in, tiles), _tiles(rng, ecfg, fmt_in, tiles)
    got, cfg = await _run_program(dut, f"eltwise_{op}_{fmt_in}_{fmt_out}_{tiles}x_{cb_pages}p",
                                  "compute_eltwise_binary", [tiles, ELTWISE_OPS[op]],
                                  {CB_IN0: (fmt_in, a, tiles), CB_IN1: (fmt_in, b, tiles)}, tiles, fmt_out, tiles,
                                  cb_pages)
    for i in range(tiles):
        want = ge.eltwise(_zero_tile(ecfg), fm.unpack_tile(a[i], fmt_in, ecfg), fm.unpack_tile(b[i], fmt_in, ecfg),
                          op, "hifi4")
        _assert_bytes_equal(got[i], fm.pack_tile(want, fmt_out, ecfg), f"{op} tile {i}")


@cocotb.test()
@cocotb.parametrize((("op", "tiles", "cb_pages"), [("exp", 5, 1)]))
async def compute_sfpu(dut, op: str, tiles: int, cb_pages: int):
    """copy_tile + exp_tile on bf16 tiles; bit-exact against copy (x + 0) then the SFPU golden.
    The SFPU (10 cycles per element) holds the Src slots for long, so the unpacker reads a page
    long after its UNPACK was pushed: with 1-page CBs the reader would overwrite it if
    cb_pop_front did not wait for the unpacker."""
    from tessera.sim.cocotb_util import load_config, seeded_rng
    ecfg = load_config().engine
    rng = seeded_rng(dut, f"compute-sfpu-{op}")
    x = _tiles(rng, ecfg, "float16_b", tiles, 2.0)
    got, _ = await _run_program(dut, f"sfpu_{op}_{tiles}x_{cb_pages}p", "compute_sfpu", [tiles, SFPU_OPS[op]],
                                {CB_IN0: ("float16_b", x, tiles)}, tiles, "float16_b", tiles, cb_pages)
    zero = _zero_tile(ecfg)
    for i in range(tiles):
        copied = ge.eltwise(zero, fm.unpack_tile(x[i], "float16_b", ecfg), zero, "add")
        want = ge.sfpu(copied, op)
        _assert_bytes_equal(got[i], fm.pack_tile(want, "float16_b", ecfg), f"{op} tile {i}")


@cocotb.test()
@cocotb.parametrize((("out_tiles", "k_tiles", "fidelity", "fmt_out"), [(3, 2, "hifi2", "float16_b")]))
async def compute_matmul(dut, out_tiles: int, k_tiles: int, fidelity: str, fmt_out: str):
    """matmul_tiles over K inside one tile_regs_acquire (Dst accumulates, restarts per output tile:
    the third output tile reuses the first one's Dst half), fidelity from TESSERA_MATH_FIDELITY;
    out[t] = sum_k A[t][k] @ B[k]; bit-exact."""
    from tessera.sim.cocotb_util import load_config, seeded_rng
    ecfg = load_config().engine
    rng = seeded_rng(dut, f"compute-matmul-{k_tiles}")
    a = _tiles(rng, ecfg, "float16_b", out_tiles * k_tiles, 0.5)
    b = _tiles(rng, ecfg, "float16_b", k_tiles, 0.5)
    got, _ = await _run_program(dut, f"matmul_{out_tiles}x_k{k_tiles}_{fidelity}", "compute_matmul",
                                [out_tiles, k_tiles],
                                {CB_IN0: ("float16_b", a, out_tiles * k_tiles), CB_IN1: ("float16_b", b, k_tiles)},
                                out_tiles * k_tiles, fmt_out, out_tiles, 2,
                                defines={"TESSERA_MATH_FIDELITY": FIDELITY_BY_NAME[fidelity]})
    for t in range(out_tiles):
        dst = _zero_tile(ecfg)
        for k in range(k_tiles):
            dst = ge.matmul(dst, fm.unpack_tile(a[t * k_tiles + k], "float16_b", ecfg),
                            fm.unpack_tile(b[k], "float16_b", ecfg), ecfg, fidelity, acc=k > 0)
        _assert_bytes_equal(got[t], fm.pack_tile(dst, fmt_out, ecfg), f"matmul tile {t}")


#: (dimension, kind, input tiles per output tile, output tiles)
REDUCE_CASES = [("row", "sum", 2, 3), ("col", "max", 2, 1), ("scalar", "sum", 1, 1)]


@cocotb.test()
@cocotb.parametrize((("dim", "kind", "w_tiles", "out_tiles"), REDUCE_CASES))
async def compute_reduce(dut, dim: str, kind: str, w_tiles: int, out_tiles: int):
    """reduce_tile over W tiles into one Dst tile (the first from +0 / -inf, then accumulating);
    the rest of the output tile zero; bit-exact against the golden."""
    from tessera.sim.cocotb_util import load_config, seeded_rng
    ecfg = load_config().engine
    rng = seeded_rng(dut, f"compute-reduce-{dim}-{kind}")
    count = out_tiles * w_tiles
    x = _tiles(rng, ecfg, "float16_b", count)
    got, _ = await _run_program(dut, f"reduce_{dim}_{kind}_{w_tiles}w_{out_tiles}x", "compute_reduce",
                                [out_tiles, w_tiles, POOL[kind], REDUCE_DIM[dim]], {CB_IN0: ("float16_b", x, count)},
                                count, "float16_b", out_tiles, 2)
    for t in range(out_tiles):
        dst = _zero_tile(ecfg)
        for w in range(w_tiles):
            dst = ge.reduce(dst, fm.unpack_tile(x[t * w_tiles + w], "float16_b", ecfg), dim, kind, ecfg, acc=w > 0)
        _assert_bytes_equal(got[t], fm.pack_tile(dst, "float16_b", ecfg), f"reduce {dim} {kind} tile {t}")
