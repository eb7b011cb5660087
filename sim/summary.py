"""Regression summary: turns the harness ledger into a table and JSON.

Every :func:`tessera.sim.harness.run_cocotb` call is one *cocotb run*: one
Verilator simulation of one hardware block executing one or more *cocotb
tests*, started by one pytest test.  Each run appends a line to
``build/results/ledger.jsonl``; ``make sim`` and ``make test`` clear it
first and print this summary last.  The table counts cocotb runs and cocotb
tests per hardware block, not pytest tests: most pytest tests (Amaranth
simulator units, the toolchain, goldens) start no Verilator simulation, and
one pytest test may start several runs.  The pytest counts of the session
come from ``results/pytest.json`` (written by the repository's conftest.py)
when the ledger holds exactly that session.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections import Counter, OrderedDict
from pathlib import Path

from tessera.sim.harness import BUILD_ROOT, ledger_path

__all__ = ["summarise", "format_table", "format_checks", "pytest_session", "main"]

#: The line width the per-block lists are wrapped to.
WIDTH = 100
#: Stands for the runs started by a command (a bench, ``tessera run-elf``), not by pytest.
OUTSIDE_PYTEST = "(outside pytest)"


def _records(path: Path) -> list:
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


def summarise(path: Path | None = None) -> list:
    """One row per hardware block: runs, cocotb tests, cycles, times, builds, and what ran."""
    path = path or ledger_path()
    rows: "OrderedDict[str, dict]" = OrderedDict()
    if not path.exists():
        return []
    for rec in _records(path):
        row = rows.setdefault(rec["block"], {"block": rec["block"], "runs": 0, "tests": 0, "passed": 0,
                                             "sim_cycles": 0, "wall_seconds": 0.0, "builds": 0,
                                             "build_seconds": 0.0, "pytest_tests": [],
                                             "cocotb_tests": [], "waveforms": []})
        row["runs"] += 1
        row["tests"] += rec["tests"]
        row["passed"] += rec["passed"]
        row["sim_cycles"] += rec["sim_cycles"]
        row["wall_seconds"] += rec["wall_seconds"]
        if rec.get("rebuilt"):
            row["builds"] += 1
            row["build_seconds"] += rec["build_seconds"]
        if "pytest_test" in rec:  # (ledgers of older harness versions lack it)
            test = rec["pytest_test"] or OUTSIDE_PYTEST
            if test not in row["pytest_tests"]:
                row["pytest_tests"].append(test)
        for name in rec.get("cocotb_tests") or ():
            if name not in row["cocotb_tests"]:
                row["cocotb_tests"].append(name)
        if rec.get("waveform"):
            row["waveforms"].append(rec["waveform"])
    return sorted(rows.values(), key=lambda r: r["block"])


def format_table(rows: list) -> str:
    header = ("block", "cocotb runs", "cocotb tests", "passed", "simulated cycles", "sim wall (s)",
              "cycles/s", "builds", "build (s)")
    body = []
    for r in rows:
        rate = r["sim_cycles"] / r["wall_seconds"] if r["wall_seconds"] else 0
        body.append((r["block"], str(r["runs"]), str(r["tests"]), str(r["passed"]),
                     f"{r['sim_cycles']:,}", f"{r['wall_seconds']:.1f}", f"{rate:,.0f}",
                     str(r["builds"]), f"{r['build_seconds']:.1f}"))
    if rows:
        tc = sum(r["sim_cycles"] for r in rows)
        tw = sum(r["wall_seconds"] for r in rows)
        body.append(("TOTAL", str(sum(r["runs"] for r in rows)), str(sum(r["tests"] for r in rows)),
                     str(sum(r["passed"] for r in rows)), f"{tc:,}", f"{tw:.1f}",
                     f"{(tc / tw if tw else 0):,.0f}", str(sum(r["builds"] for r in rows)),
                     f"{sum(r['build_seconds'] for r in rows):.1f}"))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    sep = "  "
    lines = [sep.join(h.ljust(w) for h, w in zip(header, widths)),
             sep.join("-" * w for w in widths)]
    for b in body:
        lines.append(sep.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(b, widths))))
    return "\n".join(lines)


def _counted(names) -> str:
    """``a (x3), b``: names in first-seen order, repeats counted."""
    return ", ".join(f"{n} (x{c})" if c > 1 else n for n, c in Counter(names).items())


def _pytest_tests_text(nodeids: list) -> str:
    """``file.py: test_a (x3), test_b`` per file: parametrized cases counted, not listed."""
    by_file: "OrderedDict[str, list]" = OrderedDict()
    for nodeid in nodeids:
        path, _, name = nodeid.partition("::")
        by_file.setdefault(path, [])
        if name:
            by_file[path].append(re.sub(r"\[.*\]$", "", name))
    return "; ".join(f"{path}: {_counted(names)}" if names else path
                     for path, names in by_file.items())


def _cocotb_tests_text(names: list) -> str:
    """cocotb tests, their parametrized variants (``name/arg=value``) counted under one name."""
    return _counted(name.split("/", 1)[0] for name in names)


def format_checks(rows: list) -> str:
    """Per block: the pytest tests that started its runs and the cocotb tests the runs executed."""
    width = max((len(r["block"]) for r in rows), default=0)
    lines = []
    for r in rows:
        lead = f"  {r['block'].ljust(width)}  "
        pad = " " * len(lead)
        for label, text in (("pytest", _pytest_tests_text(r["pytest_tests"])),
                            ("cocotb", _cocotb_tests_text(r["cocotb_tests"]))):
            if not text:
                continue
            lines += textwrap.wrap(f"{label}: {text}", WIDTH, initial_indent=lead,
                                   subsequent_indent=pad + "  ", break_on_hyphens=False)
            lead = pad
    return "\n".join(lines)


def pytest_session(path: Path | None = None) -> dict | None:
    """The pytest counts of the session that wrote the ledger, or None when they do not match it."""
    ledger = path or ledger_path()
    session_file = ledger.parent / "pytest.json"
    try:
        session = json.loads(session_file.read_text())
    except (OSError, ValueError):
        return None
    size = ledger.stat().st_size if ledger.exists() else 0
    if session.get("ledger_start") != 0 or session.get("ledger_end") != size:
        return None  # the ledger holds runs of other sessions too
    return session


def main(argv=None) -> int:
    rows = summarise()
    session = pytest_session()
    out = BUILD_ROOT / "results" / "summary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    runs = sum(r["runs"] for r in rows)
    tests = sum(r["tests"] for r in rows)
    print()
    print(f"Tessera simulation summary: {runs} cocotb runs on Verilator, {tests} cocotb tests, "
          f"per hardware block")
    print("(one cocotb run = one simulation of a block running one or more cocotb tests, "
          "started by a pytest test)")
    print(format_table(rows) if rows else "(no simulation runs recorded)")
    if session is not None:
        starters = {t for r in rows for t in r["pytest_tests"] if t != OUTSIDE_PYTEST}
        counts = ", ".join(f"{session[k]} {k}" for k in ("passed", "failed", "skipped") if session.get(k))
        print(f"\npytest: {session['tests']} tests ({counts or 'none ran'}); "
              f"{len(starters)} of them started the cocotb runs above, the others check "
              f"without Verilator")
    if rows:
        print("\nWhat each block's runs checked:")
        print(format_checks(rows))
    waves = sum(len(r["waveforms"]) for r in rows)
    print(f"\nJSON: {out}" + (f" (with the paths of {waves} waveforms)" if waves else ""))
    failed = sum(r["tests"] - r["passed"] for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
