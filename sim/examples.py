"""The reference programs of ``examples/``: registry, goldens and the regression table.

Each example is a folder ``examples/<name>/`` with a host script ``host.py``
(a ``run(device, **params) -> dict`` function and a ``main``) and its
kernels.  This module lists them (:data:`EXAMPLES`), imports and runs one
on an open device (:func:`run`), and holds what they share: random bfloat16
inputs, the bit-exact goldens of the engine (``tessera.sim.golden``), the
Pearson correlation against float64, and the summary table of
``tessera run-example`` / ``make sim``.

Every ``run`` returns a dict with at least: ``program``, ``cores``,
``cycles`` (the chip's cycles from release to the last core's exit,
exact: the runtime waits on the cores' DONE waypoints), ``macs`` (multiply-accumulates of the problem;
0 for the element-wise programs), ``noc_bytes`` (payload bytes the
program's kernels put on the NoC, a multicast counted once, semaphore
words included), ``dram_bytes`` (bytes read from and written to DRAM by the
kernels), ``mismatches`` (values that differ from the golden), ``pcc``
(against the float64 result of the same bfloat16 inputs) and ``passed``.
The byte counts are computed from the transfers each kernel issues (the
chip's counters give no NoC or DRAM byte totals).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import time
from pathlib import Path

import numpy as np

from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sw.ttnn.op import split  # noqa: F401 - (first, count) ranges, the examples' work split

__all__ = ["Example", "EXAMPLES", "EXAMPLES_DIR", "example", "load", "run", "engine_peak", "format_table",
           "random_bf16", "tile_list", "golden_eltwise", "golden_sfpu", "golden_matmul", "pcc",
           "bf16_values", "write_json", "split", "grid_cores", "summary_line",
           "matmul_inputs", "check_matmul", "math_fidelity", "DramBuffers"]

#: The examples' folder (next to the package folders of the source tree).
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


@dataclasses.dataclass(frozen=True)
class Example:
    """One reference program: its folder name, a one-line summary and its parameter sets."""

    name: str
    summary: str
    full: dict = dataclasses.field(default_factory=dict)    # make sim, benchmarks
    small: dict = dataclasses.field(default_factory=dict)   # make test (seconds of simulation)

    @property
    def host(self) -> Path:
        return EXAMPLES_DIR / self.name / "host.py"


EXAMPLES = {e.name: e for e in (
    Example("dram_loopback", "tiles DRAM -> L1 -> DRAM on one core", {"tiles": 50}, {"tiles": 3}),
    Example("eltwise_binary", "bf16 add of two tensors, tiles split over every Tensix core",
            {"tiles": 64}, {"tiles": 4}),
    Example("eltwise_sfpu", "exp of a bf16 tensor on the SFPU, tiles split over every Tensix core",
            {"tiles": 8}, {"tiles": 4}),
    Example("matmul_single_core", "C = A @ B on one core, one output tile at a time",
            {"mt": 2, "kt": 2, "nt": 2}, {"mt": 1, "kt": 2, "nt": 1}),
    Example("matmul_multi_core", "C = A @ B, output tiles split over every Tensix core",
            {"mt": 4, "kt": 4, "nt": 4}, {"mt": 2, "kt": 1, "nt": 2}),
    Example("matmul_reuse", "C = A @ B, one output block per core, its A rows and B columns read once",
            {"mt": 4, "kt": 4, "nt": 4}, {"mt": 2, "kt": 1, "nt": 2}),
    Example("matmul_multicast", "matmul_reuse with A blocks multicast along rows, B blocks down columns",
            {"mt": 4, "kt": 4, "nt": 4}, {"mt": 2, "kt": 1, "nt": 2}),
)}


def example(name: str) -> Example:
    try:
        return EXAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown example {name!r}; known: {', '.join(EXAMPLES)}") from None


def load(name: str):
    """Import ``examples/<name>/host.py`` as a module."""
    ex = example(name)
    if not ex.host.is_file():
        raise FileNotFoundError(f"example {name}: {ex.host} not found (the examples live in the source tree, "
                                f"next to the package's folders; an installed wheel has none)")
    spec = importlib.util.spec_from_file_location(f"tessera_example_{name}", ex.host)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, device, size: str = "full", **overrides) -> dict:
    """Run example ``name`` on ``device`` with its ``full`` or ``small`` parameters (and ``overrides``)."""
    ex = example(name)
    if size not in ("full", "small"):
        raise ValueError(f"size must be 'full' or 'small', got {size!r}")
    params = dict(getattr(ex, size), **overrides)
    module = load(name)
    known = [p for p in inspect.signature(module.run).parameters if p != "device"]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"example {name} has no parameter {unknown[0]!r}; its parameters: {', '.join(known)}")
    start = time.monotonic()
    result = module.run(device, **params)
    if "kernel_cycles" in result:       # dram_loopback's own keys
        result = {"cores": 1, "cycles": result["kernel_cycles"], "noc_bytes": 2 * result["bytes"],
                  "dram_bytes": 2 * result["bytes"], "mismatches": result["mismatches"],
                  "pcc": 1.0 if result["values_match"] else 0.0, "wall_seconds": result["wall_seconds"]}
    result.setdefault("wall_seconds", time.monotonic() - start)
    result.setdefault("macs", 0)
    result["program"] = name
    result["params"] = params
    peak = engine_peak(device.cfg)
    result["macs_per_cycle"] = result["macs"] / result["cycles"] if result["cycles"] else 0.0
    result["peak_fraction"] = result["macs_per_cycle"] / peak
    result["wall_per_cycle_us"] = 1e6 * result["wall_seconds"] / result["cycles"] if result["cycles"] else 0.0
    result.setdefault("passed", result.get("mismatches", 1) == 0)
    return result


def engine_peak(cfg) -> int:
    """The chip's aggregate matmul peak, MACs per cycle: every Tensix tile's engine at LoFi
    (mm_rows x mm_inner x mm_cols per cycle; HiFi2..4 take 2..4 passes)."""
    e = cfg.engine
    return len(cfg.nodes_of("tensix")) * e.mm_rows * e.mm_inner * e.mm_cols


# ---- what the host scripts share ---------------------------------------------------------------


def grid_cores(device) -> list:
    """Every logical core of the compute grid, row by row."""
    from tessera import metal as ttm
    grid = device.compute_with_storage_grid_size()
    return [ttm.CoreCoord(x, y) for y in range(grid.y) for x in range(grid.x)]


class DramBuffers:
    """The DRAM buffers of one run of an example, all of ``page_size``-byte pages, freed together by
    :meth:`deallocate` — those made before one that did not fit too, so that a device refusing one
    problem size still has its DRAM for the next run."""

    def __init__(self, device, page_size: int):
        self.device, self.page_size, self.made = device, page_size, []

    def make(self, pages: int):
        from tessera import metal as ttm
        buf = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device=self.device, size=pages * self.page_size,
                                                           page_size=self.page_size,
                                                           buffer_type=ttm.BufferType.DRAM))
        self.made.append(buf)
        return buf

    def deallocate(self) -> None:
        for buf in self.made:
            buf.deallocate()
        self.made.clear()


def summary_line(title: str, result: dict) -> str:
    """One line for a host script's output."""
    text = f"{title}: {result['cores']} cores, {result['cycles']} cycles"
    if result.get("macs"):
        text += f", {result['macs'] / result['cycles']:.1f} MACs/cycle"
    text += f", PCC {result['pcc']:.6f}, {result['wall_seconds']:.1f} s: "
    if result["mismatches"] == 0:
        return text + "bit-exact"
    return text + f"{result['mismatches']} of {result['values']} values differ (seed {result['seed']})"


# ---- inputs and goldens ---------------------------------------------------------------------

def random_bf16(rng, shape, scale: float = 1.0):
    """Random normal values of ``shape`` (..., H, W), rounded to bfloat16: (float32 values,
    bfloat16 bit patterns in the TILE layout, flat uint16)."""
    from tessera import metal as ttm
    bits = ttm.to_bfloat16(rng.standard_normal(shape).astype(np.float32) * np.float32(scale))
    return ttm.from_bfloat16(bits), ttm.tilize(bits)


def bf16_values(tilized, shape):
    """The float32 values of bfloat16 patterns in the TILE layout."""
    from tessera import metal as ttm
    return ttm.from_bfloat16(ttm.untilize(tilized, shape))


def tile_list(tilized) -> list:
    """Each tile's bytes (L1 order) of a flat TILE-layout bfloat16 buffer."""
    raw = np.ascontiguousarray(tilized, dtype=np.uint16).tobytes()
    size = 32 * 32 * 2
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def _join(tiles: list):
    return np.frombuffer(b"".join(tiles), dtype=np.uint16).copy()


def golden_eltwise(a_tiles: list, b_tiles: list, op: str, ecfg):
    """Tile by tile: unpack bf16, the engine's ``op`` (add, sub, mul), pack bf16."""
    zero = np.zeros((32, 32), dtype=np.uint32)
    return _join([fm.pack_tile(ge.eltwise(zero, fm.unpack_tile(a, "float16_b", ecfg),
                                          fm.unpack_tile(b, "float16_b", ecfg), op), "float16_b", ecfg)
                  for a, b in zip(a_tiles, b_tiles)])


def golden_sfpu(x_tiles: list, op: str, ecfg):
    """Tile by tile: unpack bf16, copy_tile (x + 0 on the adder), the SFPU ``op``, pack bf16."""
    zero = np.zeros((32, 32), dtype=np.uint32)
    out = []
    for x in x_tiles:
        copied = ge.eltwise(zero, fm.unpack_tile(x, "float16_b", ecfg), zero, "add")
        out.append(fm.pack_tile(ge.sfpu(copied, op), "float16_b", ecfg))
    return _join(out)


def golden_matmul(a_tiles: list, b_tiles: list, mt: int, kt: int, nt: int, fidelity: str, ecfg):
    """C tile (m, n) = sum over k of A(m, k) @ B(k, n), k in order, accumulated in fp32 Dst, packed
    bf16; A and B tiles in row-major order of their tile grids.  Returns C in the TILE layout."""
    a = [fm.unpack_tile(t, "float16_b", ecfg) for t in a_tiles]
    b = [fm.unpack_tile(t, "float16_b", ecfg) for t in b_tiles]
    out = []
    for m in range(mt):
        for n in range(nt):
            dst = np.zeros((32, 32), dtype=np.uint32)
            for k in range(kt):
                dst = ge.matmul(dst, a[m * kt + k], b[k * nt + n], ecfg, fidelity, acc=k > 0)
            out.append(fm.pack_tile(dst, "float16_b", ecfg))
    return _join(out)


def matmul_inputs(rng, mt: int, kt: int, nt: int) -> tuple:
    """Random bfloat16 A (Mt x Kt tiles) and B (Kt x Nt tiles): (a, a_bits, b, b_bits) as
    :func:`random_bf16` gives them."""
    a, a_bits = random_bf16(rng, (32 * mt, 32 * kt))
    b, b_bits = random_bf16(rng, (32 * kt, 32 * nt))
    return a, a_bits, b, b_bits


def check_matmul(got, inputs: tuple, mt: int, kt: int, nt: int, fidelity: str, ecfg) -> dict:
    """Mismatches of C (TILE layout bf16) against the golden and its PCC against float64 A @ B."""
    a, a_bits, b, b_bits = inputs
    want = golden_matmul(tile_list(a_bits), tile_list(b_bits), mt, kt, nt, fidelity, ecfg)
    return {"mismatches": int(np.count_nonzero(got != want)), "values": int(got.size),
            "pcc": pcc(bf16_values(got, (32 * mt, 32 * nt)), a.astype(np.float64) @ b.astype(np.float64))}


def math_fidelity(name: str):
    """ttm.MathFidelity of a golden fidelity name (lofi, hifi2, hifi3, hifi4)."""
    from tessera import metal as ttm
    table = {"lofi": ttm.MathFidelity.LoFi, "hifi2": ttm.MathFidelity.HiFi2, "hifi3": ttm.MathFidelity.HiFi3,
             "hifi4": ttm.MathFidelity.HiFi4}
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown fidelity {name!r}; known: {', '.join(table)}") from None


def pcc(got, reference) -> float:
    """Pearson correlation of ``got`` with the float64 ``reference``."""
    x = np.asarray(got, dtype=np.float64).ravel()
    y = np.asarray(reference, dtype=np.float64).ravel()
    if np.array_equal(x, y):
        return 1.0
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


# ---- the table --------------------------------------------------------------------------------

COLUMNS = ("program", "cores", "cycles", "MACs/cycle", "% of peak", "NoC bytes", "DRAM bytes", "PCC",
           "wall s", "us/cycle", "passed")


def _row(r: dict) -> tuple:
    return (r["program"], str(r["cores"]), f"{r['cycles']:,}", f"{r['macs_per_cycle']:.1f}" if r["macs"] else "-",
            f"{100 * r['peak_fraction']:.1f}" if r["macs"] else "-", f"{r['noc_bytes']:,}", f"{r['dram_bytes']:,}",
            f"{r['pcc']:.6f}", f"{r['wall_seconds']:.1f}", f"{r['wall_per_cycle_us']:.0f}",
            "yes" if r["passed"] else "NO")


def format_table(results: list, peak: int | None = None) -> str:
    rows = [COLUMNS] + [_row(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if peak:
        lines.append(f"peak: {peak} MACs/cycle (every Tensix engine at LoFi); NoC and DRAM bytes from the "
                     f"kernels' transfers")
    return "\n".join(lines)


def write_json(path: Path, results: list, **extra) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": results, **extra}, indent=2, default=str) + "\n")
    return path


# ---- command line: tessera run-example, tessera matmul-bench -----------------------------------

#: Cycles between two looks of the runtime at the kernels' exit words: the resolution of ``cycles``.
POLL_CYCLES = 200


def run_many(names: list, size: str = "full", preset_name: str = "tiny", overrides: dict | None = None,
             progress=print, poll_cycles: int = POLL_CYCLES) -> tuple:
    """Run ``names`` on one device; returns (results, peak)."""
    from tessera import metal as ttm
    results = []
    with ttm.CreateDevice(0, preset_name=preset_name, print_console=False, poll_cycles=poll_cycles) as device:
        for name in names:
            result = run(name, device, size, **(overrides or {}))
            results.append(result)
            if progress:
                progress(f"{name}: {result['cycles']:,} cycles, {result['wall_seconds']:.1f} s, "
                         + ("passed" if result["passed"] else f"FAILED ({result['mismatches']} values differ)"))
        peak = engine_peak(device.cfg)
    return results, peak


def _parse_overrides(items: list) -> dict:
    from tessera.sim.cli import UsageError
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected NAME=VALUE (e.g. --set kt=2)")
        try:
            out[key] = int(value, 0)
        except ValueError:
            out[key] = value
    return out


def _cmd_run_example(args) -> int:
    from tessera.sim.cli import UsageError
    from tessera.sim.harness import BUILD_ROOT
    names = list(EXAMPLES) if args.names == ["all"] else args.names
    for name in names:
        if name not in EXAMPLES:
            raise UsageError(f"example {name!r} is not known; known: all, {', '.join(EXAMPLES)}")
    overrides = _parse_overrides(args.set)
    for name in names:
        known = set(inspect.signature(load(name).run).parameters) - {"device"}
        for key, value in overrides.items():
            if key not in known:
                raise UsageError(f"--set {key}={value}: example {name} has no parameter {key!r}; "
                                 f"its parameters: {', '.join(sorted(known))}")
    results, peak = run_many(names, "small" if args.small else "full", args.preset, overrides,
                             poll_cycles=args.poll)
    print(format_table(results, peak))
    out = Path(args.json) if args.json else BUILD_ROOT / "results" / f"examples-{args.preset}.json"
    write_json(out, results, preset=args.preset, peak_macs_per_cycle=peak)
    print(f"wrote {out}")
    return 0 if all(r["passed"] for r in results) else 1


#: The matmul benchmark: (example, parameters).  4x5x4 tiles (128x160 @ 160x128) is the largest
#: K for 2x2 blocks that fits the L1 of a tiny tile: per core A rows 10 tiles, B columns 10
#: tiles and a 1-page output buffer, 43,008 of the 43,904 bytes free for circular buffers.
MATMUL_BENCH = (("matmul_multi_core", {"mt": 4, "kt": 5, "nt": 4}),
                ("matmul_reuse", {"mt": 4, "kt": 5, "nt": 4, "out_pages": 1}),
                ("matmul_multicast", {"mt": 4, "kt": 5, "nt": 4, "out_pages": 1}))


def _cmd_matmul_bench(args) -> int:
    from tessera import metal as ttm
    from tessera.sim.harness import BUILD_ROOT
    results = []
    with ttm.CreateDevice(0, preset_name=args.preset, print_console=False, poll_cycles=args.poll) as device:
        peak = engine_peak(device.cfg)
        for name, params in MATMUL_BENCH:
            result = run(name, device, "full", **dict(params, fidelity=args.fidelity))
            results.append(result)
            print(f"{name}: {result['cycles']:,} cycles, {result['wall_seconds']:.1f} s")
    print(format_table(results, peak))
    by_name = {r["program"]: r for r in results}
    plain, mcast = by_name["matmul_reuse"], by_name["matmul_multicast"]
    comparison = {"cycles_ratio": mcast["cycles"] / plain["cycles"],
                  "noc_bytes_ratio": mcast["noc_bytes"] / plain["noc_bytes"],
                  "dram_bytes_ratio": mcast["dram_bytes"] / plain["dram_bytes"]}
    print(f"multicast vs reuse: {comparison['cycles_ratio']:.2f}x the cycles, "
          f"{comparison['noc_bytes_ratio']:.2f}x the NoC bytes, {comparison['dram_bytes_ratio']:.2f}x the DRAM bytes")
    out = Path(args.json) if args.json else BUILD_ROOT / "bench" / "matmul" / f"matmul-{args.preset}.json"
    write_json(out, results, preset=args.preset, fidelity=args.fidelity, peak_macs_per_cycle=peak,
               multicast_vs_reuse=comparison)
    print(f"wrote {out}")
    return 0 if all(r["passed"] for r in results) else 1


def register(subparsers) -> None:
    from tessera.hw.config import preset_names
    from tessera.sim.cli import int_at_least
    p = subparsers.add_parser("run-example", help="run reference programs of examples/ on the simulated chip")
    p.add_argument("names", nargs="+", metavar="NAME", help=f"an example ({', '.join(EXAMPLES)}) or 'all'")
    p.add_argument("--small", action="store_true", help="the small problem sizes of make test")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a parameter (e.g. kt=2)")
    p.add_argument("--preset", default="tiny", choices=preset_names(), help="chip configuration (default tiny)")
    p.add_argument("--json", default=None, help="results file (default build/results/examples-PRESET.json)")
    p.add_argument("--poll", type=int_at_least(1), default=POLL_CYCLES,
                   help=f"longest wait between re-reads of an exit word a core has not written yet "
                        f"(cores report their exit by waypoint; default {POLL_CYCLES})")
    p.set_defaults(func=_cmd_run_example)
    p = subparsers.add_parser("matmul-bench", help="multi-core matmul from DRAM: fraction of the engine peak, "
                                                   "multicast against plain")
    p.add_argument("--preset", default="tiny", choices=preset_names(), help="chip configuration (default tiny)")
    p.add_argument("--fidelity", default="lofi", choices=("lofi", "hifi2", "hifi3", "hifi4"),
                   help="math fidelity (default lofi)")
    p.add_argument("--json", default=None, help="results file (default build/bench/matmul/matmul-PRESET.json)")
    p.add_argument("--poll", type=int_at_least(1), default=POLL_CYCLES,
                   help=f"longest wait between re-reads of an exit word a core has not written yet "
                        f"(cores report their exit by waypoint; default {POLL_CYCLES})")
    p.set_defaults(func=_cmd_matmul_bench)
