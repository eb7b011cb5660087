"""NoC benchmark: latency against offered load, saturation, zero-load latency, multicast.

One Verilator build per network (4x4 and 8x8, mesh and torus, 64-bit flits);
each runs :mod:`sim.noc.cocotb_bench` and writes JSON.  This module collects
the results into ``build/bench/noc/noc_bench.json``, a Markdown table
(``noc_bench.md``) and PNG plots of latency against offered load.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hw.config import preset
from sim.harness import BUILD_ROOT, run_cocotb
from sim.noc.model import PATTERNS, channel_load_bound

__all__ = ["NETWORKS", "run_bench", "format_table"]



#: (label, width, height, topology, vcs per class)
NETWORKS = {
    "4x4-mesh": (4, 4, "mesh", 2),
    "4x4-torus": (4, 4, "torus", 2),
    "8x8-mesh": (8, 8, "mesh", 2),
    "8x8-torus": (8, 8, "torus", 2),
}
FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.2)
QUICK_FRACTIONS = (0.1, 0.5, 0.8, 1.0, 1.2)


#: Extra networks selectable with --network (not run by default): the
#: ``tiny`` preset itself, whose model the tests already build.
EXTRA_NETWORKS = {"tiny-3x2-mesh": None}


def network_config(label: str, flit_width: int = 64):
    if label == "tiny-3x2-mesh":
        return preset("tiny")
    w, h, topo, vpc = NETWORKS[label]
    return preset("tiny", noc={"width": w, "height": h, "topology": topo, "vcs_per_class": vpc,
                               "flit_width": flit_width})


def run_bench(networks=None, patterns=PATTERNS, quick=False, data_flits=4, out_dir=None,
              log=print) -> dict:
    out_dir = Path(out_dir or BUILD_ROOT / "bench" / "noc")
    out_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for label in networks or NETWORKS:
        cfg = network_config(label)
        bounds = {p: channel_load_bound(cfg.noc, p) for p in patterns}
        plan = {"label": label, "patterns": list(patterns), "bounds": bounds,
                "fractions": list(QUICK_FRACTIONS if quick else FRACTIONS),
                "data_flits": data_flits, "warmup": 1000 if quick else 2000,
                "window": 3000 if quick else 8000, "multicast": True}
        out = out_dir / f"{label}.json"
        log(f"[noc-bench] {label}: building/running (bounds {', '.join(f'{p} {b:.3f}' for p, b in bounds.items())})")
        start = time.monotonic()
        res = run_cocotb("noc_testbench", "sim.noc.cocotb_bench", config=cfg, seed=1,
                         env={"NOC_BENCH_PLAN": json.dumps(plan), "NOC_BENCH_OUT": str(out),
                              "COCOTB_LOG_LEVEL": "WARNING"})
        data = json.loads(out.read_text())
        data["build_seconds"] = res.model.build_seconds
        data["wall_seconds"] = time.monotonic() - start
        results[label] = data
        log(f"[noc-bench] {label}: done in {data['wall_seconds']:.0f} s")
    (out_dir / "noc_bench.json").write_text(json.dumps(results, indent=1))
    table = format_table(results)
    (out_dir / "noc_bench.md").write_text(table + "\n")
    plot(results, out_dir)
    return results


def format_table(results: dict) -> str:
    lines = ["| network | pattern | channel-load bound | saturation (flits/cycle/node) | fraction of bound | latency at 10% load |",
             "|---|---|---|---|---|---|"]
    for label, data in results.items():
        for pattern, curve in data["curves"].items():
            low = curve["points"][0]["latency"]
            lines.append(f"| {label} | {pattern} | {curve['bound']:.3f} | {curve['saturation']:.3f} | "
                         f"{curve['fraction_of_bound'] * 100:.0f}% | {low:.1f} |")
    lines += ["", "| network | zero-load cycles/hop (fit) | intercept | header flits | packet flits |",
              "|---|---|---|---|---|"]
    for label, data in results.items():
        fit = data["zero_load_fit"]
        lines.append(f"| {label} | {fit['cycles_per_hop']:.2f} | {fit['intercept']:.2f} | "
                     f"{data['header_flits']} | {data['packet_flits']} |")
    lines += ["", "| network | mode | injections | link flits | latency to last delivery |",
              "|---|---|---|---|---|"]
    for label, data in results.items():
        mc = data.get("multicast")
        if not mc:
            continue
        for mode in ("multicast", "unicast_copies"):
            r = mc[mode]
            lines.append(f"| {label} | {mode} ({mc['payload_bytes']} B) | {r['injections']} | "
                         f"{r['link_flits']} ({r['link_traversals_per_flit']:.0f} per flit) | "
                         f"{r['latency_to_last']} |")
    return "\n".join(lines)


def plot(results: dict, out_dir: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for label, data in results.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for pattern, curve in data["curves"].items():
            pts = [p for p in curve["points"] if p["packets"]]
            ax.plot([p["offered"] for p in pts], [p["latency"] for p in pts], marker="o", label=pattern)
            ax.axvline(curve["bound"], linestyle=":", linewidth=0.8,
                       color=ax.lines[-1].get_color())
        ax.set_xlabel("offered load (flits/cycle/node)")
        ax.set_ylabel("mean packet latency (cycles)")
        ax.set_yscale("log")
        ax.set_title(f"Tessera NoC {label}, {data['packet_flits']}-flit packets "
                     "(dotted: channel-load bound)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"latency_{label}.png", dpi=100)
        plt.close(fig)
