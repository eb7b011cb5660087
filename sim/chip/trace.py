"""Timelines of a chip run: what every core, engine thread, NIU and DRAM node did, cycle by cycle.

:class:`ChipTracer` watches the chip's observation ports in a cocotb
simulation (block ``chip``, hw/chip/chip.py):

* per core ``debug__<t>__<i>__held`` and ``debug__<t>__<i>__waypoint`` — the
  firmware's waypoint code (hw/tile/waypoint.py: running, waiting on a
  circular buffer, a NoC barrier, a semaphore, the engine; done);
* per tile ``trace__engine_busy__<t>`` (the engine's unpack, math and pack
  threads) and ``trace__niu__<t>`` (the NIU sending, awaiting responses,
  serving requests of other nodes);
* per DRAM node ``trace__dram_busy__<d>`` (serving a request).

It never steps the simulation: one cocotb task per signal sleeps on that
signal's value changes, so a quiet chip costs nothing and a change costs one
Python wake-up.  Each change closes the interval of the previous state of
its track; a state that lasted no whole cycle (a glitch between two
evaluations of one cycle) is dropped.

The result is a :class:`Timeline`: Chrome trace-event JSON
(:meth:`Timeline.write_json`, opened by https://ui.perfetto.dev or
chrome://tracing; one process per tile, per NIU and per DRAM node, one
thread per core or engine thread, a complete event per interval; one
nanosecond on the timeline is one clock cycle) and a PNG summary
(:meth:`Timeline.write_png`, needs matplotlib, the ``plot`` extra).

Use::

    tracer = ChipTracer(dut, cfg, symbols=session.symbols)
    tracer.start()
    ...                       # load firmware, wait for it
    tracer.stop()
    tracer.write_json("run.trace.json")
    tracer.write_png("run.trace.png")   # False (JSON only) without matplotlib
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from tessera.hw.chip.chip import NIU_TRACE
from tessera.hw.engine.engine import THREADS
from tessera.hw.tile.waypoint import Waypoint, is_wait, waypoint_name

__all__ = ["ChipTracer", "Interval", "Timeline", "Track", "NIU_ACTIVITY_NAMES", "chip_tracks"]

_log = logging.getLogger("tessera.trace")

#: Slice names of the NIU's timeline bits (hw/chip/chip.py ``NIU_TRACE``).
NIU_ACTIVITY_NAMES = {"sending": "sending", "awaiting": "awaiting responses", "serving": "serving requests"}


@dataclass(frozen=True)
class Track:
    """One row of the timeline: a Chrome trace thread ``tid`` of process ``pid``."""
    key: tuple
    pid: int
    tid: int
    process: str
    thread: str
    category: str

    @property
    def label(self) -> str:
        return f"{self.process} {self.thread}"


@dataclass(frozen=True)
class Interval:
    """``state`` held on a track from cycle ``start`` (inclusive) to ``end`` (exclusive)."""
    start: int
    end: int
    state: str

    @property
    def cycles(self) -> int:
        return self.end - self.start


class Timeline:
    """Intervals per track, fed with state changes (:meth:`change`) in cycle order.

    A state of ``None`` is no interval (a held core, an idle unit)."""

    def __init__(self, tracks, name: str = "tessera"):
        self.tracks = list(tracks)
        self.name = name
        keys = [t.key for t in self.tracks]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Timeline tracks must have distinct keys, got {keys}")
        self.by_key = {t.key: t for t in self.tracks}
        self.intervals = {t.key: [] for t in self.tracks}
        self.instants = []     # (cycle, track key, name, args)
        self._state = {t.key: None for t in self.tracks}
        self._since = {t.key: None for t in self.tracks}
        self.start_cycle = None
        self.stop_cycle = None
        self.changes = 0

    def begin(self, cycle: int) -> None:
        if self.start_cycle is not None:
            raise RuntimeError(f"timeline {self.name!r} already began at cycle {self.start_cycle}")
        self.start_cycle = cycle

    def change(self, key, cycle: int, state) -> None:
        """Track ``key`` is in ``state`` (a name, or None) from ``cycle`` on."""
        if self.start_cycle is None or self.stop_cycle is not None:
            raise RuntimeError(f"timeline {self.name!r}: a change at cycle {cycle} outside begin() .. end()")
        if key not in self._state:
            raise KeyError(f"timeline {self.name!r} has no track {key!r}")
        if state == self._state[key]:
            return
        self.changes += 1
        self._close(key, cycle)
        self._state[key], self._since[key] = state, cycle

    def instant(self, key, cycle: int, name: str, **args) -> None:
        """A point event on track ``key`` (e.g. where a core still running at the end was)."""
        self.instants.append((cycle, key, name, args))

    def end(self, cycle: int) -> None:
        """Close every open interval at ``cycle``."""
        if self.start_cycle is None:
            raise RuntimeError(f"timeline {self.name!r} ended before it began")
        for key in self._state:
            self._close(key, cycle)
            self._state[key] = None
        self.stop_cycle = cycle

    def state(self, key):
        return self._state[key]

    def _close(self, key, cycle: int) -> None:
        state, since = self._state[key], self._since[key]
        if state is None or cycle <= since:
            return
        runs = self.intervals[key]
        if runs and runs[-1].state == state and runs[-1].end == since:
            runs[-1] = Interval(runs[-1].start, cycle, state)   # a glitch in between was dropped
        else:
            runs.append(Interval(since, cycle, state))

    # -- results --------------------------------------------------------------

    def summary(self) -> dict:
        """``{track label: {state: cycles}}`` over the traced span."""
        out = {}
        for track in self.tracks:
            totals = {}
            for run in self.intervals[track.key]:
                totals[run.state] = totals.get(run.state, 0) + run.cycles
            out[track.label] = totals
        return out

    def chrome_trace(self) -> dict:
        """The Chrome trace-event document (``traceEvents`` plus ``otherData``)."""
        events = []
        for pid, process in sorted({(t.pid, t.process) for t in self.tracks}):
            events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": process}})
            events.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                           "args": {"sort_index": pid}})
        for track in self.tracks:
            events.append({"ph": "M", "name": "thread_name", "pid": track.pid, "tid": track.tid,
                           "args": {"name": track.thread}})
            events.append({"ph": "M", "name": "thread_sort_index", "pid": track.pid, "tid": track.tid,
                           "args": {"sort_index": track.tid}})
        slices = []
        for track in self.tracks:
            for run in self.intervals[track.key]:
                slices.append({"ph": "X", "name": run.state, "cat": track.category, "pid": track.pid,
                               "tid": track.tid, "ts": _us(run.start), "dur": _us(run.cycles),
                               "args": {"start_cycle": run.start, "cycles": run.cycles}})
        for cycle, key, name, args in self.instants:
            track = self.by_key[key]
            slices.append({"ph": "i", "s": "t", "name": name, "cat": track.category, "pid": track.pid,
                           "tid": track.tid, "ts": _us(cycle), "args": {"cycle": cycle, **args}})
        slices.sort(key=lambda e: (e["ts"], e["pid"], e["tid"]))
        return {
            "traceEvents": events + slices,
            "otherData": {"name": self.name, "time_unit": "1 ns on the timeline is 1 clock cycle",
                          "start_cycle": self.start_cycle, "stop_cycle": self.stop_cycle},
        }

    def write_json(self, path) -> Path:
        """Write the Chrome trace JSON to ``path`` (opened by ui.perfetto.dev); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.chrome_trace(), separators=(",", ":")))
        return path

    def write_png(self, path) -> bool:
        """Write the PNG summary to ``path``: the timeline of every track, and per core its cycles
        by state.  Returns False (and writes nothing) when matplotlib is not installed."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            _log.warning("matplotlib is not installed (pip install 'tessera[plot]'): "
                         "timeline written as JSON only, no PNG at %s", path)
            return False
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _draw_summary(self, Figure, FigureCanvasAgg, path)
        return True


def _us(cycles: int) -> float:
    """Trace-event timestamps are microseconds: one cycle is drawn as one nanosecond."""
    return cycles / 1000


# -- the chip's tracks ---------------------------------------------------------

def chip_tracks(cfg) -> list:
    """The tracks of ``cfg``'s chip: per tile its cores and engine threads, per tile its NIU, per DRAM node."""
    tiles = cfg.nodes_of("tensix")
    drams = cfg.nodes_of("dram")
    tracks = []
    for t, node in enumerate(tiles):
        process = f"tile ({node.x}, {node.y})"
        for i, core in enumerate(cfg.cores):
            tracks.append(Track(("core", t, i), 1 + t, i, process, core.name, "core"))
        for k, thread in enumerate(THREADS):
            tracks.append(Track(("engine", t, thread), 1 + t, len(cfg.cores) + k, process,
                                f"engine {thread}", "engine"))
    for t, node in enumerate(tiles):
        for k, (bit, name) in enumerate(NIU_ACTIVITY_NAMES.items()):
            tracks.append(Track(("niu", t, bit), 1 + len(tiles) + t, k, f"NIU ({node.x}, {node.y})", name, "niu"))
    for d, node in enumerate(drams):
        tracks.append(Track(("dram", d), 1 + 2 * len(tiles) + d, 0, f"DRAM ({node.x}, {node.y})",
                            "serving requests", "dram"))
    return tracks


class ChipTracer:
    """Records a :class:`Timeline` of a cocotb chip simulation (see the module docstring).

    ``symbols``: a :class:`~tessera.sim.chip.session.Symbolizer`; with it, a
    core still running when the trace stops gets an instant event naming the
    function it is in (a hung kernel shows where it hangs)."""

    def __init__(self, dut, cfg, symbols=None):
        from tessera.sim.clock import CLOCK_PERIOD_NS

        self.dut, self.cfg, self.symbols = dut, cfg, symbols
        self.period_ns = CLOCK_PERIOD_NS
        self.tiles = [(n.x, n.y) for n in cfg.nodes_of("tensix")]
        self.drams = [(n.x, n.y) for n in cfg.nodes_of("dram")]
        self.timeline = Timeline(chip_tracks(cfg), name=cfg.name)
        self._held = {}
        self._code = {}
        self._tasks = []
        self.watchers = self._watchers()

    def _port(self, name):
        try:
            return getattr(self.dut, name)
        except AttributeError:
            raise AttributeError(f"ChipTracer: the simulated chip has no port {name!r} (is this block "
                                 f"'chip', exported from the current hw/chip/chip.py?)") from None

    def _watchers(self) -> list:
        """``[(signal, on_change(cycle, value))]`` for every observed port."""
        watchers = []
        for t in range(len(self.tiles)):
            for i in range(len(self.cfg.cores)):
                watchers.append((self._port(f"debug__{t}__{i}__held"), self._core_change(t, i, "held")))
                watchers.append((self._port(f"debug__{t}__{i}__waypoint"), self._core_change(t, i, "code")))
            watchers.append((self._port(f"trace__engine_busy__{t}"), self._bits_change(
                [(("engine", t, thread), k, f"{thread}") for k, thread in enumerate(THREADS)])))
            niu_bits = {name: field.offset for name, field in NIU_TRACE}
            watchers.append((self._port(f"trace__niu__{t}"), self._bits_change(
                [(("niu", t, bit), niu_bits[bit], name) for bit, name in NIU_ACTIVITY_NAMES.items()])))
        for d in range(len(self.drams)):
            watchers.append((self._port(f"trace__dram_busy__{d}"),
                             self._bits_change([(("dram", d), 0, "serving requests")])))
        return watchers

    def _core_change(self, t, i, what):
        key = ("core", t, i)

        def on_change(cycle, value):
            (self._held if what == "held" else self._code)[key] = value
            held, code = self._held.get(key, 1), self._code.get(key, 0)
            self.timeline.change(key, cycle, None if held else waypoint_name(code))
        return on_change

    def _bits_change(self, bits):
        def on_change(cycle, value):
            for key, bit, name in bits:
                self.timeline.change(key, cycle, name if (value >> bit) & 1 else None)
        return on_change

    def cycle(self) -> int:
        from cocotb.utils import get_sim_time

        return int(get_sim_time("ns")) // self.period_ns

    def start(self) -> None:
        """Record the current state of every track and follow its changes (call inside a cocotb test)."""
        import cocotb

        if self._tasks:
            raise RuntimeError("ChipTracer.start(): already started")
        now = self.cycle()
        self.timeline.begin(now)
        for signal, on_change in self.watchers:
            on_change(now, int(signal.value))
        self._tasks = [cocotb.start_soon(self._follow(signal, on_change)) for signal, on_change in self.watchers]

    async def _follow(self, signal, on_change):
        while True:
            await signal.value_change
            on_change(self.cycle(), int(signal.value))

    def stop(self) -> Timeline:
        """Stop following, close every interval at the current cycle; returns the :class:`Timeline`."""
        if not self._tasks:
            raise RuntimeError("ChipTracer.stop(): not started")
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        now = self.cycle()
        for t, tile in enumerate(self.tiles):
            for i, core in enumerate(self.cfg.cores):
                key = ("core", t, i)
                state = self.timeline.state(key)
                if state is not None and state != Waypoint.DONE.name:
                    pc = int(self._port(f"debug__{t}__{i}__pc").value)
                    where = self.symbols.name(tile, core.name, pc) if self.symbols is not None else "?"
                    self.timeline.instant(key, now, f"still {state.lower()} at {where}", pc=f"{pc:#010x}")
        self.timeline.end(now)
        return self.timeline

    # -- results (see Timeline) ------------------------------------------------

    def summary(self) -> dict:
        return self.timeline.summary()

    def chrome_trace(self) -> dict:
        return self.timeline.chrome_trace()

    def write_json(self, path) -> Path:
        return self.timeline.write_json(path)

    def write_png(self, path) -> bool:
        return self.timeline.write_png(path)


# -- the PNG summary -----------------------------------------------------------

def _state_colors(states) -> dict:
    """A fixed colour per state: running green, done light grey, each wait (by code) its own colour."""
    from matplotlib import colormaps

    fixed = {Waypoint.RUNNING.name: "#2ca02c", Waypoint.DONE.name: "#cccccc"}
    # tab20 without its greens and greys, so no wait looks like running or done.
    palette = [colormaps["tab20"](k) for k in range(20) if k not in (4, 5, 14, 15)]
    order = [w.name for w in Waypoint if w.name not in fixed]
    waits = order + sorted(s for s in states if s not in fixed and s not in order)
    colors = dict(fixed)
    for k, state in enumerate(waits):
        colors[state] = palette[k % len(palette)]
    return colors


def _draw_summary(timeline: Timeline, Figure, FigureCanvasAgg, path: Path) -> None:
    tracks = timeline.tracks
    start = timeline.start_cycle or 0
    stop = timeline.stop_cycle if timeline.stop_cycle is not None else start
    states = {run.state for runs in timeline.intervals.values() for run in runs}
    colors = _state_colors(states)
    cores = [t for t in tracks if t.category == "core"]
    fig = Figure(figsize=(12, 0.2 * len(tracks) + 0.25 * len(cores) + 2.5))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=[len(tracks), max(1, len(cores))], hspace=0.25)

    ax = fig.add_subplot(grid[0])
    for row, track in enumerate(tracks):
        by_state = {}
        for run in timeline.intervals[track.key]:
            by_state.setdefault(run.state, []).append((run.start - start, run.cycles))
        for state, spans in by_state.items():
            color = colors[state] if track.category == "core" else {"engine": "#1f77b4", "niu": "#17becf",
                                                                     "dram": "#9467bd"}[track.category]
            ax.broken_barh(spans, (row - 0.4, 0.8), facecolors=color, linewidth=0)
    ax.set_yticks(range(len(tracks)), [t.label for t in tracks], fontsize=6)
    ax.set_ylim(len(tracks) - 0.5, -0.5)
    ax.set_xlim(0, max(1, stop - start))
    ax.set_xlabel(f"cycles since {start}", fontsize=8)
    ax.set_title(f"{timeline.name}: timeline ({stop - start} cycles)", fontsize=9)
    ax.tick_params(axis="x", labelsize=7)

    bars = fig.add_subplot(grid[1])
    order = [Waypoint.RUNNING.name] + sorted(s for s in colors if is_wait_name(s)) + [Waypoint.DONE.name]
    lefts = [0] * len(cores)
    summary = timeline.summary()
    for state in order:
        widths = [summary[c.label].get(state, 0) for c in cores]
        if any(widths):
            bars.barh(range(len(cores)), widths, left=lefts, color=colors[state], label=state, height=0.7)
            lefts = [a + b for a, b in zip(lefts, widths)]
    bars.set_yticks(range(len(cores)), [c.label for c in cores], fontsize=6)
    bars.set_ylim(len(cores) - 0.5, -0.5)
    bars.set_xlabel("cycles (held in reset: not counted)", fontsize=8)
    bars.set_title("per core: running, waiting (by waypoint), done", fontsize=9)
    bars.tick_params(axis="x", labelsize=7)
    if any(lefts):
        bars.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=6, frameon=False)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def is_wait_name(state: str) -> bool:
    """Whether a core slice name is a wait (any waypoint but RUNNING and DONE)."""
    try:
        return is_wait(Waypoint[state].value)
    except KeyError:
        return state not in (Waypoint.RUNNING.name, Waypoint.DONE.name)
