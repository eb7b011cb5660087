"""``tessera ttnn-bench``: the ttnn ops on the simulated chip, one size each, on 1, 2 and 4 Tensix cores.

For every op and compute grid (``ttnn.open_device(compute_grid=(x, y))``: the ops
use only that corner of the Tensix grid) the op runs twice on fresh random
bfloat16 inputs; the second call (program cached, only runtime arguments set)
is measured from the op log: cycles, cores, output tiles, MACs and the DRAM
bytes the op's kernels move.  The table gives

* output tiles per 1,000 cycles;
* MACs per cycle and the share of the engine peak of the cores used (every
  engine at LoFi: ``mm_rows x mm_inner x mm_cols`` MACs per cycle; HiFi2 takes
  two passes per product, so its ceiling is 50% of that peak);
* DRAM bytes per cycle against the DRAM nodes' rate (``dram.bytes_per_cycle``
  per node);
* the speed-up of the op's cycles from the 1x1 grid;
* the Pearson correlation of the result with numpy float64 on the same
  (bfloat16-rounded) inputs, a sanity check (the op tests check bit for bit).

The results go to ``build/bench/ttnn/ttnn-PRESET.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

__all__ = ["BenchOp", "OPS", "QUICK_OPS", "FULL_SIZE", "QUICK_SIZE", "FULL_GRIDS", "QUICK_GRIDS",
           "run_bench", "format_table", "register"]

#: The matrix size of the full bench (128x128 bfloat16: 16 tiles; matmul 128x128x128) and of --quick.
FULL_SIZE, QUICK_SIZE = 128, 64
FULL_GRIDS = ((1, 1), (2, 1), (2, 2))
QUICK_GRIDS = ((1, 1), (2, 2))
#: The seed of the inputs (each op and grid draws from its own generator, so the inputs do not depend
#: on which ops run).
SEED = 13


@dataclasses.dataclass(frozen=True)
class BenchOp:
    """One benchmarked op: ``setup(device, rng, n) -> (call, reference)``, ``call() -> ttnn.Tensor``
    runs the op on device inputs made by ``setup``; ``reference`` is the float64 result."""

    name: str
    what: str            # the problem: {n} the size, {half} and {double} half and twice it
    setup: object
    passes: int = 0      # engine passes per product (matmul / linear), 0: no products


def _put(device, rng, shape, scale=1.0):
    """A random bfloat16 device TILE tensor and the float64 values it holds."""
    from tessera import ttnn
    t = ttnn.from_numpy((scale * rng.standard_normal(shape)).astype(np.float32), dtype=ttnn.bfloat16,
                        layout=ttnn.TILE_LAYOUT, device=device)
    return t, ttnn.to_numpy(t).astype(np.float64)


def _binary(opname, reference):
    def setup(device, rng, n):
        from tessera import ttnn
        (a, av), (b, bv) = _put(device, rng, (n, n)), _put(device, rng, (n, n))
        return (lambda: getattr(ttnn, opname)(a, b)), reference(av, bv)
    return setup


def _unary(opname, reference, scale=1.0):
    def setup(device, rng, n):
        from tessera import ttnn
        x, xv = _put(device, rng, (n, n), scale)
        return (lambda: getattr(ttnn, opname)(x)), reference(xv)
    return setup


def _matmul(fidelity):
    def setup(device, rng, n):
        from tessera import ttnn
        (a, av), (b, bv) = _put(device, rng, (n, n)), _put(device, rng, (n, n))
        return (lambda: ttnn.matmul(a, b, math_fidelity=fidelity)), av @ bv
    return setup


def _linear(device, rng, n):
    from tessera import ttnn
    (a, av), (w, wv), (bias, biasv) = _put(device, rng, (n, n)), _put(device, rng, (n, n)), _put(device, rng, (n,))
    return (lambda: ttnn.linear(a, w, bias=bias)), av @ wv + biasv


def _softmax_ref(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rms_norm(device, rng, n):
    from tessera import ttnn
    (x, xv), (g, gv) = _put(device, rng, (n, n)), _put(device, rng, (n,))
    reference = xv / np.sqrt((xv ** 2).mean(-1, keepdims=True) + 1e-5) * gv
    return (lambda: ttnn.rms_norm(x, weight=g, epsilon=1e-5)), reference


def _layer_norm(device, rng, n):
    from tessera import ttnn
    (x, xv), (g, gv), (b, bv) = _put(device, rng, (n, n)), _put(device, rng, (n,)), _put(device, rng, (n,))
    mean = xv.mean(-1, keepdims=True)
    var = ((xv - mean) ** 2).mean(-1, keepdims=True)
    return (lambda: ttnn.layer_norm(x, weight=g, bias=b, epsilon=1e-5)), (xv - mean) / np.sqrt(var + 1e-5) * gv + bv


def _transpose(device, rng, n):
    from tessera import ttnn
    x, xv = _put(device, rng, (n, n))
    return (lambda: ttnn.transpose(x, -2, -1)), xv.T


def _reshape(device, rng, n):
    from tessera import ttnn
    x, xv = _put(device, rng, (n, n))
    return (lambda: ttnn.reshape(x, (n // 2, 2 * n))), xv.reshape(n // 2, 2 * n)


def _concat(device, rng, n):
    from tessera import ttnn
    (a, av), (b, bv) = _put(device, rng, (n, n // 2)), _put(device, rng, (n, n // 2))
    return (lambda: ttnn.concat([a, b], -1)), np.concatenate([av, bv], -1)


def _embedding(device, rng, n):
    from tessera import ttnn
    w, wv = _put(device, rng, (2 * n, n))
    picks = rng.integers(0, 2 * n, size=(1, n)).astype(np.uint32)
    ids = ttnn.from_numpy(picks, dtype=ttnn.uint32, layout=ttnn.ROW_MAJOR_LAYOUT, device=device)
    return (lambda: ttnn.embedding(ids, w)), wv[picks]


_erf = np.vectorize(math.erf)

#: Every op of the bench, in table order.
OPS = {op.name: op for op in (
    BenchOp("add", "[{n}, {n}] + [{n}, {n}]", _binary("add", np.add)),
    BenchOp("multiply", "[{n}, {n}] * [{n}, {n}] (HiFi4)", _binary("multiply", np.multiply)),
    BenchOp("exp", "exp [{n}, {n}]", _unary("exp", np.exp)),
    BenchOp("gelu", "gelu [{n}, {n}]", _unary("gelu", lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))))),
    BenchOp("matmul_lofi", "[{n}, {n}] @ [{n}, {n}], LoFi", _matmul("lofi"), passes=1),
    BenchOp("matmul_hifi2", "[{n}, {n}] @ [{n}, {n}], HiFi2", _matmul("hifi2"), passes=2),
    BenchOp("linear", "[{n}, {n}] @ [{n}, {n}] + bias [{n}], HiFi2", _linear, passes=2),
    BenchOp("softmax", "softmax [{n}, {n}] over the last dim", _unary("softmax", _softmax_ref)),
    BenchOp("rms_norm", "rms_norm [{n}, {n}] with weight", _rms_norm),
    BenchOp("layer_norm", "layer_norm [{n}, {n}] with weight and bias", _layer_norm),
    BenchOp("silu", "silu [{n}, {n}]", _unary("silu", lambda x: x / (1 + np.exp(-x)))),
    BenchOp("transpose", "transpose [{n}, {n}] (-2, -1)", _transpose),
    BenchOp("reshape", "reshape [{n}, {n}] -> [{half}, {double}] (pieces)", _reshape),
    BenchOp("concat", "concat 2 x [{n}, {half}] on the last dim", _concat),
    BenchOp("embedding", "embedding of {n} ids from [{double}, {n}]", _embedding),
)}
#: The ops of --quick (at QUICK_SIZE, on QUICK_GRIDS).
QUICK_OPS = ("add", "matmul_lofi", "softmax", "transpose")


def measure(device, op: BenchOp, n: int, seed: int) -> dict:
    """Run ``op`` twice on ``device`` (size ``n``); the second call's figures and the PCC of its result."""
    from tessera import ttnn
    from tessera.sim.examples import pcc
    rng = np.random.default_rng(seed)
    call, reference = op.setup(device, rng, n)
    ttnn.deallocate(call())                      # builds and caches the program
    first = len(ttnn.op_log(device))
    start = time.monotonic()
    out = call()
    wall = time.monotonic() - start
    entries = ttnn.op_log(device)[first:]
    got = ttnn.to_numpy(out)
    ttnn.deallocate(out)
    return {"op": op.name, "what": op.what.format(n=n, half=n // 2, double=2 * n),
            "size": n, "programs": len(entries), "cycles": sum(e["cycles"] for e in entries),
            "cores": max(e["cores"] for e in entries), "tiles": entries[-1]["tiles"],
            "macs": sum(e["macs"] for e in entries), "dram_bytes": sum(e["dram_bytes"] for e in entries),
            "passes": op.passes, "pcc": pcc(got, reference), "wall_seconds": round(wall, 3)}


def _derive(r: dict, core_macs_per_cycle: int, dram_rate: int) -> None:
    cycles = r["cycles"]
    r["tiles_per_kcycle"] = 1000 * r["tiles"] / cycles
    r["macs_per_cycle"] = r["macs"] / cycles
    r["peak_macs_per_cycle"] = r["cores"] * core_macs_per_cycle
    r["peak_fraction"] = r["macs_per_cycle"] / r["peak_macs_per_cycle"]
    r["fidelity_peak_fraction"] = r["peak_fraction"] * r["passes"] if r["passes"] else 0.0
    r["dram_bytes_per_cycle"] = r["dram_bytes"] / cycles
    r["dram_fraction"] = r["dram_bytes_per_cycle"] / dram_rate


def run_bench(ops, grids, n: int, preset_name: str = "tiny", progress=print) -> dict:
    """Every op of ``ops`` (names of :data:`OPS`) at size ``n`` on every compute grid of ``grids``."""
    from tessera import ttnn
    from tessera.sim.examples import engine_peak
    results = []
    for grid in grids:
        device = ttnn.open_device(0, preset_name=preset_name, compute_grid=grid)
        try:
            cfg = device.cfg
            for index, name in enumerate(ops):
                r = measure(device, OPS[name], n, SEED + 1000 * index)
                r["grid"] = f"{grid[0]}x{grid[1]}"
                results.append(r)
                if progress:
                    progress(f"{name} on {r['grid']}: {r['cycles']:,} cycles, {r['cores']} cores, {r['tiles']} tiles, "
                             f"PCC {r['pcc']:.5f}, {r['wall_seconds']:.1f} s")
        finally:
            ttnn.close_device(device)
    e = cfg.engine
    core_macs = e.mm_rows * e.mm_inner * e.mm_cols
    dram_rate = cfg.dram.bytes_per_cycle * len(cfg.nodes_of("dram"))
    single = {r["op"]: r["cycles"] for r in results if r["grid"] == "1x1"}
    for r in results:
        _derive(r, core_macs, dram_rate)
        r["speedup_from_1x1"] = single[r["op"]] / r["cycles"] if r["op"] in single else None
    return {"preset": preset_name, "size": n, "grids": [f"{x}x{y}" for x, y in grids], "ops": list(ops),
            "engine_macs_per_cycle_per_core": core_macs, "peak_macs_per_cycle": engine_peak(cfg),
            "dram_bytes_per_cycle": dram_rate, "seed": SEED, "results": results}


COLUMNS = ("op", "grid", "cores", "cycles", "tiles/kcycle", "MACs/cycle", "% of peak", "passes", "DRAM B/cycle",
           "% of DRAM", "speed-up", "PCC", "wall s")


def _row(r: dict) -> tuple:
    products = bool(r["macs"])
    return (r["op"], r["grid"], str(r["cores"]), f"{r['cycles']:,}", f"{r['tiles_per_kcycle']:.2f}",
            f"{r['macs_per_cycle']:.1f}" if products else "-", f"{100 * r['peak_fraction']:.1f}" if products else "-",
            str(r["passes"]) if r["passes"] else "-", f"{r['dram_bytes_per_cycle']:.2f}",
            f"{100 * r['dram_fraction']:.1f}",
            f"{r['speedup_from_1x1']:.2f}" if r["speedup_from_1x1"] is not None else "-", f"{r['pcc']:.5f}",
            f"{r['wall_seconds']:.1f}")


def format_table(report: dict) -> str:
    rows = [COLUMNS] + [_row(r) for r in report["results"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    n = report["size"]
    lines += [f"{n}x{n} bfloat16 (matmul {n}x{n}x{n}), the second call of each op (program cached).",
              f"% of peak: of the cores used, {report['engine_macs_per_cycle_per_core']} MACs/cycle each at LoFi "
              f"(a HiFi2 product takes 2 passes: ceiling 50%). % of DRAM: of {report['dram_bytes_per_cycle']} B/cycle.",
              "speed-up: cycles on 1x1 / cycles. PCC: against numpy float64. wall s: the second call on the host "
              "(program load and run, no read-back)."]
    return "\n".join(lines)


# ---- command line ---------------------------------------------------------------------------------

def _op_list(text: str) -> tuple:
    import argparse
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected op names separated by commas, got {text!r}")
    for name in names:
        if name not in OPS:
            raise argparse.ArgumentTypeError(f"unknown op {name!r}; known: {', '.join(OPS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"an op is named twice in {text!r}")
    return names


def _grid_list(text: str) -> tuple:
    import argparse
    grids = []
    for item in text.split(","):
        x, sep, y = item.strip().partition("x")
        if not (sep and x.isdigit() and y.isdigit() and int(x) >= 1 and int(y) >= 1):
            raise argparse.ArgumentTypeError(f"expected COLUMNSxROWS grids separated by commas (e.g. 1x1,2x2), "
                                             f"got {item.strip()!r}")
        grids.append((int(x), int(y)))
    if len(set(grids)) != len(grids):
        raise argparse.ArgumentTypeError(f"a grid is named twice in {text!r}")
    return tuple(grids)


def _cmd_ttnn_bench(args) -> int:
    from tessera.hw.config import preset
    from tessera.sim.cli import UsageError
    from tessera.sim.harness import BUILD_ROOT
    from tessera.sw.host.core import ComputeGrid
    ops = args.ops or (QUICK_OPS if args.quick else tuple(OPS))
    grids = args.grids or (QUICK_GRIDS if args.quick else FULL_GRIDS)
    n = QUICK_SIZE if args.quick else FULL_SIZE
    full = ComputeGrid(preset(args.preset)).size
    for x, y in grids:
        if x > full.x or y > full.y:
            raise UsageError(f"--grids {x}x{y}: larger than the {full.x}x{full.y} Tensix grid of preset "
                             f"{args.preset!r}")
    print(f"ttnn-bench: {len(ops)} ops at {n}x{n} on grids {', '.join(f'{x}x{y}' for x, y in grids)} "
          f"(preset {args.preset})", flush=True)
    report = run_bench(ops, grids, n, args.preset, progress=lambda line: print(line, flush=True))
    print(format_table(report))
    out = Path(args.json) if args.json else BUILD_ROOT / "bench" / "ttnn" / f"ttnn-{args.preset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(r["pcc"] >= 0.99 for r in report["results"]) else 1


def register(subparsers) -> None:
    from tessera.hw.config import preset_names
    p = subparsers.add_parser("ttnn-bench", help="the ttnn ops on the simulated chip on 1, 2 and 4 Tensix cores: "
                                                 "cycles, tiles/cycle, share of the engine peak and of DRAM")
    p.add_argument("--quick", action="store_true",
                   help=f"{', '.join(QUICK_OPS)} at {QUICK_SIZE}x{QUICK_SIZE} on grids "
                        f"{', '.join(f'{x}x{y}' for x, y in QUICK_GRIDS)} (default: all ops at "
                        f"{FULL_SIZE}x{FULL_SIZE} on {', '.join(f'{x}x{y}' for x, y in FULL_GRIDS)})")
    p.add_argument("--ops", type=_op_list, default=None, metavar="A,B",
                   help=f"only these ops ({', '.join(OPS)})")
    p.add_argument("--grids", type=_grid_list, default=None, metavar="XxY,..",
                   help="compute grids to run on (e.g. 1x1,2x2)")
    p.add_argument("--preset", default="tiny", choices=preset_names(), help="chip configuration (default tiny)")
    p.add_argument("--json", default=None, help="results file (default build/bench/ttnn/ttnn-PRESET.json)")
    p.set_defaults(func=_cmd_ttnn_bench)
