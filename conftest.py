"""Progress and results of a test session, shown in the main pytest process.

pytest-xdist workers' output never reaches the terminal, so what a long run
shows is written here, from the reports the workers send back:

* a line per test folder (``tb/<block>``, ``sw``, ...) as soon as its last
  test finishes: its pytest results and the Verilator simulations its tests
  ran (cocotb runs and cocotb tests, read from the harness ledger);
* at the end, the waveforms (FST) the session's simulations wrote, so
  ``WAVES=1`` needs no ``pytest -s``;
* ``<build root>/results/pytest.json``: the session's pytest counts, which
  ``python -m tessera.sim.summary`` (the end of ``make sim`` / ``make test``)
  sets beside its table of simulations.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter, defaultdict

import pytest

from tessera.sim.harness import ledger_path

#: Written at the end of a session; read by tessera.sim.summary.
SESSION_FILE = "pytest.json"


def test_group(nodeid: str) -> str:
    """The folder a test belongs to: ``tb/<block>`` for the testbenches, else the top folder."""
    parts = nodeid.split("::", 1)[0].split("/")
    if parts[0] == "tb" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0] if len(parts) > 1 else nodeid.split("::", 1)[0]


def read_ledger(offset: int = 0) -> list:
    """Harness ledger records appended after byte ``offset`` (the ledger may be cleared meanwhile)."""
    path = ledger_path()
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            if handle.tell() < offset:
                offset = 0
            handle.seek(offset)
            data = handle.read()
    except OSError:
        return []
    records = []
    for line in data.decode(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line being written right now
    return records


def _ledger_size() -> int:
    try:
        return ledger_path().stat().st_size
    except OSError:
        return 0


class SessionProgress:
    """Collects the reports of every test (from every xdist worker) by folder."""

    def __init__(self, config):
        self.config = config
        self.started = time.monotonic()
        self.ledger_start = _ledger_size()
        self.expected: Counter = Counter()   # folder -> number of tests collected
        self.done: Counter = Counter()
        self.outcomes = defaultdict(Counter)  # folder -> outcome -> count
        self.seconds: Counter = Counter()
        self._test_outcome = {}
        self._collected = False
        self._printed = 0

    # --- collection: non-distributed runs, and the xdist controller ---------
    def _expect(self, nodeids) -> None:
        if self._collected:
            return  # every worker collects the same tests
        self._collected = True
        for nodeid in nodeids:
            self.expected[test_group(nodeid)] += 1

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        if session.items:
            self._expect(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self._expect(ids)

    # --- results -------------------------------------------------------------
    def pytest_runtest_logreport(self, report):
        nodeid = report.nodeid
        group = test_group(nodeid)
        self.seconds[group] += getattr(report, "duration", 0.0) or 0.0
        outcome = self._test_outcome.get(nodeid, "passed")
        if report.failed:
            outcome = "failed"
        elif report.skipped and outcome != "failed":
            outcome = "skipped"
        self._test_outcome[nodeid] = outcome
        if report.when != "teardown":
            return
        del self._test_outcome[nodeid]
        self.outcomes[group][outcome] += 1
        self.done[group] += 1
        if self.done[group] == self.expected.get(group):
            self._report_group(group)

    def _report_group(self, group: str) -> None:
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        self._printed += 1
        counts = self.outcomes[group]
        results = ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "skipped") if counts[k])
        runs = [r for r in read_ledger(self.ledger_start)
                if test_group(r.get("pytest_test") or "") == group]
        sims = ""
        if runs:
            blocks = ", ".join(sorted({r["block"] for r in runs}))
            sims = (f"; Verilator: {len(runs)} cocotb run{'s' * (len(runs) != 1)}, "
                    f"{sum(r['tests'] for r in runs)} cocotb tests ({blocks})")
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        if terminal._tw.width_of_current_line:  # after the progress dots of -q
            terminal.write("\n")
        terminal.write_line(
            f"[{self._printed}/{len(self.expected)} folders, {minutes}:{seconds:02d}] "
            f"{group}: {results} ({self.seconds[group]:.1f} s of test time){sims}")

    # --- end of the session ----------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter):
        waves = [r["waveform"] for r in read_ledger(self.ledger_start) if r.get("waveform")]
        if waves:
            terminalreporter.section("waveforms (FST; open with GTKWave or Surfer)", sep="-")
            for path in waves:
                terminalreporter.write_line(path)

    def pytest_sessionfinish(self, session):
        total = Counter()
        for counts in self.outcomes.values():
            total.update(counts)
        record = {
            "tests": sum(total.values()), **{k: total[k] for k in ("passed", "failed", "skipped")},
            "folders": {g: dict(self.outcomes[g]) for g in sorted(self.outcomes)},
            # The summary compares these with the ledger to know it holds exactly this session.
            "ledger_start": self.ledger_start, "ledger_end": _ledger_size(),
        }
        path = ledger_path().parent / SESSION_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(record, indent=1) + "\n")
            tmp.replace(path)
        except OSError:
            pass  # a read-only build tree: the summary then leaves the pytest line out


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller reports
    config.pluginmanager.register(SessionProgress(config), "tessera-session-progress")
