"""``tessera engine-bench``: achieved MACs/cycle of an overlapped K-loop matmul, per fidelity."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tessera.hw.config import preset, preset_names

__all__ = ["register", "run_bench", "format_table"]


def run_bench(preset_name: str, shape=(4, 4, 8), fidelities=("lofi", "hifi2", "hifi3", "hifi4"),
              formats=(("float16_b", "bfp8_b"),), out_dir: str | None = None, seed: int = 1) -> list:
    from tessera.sim.harness import BUILD_ROOT, run_cocotb

    for fid in fidelities:
        if fid not in ("lofi", "hifi2", "hifi3", "hifi4"):
            raise ValueError(f"unknown fidelity {fid!r}")
    out = Path(out_dir) if out_dir else BUILD_ROOT / "bench" / "engine"
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"matmul-{preset_name}.json"
    env = {"TESSERA_BENCH_SHAPE": ",".join(str(v) for v in shape),
           "TESSERA_BENCH_FIDELITIES": ",".join(fidelities),
           "TESSERA_BENCH_FORMATS": ",".join(f"{a}:{b}" for a, b in formats),
           "TESSERA_BENCH_OUT": str(raw)}
    start = time.monotonic()
    result = run_cocotb("engine", "tessera.sim.engine.cocotb_bench", config=preset(preset_name), env=env, seed=seed)
    rows = json.loads(raw.read_text())
    for row in rows:
        row["preset"] = preset_name
        row["wall_seconds_total"] = round(time.monotonic() - start, 1)
        row["sim_cycles_run"] = result.sim_cycles
    raw.write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def format_table(rows: list) -> str:
    lines = ["| preset | in -> out | fidelity | tiles (m,n,k) | cycles | MACs/cycle | peak | of peak | of fidelity bound |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['preset']} | {r['fmt_in']} -> {r['fmt_out']} | {r['fidelity']} | "
                     f"{r['m_tiles']},{r['n_tiles']},{r['k_tiles']} | {r['cycles']} | {r['macs_per_cycle']:.2f} | "
                     f"{r['peak_macs_per_cycle']} | {100 * r['fraction_of_peak']:.1f}% | "
                     f"{100 * r['fraction_of_fidelity_bound']:.1f}% |")
    return "\n".join(lines)


def _cmd(args) -> int:
    shape = tuple(int(v) for v in args.shape.split(","))
    if len(shape) != 3 or min(shape) < 1:
        print(f"tessera engine-bench: --shape needs three positive integers m,n,k, got {args.shape!r}")
        return 2
    formats = tuple(tuple(p.split(":")) for p in args.formats.split(","))
    rows = run_bench(args.preset, shape, tuple(args.fidelity.split(",")), formats, args.output, args.seed)
    print(format_table(rows))
    print(f"JSON: {args.output}/matmul-{args.preset}.json")
    if not args.no_accuracy:
        from tessera.sim.engine.accuracy import accuracy_report, format_accuracy
        report = accuracy_report(preset(args.preset).engine)
        print()
        print(format_accuracy(report))
        path = Path(args.output) / f"accuracy-{args.preset}.json"
        path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"JSON: {path}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("engine-bench", help="engine matmul MACs/cycle vs peak, per fidelity")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--shape", default="2,2,8",
                   help="output tiles m,n and K tiles (default 2,2,8; 4,4,8 at LoFi takes ~3 min)")
    p.add_argument("--fidelity", default="lofi,hifi2,hifi3,hifi4")
    p.add_argument("--formats", default="float16_b:bfp8_b",
                   help="comma-separated in:out tile formats")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table (golden vs float64)")
    p.add_argument("-o", "--output", default=None,
                   help="output directory (default build/bench/engine)")
    p.set_defaults(func=_cmd)
