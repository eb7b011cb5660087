"""Foundation subcommands: config, verilog, fpga, harness-bench, sim-summary."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tessera.sim.blocks import BLOCKS, block, block_names
from tessera.hw.config import ConfigError, address_map_header, preset, preset_names


def _parse_params(items) -> dict:
    """``--param name=value`` pairs; values are parsed as JSON where possible."""
    params = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"--param expects name=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def _config(args):
    try:
        return preset(args.preset)
    except ConfigError as exc:
        raise SystemExit(f"tessera: {exc}") from None


def _check_block(name: str) -> None:
    if name != "all" and name not in BLOCKS:
        raise SystemExit(f"tessera: unknown block {name!r}; known blocks: {', '.join(block_names())}")


# -- config -------------------------------------------------------------------

def cmd_config(args) -> int:
    cfg = _config(args)
    if args.header:
        text = address_map_header(cfg)
        if args.output:
            Path(args.output).write_text(text)
            print(f"wrote {args.output}")
        else:
            print(text)
    else:
        text = json.dumps(cfg.to_dict(), indent=2)
        if args.output:
            Path(args.output).write_text(text + "\n")
            print(f"wrote {args.output}")
        else:
            print(text)
    return 0


# -- verilog ------------------------------------------------------------------

def cmd_verilog(args) -> int:
    from tessera.sim.export import export_block, write_export

    cfg = _config(args)
    _check_block(args.block)
    names = [n for n in block_names() if block(n).in_all] if args.block == "all" else [args.block]
    params = _parse_params(args.param)
    out = Path(args.output)
    for name in names:
        start = time.monotonic()
        exported = export_block(name, cfg, params if args.block != "all" else None)
        paths = write_export(exported, out)
        lines = exported.verilog.count("\n")
        print(f"{name:<20} {exported.toplevel}.v  {lines:>7} lines  {len(exported.ports):>4} ports  "
              f"{time.monotonic() - start:5.1f} s  -> {paths[0]}")
    return 0


# -- fpga ---------------------------------------------------------------------

def cmd_fpga(args) -> int:
    from tessera.sim.fpga import FpgaToolError, format_report, run_fpga

    cfg = _config(args)
    _check_block(args.block)
    names = [n for n in block_names() if block(n).in_all] if args.block == "all" else [args.block]
    reports = []
    for name in names:
        try:
            report = run_fpga(name, cfg, args.device, _parse_params(args.param) if args.block != "all" else None,
                              out_dir=Path(args.output) / f"{name}-{cfg.name}-{args.device}" if args.output else None,
                              place=not args.no_place, freq_mhz=args.freq, seed=args.seed,
                              mapper=args.mapper)
        except FpgaToolError as exc:
            print(f"tessera fpga: {exc}", file=sys.stderr)
            return 1
        reports.append(report)
        print(format_report(report))
        print(f"JSON: {report.out_dir}/fpga.json\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


# -- harness-bench --------------------------------------------------------------

def cmd_harness_bench(args) -> int:
    """Measure the Verilator build cache: a cold build, then a rerun that must reuse it."""
    from tessera.sim.harness import run_cocotb
    import os

    cfg = preset("tiny")
    scratch = Path(tempfile.mkdtemp(prefix="tessera-harness-bench-"))
    os.environ["TESSERA_BUILD_DIR"] = str(scratch)
    # The harness reads TESSERA_BUILD_DIR at import; point it at the scratch tree.
    import tessera.sim.harness as harness
    harness.BUILD_ROOT = scratch
    rows = []
    try:
        for attempt in ("first test (cold cache)", "second test (unchanged block)",
                        "third test (unchanged block)"):
            start = time.monotonic()
            result = run_cocotb("stream_fifo", "tb.fifo.cocotb_stream_fifo", config=cfg,
                                params={"width": 64, "depth": 16}, seed=1)
            wall = time.monotonic() - start
            rows.append({"run": attempt, "rebuilt": result.model.rebuilt,
                         "build_seconds": round(result.model.build_seconds, 2) if result.model.rebuilt else 0.0,
                         "wall_seconds": round(wall, 2), "sim_cycles": result.sim_cycles,
                         "tests": result.tests, "passed": result.passed})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'run':<32} {'rebuilt':>7} {'build (s)':>9} {'wall (s)':>8} {'cycles':>8}")
    for r in rows:
        print(f"{r['run']:<32} {str(r['rebuilt']):>7} {r['build_seconds']:>9.2f} {r['wall_seconds']:>8.2f} "
              f"{r['sim_cycles']:>8}")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"block": "stream_fifo", "preset": "tiny", "runs": rows}, indent=2) + "\n")
    print(f"JSON: {out}")
    ok = rows[0]["rebuilt"] and not any(r["rebuilt"] for r in rows[1:])
    if not ok:
        print("cache FAILED: an unchanged block was rebuilt", file=sys.stderr)
    return 0 if ok else 1


def cmd_sim_summary(args) -> int:
    from tessera.sim.summary import main as summary_main
    return summary_main()


def register(subparsers) -> None:
    p = subparsers.add_parser("config", help="print a preset as JSON or as the generated C header")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--header", action="store_true", help="emit the C address-map header instead of JSON")
    p.add_argument("-o", "--output", help="write to this file")
    p.set_defaults(func=cmd_config)

    p = subparsers.add_parser("verilog", help="export Verilog of a block (or all) and a port map")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--block", default="all", help=f"block name or 'all'")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="block parameter override")
    p.add_argument("-o", "--output", default="build/verilog", help="output directory")
    p.set_defaults(func=cmd_verilog)

    p = subparsers.add_parser("fpga", help="synthesise and place a block for ECP5; LUT4/FF/BRAM/DSP/Fmax")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--block", required=True, help="block name or 'all'")
    p.add_argument("--device", default="ecp5-85f")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="block parameter override")
    p.add_argument("--freq", type=float, help="target clock for place and route (MHz)")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    p.add_argument("--no-place", action="store_true", help="synthesis counts only, no Fmax")
    p.add_argument("--mapper", choices=("abc9", "abc"), default="abc9",
                   help="yosys LUT mapper (abc: faster on very large flat designs such as the engine)")
    p.add_argument("-o", "--output", help="output directory (default build/fpga/...)")
    p.add_argument("--json", help="also write all reports to this JSON file (directories are created)")
    p.set_defaults(func=cmd_fpga)

    p = subparsers.add_parser("harness-bench", help="show the Verilator build cache: cold build vs reuse")
    p.add_argument("-o", "--output", default="build/bench/harness/harness.json")
    p.set_defaults(func=cmd_harness_bench)

    p = subparsers.add_parser("sim-summary", help="print the summary table of the last regression")
    p.set_defaults(func=cmd_sim_summary)
