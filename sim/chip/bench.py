"""``tessera chip-bench``: NIU throughput, read latency, multicast and simulation speed of the chip.

Runs sw/kernels/chip_bench.c on the Verilator chip (block ``chip``; see
:mod:`tessera.sim.chip.cocotb_bench`) and reports, for ``--bytes`` transfers
(default 4 KiB):

* throughput tile-to-tile and tile-to-DRAM (writes and reads) in bytes per
  cycle and as a fraction of the link bandwidth (one flit per cycle);
* the read latency a core sees (issue to barrier) against hops, and the
  host's round trip to every node;
* a multicast to every tile of the compute grid against unicast copies;
* simulated cycles per wall second while the core runs.

``--trace`` also writes the run's timeline (sim/chip/trace.py, docs/chip.md
"Timelines"): ``chip-bench-<preset>.trace.json`` for ui.perfetto.dev and a
PNG summary beside it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from tessera.hw.config import preset, preset_names
from tessera.sim.cli import UsageError, int_at_least

__all__ = ["register", "run_bench", "format_table"]


def run_bench(preset_name: str = "tiny", nbytes: int = 4096, transfers: int = 4, out_dir=None,
              trace: bool = False) -> dict:
    from tessera.sim.harness import BUILD_ROOT, run_cocotb

    cfg = preset(preset_name)
    out = Path(out_dir) if out_dir else BUILD_ROOT / "bench" / "chip"
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"chip-bench-{preset_name}.json"
    env = {"CHIP_BENCH_PLAN": json.dumps({"bytes": nbytes, "transfers": transfers}), "CHIP_BENCH_OUT": str(raw)}
    trace_stem = out / f"chip-bench-{preset_name}.trace"
    if trace:
        env["CHIP_BENCH_TRACE"] = str(trace_stem)
    start = time.monotonic()
    result = run_cocotb("chip", "tessera.sim.chip.cocotb_bench", config=cfg, env=env)
    report = json.loads(raw.read_text())
    report["preset"] = preset_name
    report["wall_seconds_total"] = round(time.monotonic() - start, 1)
    report["model_build_seconds"] = round(result.model.build_seconds, 1)
    fb = report["flit_bytes"]
    c = report["cycles"]
    total = nbytes * transfers
    report["throughput"] = {
        name: {"bytes_per_cycle": total / c[name], "of_link": total / c[name] / fb}
        for name in ("write_peer", "write_dram", "read_dram", "read_peer")}
    report["multicast_speedup"] = c["unicast_copies"] / c["multicast"]
    if trace:
        report["trace"] = {"json": f"{trace_stem}.json",
                           "png": f"{trace_stem}.png" if Path(f"{trace_stem}.png").exists() else None}
    raw.write_text(json.dumps(report, indent=1) + "\n")
    return report


def format_table(r: dict) -> str:
    lines = [f"preset {r['preset']}: {r['transfers']} x {r['bytes']} B transfers from tile {tuple(r['tile'])}, "
             f"{r['flit_bytes']}-byte flits, {r['max_payload_bytes']}-byte packets", "",
             "| transfer | cycles | bytes/cycle | of link bandwidth |", "|---|---:|---:|---:|"]
    names = {"write_peer": f"write to tile {tuple(r['peer'])}", "write_dram": f"write to DRAM {tuple(r['dram'])}",
             "read_dram": f"read from DRAM {tuple(r['dram'])}", "read_peer": f"read from tile {tuple(r['peer'])}"}
    for key, label in names.items():
        t = r["throughput"][key]
        lines.append(f"| {label} | {r['cycles'][key]:,} | {t['bytes_per_cycle']:.2f} | {100 * t['of_link']:.1f}% |")
    lines += ["", "| 4-byte read (core: issue to barrier) | hops | cycles |", "|---|---:|---:|"]
    for row in r["read_latency"]:
        lines.append(f"| node {tuple(row['target'])} | {row['hops']} | {row['cycles']} |")
    lines += ["", "| host round trip (4-byte read) | kind | hops | cycles |", "|---|---|---:|---:|"]
    for row in r["host_round_trips"]:
        lines.append(f"| node {tuple(row['node'])} | {row['kind']} | {row['hops']} | {row['cycles']} |")
    lines += ["", f"| {r['bytes']} B to the {r['multicast_destinations']} other tiles of {tuple(r['rect'])} | cycles |",
              "|---|---:|",
              f"| one multicast | {r['cycles']['multicast']:,} |",
              f"| unicast copies | {r['cycles']['unicast_copies']:,} |",
              f"| multicast speed-up | {r['multicast_speedup']:.2f}x |", "",
              f"simulation: {r['run']['sim_cycles']:,} cycles in {r['run']['wall_seconds']:.1f} s = "
              f"{r['run']['cycles_per_second']:,.0f} cycles/s while the core runs "
              f"(model build {r['model_build_seconds']} s, cached)"]
    return "\n".join(lines)


def _cmd(args) -> int:
    cfg = preset(args.preset)
    if args.bytes > cfg.l1.size_bytes // 4:
        raise UsageError(f"--bytes {args.bytes}: at most a quarter of L1 ({cfg.l1.size_bytes // 4}) on preset {args.preset}")
    report = run_bench(args.preset, args.bytes, args.transfers, args.output, trace=args.trace)
    print(format_table(report))
    out = args.output or "build/bench/chip"
    print(f"JSON: {out}/chip-bench-{args.preset}.json")
    if args.trace:
        png = report["trace"]["png"] or "none (matplotlib not installed: pip install 'tessera[plot]')"
        print(f"timeline: {report['trace']['json']} (open in https://ui.perfetto.dev), PNG: {png}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("chip-bench", help="NIU throughput, read latency, multicast, simulation speed of the chip")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--bytes", type=int_at_least(1), default=4096, help="bytes per transfer (default 4096)")
    p.add_argument("--transfers", type=int_at_least(1, 64), default=4,
                   help="back-to-back transfers per measurement (default 4)")
    p.add_argument("-o", "--output", default=None, help="output directory (default build/bench/chip)")
    p.add_argument("--trace", action="store_true",
                   help="also write the run's timeline: Chrome trace JSON for ui.perfetto.dev and a PNG")
    p.set_defaults(func=_cmd)
