"""Regression summary: turns the harness ledger into a table and JSON.

Every :func:`sim.harness.run_cocotb` call appends one line to
``build/results/ledger.jsonl``; ``make sim`` and ``make test`` clear it first
and print this summary last.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from pathlib import Path

from tessera.sim.harness import BUILD_ROOT, ledger_path

__all__ = ["summarise", "format_table", "main"]


def summarise(path: Path | None = None) -> list:
    path = path or ledger_path()
    rows: "OrderedDict[str, dict]" = OrderedDict()
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        row = rows.setdefault(rec["block"], {"block": rec["block"], "runs": 0, "tests": 0, "passed": 0,
                                             "sim_cycles": 0, "wall_seconds": 0.0, "builds": 0,
                                             "build_seconds": 0.0})
        row["runs"] += 1
        row["tests"] += rec["tests"]
        row["passed"] += rec["passed"]
        row["sim_cycles"] += rec["sim_cycles"]
        row["wall_seconds"] += rec["wall_seconds"]
        if rec.get("rebuilt"):
            row["builds"] += 1
            row["build_seconds"] += rec["build_seconds"]
    return sorted(rows.values(), key=lambda r: r["block"])


def format_table(rows: list) -> str:
    header = ("block", "tests", "passed", "simulated cycles", "sim wall (s)", "cycles/s",
              "builds", "build (s)")
    body = []
    for r in rows:
        rate = r["sim_cycles"] / r["wall_seconds"] if r["wall_seconds"] else 0
        body.append((r["block"], str(r["tests"]), str(r["passed"]), f"{r['sim_cycles']:,}",
                     f"{r['wall_seconds']:.1f}", f"{rate:,.0f}", str(r["builds"]),
                     f"{r['build_seconds']:.1f}"))
    if rows:
        tc = sum(r["sim_cycles"] for r in rows)
        tw = sum(r["wall_seconds"] for r in rows)
        body.append(("TOTAL", str(sum(r["tests"] for r in rows)), str(sum(r["passed"] for r in rows)),
                     f"{tc:,}", f"{tw:.1f}", f"{(tc / tw if tw else 0):,.0f}",
                     str(sum(r["builds"] for r in rows)),
                     f"{sum(r['build_seconds'] for r in rows):.1f}"))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    sep = "  "
    lines = [sep.join(h.ljust(w) for h, w in zip(header, widths)),
             sep.join("-" * w for w in widths)]
    for b in body:
        lines.append(sep.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths))))
    return "\n".join(lines)


def main(argv=None) -> int:
    rows = summarise()
    out = BUILD_ROOT / "results" / "summary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print()
    print("Tessera simulation summary (Verilator, cocotb)")
    print(format_table(rows) if rows else "(no simulation runs recorded)")
    print(f"\nJSON: {out}")
    failed = sum(r["tests"] - r["passed"] for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
