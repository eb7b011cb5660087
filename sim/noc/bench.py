"""NoC benchmark: latency against offered load, saturation, zero-load latency, multicast.

One Verilator build of ``noc_testbench`` per network (4x4 and 8x8, mesh and
torus, 64-bit flits, the ``tiny`` preset otherwise); each runs
:mod:`sim.noc.cocotb_bench`.  This module collects the results into
``build/bench/noc/noc_bench.json``, a Markdown table (``noc_bench.md``) and
PNG plots of latency against offered load (``latency_<network>.png``), and
echoes the simulation's progress lines while it runs.

Router variants (deeper buffers, more VCs) are selected with
``overrides={"buffer_depth": 8}`` etc.; the label then says so
(``4x4-mesh-buffer_depth8``).  Mixed traffic: ``mc_share`` (a fraction of the
request packets, in 1/256 steps) are multicasts to rectangles of
``mc_sizes``; the label ends in ``-mc<share in 1/256>``, saturation is then an
injection load and the results add latency and saturation per delivery kind
(unicast request, unicast response, multicast copy).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from tessera.hw.config import preset
from tessera.sim.harness import BUILD_ROOT, run_cocotb
from tessera.sim.noc.model import PATTERNS, channel_load_bound
from tessera.sim.noc.traffic import MC_RECTANGLES, check_mc_sizes

__all__ = ["NETWORKS", "EXTRA_NETWORKS", "network_config", "run_bench", "format_table"]

#: label -> (width, height, topology)
NETWORKS = {
    "4x4-mesh": (4, 4, "mesh"),
    "4x4-torus": (4, 4, "torus"),
    "8x8-mesh": (8, 8, "mesh"),
    "8x8-torus": (8, 8, "torus"),
}
#: Selectable with --network, not run by default: the ``tiny`` preset itself.
EXTRA_NETWORKS = {"tiny-3x2-mesh": None}
#: Default router parameters of the benchmark networks: 16-flit buffers (an
#: ECP5 LUT RAM is 16 deep, so 16 costs no more than 4) and two VC sets per
#: lane: 2 VCs per lane on a mesh, 4 on a torus (x 2 dateline VCs).
DEFAULTS = {"flit_width": 64, "buffer_depth": 16}
VCS_PER_CLASS = {"mesh": 2, "torus": 4}
#: NocConfig fields a variant may override.
TUNABLE = ("buffer_depth", "vcs_per_class", "flit_width")

#: Networks above this many nodes are compiled at -O0 (``fast_build``): an 8x8
#: testbench is over 100 MB of C++, about 40 CPU-minutes at -O2.  The 4x4
#: ones too: at -O0 they build in half the time and still simulate a load
#: point in seconds (the models are cycle-identical).
FAST_BUILD_ABOVE_NODES = 0

#: Load points, as fractions of the channel-load bound, and the bisection
#: points added between the highest stable point and the next one
#: (:func:`tessera.sim.noc.cocotb_bench.stable`): 3 refine a 0.1 step to 0.0125.
FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2)
REFINE = 3
QUICK_FRACTIONS = (0.1, 0.5, 0.8, 1.0, 1.2)
QUICK_REFINE = 2
#: Cycles per load point: warm-up, then the measurement window (then a drain).
WARMUP = 1000
WINDOW = 10_000

QUICK_HELP = (f"{len(QUICK_FRACTIONS)} load points per pattern ({', '.join(map(str, QUICK_FRACTIONS))} "
              f"of the bound) and {QUICK_REFINE} bisection points near saturation, instead of "
              f"{len(FRACTIONS)} and {REFINE}; the same {WARMUP}-cycle warm-up and "
              f"{WINDOW}-cycle window per point")


def network_config(label: str, overrides: dict | None = None):
    overrides = dict(overrides or {})
    bad = sorted(set(overrides) - set(TUNABLE))
    if bad:
        raise ValueError(f"noc-bench can override {TUNABLE}, got {bad!r}")
    if label == "tiny-3x2-mesh":
        return preset("tiny", noc=overrides) if overrides else preset("tiny")
    try:
        w, h, topo = NETWORKS[label]
    except KeyError:
        raise ValueError(f"unknown network {label!r}; known: {sorted(NETWORKS) + sorted(EXTRA_NETWORKS)}") \
            from None
    return preset("tiny", noc={"width": w, "height": h, "topology": topo, **DEFAULTS,
                               "vcs_per_class": VCS_PER_CLASS[topo], **overrides})


#: Data flits per packet of the sweeps unless ``data_flits`` says otherwise.
DATA_FLITS = 4


def variant_label(label: str, overrides: dict | None, mc_share: int = 0,
                  data_flits: int = DATA_FLITS) -> str:
    """``label`` plus what differs from the defaults: router overrides, another packet
    length (``-data3``), a multicast share (``-mc64``, /256)."""
    return (label + "".join(f"-{k}{v}" for k, v in sorted((overrides or {}).items()))
            + (f"-data{data_flits}" if data_flits != DATA_FLITS else "")
            + (f"-mc{mc_share}" if mc_share else ""))


def multicast_share(fraction: float) -> int:
    """A share of the request packets (0..1) in the generators' 1/256 steps (at most 255/256)."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"multicast share must be in [0, 1], got {fraction!r}")
    return min(255, round(fraction * 256))


class _Tail(threading.Thread):
    """Echo lines appended to ``path`` (the simulation's progress) until stopped.

    Writes to a duplicate of the terminal's stdout taken before the run:
    :func:`run_cocotb` redirects file descriptors 1 and 2 into the run's log
    while the simulator runs.
    """

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path = path
        self.fd = os.dup(1)
        self.done = threading.Event()

    def run(self):
        pos = 0
        try:
            while True:
                finished = self.done.wait(2.0)
                if self.path.exists():
                    with open(self.path) as f:
                        f.seek(pos)
                        text = f.read()
                        pos = f.tell()
                    if text:
                        os.write(self.fd, text.encode())
                if finished:
                    return
        finally:
            os.close(self.fd)


def run_bench(networks=None, patterns=PATTERNS, quick=False, data_flits=DATA_FLITS, out_dir=None,
              overrides: dict | None = None, fast_build: bool | None = None, jobs: int = 1,
              summary: bool = True, mc_share: int = 0, mc_sizes=MC_RECTANGLES, log=print) -> dict:
    """Run the benchmark on ``networks``; ``jobs`` > 1 runs networks in parallel processes.

    ``mc_share`` (0..255, /256 of the request packets) mixes in multicasts to
    rectangles of ``mc_sizes`` (columns, rows) pairs."""
    if not isinstance(mc_share, int) or not 0 <= mc_share <= 255:
        raise ValueError(f"mc_share must be an integer in 0..255 (/256), got {mc_share!r}")
    mc_sizes = check_mc_sizes(mc_sizes)
    if data_flits < 0:
        raise ValueError(f"data_flits must be >= 0, got {data_flits!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    # Absolute: the simulator runs in its own directory.
    out_dir = Path(out_dir or BUILD_ROOT / "bench" / "noc").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    networks = list(networks or NETWORKS)
    results = {}
    summary_path = out_dir / "noc_bench.json"
    started = time.monotonic()
    if jobs > 1 and len(networks) > 1:
        if mc_share:
            raise ValueError("mixed traffic (mc_share) runs one network at a time (jobs=1)")
        results = _run_parallel(networks, patterns, quick, data_flits, out_dir, overrides,
                                fast_build, jobs, log)
        networks = []
    for label in networks:
        cfg = network_config(label, overrides)
        name = variant_label(label, overrides, mc_share, data_flits)
        if mc_share:
            check_mc_sizes(mc_sizes, cfg.noc)
        bounds = {p: channel_load_bound(cfg.noc, p) for p in patterns}
        plan = {"label": name, "patterns": list(patterns), "bounds": bounds,
                "fractions": list(QUICK_FRACTIONS if quick else FRACTIONS),
                "refine": QUICK_REFINE if quick else REFINE,
                "data_flits": data_flits, "warmup": WARMUP, "window": WINDOW, "multicast": True,
                "mc_share": mc_share, "mc_sizes": [list(s) for s in mc_sizes]}
        fast = (cfg.noc.width * cfg.noc.height > FAST_BUILD_ABOVE_NODES) if fast_build is None \
            else fast_build
        out = out_dir / f"{name}.json"
        progress = out_dir / f"{name}.progress"
        progress.unlink(missing_ok=True)
        log(f"[noc-bench] {name}: building/running ({cfg.noc.width}x{cfg.noc.height} "
            f"{cfg.noc.topology}, {cfg.noc.vcs_per_class} VCs per lane, buffers "
            f"{cfg.noc.buffer_depth} flits; bounds "
            f"{', '.join(f'{p} {b:.3f}' for p, b in bounds.items())}); "
            f"{time.monotonic() - started:.0f} s so far")
        start = time.monotonic()
        sys_stdout_flush()
        tail = _Tail(progress)
        tail.start()
        try:
            res = run_cocotb("noc_testbench", "tessera.sim.noc.cocotb_bench", config=cfg, seed=1,
                             fast_build=fast,
                             env={"NOC_BENCH_PLAN": json.dumps(plan), "NOC_BENCH_OUT": str(out),
                                  "NOC_BENCH_PROGRESS": str(progress),
                                  "COCOTB_LOG_LEVEL": "WARNING"})
        finally:
            tail.done.set()
            tail.join()
        data = json.loads(out.read_text())
        data["build_seconds"] = res.model.build_seconds
        data["rebuilt"] = res.model.rebuilt
        data["fast_build"] = fast
        data["sim_cycles"] = res.sim_cycles
        data["wall_seconds"] = time.monotonic() - start
        data["noc"] = {k: getattr(cfg.noc, k) for k in ("width", "height", "topology", "flit_width",
                                                        "vcs_per_class", "buffer_depth", "num_vcs")}
        data["quick"] = quick
        if mc_share:
            data["mixed"] = {"mc_share": mc_share, "mc_sizes": [list(s) for s in mc_sizes]}
        out.write_text(json.dumps(data, indent=1))
        results[name] = data
        log(f"[noc-bench] {name}: done in {data['wall_seconds']:.0f} s "
            f"(model build {data['build_seconds']:.0f} s{'' if data['rebuilt'] else ', cached'}, "
            f"{res.sim_cycles} cycles simulated)")
    if not summary:
        return results
    # Keep the networks/variants of earlier runs in the summary (re-read now:
    # several runs may share the directory); this run replaces its own.
    merged = {}
    if summary_path.exists():
        try:
            merged = json.loads(summary_path.read_text())
        except json.JSONDecodeError:
            merged = {}
    merged.update(results)
    summary_path.write_text(json.dumps(merged, indent=1))
    (out_dir / "noc_bench.md").write_text(format_table(merged) + "\n")
    plot(results, out_dir)
    return merged


def _run_parallel(networks, patterns, quick, data_flits, out_dir, overrides, fast_build, jobs,
                  log) -> dict:
    """One ``tessera noc-bench --network X`` process per network, ``jobs`` at a time."""
    import subprocess
    import sys

    def command(label):
        cmd = [sys.executable, "-m", "tessera.sim.cli", "noc-bench", "--network", label, "--jobs", "1",
               "--no-summary", "--data-flits", str(data_flits), "--out", str(out_dir)]
        cmd += [a for p in patterns for a in ("--pattern", p)]
        cmd += [a for k, v in (overrides or {}).items() for a in ("--param", f"{k}={v}")]
        if quick:
            cmd.append("--quick")
        if fast_build is not None:
            cmd.append("--fast-build" if fast_build else "--no-fast-build")
        return cmd

    log(f"[noc-bench] {len(networks)} networks, {jobs} at a time")
    # Largest networks first: they take longest.
    pending = sorted(networks, key=lambda l: -network_config(l, overrides).noc.width
                     * network_config(l, overrides).noc.height)
    running, failed = {}, []
    while pending or running:
        while pending and len(running) < jobs:
            label = pending.pop(0)
            running[label] = subprocess.Popen(command(label))
        time.sleep(2)
        for label, proc in list(running.items()):
            if proc.poll() is not None:
                del running[label]
                if proc.returncode:
                    failed.append(label)
    if failed:
        raise RuntimeError(f"noc-bench failed on {failed}; see the output above")
    results = {}
    for label in networks:
        name = variant_label(label, overrides, data_flits=data_flits)
        results[name] = json.loads((out_dir / f"{name}.json").read_text())
    return results


def sys_stdout_flush():
    import sys
    sys.stdout.flush()


def _latency_near(points: list, fraction: float) -> str:
    best = min(points, key=lambda p: abs(p["offered_fraction_of_bound"] - fraction))
    return f"{best['latency']:.1f}"


def format_table(results: dict) -> str:
    """Markdown tables of the results.  Saturation follows BookSim's rule (the
    highest stable offered load: >= 97 % accepted, nothing dropped, latency not
    growing); "peak accepted" is the highest delivered load of any point,
    overload included, which is not a saturation throughput.  Results of
    earlier versions (no stability data) show "-" for the new columns."""
    lines = ["| network | pattern | channel-load bound | saturation (flits/cycle/node) | "
             "fraction of bound | latency at saturation | first unstable load offered | "
             "peak accepted, any load | latency at 10% load | latency at 50% load | "
             "dropped at source, all points |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, data in results.items():
        for pattern, curve in data["curves"].items():
            pts = curve["points"]
            if "peak_accepted" in curve:
                unstable = curve.get("first_unstable_offered")
                sat = (f"{curve['saturation']:.3f} | {curve['fraction_of_bound'] * 100:.0f}% | "
                       + (f"{curve['latency_at_saturation']:.1f}"
                          if curve["latency_at_saturation"] is not None else "-")
                       + (f" | {unstable:.3f}" if unstable is not None else " | -")
                       + f" | {curve['peak_accepted']:.3f}")
                dropped = f"{curve['dropped_at_source']}"
            else:
                sat = f"- | - | - | - | {curve['saturation']:.3f}"
                dropped = "-"
            lines.append(f"| {label} | {pattern} | {curve['bound']:.3f} | {sat} | "
                         f"{_latency_near(pts, 0.1)} | {_latency_near(pts, 0.5)} | {dropped} |")
    mixed = [(label, data) for label, data in results.items() if data.get("mixed")]
    if mixed:
        lines += ["", "Mixed traffic (saturation above is an injection load, each multicast "
                  "counted once; latency per delivery kind below):", "",
                  "| network | pattern | multicast share | rectangles | kind | own saturation "
                  "(offered) | latency at own saturation | latency at network saturation | "
                  "ejected load at network saturation | latency at lowest load |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for label, data in mixed:
            share = f"{data['mixed']['mc_share']}/256"
            rects = " ".join(f"{w}x{h}" for w, h in data["mixed"]["mc_sizes"])
            for pattern, curve in data["curves"].items():
                for kind, k in curve.get("kinds", {}).items():
                    def num(v, fmt="{:.1f}"):
                        return "-" if v is None else fmt.format(v)
                    lines.append(f"| {label} | {pattern} | {share} | {rects} | {kind} | "
                                 f"{k['saturation_offered']:.3f} | {num(k['latency_at_own_saturation'])} | "
                                 f"{num(k['latency_at_saturation'])} | "
                                 f"{num(k['accepted_at_saturation'], '{:.3f}')} | "
                                 f"{num(k['latency_lowest_load'])} |")
    lines += ["", "| network | zero-load cycles/hop (fit) | fixed overhead (cycles) | header flits | "
              "packet flits (sweeps) |", "|---|---|---|---|---|"]
    for label, data in results.items():
        zl = data["zero_load"]
        lines.append(f"| {label} | {zl['cycles_per_hop']:.2f} | {zl['intercept']:.2f} | "
                     f"{data['header_flits']} | {data['packet_flits']} |")
    lines += ["", "| network | broadcast from (0,0) | injections | injected flits | link flits "
              "(per packet flit) | tree model links | cycles to last delivery |",
              "|---|---|---|---|---|---|---|"]
    for label, data in results.items():
        mc = data.get("multicast")
        if not mc:
            continue
        for mode in ("multicast", "unicast_copies"):
            r = mc[mode]
            lines.append(f"| {label} | {mode.replace('_', ' ')} ({mc['payload_bytes']} B) | "
                         f"{r['injections']} | {r['injected_flits']} | {r['link_flits']} "
                         f"({r['link_traversals_per_flit']:.0f}) | {mc['tree_links_model']} | "
                         f"{r['latency_to_last']} |")
    return "\n".join(lines)


def plot(results: dict, out_dir: Path) -> None:
    try:
        import matplotlib
    except ImportError:  # plotting is the optional `plot` extra; tables and JSON are written anyway
        print("[noc-bench] matplotlib is not installed (pip install 'tessera[plot]'): no PNG curves")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for label, data in results.items():
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for pattern, curve in data["curves"].items():
            pts = [p for p in curve["points"] if p["packets"]]
            line, = ax.plot([p["offered"] for p in pts], [p["latency"] for p in pts], marker="o",
                            label=f"{pattern} (sat. {curve['fraction_of_bound']:.0%} of bound)")
            ax.axvline(curve["bound"], linestyle=":", linewidth=0.8, color=line.get_color())
        ax.set_xlabel("offered load (flits/cycle/node)")
        ax.set_ylabel("mean packet latency (cycles, incl. source queue)")
        ax.set_yscale("log")
        ax.set_title(f"Tessera NoC {label}, {data['packet_flits']}-flit packets\n"
                     "(dotted: channel-load bound)", fontsize=10)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / f"latency_{label}.png", dpi=100)
        plt.close(fig)
