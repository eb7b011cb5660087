"""Foundation subcommands: config, verilog, fpga, harness-bench, sim-summary."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import shutil
import sys
import tempfile
import time
import types
import typing
from pathlib import Path

from tessera.sim.cli import UsageError, int_at_least, positive_float
from tessera.sim.fpga import DEVICES
from tessera.sim.fpga_board import BOARDS

from tessera.sim.blocks import BLOCKS, block, block_names
from tessera.hw.config import ConfigError, preset, preset_names
from tessera.sw.toolchain.header import address_map_header


def _parse_params(items) -> dict:
    """``--param name=value`` pairs as ``{name: text}``, in order."""
    params = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--param expects name=value, got {item!r}")
        key, value = item.split("=", 1)
        if key in params:
            raise UsageError(f"--param {key} is given twice ({params[key]!r} and {value!r})")
        params[key] = value
    return params


def _config(args):
    try:
        cfg = preset(args.preset)
    except ConfigError as exc:
        raise UsageError(f"--preset {args.preset}: {exc}") from None
    return apply_overrides(cfg, getattr(args, "set", None))


def _settable(cfg) -> dict:
    """``{key: current value}`` of every field ``--set`` may change: the scalar fields of the
    configuration (``clock_mhz``) and the fields of its sections (``engine.mm_cols``).  The
    tuples of nodes and cores and the MMIO map derived from them are not plain values: the
    preset defines them (a changed grid gets its default placement, see ``derive``)."""
    keys = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name == "mmio":
            continue
        if dataclasses.is_dataclass(value):
            for sub in dataclasses.fields(value):
                keys[f"{f.name}.{sub.name}"] = getattr(value, sub.name)
        elif isinstance(value, (bool, int, float, str)) and f.name != "name":
            keys[f.name] = value
    return keys


def _convert_setting(text: str, current):
    """``text`` as a value of the type of ``current``; ``ValueError`` naming the type if not."""
    if isinstance(current, bool):
        if text.lower() in ("true", "false", "1", "0"):
            return text.lower() in ("true", "1")
        raise ValueError("true or false")
    if isinstance(current, int):
        try:
            return int(text, 0)
        except ValueError:
            raise ValueError("an integer") from None
    if isinstance(current, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError("a number") from None
    if isinstance(current, tuple):  # engine.formats: a comma-separated list
        return tuple(item.strip() for item in text.split(",") if item.strip())
    return text


def apply_overrides(cfg, items):
    """``cfg`` with ``--set KEY=VALUE`` items applied (``engine.mm_cols=2``, ``clock_mhz=25``).

    Keys are checked against the configuration's fields, values against the type of the field's
    current value, and the result against the configuration's own rules; each refusal is a
    :class:`UsageError` naming the item.  The result keeps the preset's name: the overrides are
    part of its fingerprint, so no build or report of it is mistaken for the preset's.
    """
    if not items:
        return cfg
    settable = _settable(cfg)
    sections: dict = {}
    top: dict = {}
    seen: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects KEY=VALUE (for example engine.mm_cols=2), got {item!r}")
        if key in seen:
            raise UsageError(f"--set {key} is given twice ({seen[key]!r} and {text!r})")
        seen[key] = text
        if key not in settable:
            section = key.partition(".")[0]
            fields = sorted(k.partition(".")[2] for k in settable if k.startswith(section + "."))
            if fields:
                known = f"fields of {section}: {', '.join(fields)}"
            else:
                known = "known sections: " + ", ".join(sorted({k.partition(".")[0] for k in settable if "." in k}))
                known += "; known top-level keys: " + ", ".join(sorted(k for k in settable if "." not in k))
            raise UsageError(f"--set {item}: unknown configuration key {key!r}; {known}")
        current = settable[key]
        try:
            value = _convert_setting(text, current)
        except ValueError as exc:
            raise UsageError(f"--set {item}: {key} must be {exc}, got {text!r}") from None
        section, _, name = key.rpartition(".")
        (sections.setdefault(section, {}) if section else top)[name] = value
    try:
        return cfg.derive(**sections, **top)
    except ConfigError as exc:
        raise UsageError(f"--set {' '.join(items)}: {exc}") from None


def _check_block(name: str) -> None:
    if name != "all" and name not in BLOCKS:
        raise UsageError(f"--block: unknown block {name!r}; known blocks: {', '.join(block_names())} or all")


def factory_parameters(block_name: str) -> dict:
    """The named parameters of a block's factory after ``cfg``: ``{name: inspect.Parameter}``,
    annotations evaluated.  A factory with only ``**params`` takes none from the command line."""
    module_name, _, func_name = block(block_name).factory.partition(":")
    factory = getattr(importlib.import_module(module_name), func_name)
    try:
        signature = inspect.signature(factory, eval_str=True)
    except NameError:  # an annotation that only a type checker can resolve: use the defaults' types
        signature = inspect.signature(factory)
    named = list(signature.parameters.values())[1:]
    return {p.name: p for p in named if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _parameter_types(param: inspect.Parameter) -> tuple:
    """The types a parameter accepts (``None`` included for ``int | None``), from its annotation,
    else from its default value; empty when neither says."""
    annotation = param.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    if isinstance(annotation, type):
        return (annotation,)
    if param.default is not inspect.Parameter.empty and param.default is not None:
        return (type(param.default),)
    return ()


_TYPE_WORDS = {int: "an integer", bool: "true or false", float: "a number", str: "a string",
               type(None): "none"}


def _convert_param(text: str, accepted: tuple):
    """``text`` as the first of ``accepted`` types it parses as; ``ValueError`` if none."""
    if not accepted:  # no declared type: JSON where it parses, else the text
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    for kind in accepted:
        if kind is bool:
            if text.lower() in ("true", "false", "1", "0"):
                return text.lower() in ("true", "1")
        elif kind is int:
            try:
                return int(text, 0)
            except ValueError:
                pass
        elif kind is float:
            try:
                return float(text)
            except ValueError:
                pass
        elif kind is str:
            return text
        elif kind is type(None):
            if text.lower() in ("none", "null"):
                return None
    raise ValueError(" or ".join(_TYPE_WORDS.get(k, k.__name__) for k in accepted))


def block_params(block_name: str, items, cfg) -> dict:
    """Check ``--param`` items against the block's factory and return them converted.

    Names must be parameters of the factory, values must parse as the
    parameter's type (annotation, else the default's type), and the block
    must build with them: a factory that refuses a value (a FIFO depth that
    is not a power of two, a router outside the grid) raises ``ValueError``,
    which becomes a :class:`UsageError` naming the parameters.
    """
    given = _parse_params(items)
    if not given:
        return {}
    if block_name == "all":
        raise UsageError(f"--param {' '.join(items)}: parameters apply to one block; give --block NAME "
                         f"(--block all exports every block with its defaults)")
    spec = block(block_name)
    accepted = factory_parameters(block_name)
    defaults = {**{n: p.default for n, p in accepted.items()}, **spec.default_params}

    def described():
        if not accepted:
            return f"block {block_name} takes no parameters"
        return f"block {block_name} takes " + ", ".join(f"{n} (default {defaults[n]!r})" for n in accepted)

    params = {}
    for name, text in given.items():
        if name not in accepted:
            raise UsageError(f"--param {name}={text}: unknown parameter {name!r}; {described()}")
        kinds = _parameter_types(accepted[name])
        try:
            params[name] = _convert_param(text, kinds)
        except ValueError as exc:
            raise UsageError(f"--param {name}={text}: parameter {name} of block {block_name} must be "
                             f"{exc}, got {text!r}") from None
    _trial_build(spec, cfg, params, "--param " + " ".join(f"{n}={t}" for n, t in given.items()))
    return params


def _trial_build(spec, cfg, params: dict, given: str) -> None:
    """Construct the block once with ``params`` so its own range checks run before any export or
    tool run; the component is dropped unelaborated, without Amaranth's unused-component warning.
    ``given`` is the option that brought the values (``--param depth=3``, ``--set ...``)."""
    import gc
    import warnings

    from amaranth.hdl import UnusedElaboratable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        try:
            spec.build(cfg, **params)
        except ValueError as exc:  # the block's own checks, e.g. a FIFO depth that is not a power of two
            raise UsageError(f"{given}: block {spec.name} refuses it: {exc}") from None
        finally:
            gc.collect()  # the warning comes when the component is freed: free it inside the filter


def _output_folder(option: str, folder) -> None:
    """Create the folder an output goes to; a path that cannot be one is a :class:`UsageError`."""
    if folder is None:
        return
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"{option}: {folder} is a file, not a folder") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot create the folder {folder} ({exc.strerror})") from None


# -- config -------------------------------------------------------------------

def cmd_config(args) -> int:
    cfg = _config(args)
    _output_folder("--output", Path(args.output).parent if args.output else None)
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

def _selected_blocks(args) -> tuple:
    """(configuration, block names, checked parameters) of ``--preset``, ``--block``, ``--param``."""
    cfg = _config(args)
    _check_block(args.block)
    names = [n for n in block_names() if block(n).in_all] if args.block == "all" else [args.block]
    params = block_params(args.block, args.param, cfg)
    if args.set and not args.param:
        # A block's own shape rules (the engine's mm_inner == mm_cols) refuse a configuration
        # only when it is built: build each block once so they speak before any export or tool.
        for name in names:
            _trial_build(block(name), cfg, {}, "--set " + " ".join(args.set))
    return cfg, names, params


def cmd_verilog(args) -> int:
    from tessera.sim.export import export_block, write_export

    cfg, names, params = _selected_blocks(args)
    _output_folder("--output", args.output)
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

def _fpga_folder(name: str, cfg, args) -> str:
    """The report folder of one block: ``block-preset-device``, and the configuration's short
    fingerprint when ``--set`` changed it, so runs of different overrides keep their own reports."""
    folder = f"{name}-{cfg.name}-{args.device}"
    return f"{folder}-{cfg.fingerprint()[:8]}" if args.set else folder


def cmd_fpga(args) -> int:
    from tessera.sim.fpga import FpgaToolError, format_report, run_fpga
    from tessera.sim.harness import BUILD_ROOT

    overrides = {key.strip(): value for key, _, value in (item.partition("=") for item in args.set or [])}
    if args.board:
        from tessera.sim.fpga_board import run_board_command

        _output_folder("--output", args.output)
        _output_folder("--json", Path(args.json).parent if args.json else None)
        return run_board_command(_config(args), args, overrides)
    cfg, names, params = _selected_blocks(args)
    _output_folder("--output", args.output)
    _output_folder("--json", Path(args.json).parent if args.json else None)
    reports = []
    for name in names:
        try:
            report = run_fpga(name, cfg, args.device, params if args.block != "all" else None,
                              out_dir=Path(args.output or BUILD_ROOT / "fpga") / _fpga_folder(name, cfg, args),
                              place=not args.no_place, freq_mhz=args.freq, seed=args.seed,
                              mapper=args.mapper or "abc9", overrides=overrides)
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
    _output_folder("--output", Path(args.output).parent)
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
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="configuration override on top of the preset, e.g. engine.mm_cols=2 (repeatable)")
    p.set_defaults(func=cmd_config)

    p = subparsers.add_parser("verilog", help="export Verilog of a block (or all) and a port map")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--block", default="all", help=f"block name or 'all'")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="block parameter override")
    p.add_argument("-o", "--output", default="build/verilog", help="output directory")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="configuration override on top of the preset, e.g. engine.mm_cols=2 (repeatable)")
    p.set_defaults(func=cmd_verilog)

    p = subparsers.add_parser("fpga", help="synthesise and place a block for ECP5; LUT4/FF/BRAM/DSP/Fmax")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("--block", required=True, help="block name or 'all'")
    p.add_argument("--device", default="ecp5-85f", choices=DEVICES, help="target FPGA")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="block parameter override")
    p.add_argument("--freq", type=positive_float, help="target clock for place and route (MHz)")
    p.add_argument("--seed", type=int_at_least(0), default=1, help="nextpnr placement seed")
    p.add_argument("--no-place", action="store_true", help="synthesis counts only, no Fmax")
    p.add_argument("--mapper", choices=("abc9", "abc"),
                   help="yosys LUT mapper (default abc9 for a block, abc with --board; abc: faster on very "
                        "large flat designs such as the engine)")
    p.add_argument("--board", choices=BOARDS,
                   help="build the whole chip (--block chip) for this board: board top, place and route on "
                        "its pins, bitstream (docs/fpga.md)")
    p.add_argument("--allow-timing-fail", action="store_true",
                   help="with --board: write the bitstream even when the clock is not met")
    p.add_argument("-o", "--output", help="output directory (default build/fpga/...)")
    p.add_argument("--json", help="also write all reports to this JSON file (directories are created)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="configuration override on top of the preset, e.g. engine.mm_cols=2 (repeatable)")
    p.set_defaults(func=cmd_fpga)

    p = subparsers.add_parser("harness-bench", help="show the Verilator build cache: cold build vs reuse")
    p.add_argument("-o", "--output", default="build/bench/harness/harness.json")
    p.set_defaults(func=cmd_harness_bench)

    p = subparsers.add_parser("sim-summary", help="print the summary table of the last regression")
    p.set_defaults(func=cmd_sim_summary)
