"""A checker of Chrome trace-event JSON, independent of the writer (sim/chip/trace.py).

It checks what ui.perfetto.dev and chrome://tracing need of the JSON object
form of the Trace Event Format:
a ``traceEvents`` list of objects with a phase ``ph``, a ``name`` and
integer ``pid`` / ``tid``; complete events (``X``) with non-negative
numeric ``ts`` and ``dur`` in microseconds; instant events (``i``) with a
scope; metadata events (``M``) naming processes and threads.  Beyond the
format, a timeline's events on one thread must nest (none partly overlaps
another), every thread with events must be named, and the timestamps must lie
inside the traced span given in ``otherData``.
"""

from __future__ import annotations

__all__ = ["check_chrome_trace", "intervals_from_chrome_trace", "overlap", "to_cycles"]

_PHASES = {"X", "i", "M"}
_METADATA = {"process_name", "process_sort_index", "thread_name", "thread_sort_index"}


def to_cycles(us) -> int:
    """A timestamp in microseconds back to cycles (one cycle is drawn as one nanosecond)."""
    return round(us * 1000)


def overlap(a, b) -> int:
    """Cycles two intervals (objects with ``start`` / ``end``) share."""
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def check_chrome_trace(doc) -> list:
    """Problems of the trace document ``doc`` (a parsed JSON object); empty when it is well formed."""
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return [f"not an object with a traceEvents list: {type(doc).__name__}"]
    span = doc.get("otherData", {})
    lo, hi = span.get("start_cycle"), span.get("stop_cycle")
    processes, threads = set(), set()
    per_thread = {}
    for k, e in enumerate(doc["traceEvents"]):
        where = f"event {k}"
        if not isinstance(e, dict):
            problems.append(f"{where}: not an object")
            continue
        ph = e.get("ph")
        if ph not in _PHASES:
            problems.append(f"{where}: phase {ph!r} not one of {sorted(_PHASES)}")
            continue
        if not isinstance(e.get("name"), str) or not e["name"]:
            problems.append(f"{where}: no name")
        if not all(isinstance(e.get(f), int) and not isinstance(e.get(f), bool) for f in ("pid", "tid")):
            problems.append(f"{where}: pid/tid not integers: {e.get('pid')!r}/{e.get('tid')!r}")
            continue
        if ph == "M":
            if e["name"] not in _METADATA:
                problems.append(f"{where}: unknown metadata {e['name']!r}")
            args = e.get("args", {})
            if e["name"].endswith("_name"):
                if not isinstance(args.get("name"), str) or not args["name"]:
                    problems.append(f"{where}: {e['name']} without args.name")
                (processes if e["name"] == "process_name" else threads).add(
                    e["pid"] if e["name"] == "process_name" else (e["pid"], e["tid"]))
            elif not isinstance(args.get("sort_index"), int):
                problems.append(f"{where}: {e['name']} without an integer args.sort_index")
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            problems.append(f"{where}: ts {ts!r} is not a non-negative number")
            continue
        if not isinstance(e.get("cat"), str):
            problems.append(f"{where}: no category")
        start = to_cycles(ts)
        end = start
        if ph == "X":
            dur = e.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                problems.append(f"{where}: dur {dur!r} is not a non-negative number")
                continue
            end = start + to_cycles(dur)
            per_thread.setdefault((e["pid"], e["tid"]), []).append((start, end, e["name"], k))
        elif e.get("s") not in ("g", "p", "t"):
            problems.append(f"{where}: instant event scope {e.get('s')!r}")
        if lo is not None and hi is not None and not lo <= start <= end <= hi:
            problems.append(f"{where}: cycles {start}..{end} outside the traced span {lo}..{hi}")
    for (pid, tid), runs in per_thread.items():
        if pid not in processes:
            problems.append(f"pid {pid}: events but no process_name")
        if (pid, tid) not in threads:
            problems.append(f"pid {pid} tid {tid}: events but no thread_name")
        runs.sort(key=lambda r: (r[0], -r[1]))
        open_ends = []
        for start, end, name, k in runs:
            while open_ends and open_ends[-1] <= start:
                open_ends.pop()
            if open_ends and end > open_ends[-1]:
                problems.append(f"pid {pid} tid {tid}: event {k} ({name} {start}..{end}) partly overlaps "
                                f"an enclosing event ending at {open_ends[-1]}")
            open_ends.append(end)
    return problems


def intervals_from_chrome_trace(doc) -> dict:
    """``{(pid, tid): [(start cycle, end cycle, name)]}`` of the complete events, in time order."""
    out = {}
    for e in doc["traceEvents"]:
        if e.get("ph") == "X":
            start = to_cycles(e["ts"])
            out.setdefault((e["pid"], e["tid"]), []).append((start, start + to_cycles(e["dur"]), e["name"]))
    for runs in out.values():
        runs.sort()
    return out
