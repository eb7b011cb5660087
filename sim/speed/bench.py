"""``tessera sim-bench``: simulated cycles per wall second of each block's Verilator model.

For every block asked for (``--blocks``, default ``l1,engine,tile,chip``)
and every thread count (``--threads``, default ``1``; e.g. ``1,2`` also
builds Verilator ``--threads 2`` models), the bench runs the block's
workloads (:mod:`tessera.sim.speed.cocotb_tile`,
:mod:`tessera.sim.speed.cocotb_chip`) and times a window of free-running
cycles behind one cocotb ``Timer``, so no Python runs per cycle:

* ``l1``, ``engine``: idle (reset, clock only);
* ``tile``: idle, all five cores running a loop, the TRISCs running an
  endless matmul (unpacker, FPU and packer busy) beside the loop on brisc
  and ncrisc;
* ``chip``: idle, every core of every tile running the loop, and the loop
  plus brisc of every tile writing 256-byte packets to a peer node for ever.

Beside each speed: the model's build time (from the cache when it was
built earlier), whether this run built it, and the size of its C++.
Table on stdout, JSON in ``build/bench/sim/sim-bench-<preset>.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tessera.hw.config import preset, preset_names
from tessera.sim.cli import UsageError, int_at_least

__all__ = ["WORKLOADS", "DEFAULT_CYCLES", "register", "run_bench", "format_table"]

#: block -> (cocotb module, [(workload, cocotb test)]).
WORKLOADS = {
    "l1": ("tessera.sim.speed.cocotb_tile", [("idle", "block_idle")]),
    "engine": ("tessera.sim.speed.cocotb_tile", [("idle", "block_idle")]),
    "tile": ("tessera.sim.speed.cocotb_tile",
             [("idle", "tile_idle"), ("cores", "tile_cores"), ("matmul", "tile_matmul")]),
    "chip": ("tessera.sim.speed.cocotb_chip",
             [("idle", "chip_idle"), ("cores", "chip_cores"), ("noc", "chip_noc")]),
}
#: Cycles of the measured window per block (a few seconds of wall time each).
DEFAULT_CYCLES = {"l1": 400_000, "engine": 200_000, "tile": 200_000, "chip": 50_000}


def run_bench(preset_name: str = "tiny", blocks=("l1", "engine", "tile", "chip"), threads=(1,),
              cycles: int | None = None, workloads=None, out_dir=None) -> dict:
    """Run the bench; returns the report (also written as JSON)."""
    from tessera.sim.harness import BUILD_ROOT, run_cocotb

    cfg = preset(preset_name)
    out = Path(out_dir).resolve() if out_dir else BUILD_ROOT / "bench" / "sim"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for block in blocks:
        module, tests = WORKLOADS[block]
        tests = [(w, t) for w, t in tests if workloads is None or w in workloads]
        if not tests:
            continue
        window = cycles or DEFAULT_CYCLES[block]
        for nthreads in threads:
            raw = out / f"raw-{block}-{nthreads}.jsonl"
            raw.unlink(missing_ok=True)
            env = {"SIM_BENCH_PLAN": json.dumps({"cycles": window}), "SIM_BENCH_OUT": str(raw)}
            start = time.monotonic()
            result = run_cocotb(block, module, config=cfg, testcase=[t for _, t in tests], env=env,
                                threads=nthreads)
            wall_total = time.monotonic() - start
            built = json.loads((result.model.build_dir / "built.json").read_text())
            measured = {m["test"]: m for m in map(json.loads, raw.read_text().splitlines())}
            for workload, test in tests:
                m = measured[test]
                rows.append({
                    "block": block, "workload": workload, "threads": nthreads, "cycles": m["cycles"],
                    "wall_seconds": round(m["wall_seconds"], 6),
                    "cycles_per_second": round(m["cycles"] / m["wall_seconds"]),
                    "build_seconds": round(result.model.build_seconds, 1), "built_now": result.model.rebuilt,
                    "cpp_bytes": built.get("cpp_bytes"), "modules": built.get("modules"),
                    "run_wall_seconds": round(wall_total, 1)})
    report = {"preset": preset_name, "rows": rows,
              "command": "tessera sim-bench " + " ".join(
                  [f"--preset {preset_name}", f"--blocks {','.join(blocks)}",
                   f"--threads {','.join(map(str, threads))}"]
                  + ([f"--cycles {cycles}"] if cycles else [])
                  + ([f"--workloads {','.join(workloads)}"] if workloads else []))}
    (out / f"sim-bench-{preset_name}.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def format_table(report: dict) -> str:
    lines = [f"preset {report['preset']}: simulated cycles per wall second (host waiting on one Timer)", "",
             "| block | workload | threads | cycles | wall (s) | cycles/s | model build (s) | C++ (MB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        build = f"{r['build_seconds']:.0f}" + (" (now)" if r["built_now"] else "")
        cpp = f"{r['cpp_bytes'] / 1e6:.1f}" if r.get("cpp_bytes") else "?"
        lines.append(f"| {r['block']} | {r['workload']} | {r['threads']} | {r['cycles']:,} | "
                     f"{r['wall_seconds']:.2f} | {r['cycles_per_second']:,} | {build} | {cpp} |")
    return "\n".join(lines)


def _name_list(text: str, allowed, option: str) -> list:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise UsageError(f"{option} {text!r}: choose from {', '.join(allowed)}")
    return names


def _cmd(args) -> int:
    blocks = _name_list(args.blocks, list(WORKLOADS), "--blocks")
    all_workloads = sorted({w for _, tests in WORKLOADS.values() for w, _ in tests})
    workloads = _name_list(args.workloads, all_workloads, "--workloads") if args.workloads else None
    try:
        threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        threads = []
    if not threads or any(t < 1 or t > 64 for t in threads):
        raise UsageError(f"--threads {args.threads!r}: a comma-separated list of counts in 1..64")
    report = run_bench(args.preset, blocks, threads, args.cycles, workloads, args.output)
    print(format_table(report))
    out = args.output or "build/bench/sim"
    print(f"JSON: {out}/sim-bench-{args.preset}.json")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("sim-bench",
                              help="simulated cycles per second of each block's Verilator model")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--blocks", default="l1,engine,tile,chip", help="comma-separated (default l1,engine,tile,chip)")
    p.add_argument("--threads", default="1", help="comma-separated Verilator thread counts (default 1)")
    p.add_argument("--workloads", default=None, help="only these workloads (idle, cores, matmul, noc)")
    p.add_argument("--cycles", type=int_at_least(100), default=None,
                   help="cycles per measured window (default per block: " +
                        ", ".join(f"{b} {c:,}" for b, c in DEFAULT_CYCLES.items()) + ")")
    p.add_argument("-o", "--output", default=None, help="output directory (default build/bench/sim)")
    p.set_defaults(func=_cmd)
