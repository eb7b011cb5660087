"""The timeline recorder and its Chrome trace / PNG writers (sim/chip/trace.py), without a simulator.

The chip run that feeds it from the real ports is tb/chip/cocotb_chip.py ``timeline``.
"""

from __future__ import annotations

import builtins
import json
import random
from pathlib import Path

import pytest

from tessera.hw.config import preset
from tessera.hw.tile.waypoint import Waypoint, WAYPOINT_BITS, waypoint_name, waypoint_table
from tessera.sim.chip.trace import Interval, Timeline, Track, chip_tracks
from tb.chip.trace_check import check_chrome_trace, intervals_from_chrome_trace


def _tracks():
    return [Track(("core", 0, 0), 1, 0, "tile (1, 0)", "brisc", "core"),
            Track(("niu", 0, "sending"), 2, 0, "NIU (1, 0)", "sending", "niu")]


def test_changes_become_intervals_glitches_dropped_and_merged():
    tl = Timeline(_tracks(), "t")
    core, niu = ("core", 0, 0), ("niu", 0, "sending")
    tl.begin(100)
    tl.change(core, 100, None)          # held: no interval
    tl.change(core, 110, "RUNNING")
    tl.change(core, 120, "NOC_READ_BARRIER")
    tl.change(core, 130, "RUNNING")
    tl.change(core, 130, "SEMAPHORE_WAIT")   # lasted no cycle: dropped
    tl.change(core, 130, "RUNNING")          # ... and RUNNING continues in one interval
    tl.change(core, 150, "DONE")
    tl.change(niu, 105, "sending")
    tl.change(niu, 108, None)
    tl.end(160)
    assert tl.intervals[core] == [Interval(110, 120, "RUNNING"), Interval(120, 130, "NOC_READ_BARRIER"),
                                  Interval(130, 150, "RUNNING"), Interval(150, 160, "DONE")]
    assert tl.intervals[niu] == [Interval(105, 108, "sending")]
    assert tl.summary() == {"tile (1, 0) brisc": {"RUNNING": 30, "NOC_READ_BARRIER": 10, "DONE": 10},
                            "NIU (1, 0) sending": {"sending": 3}}
    with pytest.raises(RuntimeError, match="outside begin"):
        tl.change(core, 170, "RUNNING")
    other = Timeline(_tracks())
    other.begin(0)
    with pytest.raises(KeyError, match="no track"):
        other.change(("dram", 9), 1, "serving")
    with pytest.raises(ValueError, match="distinct keys"):
        Timeline(_tracks() + _tracks()[:1])


def test_chrome_trace_is_well_formed_and_round_trips(tmp_path):
    seed = 1234
    rng = random.Random(seed)
    tracks = chip_tracks(preset("tiny"))
    tl = Timeline(tracks, "tiny")
    tl.begin(1000)
    states = [w.name for w in Waypoint] + [None]
    for cycle in range(1000, 5000, 7):
        track = rng.choice(tracks)
        state = rng.choice(states) if track.category == "core" else rng.choice([track.thread, None])
        tl.change(track.key, cycle + rng.randrange(3), state)
    tl.instant(tracks[0].key, 4999, "still running at main+0x10", pc="0x00000040")
    tl.end(5000)
    path = tl.write_json(tmp_path / "t.json")
    doc = json.loads(path.read_text())
    assert check_chrome_trace(doc) == [], f"seed {seed}"
    got = intervals_from_chrome_trace(doc)
    for track in tracks:
        assert got.get((track.pid, track.tid), []) == [(r.start, r.end, r.state) for r in tl.intervals[track.key]], \
            f"seed {seed}: {track.label}"
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert names[(1, 0)] == "brisc" and names[(1, 5)] == "engine unpack"


def test_checker_finds_broken_traces():
    ok = {"traceEvents": [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "p"}},
                          {"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "t"}},
                          {"ph": "X", "name": "a", "cat": "c", "pid": 1, "tid": 2, "ts": 0.01, "dur": 0.02},
                          {"ph": "X", "name": "b", "cat": "c", "pid": 1, "tid": 2, "ts": 0.012, "dur": 0.005}]}
    assert check_chrome_trace(ok) == []
    bad = json.loads(json.dumps(ok))
    bad["traceEvents"][3]["dur"] = 0.05          # b starts inside a and ends after it
    assert any("partly overlaps" in p for p in check_chrome_trace(bad))
    bad = json.loads(json.dumps(ok))
    del bad["traceEvents"][1]                    # the thread has no name
    assert any("no thread_name" in p for p in check_chrome_trace(bad))
    bad = json.loads(json.dumps(ok))
    bad["traceEvents"][2]["dur"] = -1
    assert any("dur" in p for p in check_chrome_trace(bad))
    assert check_chrome_trace([]) != []


def test_chip_tracks_cover_every_core_thread_niu_and_dram():
    cfg = preset("tiny")
    tracks = chip_tracks(cfg)
    tiles, drams = len(cfg.nodes_of("tensix")), len(cfg.nodes_of("dram"))
    assert len(tracks) == tiles * (len(cfg.cores) + 3 + 3) + drams
    assert len({(t.pid, t.tid) for t in tracks}) == len(tracks)
    assert {t.category for t in tracks} == {"core", "engine", "niu", "dram"}


def test_waypoint_codes_are_one_enum():
    assert WAYPOINT_BITS == 8 and Waypoint.RUNNING.value == 0
    assert waypoint_name(Waypoint.SEMAPHORE_WAIT.value) == "SEMAPHORE_WAIT"
    assert waypoint_name(200) == "WAYPOINT_200"
    table = waypoint_table()
    assert all(f"`{w.name}`" in table for w in Waypoint)


def test_docs_quote_the_waypoint_table():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "chip.md").read_text()
    assert waypoint_table() in docs, "docs/chip.md section 12: paste waypoint_table() again"


def _timeline_with_data():
    tl = Timeline(chip_tracks(preset("tiny")), "tiny")
    tl.begin(0)
    tl.change(("core", 0, 0), 0, "RUNNING")
    tl.change(("core", 0, 0), 40, "NOC_READ_BARRIER")
    tl.change(("core", 0, 0), 90, "DONE")
    tl.change(("engine", 0, "math"), 10, "math")
    tl.change(("dram", 0), 45, "serving")
    tl.end(100)
    return tl


def test_png_summary(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "t.png"
    assert _timeline_with_data().write_png(path) is True
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_json_only(tmp_path, monkeypatch, caplog):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    tl = _timeline_with_data()
    with caplog.at_level("WARNING", logger="tessera.trace"):
        assert tl.write_png(tmp_path / "t.png") is False
    assert not (tmp_path / "t.png").exists()
    assert "JSON only" in caplog.text
    assert check_chrome_trace(json.loads(tl.write_json(tmp_path / "t.json").read_text())) == []
