"""``tessera run-onnx``: run an ONNX model on the simulated chip through ttnn.

::

    tessera run-onnx mlp.onnx --input x=x.npy [--output-dir DIR] [--check] [--trace DIR] [--preset tiny]

Every refusal (an input option that is not NAME=FILE.npy, a file numpy cannot
load, an unsupported op or attribute, an input of the wrong shape) comes
before the chip is opened.  The run prints each node's ttnn ops and chip
cycles, each output's shape, and with ``--check`` its Pearson correlation
against ``onnx.reference.ReferenceEvaluator`` (exit status 1 when one is below
``--pcc``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

DEFAULT_PCC = 0.99


def _usage_error(message: str):
    from tessera.sim.cli import UsageError
    return UsageError(message)


def parse_inputs(specs) -> dict:
    """``NAME=FILE.npy`` options -> name -> array, refusing a malformed option, a repeated name, a bad file."""
    arrays = {}
    for spec in specs or ():
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise _usage_error(f"--input {spec!r}: expected NAME=FILE.npy")
        if name in arrays:
            raise _usage_error(f"--input {spec!r}: input {name!r} is given twice")
        if not Path(path).is_file():
            raise _usage_error(f"--input {spec!r}: no such file {path!r}")
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise _usage_error(f"--input {spec!r}: not a numpy .npy file ({exc})") from None
        if not isinstance(array, np.ndarray):
            raise _usage_error(f"--input {spec!r}: an .npz archive; give one array per .npy file")
        arrays[name] = array
    return arrays


def output_file_name(name: str) -> str:
    """The .npy file of an output: its name with anything but letters, digits, '.', '-', '_' as '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy"


def _table(rows, headers) -> list:
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) if i < len(headers) - 1 else str(h).rjust(w)
                       for i, (h, w) in enumerate(zip(headers, widths)))]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) if i < len(row) - 1 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))))
    return lines


def _cmd_run_onnx(args) -> int:
    from tessera.sw.onnx.graph import check
    from tessera.sw.onnx.reference import pcc, reference_outputs
    from tessera.sw.onnx.runner import run

    inputs = parse_inputs(args.input)
    for name, array in inputs.items():
        if array.dtype.kind != "f":
            raise _usage_error(f"--input {name}=...: a {array.dtype} array; only float arrays are supported")
    plan = check(args.model, {name: array.shape for name, array in inputs.items()})
    out_dir = Path(args.output_dir) if args.output_dir else None
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise _usage_error(f"--output-dir {args.output_dir}: exists and is not a folder")
    trace_dir = Path(args.trace) if args.trace else None
    if trace_dir is not None and trace_dir.exists() and not trace_dir.is_dir():
        raise _usage_error(f"--trace {args.trace}: exists and is not a folder")

    from tessera import ttnn
    print(f"run-onnx: {args.model}: {len(plan.steps)} nodes to run, inputs "
          + ", ".join(f"{name} {list(array.shape)}" for name, array in inputs.items()))
    saved_trace = os.environ.get("TESSERA_TRACE_DIR")
    if trace_dir is not None:
        trace_dir.mkdir(parents=True, exist_ok=True)
        os.environ["TESSERA_TRACE_DIR"] = str(trace_dir.resolve())
    profile = []
    try:
        device = ttnn.open_device(0, preset_name=args.preset, print_console=False)
        try:
            outputs = run(plan, inputs, device, profile=profile)
        finally:
            ttnn.close_device(device)
    finally:
        if trace_dir is not None:
            if saved_trace is None:
                os.environ.pop("TESSERA_TRACE_DIR", None)
            else:
                os.environ["TESSERA_TRACE_DIR"] = saved_trace

    if trace_dir is not None:  # which timelines belong to which node
        rows = [(p["node"], p["op_type"], " ".join(p["ttnn_ops"]) or "-",
                 " ".join(str(n) for n in p["programs"]) or "-", p["cycles"]) for p in profile]
        rows.append(("total", "", "", "", sum(p["cycles"] for p in profile)))
        headers = ("node", "op", "ttnn ops", "programs", "cycles")
    else:
        rows = [(p["node"], p["op_type"], " ".join(p["ttnn_ops"]) or "-", p["cycles"]) for p in profile]
        rows.append(("total", "", "", sum(p["cycles"] for p in profile)))
        headers = ("node", "op", "ttnn ops", "cycles")
    for line in _table(rows, headers):
        print(line)
    if trace_dir is not None:
        print(f"timelines: {trace_dir}/program-<n>.json (ui.perfetto.dev) and program-<n>.png, "
              f"n as in the programs column")

    expected = reference_outputs(plan.model, inputs) if args.check else {}
    status = 0
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for name, array in outputs.items():
        line = f"output {name} {list(array.shape)} {array.dtype}"
        if args.check:
            score = pcc(array, expected[name])
            ok = score >= args.pcc
            status = status if ok else 1
            line += f"  PCC {score:.5f} against onnx.reference ({'ok' if ok else f'below {args.pcc}'})"
        if out_dir is not None:
            path = out_dir / output_file_name(name)
            np.save(path, array)
            line += f"  -> {path}"
        print(line)
    return status


def _pcc_threshold(text: str) -> float:
    import argparse
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in -1..1, got {text!r}")
    return value


def register(subparsers) -> None:
    from tessera.hw.config import preset_names
    p = subparsers.add_parser("run-onnx", help="run an ONNX model on the simulated chip through the ttnn ops")
    p.add_argument("model", metavar="MODEL.onnx", help="the ONNX model file")
    p.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                   help="a graph input from a numpy .npy file (once per input)")
    p.add_argument("--output-dir", default=None, metavar="DIR", help="write each output to DIR/<name>.npy")
    p.add_argument("--check", action="store_true",
                   help="compare every output against onnx.reference.ReferenceEvaluator (Pearson correlation)")
    p.add_argument("--pcc", type=_pcc_threshold, default=DEFAULT_PCC,
                   help=f"the correlation --check requires (default {DEFAULT_PCC})")
    p.add_argument("--trace", default=None, metavar="DIR",
                   help="write every program's timeline to DIR (program-N.json for ui.perfetto.dev, and .png)")
    p.add_argument("--preset", default="tiny", choices=preset_names(), help="chip configuration (default tiny)")
    p.set_defaults(func=_cmd_run_onnx)
