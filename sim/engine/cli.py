"""``tessera engine-bench``: achieved MACs/cycle of an overlapped K-loop matmul, per fidelity."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tessera.hw.config import preset, preset_names
from tessera.sim.cli import UsageError, int_at_least

__all__ = ["register", "run_bench", "bench_params", "format_table", "format_speed"]

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
    result = run_cocotb("engine_bench", "tessera.sim.engine.cocotb_bench", config=preset(preset_name),
                        params=bench_params(shape), env=env, seed=seed)
    rows = json.loads(raw.read_text())
    for row in rows:
        row["preset"] = preset_name
        row["wall_seconds_total"] = round(time.monotonic() - start, 1)
        row["sim_cycles_run"] = result.sim_cycles
        row["sim_wall_seconds"] = round(result.wall_seconds, 1)
    raw.write_text(json.dumps(rows, indent=1) + "\n")
    return rows


def bench_params(shape) -> dict:
    """Block parameters of ``engine_bench`` for a matmul of ``shape``: the default command
    memories (one cached model) unless the unpack thread's 2*m*n*k words need more."""
    from tessera.sim.engine.bench_top import DEFAULT_CMD_WORDS, STATUS_WIDTH

    m, n, k = shape
    words = 2 * m * n * k
    if words <= DEFAULT_CMD_WORDS:
        return {}
    if words >= 2 ** STATUS_WIDTH:
        raise ValueError(f"shape {m},{n},{k} needs {words} unpack command words; the engine bench "
                         f"top holds at most {2 ** STATUS_WIDTH - 1}")
    return {"cmd_words": 1 << (words - 1).bit_length()}


def format_speed(rows: list) -> str:
    """One line: simulated cycles per wall second of the whole run and of the timed matmuls."""
    if not rows:
        return ""
    r = rows[0]
    run_cycles = sum(row["cycles"] for row in rows)
    run_wall = sum(row["run_wall_seconds"] for row in rows)
    return (f"simulation: {r['sim_cycles_run']} cycles in {r['sim_wall_seconds']} s "
            f"({r['sim_cycles_run'] / max(r['sim_wall_seconds'], 1e-9):,.0f} cycles/s; "
            f"{r['wall_seconds_total']} s with the model look-up or build); the timed runs alone: "
            f"{run_cycles} cycles in {run_wall:.2f} s ({run_cycles / max(run_wall, 1e-9):,.0f} cycles/s)")


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


def _check_fits(shape, formats, cfg) -> None:
    """The shape's output tiles and the input pools must fit L1; its commands the bench top."""
    from tessera.sim.engine.workloads import PLAN_POOLS

    m, n, k = shape
    for fmt_in, fmt_out in formats:
        need = cfg.l1_data_base + 2 * PLAN_POOLS * cfg.engine.tile_bytes(fmt_in) \
            + m * n * cfg.engine.tile_bytes(fmt_out)
        if need > cfg.l1.size_bytes:
            raise UsageError(f"--shape {m},{n},{k}: {m * n} output tiles of {fmt_out} and the "
                             f"{fmt_in} inputs need {need} bytes of L1; preset {cfg.name} has "
                             f"{cfg.l1.size_bytes}")
    try:
        bench_params(shape)
    except ValueError as exc:
        raise UsageError(f"--shape: {exc}") from None


def _cmd(args) -> int:
    shape = _parse_shape(args.shape)
    fidelities = _parse_fidelities(args.fidelity)
    formats = _parse_formats(args.formats, preset(args.preset))
    if args.output is None:  # the default folder, as run_bench picks it
        from tessera.sim.harness import BUILD_ROOT
        args.output = str(Path(BUILD_ROOT) / "bench" / "engine")
    cfg = preset(args.preset)
    _check_fits(shape, formats, cfg)
    rows = run_bench(args.preset, shape, fidelities, formats, args.output, args.seed)
    print(format_table(rows))
    print(format_speed(rows))
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
                   help="output tiles m,n and K tiles (default 2,2,8)")
    p.add_argument("--fidelity", default=",".join(FIDELITIES), help="comma-separated fidelities")
    p.add_argument("--formats", default="float16_b:bfp8_b",
                   help="comma-separated in:out tile formats")
    p.add_argument("--seed", type=int_at_least(0), default=1)
    p.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table (golden vs float64)")
    p.add_argument("-o", "--output", default=None,
                   help="output directory (default build/bench/engine)")
    p.set_defaults(func=_cmd)
