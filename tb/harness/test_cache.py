"""The model cache tools (sim/cache.py) on a fake cache tree: no Verilator build.

A fake model is a folder laid out as the harness lays a real one
(``models/<block>-<preset>-<key16>/built.json`` plus files, an index entry
pointing at it, a ``last_used`` file whose time is the last use).  Sizes are
checked against the bytes the test wrote; ages are set with ``os.utime``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tessera.sim import cache
from tessera.sim.cache import CacheError

HOUR = 3600.0


class FakeCache:
    """Builds a cache tree under ``root`` and remembers the bytes it wrote per model."""

    def __init__(self, root: Path):
        self.root = root
        self.models = root / "models"
        self.models.mkdir(parents=True)
        self.expected_bytes = {}

    def model(self, block: str, payload: int, age_hours: float, *, preset: str = "tiny",
              build_seconds: float = 12.5, stamped: bool = True, indexed: bool = True) -> Path:
        key = hashlib.sha256(f"{block}-{payload}-{age_hours}".encode()).hexdigest()
        path = self.models / f"{block}-{preset}-{key[:16]}"
        (path / "obj_dir").mkdir(parents=True)
        (path / "obj_dir" / "Vtop").write_bytes(b"\x7f" * payload)
        written = payload
        if stamped:
            stamp = json.dumps({"block": block, "key": key, "build_seconds": build_seconds,
                                "preset": preset, "params": {"depth": 2}})
            (path / "built.json").write_text(stamp)
            written += len(stamp.encode())
            (path / cache.LAST_USED_FILE).touch()
            when = time.time() - age_hours * HOUR
            for f in (path / "built.json", path / cache.LAST_USED_FILE):
                os.utime(f, (when, when))
        else:
            when = time.time() - age_hours * HOUR
            os.utime(path, (when, when))
        if indexed:
            index = self.models / "index"
            index.mkdir(exist_ok=True)
            (index / f"{block}-{key[:24]}.json").write_text(json.dumps(
                {"build_dir": str(path), "toplevel": f"tessera_{block}", "key": key, "params": {}}))
        self.expected_bytes[path.name] = written
        return path

    def run(self, name: str, age_hours: float, payload: int = 100) -> Path:
        path = self.root / "runs" / name
        path.mkdir(parents=True)
        (path / "sim.log").write_bytes(b"x" * payload)
        when = time.time() - age_hours * HOUR
        for f in (path / "sim.log", path):
            os.utime(f, (when, when))
        return path

    def index_targets(self) -> set:
        return {Path(json.loads(p.read_text())["build_dir"]).name
                for p in (self.models / "index").glob("*.json")}


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.delenv(cache.LIMIT_ENV, raising=False)
    return FakeCache(tmp_path / "build")


def names(paths):
    return [p.name for p in paths]


# -- sizes ---------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("8G", 8 * 1024 ** 3), ("8GiB", 8 * 1024 ** 3), ("8gb", 8 * 1024 ** 3), ("500M", 500 * 1024 ** 2),
    ("1.5K", 1536), ("4096", 4096), (" 2 T ", 2 * 1024 ** 4), ("0", 0),
])
def test_sizes_parse_in_binary_units(text, expected):
    assert cache.parse_size(text) == expected


@pytest.mark.parametrize("text", ["8X", "", "G", "-1G", "8 G B", "1e9", "eight"])
def test_malformed_size_is_refused_by_value(text):
    with pytest.raises(CacheError, match=f"bad size {text!r}"):
        cache.parse_size(text)


def test_limit_comes_from_the_environment_and_can_be_disabled():
    assert cache.cache_limit({}) == cache.DEFAULT_LIMIT == 20 * 1024 ** 3
    assert cache.cache_limit({cache.LIMIT_ENV: "8G"}) == 8 * 1024 ** 3
    for off in ("off", "none", "0", "OFF"):
        assert cache.cache_limit({cache.LIMIT_ENV: off}) is None
    with pytest.raises(CacheError, match="TESSERA_CACHE_LIMIT: bad size '12 parsecs'"):
        cache.cache_limit({cache.LIMIT_ENV: "12 parsecs"})


# -- listing -------------------------------------------------------------------

def test_listing_is_most_recently_used_first_with_exact_sizes(fake):
    old = fake.model("stream_fifo", 3000, age_hours=30)
    new = fake.model("engine", 5000, age_hours=1, preset="tensix", build_seconds=171.0)
    mid = fake.model("l1", 4000, age_hours=5)
    fake.run("stream_fifo-test_a-gw0-1234abcd", age_hours=2, payload=700)
    state = cache.scan(fake.root)
    assert [m.name for m in state.models] == names([new, mid, old])
    by_name = {m.name: m for m in state.models}
    for name, written in fake.expected_bytes.items():
        assert by_name[name].size_bytes == written
    assert state.models_bytes == sum(fake.expected_bytes.values())
    engine = by_name[new.name]
    assert (engine.block, engine.preset, engine.build_seconds, engine.complete) == ("engine", "tensix", 171.0, True)
    assert engine.last_used == pytest.approx(time.time() - HOUR, abs=60)
    assert (len(state.runs), state.runs_bytes) == (1, 700)
    assert (state.index_entries, state.stale_index) == (3, [])


def test_cli_lists_the_table_and_json(fake, capsys):
    from tessera.sim.cli import main
    model = fake.model("noc_testbench", 2 * 1024 ** 2, age_hours=3, build_seconds=156.6)
    assert main(["cache", "--build-dir", str(fake.root)]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith(model.name))
    assert row.split()[1:] == ["noc_testbench", "tiny", "2.0", "MiB", "156.6", "3.0", "h", "ago"]
    assert "1 models, 2.0 MiB (automatic prune limit 20.0 GiB, TESSERA_CACHE_LIMIT)" in text
    assert main(["cache", "--build-dir", str(fake.root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["models"][0]["name"] == model.name
    assert data["models_bytes"] == fake.expected_bytes[model.name]
    assert data["limit_bytes"] == cache.DEFAULT_LIMIT


def test_cli_refuses_a_malformed_size(fake, capsys, monkeypatch):
    from tessera.sim.cli import main
    with pytest.raises(SystemExit) as exc:
        main(["cache", "--build-dir", str(fake.root), "--prune", "--max-size", "8X"])
    assert exc.value.code == 2
    assert "bad size '8X'" in capsys.readouterr().err
    monkeypatch.setenv(cache.LIMIT_ENV, "lots")
    assert main(["cache", "--build-dir", str(fake.root)]) == 2
    assert "TESSERA_CACHE_LIMIT: bad size 'lots'" in capsys.readouterr().err
    monkeypatch.delenv(cache.LIMIT_ENV)
    assert main(["cache", "--build-dir", str(fake.root), "--max-size", "1G"]) == 2
    assert "--max-size applies to --prune" in capsys.readouterr().err


# -- pruning -------------------------------------------------------------------

def test_prune_keeps_the_most_recently_used_up_to_the_limit(fake):
    newest = fake.model("a", 1000, age_hours=1)
    second = fake.model("b", 1000, age_hours=2)
    third = fake.model("c", 1000, age_hours=3)
    oldest = fake.model("d", 10, age_hours=4)   # small, but older than one that did not fit
    limit = fake.expected_bytes[newest.name] + fake.expected_bytes[second.name]
    report = cache.prune(fake.root, limit)
    assert sorted(report.removed_models) == sorted(names([third, oldest]))
    assert [p.exists() for p in (newest, second, third, oldest)] == [True, True, False, False]
    assert fake.index_targets() == {newest.name, second.name}
    assert report.models_after_bytes == limit == cache.scan(fake.root).models_bytes
    assert report.removed_index_entries == 2
    assert not list(fake.models.glob(".trash-*"))


def test_prune_never_deletes_a_model_in_use_being_built_recent_or_protected(fake):
    in_use = fake.model("in_use", 100, age_hours=5)
    building = fake.model("building", 100, age_hours=6)
    recent = fake.model("recent", 100, age_hours=0.05)
    protected = fake.model("protected", 100, age_hours=7)
    idle = fake.model("idle", 100, age_hours=8)
    stamp = json.loads((building / "built.json").read_text())
    with cache.model_in_use(in_use), \
            cache._lock(cache._build_lock_path(fake.models, "building", stamp["key"])):
        report = cache.prune(fake.root, 0, protect=[protected])
    assert report.removed_models == [idle.name]
    assert sorted(report.kept_in_use) == sorted(names([recent, in_use, building, protected]))
    assert all(p.exists() for p in (in_use, building, recent, protected))
    # Released and no longer protected, they go; the recently used one stays.
    assert sorted(cache.prune(fake.root, 0).removed_models) == sorted(names([in_use, building, protected]))
    assert recent.exists()


def test_a_model_held_by_another_process_survives_a_prune(fake):
    held = fake.model("held", 100, age_hours=9)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from tessera.sim import cache\n"
         f"with cache.model_in_use(Path({str(held)!r})):\n"
         "    print('held', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cache.prune(fake.root, 0).removed_models == []
        assert (held / "built.json").exists()
    finally:
        holder.communicate("\n", timeout=60)
    assert cache.prune(fake.root, 0).removed_models == [held.name]


def test_prune_removes_stale_index_entries_interrupted_builds_and_old_runs(fake):
    kept = fake.model("kept", 100, age_hours=1)
    gone = fake.model("gone", 100, age_hours=2)
    shutil.rmtree(gone)                                   # its index entry now points at nothing
    interrupted = fake.model("noc_router", 100, age_hours=3, stamped=False, indexed=False)
    runs = [fake.run(f"l1-test_{i}-gw0-{i:08x}", age_hours=10 + i) for i in range(5)]
    active = fake.run("tile-test_live-gw1-0000beef", age_hours=0.01)
    state = cache.scan(fake.root)
    assert len(state.stale_index) == 1
    assert not {m.name: m for m in state.models}[interrupted.name].complete
    report = cache.prune(fake.root, None, keep_runs=2)
    assert fake.index_targets() == {kept.name}
    assert report.removed_index_entries == 1
    assert not interrupted.exists() and kept.exists()
    # newest two by activity are kept (the live one and run 0), plus nothing older
    assert sorted(p.name for p in (fake.root / "runs").iterdir()) == sorted(names([active, runs[0]]))
    assert report.removed_runs == 4


def test_prune_refuses_bad_arguments(fake):
    with pytest.raises(CacheError, match="max_bytes must be a non-negative integer, got -5"):
        cache.prune(fake.root, -5)
    with pytest.raises(CacheError, match="keep_runs must be a non-negative integer, got 'many'"):
        cache.prune(fake.root, None, keep_runs="many")


def test_cli_prune_to_a_limit(fake, capsys):
    from tessera.sim.cli import main
    keep = fake.model("keep", 3000, age_hours=1)
    drop = fake.model("drop", 3000, age_hours=2)
    assert main(["cache", "--build-dir", str(fake.root), "--prune", "--max-size", "4K", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pruned"]["removed_models"] == [drop.name]
    assert [m["name"] for m in data["models"]] == [keep.name]
    assert data["limit_bytes"] == 4096


# -- automatic prune -----------------------------------------------------------

def test_auto_prune_only_past_the_limit(fake, monkeypatch):
    just_built = fake.model("big_new", 6000, age_hours=0)
    older = fake.model("older", 3000, age_hours=2)
    oldest = fake.model("oldest", 3000, age_hours=3)
    total = sum(fake.expected_bytes.values())
    monkeypatch.setenv(cache.LIMIT_ENV, str(total))          # exactly at the limit: nothing to do
    assert cache.auto_prune(fake.root, just_built) is None
    monkeypatch.setenv(cache.LIMIT_ENV, "off")
    assert cache.auto_prune(fake.root, just_built) is None
    assert all(p.exists() for p in (just_built, older, oldest))
    monkeypatch.setenv(cache.LIMIT_ENV, str(total - 1))
    report = cache.auto_prune(fake.root, just_built)
    assert report.removed_models == [oldest.name]
    monkeypatch.setenv(cache.LIMIT_ENV, "1K")                 # smaller than the new model itself
    report = cache.auto_prune(fake.root, just_built)
    assert report.removed_models == [older.name]
    assert just_built.exists(), "the model just built must never be pruned"
    monkeypatch.setenv(cache.LIMIT_ENV, "1 lightyear")
    with pytest.raises(CacheError, match="TESSERA_CACHE_LIMIT: bad size '1 lightyear'"):
        cache.auto_prune(fake.root, just_built)


def test_harness_marks_reuse_and_prunes_after_a_build(fake, monkeypatch):
    """The hooks in build_model, with the Verilator build replaced by a fake one."""
    from tessera.hw.config import preset
    from tessera.sim import harness

    cfg = preset("tiny")
    params = {"width": 8, "depth": 2}
    old = fake.model("stale_block", 4000, age_hours=50)

    def fake_build(block, cfg, params, waves, root, public_internals=False, fast_build=False,
                   threads=1, registered_reset=True):
        path = fake.model(block, 2000, age_hours=0, indexed=False)
        info = json.loads((path / "built.json").read_text())
        return harness.Model(block, f"tessera_{block}", path, info["key"], True, 1.0, waves, cfg, {})

    monkeypatch.setattr(harness, "_build_model_from_export", fake_build)
    monkeypatch.setenv(cache.LIMIT_ENV, "3K")
    model = harness.build_model("stream_fifo", cfg, params, waves=False, build_root=fake.root)
    assert not old.exists(), "the build past the limit pruned the least recently used model"
    assert model.build_dir.exists()

    # A later look-up reuses it through the index and moves its last use to now.
    last_used = model.build_dir / cache.LAST_USED_FILE
    os.utime(last_used, (time.time() - 5 * HOUR,) * 2)
    monkeypatch.setattr(harness, "_build_model_from_export",
                        lambda *a, **k: pytest.fail("a cached model was rebuilt"))
    again = harness.build_model("stream_fifo", cfg, params, waves=False, build_root=fake.root)
    assert (again.build_dir, again.rebuilt) == (model.build_dir, False)
    assert last_used.stat().st_mtime == pytest.approx(time.time(), abs=60)
