"""The Verilator model cache: listing, last use, and pruning to a size limit.

:mod:`tessera.sim.harness` builds each model once into
``<build root>/models/<block>-<preset>-<key16>`` (a ``built.json`` stamp marks
a complete build) and records it in ``models/index/``.  Without pruning that
folder only grows: every design change leaves its old models behind, and a
large model (the NoC testbenches, the tile) is 100 MB or more.  This module

* marks a model's last use (:func:`mark_used`, called by the harness whenever
  it hands out a model: the file ``last_used`` in the model folder; its
  modification time is the last use);
* lists the cache (:func:`scan`, ``tessera cache``);
* prunes it (:func:`prune`, ``tessera cache --prune``): keeps the most
  recently used models whose sizes add up to at most the limit, deletes the
  rest, removes index entries that point at no complete model, leftovers of
  interrupted builds and all but the newest run folders (``runs/``; one
  active in the last hour is always kept);
* prunes automatically at the end of every model build (:func:`auto_prune`)
  once the models take more than ``TESSERA_CACHE_LIMIT`` (default 20 GiB;
  ``off``, ``none`` or ``0`` disables it).

Safety with several processes (pytest-xdist workers, parallel commands):

* Deleting a model holds the same per-model lock the harness holds while
  building it (``models/.<block>-<key16>.lock``), taken without waiting: a
  model whose build is in progress is skipped, never waited for.
* A run holds a shared lock on ``models/.<model folder>.use`` for as long as
  it uses the model (:func:`model_in_use`, taken by ``run_cocotb``); the
  pruner needs that lock exclusively, so a model in use is skipped.
* A model used in the last :data:`RECENT_USE_SECONDS` is never deleted (it
  covers callers of ``build_model`` that run the model without the shared
  lock), nor is the model whose build triggered the automatic prune.
* A model is first removed from the index, then renamed to a ``.trash-``
  folder (atomic), then deleted: a process that looks the model up meanwhile
  finds no stamp and rebuilds it under the build lock, never half a model.
* Lock files are never deleted (deleting a lock file that another process
  is about to open would give two holders of "one" lock); they are empty.
* Only one prune runs at a time (``models/.prune.lock``); an automatic prune
  that finds another prune running leaves the work to it.

Sizes are apparent sizes (the bytes of the files, as ``du --apparent-size``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tessera.sim.locks import file_lock, try_file_lock

__all__ = ["CacheError", "DEFAULT_LIMIT", "DEFAULT_KEEP_RUNS", "RECENT_USE_SECONDS", "RECENT_RUN_SECONDS",
           "LIMIT_ENV",
           "ModelEntry", "RunEntry", "CacheScan", "PruneReport",
           "parse_size", "format_size", "cache_limit", "mark_used", "model_in_use",
           "scan", "prune", "auto_prune", "register"]

#: Environment variable with the automatic prune limit (``8G``, ``500M``, ``off``).
LIMIT_ENV = "TESSERA_CACHE_LIMIT"
#: Automatic prune limit when ``TESSERA_CACHE_LIMIT`` is not set: 20 GiB.
DEFAULT_LIMIT = 20 * 1024 ** 3
#: Run folders kept by a prune (the newest by last activity).
DEFAULT_KEEP_RUNS = 100
#: A model used this recently is never deleted.
RECENT_USE_SECONDS = 10 * 60
#: A run folder active this recently is never deleted (a long simulation may
#: write nothing into its folder for a while, and a prune cannot tell).
RECENT_RUN_SECONDS = 60 * 60
#: File whose modification time is a model's last use.
LAST_USED_FILE = "last_used"
#: Stamp the harness writes after a complete build.
STAMP_FILE = "built.json"

_UNITS = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_DISABLED = ("off", "none", "0", "")


class CacheError(ValueError):
    """Bad input to the cache tools (a malformed size, a bad count)."""


def parse_size(text: str) -> int:
    """Bytes of a size such as ``8G``, ``8GiB``, ``500M``, ``1.5T`` or ``4096``.

    Units are binary (K = 1024); ``B`` / ``iB`` after the unit is allowed.
    """
    match = _SIZE_RE.match(str(text))
    if not match:
        raise CacheError(f"bad size {text!r}: expected a number with an optional unit K, M, G or T "
                         f"(binary: 1K = 1024 bytes), e.g. 8G or 500M")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def format_size(n: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def cache_limit(environ=None) -> int | None:
    """The automatic prune limit in bytes from ``TESSERA_CACHE_LIMIT``; None when disabled."""
    environ = os.environ if environ is None else environ
    text = environ.get(LIMIT_ENV)
    if text is None:
        return DEFAULT_LIMIT
    if text.strip().lower() in _DISABLED:
        return None
    try:
        return parse_size(text)
    except CacheError as exc:
        raise CacheError(f"{LIMIT_ENV}: {exc}; use 'off' to disable automatic pruning") from None


# -- locks ---------------------------------------------------------------------

def _build_lock_path(models: Path, block: str, key: str) -> Path:
    """The lock :func:`tessera.sim.harness.build_model` holds while building this model."""
    return models / f".{block}-{key[:16]}.lock"


def _use_lock_path(build_dir: Path) -> Path:
    return build_dir.parent / f".{build_dir.name}.use"


_try_lock = try_file_lock
_lock = file_lock


def model_in_use(build_dir: Path):
    """Hold a shared lock that keeps a prune from deleting ``build_dir`` while it runs."""
    return file_lock(_use_lock_path(Path(build_dir)), shared=True)


def mark_used(build_dir: Path) -> None:
    """Record that the model in ``build_dir`` is being used now."""
    path = Path(build_dir) / LAST_USED_FILE
    try:
        path.touch()
    except OSError:
        pass  # the folder was just pruned or is read-only: a missed mark only makes it look older


# -- scanning ------------------------------------------------------------------

@dataclass
class ModelEntry:
    name: str
    path: str
    block: str
    preset: str
    key: str
    size_bytes: int
    complete: bool
    building: bool          # no stamp yet and a process holds the build lock
    build_seconds: float | None
    built_at: float | None
    last_used: float
    params: dict = field(default_factory=dict)


@dataclass
class RunEntry:
    name: str
    path: str
    size_bytes: int
    last_active: float


@dataclass
class CacheScan:
    build_root: str
    models: list            # ModelEntry, most recently used first
    runs: list              # RunEntry, most recently active first
    index_entries: int
    stale_index: list       # paths of index entries that point at no complete model

    @property
    def models_bytes(self) -> int:
        return sum(m.size_bytes for m in self.models)

    @property
    def runs_bytes(self) -> int:
        return sum(r.size_bytes for r in self.runs)

    def to_dict(self) -> dict:
        return {"build_root": self.build_root,
                "models": [asdict(m) for m in self.models],
                "models_bytes": self.models_bytes,
                "runs": {"count": len(self.runs), "bytes": self.runs_bytes},
                "index": {"entries": self.index_entries, "stale": len(self.stale_index)}}


def _tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass  # removed while we looked
    return total


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _model_entry(path: Path) -> ModelEntry:
    stamp = path / STAMP_FILE
    info = {}
    if stamp.exists():
        try:
            info = json.loads(stamp.read_text())
        except (OSError, ValueError):
            info = {}
    complete = bool(info)
    # <block>-<preset>-<key16>: the block is in the stamp; without one, the key
    # is the last part and the block is found from the build lock's name.
    key = info.get("key") or path.name.rsplit("-", 1)[-1]
    block = info.get("block") or _block_from_lock(path)
    preset = info.get("preset")
    if preset is None:
        rest = path.name[len(block) + 1:] if path.name.startswith(block + "-") else path.name
        preset = rest.rsplit("-", 1)[0] if "-" in rest else "?"
    built_at = _mtime(stamp) if complete else None
    last_used = _mtime(path / LAST_USED_FILE) or built_at or _mtime(path) or 0.0
    building = False
    if not complete:
        with _try_lock(_build_lock_path(path.parent, block, key)) as free:
            building = not free
    return ModelEntry(path.name, str(path), block, preset, key, _tree_bytes(path), complete,
                      building, info.get("build_seconds"), built_at, last_used,
                      info.get("params") or {})


def _block_from_lock(path: Path) -> str:
    key16 = path.name.rsplit("-", 1)[-1]
    for lock in path.parent.glob(f".*-{key16}.lock"):
        block = lock.name[1:-len(f"-{key16}.lock")]
        if path.name.startswith(block + "-"):
            return block
    return path.name.split("-", 1)[0]


def _model_dirs(models: Path) -> list:
    if not models.is_dir():
        return []
    return [p for p in models.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p.name != "index"]


def _run_entry(path: Path) -> RunEntry:
    # A running simulation appends to its log: the newest time of the folder
    # and of the files directly in it is its last activity.
    times = [_mtime(path) or 0.0]
    with contextlib.suppress(OSError):
        times += [_mtime(child) or 0.0 for child in path.iterdir()]
    return RunEntry(path.name, str(path), _tree_bytes(path), max(times))


def _index_target(entry_path: Path) -> Path | None:
    try:
        return Path(json.loads(entry_path.read_text())["build_dir"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def scan(build_root: Path | None = None) -> CacheScan:
    """Everything in the cache under ``build_root`` (default: the harness's build root)."""
    root = _resolve_root(build_root)
    models = root / "models"
    entries = sorted((_model_entry(p) for p in _model_dirs(models)),
                     key=lambda m: m.last_used, reverse=True)
    runs_dir = root / "runs"
    runs = sorted((_run_entry(p) for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else [],
                  key=lambda r: r.last_active, reverse=True)
    index = sorted((models / "index").glob("*.json")) if (models / "index").is_dir() else []
    stale = []
    for entry in index:
        target = _index_target(entry)
        if target is None or not (target / STAMP_FILE).exists():
            stale.append(str(entry))
    return CacheScan(str(root), entries, runs, len(index), stale)


def _resolve_root(build_root) -> Path:
    if build_root is not None:
        return Path(build_root)
    from tessera.sim import harness
    return Path(harness.BUILD_ROOT)


# -- pruning -------------------------------------------------------------------

@dataclass
class PruneReport:
    limit_bytes: int | None
    models_before_bytes: int
    models_after_bytes: int
    removed_models: list = field(default_factory=list)     # folder names
    kept_in_use: list = field(default_factory=list)        # over the limit but in use or recent
    removed_index_entries: int = 0
    removed_runs: int = 0
    removed_runs_bytes: int = 0
    skipped: str | None = None                            # why nothing was done

    @property
    def freed_bytes(self) -> int:
        return self.models_before_bytes - self.models_after_bytes + self.removed_runs_bytes

    def to_dict(self) -> dict:
        return {**asdict(self), "freed_bytes": self.freed_bytes}


def _remove_tree(path: Path, models: Path) -> None:
    """Rename ``path`` out of the way (atomic), then delete it."""
    trash = models / f".trash-{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _remove_index_entries(models: Path, build_dir: Path) -> int:
    removed = 0
    index = models / "index"
    if not index.is_dir():
        return 0
    for entry in index.glob("*.json"):
        target = _index_target(entry)
        if target is not None and target.name == build_dir.name:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed += 1
    return removed


def _delete_model(entry: ModelEntry, models: Path, now: float, recent_seconds: float) -> tuple:
    """Delete one model if nobody builds or uses it; returns (deleted, index entries removed)."""
    path = Path(entry.path)
    with _try_lock(_build_lock_path(models, entry.block, entry.key)) as free:
        if not free:
            return False, 0            # being built (or rebuilt) right now
        with _try_lock(_use_lock_path(path)) as unused:
            if not unused:
                return False, 0        # a run holds it
            # Re-read the last use under the locks: it may have moved since the scan.
            last = _mtime(path / LAST_USED_FILE) or entry.last_used
            if now - last < recent_seconds:
                return False, 0
            removed = _remove_index_entries(models, path)
            _remove_tree(path, models)
            return True, removed


def prune(build_root: Path | None = None, max_bytes: int | None = None, *,
          keep_runs: int = DEFAULT_KEEP_RUNS, protect=(), recent_seconds: float = RECENT_USE_SECONDS,
          now: float | None = None, wait: bool = True) -> PruneReport:
    """Prune the cache under ``build_root``.

    Models: the most recently used are kept while their sizes add up to at
    most ``max_bytes`` (None: no model is deleted for size); the others are
    deleted unless in use, being built, used in the last ``recent_seconds``
    or in ``protect`` (model folders).  Incomplete model folders (an
    interrupted build: no stamp, build lock free) are deleted whatever the
    limit.  Index entries that point at no complete model and ``.trash-``
    leftovers are removed.  Runs: the newest ``keep_runs`` run folders are
    kept, and any active in the last :data:`RECENT_RUN_SECONDS`.
    ``wait=False`` returns at once (``skipped``) if another prune is running.
    """
    if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes < 0):
        raise CacheError(f"max_bytes must be a non-negative integer, got {max_bytes!r}")
    if not isinstance(keep_runs, int) or keep_runs < 0:
        raise CacheError(f"keep_runs must be a non-negative integer, got {keep_runs!r}")
    root = _resolve_root(build_root)
    models = root / "models"
    protected = {Path(p).name for p in protect}
    now = time.time() if now is None else now
    with contextlib.ExitStack() as stack:
        if wait:
            stack.enter_context(_lock(models / ".prune.lock"))
        elif not stack.enter_context(_try_lock(models / ".prune.lock")):
            before = scan(root).models_bytes
            return PruneReport(max_bytes, before, before, skipped="another prune is running")
        return _prune_locked(root, models, max_bytes, keep_runs, protected, recent_seconds, now)


def _prune_locked(root, models, max_bytes, keep_runs, protected, recent_seconds, now) -> PruneReport:
    state = scan(root)
    report = PruneReport(max_bytes, state.models_bytes, state.models_bytes)
    kept_bytes = 0
    full = False       # once a model does not fit, every older one goes too (strict LRU)
    for entry in state.models:                      # most recently used first
        if entry.complete and not full:
            if max_bytes is None or kept_bytes + entry.size_bytes <= max_bytes:
                kept_bytes += entry.size_bytes
                continue
            full = True
        if entry.name in protected:
            deleted = False
        else:
            deleted, removed = _delete_model(entry, models, now, recent_seconds)
            report.removed_index_entries += removed
        if deleted:
            report.removed_models.append(entry.name)
            report.models_after_bytes -= entry.size_bytes
        elif entry.complete:
            kept_bytes += entry.size_bytes
            report.kept_in_use.append(entry.name)
    for stale in scan(root).stale_index:
        with contextlib.suppress(FileNotFoundError):
            Path(stale).unlink()
            report.removed_index_entries += 1
    for leftover in models.glob(".trash-*") if models.is_dir() else ():
        shutil.rmtree(leftover, ignore_errors=True)
    for tmp in (models / "index").glob("*.tmp") if (models / "index").is_dir() else ():
        if now - (_mtime(tmp) or now) > recent_seconds:   # a writer that died before its rename
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    for run in state.runs[keep_runs:]:                 # most recently active first
        if now - run.last_active < max(recent_seconds, RECENT_RUN_SECONDS):
            continue
        shutil.rmtree(run.path, ignore_errors=True)
        report.removed_runs += 1
        report.removed_runs_bytes += run.size_bytes
    return report


def auto_prune(build_root: Path, just_built: Path) -> PruneReport | None:
    """Called by the harness after it built a model: prune once the models exceed the limit.

    Returns None when automatic pruning is disabled or the cache is under the
    limit; a malformed ``TESSERA_CACHE_LIMIT`` raises :class:`CacheError`.
    """
    limit = cache_limit()
    if limit is None:
        return None
    try:
        if scan(build_root).models_bytes <= limit:
            return None
        report = prune(build_root, limit, protect=[just_built], wait=False)
    except OSError as exc:  # a tidy-up that failed must not fail the build that triggered it
        print(f"tessera cache: automatic prune failed: {exc}", file=sys.stderr)
        return None
    if report.removed_models:
        print(f"tessera cache: models took {format_size(report.models_before_bytes)} "
              f"(limit {format_size(limit)}, {LIMIT_ENV}); removed {len(report.removed_models)} "
              f"least recently used, now {format_size(report.models_after_bytes)}", file=sys.stderr)
    return report


# -- command line --------------------------------------------------------------

def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} d ago"


def format_listing(state: CacheScan, limit: int | None, now: float | None = None) -> str:
    now = time.time() if now is None else now
    rows = [("model", "block", "preset", "size", "build (s)", "last use")]
    for m in state.models:
        if m.complete:
            build = f"{m.build_seconds:.1f}" if m.build_seconds is not None else "-"
        else:
            build = "building" if m.building else "incomplete"
        rows.append((m.name, m.block, m.preset, format_size(m.size_bytes), build,
                     _age(max(0.0, now - m.last_used))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths))).rstrip() for row in rows]
    limit_text = format_size(limit) if limit is not None else "off"
    lines += ["",
              f"{len(state.models)} models, {format_size(state.models_bytes)} "
              f"(automatic prune limit {limit_text}, {LIMIT_ENV})",
              f"{len(state.runs)} run folders, {format_size(state.runs_bytes)}; "
              f"{state.index_entries} index entries ({len(state.stale_index)} stale)",
              f"build root: {state.build_root}"]
    return "\n".join(lines)


def format_prune(report: PruneReport) -> str:
    if report.skipped:
        return f"prune skipped: {report.skipped}"
    limit = format_size(report.limit_bytes) if report.limit_bytes is not None else "none"
    lines = [f"pruned to limit {limit}: removed {len(report.removed_models)} models "
             f"({format_size(report.models_before_bytes)} -> {format_size(report.models_after_bytes)}), "
             f"{report.removed_index_entries} index entries, {report.removed_runs} run folders; "
             f"freed {format_size(report.freed_bytes)}"]
    lines += [f"  removed {name}" for name in report.removed_models]
    if report.kept_in_use:
        lines.append(f"kept (in use, being built or used in the last {RECENT_USE_SECONDS // 60} min): "
                     + ", ".join(report.kept_in_use))
    return "\n".join(lines)


def _size_arg(text: str) -> int:
    import argparse
    try:
        return parse_size(text)
    except CacheError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count_arg(text: str) -> int:
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _cmd(args) -> int:
    try:
        limit = args.max_size if args.max_size is not None else cache_limit()
    except CacheError as exc:
        print(f"tessera cache: {exc}", file=sys.stderr)
        return 2
    root = Path(args.build_dir) if args.build_dir else None
    report = None
    if args.prune:
        report = prune(root, limit, keep_runs=args.keep_runs)
    elif args.max_size is not None:
        print("tessera cache: --max-size applies to --prune; add --prune", file=sys.stderr)
        return 2
    state = scan(root)
    if args.json:
        out = {**state.to_dict(), "limit_bytes": limit}
        if report is not None:
            out["pruned"] = report.to_dict()
        print(json.dumps(out, indent=1))
        return 0
    if report is not None:
        print(format_prune(report))
        print()
    print(format_listing(state, limit))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cache", help="list the Verilator model cache; --prune it to a size limit",
        description="List the cached Verilator models (most recently used first) with their size, "
                    "build time and last use.  --prune keeps the most recently used models up to "
                    f"the limit (--max-size, else ${LIMIT_ENV}, default 20G) and removes stale index "
                    f"entries and all but the newest run folders.  Models in use, being built or "
                    f"used in the last {RECENT_USE_SECONDS // 60} minutes, and run folders active in the "
                    f"last {RECENT_RUN_SECONDS // 60} minutes, are never removed.")
    p.add_argument("--prune", action="store_true", help="delete least recently used models past the limit")
    p.add_argument("--max-size", type=_size_arg, default=None, metavar="SIZE",
                   help=f"size limit for --prune, e.g. 8G or 500M (binary units; default ${LIMIT_ENV} or 20G)")
    p.add_argument("--keep-runs", type=_count_arg, default=DEFAULT_KEEP_RUNS, metavar="N",
                   help=f"run folders kept by --prune, newest first (default {DEFAULT_KEEP_RUNS})")
    p.add_argument("--build-dir", default=None,
                   help="build root holding models/ and runs/ (default: the harness's, "
                        "$TESSERA_BUILD_DIR or build/ or ~/.cache/tessera)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(func=_cmd)
