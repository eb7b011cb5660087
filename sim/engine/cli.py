"""``tessera engine-bench``: achieved MACs/cycle of an overlapped K-loop matmul, per fidelity."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tessera.hw.config import preset, preset_names
from tessera.sim.cli import UsageError, int_at_least

__all__ = ["register", "run_bench", "format_table"]

FIDELITIES = ("lofi", "hifi2", "hifi3", "hifi4")


def run_bench(preset_name: str, shape=(4, 4, 8), fidelities=FIDELITIES,
              formats=(("float16_b", "bfp8_b"),), out_dir: str | None = None, seed: int = 1) -> list:
    from tessera.sim.harness import BUILD_ROOT, run_cocotb

    for fid in fidelities:
        if fid not in FIDELITIES:
            raise ValueError(f"unknown fidelity {fid!r}")
    # Absolute: the simulation runs in its own run directory.
    out = Path(out_dir).resolve() if out_dir else BUILD_ROOT / "bench" / "engine"
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


def _parse_shape(text: str) -> tuple:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise UsageError(f"--shape needs three positive integers m,n,k, got {text!r}")
    return shape


def _parse_fidelities(text: str) -> tuple:
    fidelities = tuple(text.split(","))
    bad = [f for f in fidelities if f not in FIDELITIES]
    if bad:
        raise UsageError(f"--fidelity {text}: unknown fidelity {bad[0]!r}; give a comma-separated "
                         f"subset of {', '.join(FIDELITIES)}")
    return fidelities


def _parse_formats(text: str, cfg) -> tuple:
    """``in:out`` pairs, each format one the configuration's engine has."""
    pairs = []
    for item in text.split(","):
        pair = tuple(item.split(":"))
        if len(pair) != 2 or any(f not in cfg.engine.formats for f in pair):
            raise UsageError(f"--formats {text}: {item!r} is not IN:OUT with both formats among "
                             f"{', '.join(cfg.engine.formats)} (the engine of preset {cfg.name})")
        pairs.append(pair)
    return tuple(pairs)


def _cmd(args) -> int:
    shape = _parse_shape(args.shape)
    fidelities = _parse_fidelities(args.fidelity)
    formats = _parse_formats(args.formats, preset(args.preset))
    if args.output is None:  # the default folder, as run_bench picks it
        from tessera.sim.harness import BUILD_ROOT
        args.output = str(Path(BUILD_ROOT) / "bench" / "engine")
    rows = run_bench(args.preset, shape, fidelities, formats, args.output, args.seed)
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
    p.add_argument("--fidelity", default=",".join(FIDELITIES), help="comma-separated fidelities")
    p.add_argument("--formats", default="float16_b:bfp8_b",
                   help="comma-separated in:out tile formats")
    p.add_argument("--seed", type=int_at_least(0), default=1)
    p.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table (golden vs float64)")
    p.add_argument("-o", "--output", default=None,
                   help="output directory (default build/bench/engine)")
    p.set_defaults(func=_cmd)
