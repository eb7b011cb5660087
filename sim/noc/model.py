"""Python reference of the NoC routing: unicast paths, multicast trees, channel-load bounds.

Mirrors the routing rules of the router (``hw/noc/route_computation.py``,
documented in docs/noc.md) so the tests and the benchmark can predict
destinations, link traversals and the ideal throughput of a traffic pattern
without trusting the HDL.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["span", "multicast_destinations", "unicast_path", "multicast_links",
           "pattern_destinations", "channel_load_bound", "hops", "PATTERNS"]

PATTERNS = ("uniform", "transpose", "bitcomp", "hotspot")
HOTSPOT_FRACTION = 1 / 8


def span(lo: int, hi: int, size: int, torus: bool) -> list:
    """Positions lo..hi; on a torus lo > hi wraps around."""
    if lo <= hi:
        return list(range(lo, hi + 1))
    if not torus:
        return []
    return list(range(lo, size)) + list(range(0, hi + 1))


def multicast_destinations(noc, src, rect, exclude_self: bool) -> set:
    x0, y0, x1, y1 = rect
    torus = noc.topology == "torus"
    nodes = {(x, y) for x in span(x0, x1, noc.width, torus) for y in span(y0, y1, noc.height, torus)}
    if exclude_self:
        nodes.discard(tuple(src))
    return nodes


def _ring_step(pos: int, target: int, size: int, torus: bool) -> int:
    """+1 or -1: the direction the router takes from ``pos`` toward ``target``."""
    if not torus:
        return 1 if target > pos else -1
    d = (target - pos) % size
    if d * 2 < size or (d * 2 == size and pos % 2 == 0):
        return 1
    return -1


def unicast_path(noc, src, dst) -> list:
    """Links ((x, y), (nx, ny)) of the XY path, in order."""
    torus = noc.topology == "torus"
    (x, y), (dx, dy) = src, dst
    links = []
    while x != dx:
        step = _ring_step(x, dx, noc.width, torus)
        nx = (x + step) % noc.width
        links.append(((x, y), (nx, y)))
        x = nx
    while y != dy:
        step = _ring_step(y, dy, noc.height, torus)
        ny = (y + step) % noc.height
        links.append(((x, y), (x, ny)))
        y = ny
    return links


def hops(noc, src, dst) -> int:
    return len(unicast_path(noc, src, dst))


def _sweep(pos: int, lo: int, hi: int, size: int, torus: bool) -> list:
    """Branches (direction, end) that cover lo..hi from ``pos`` (router rule)."""
    inside = pos in span(lo, hi, size, torus)
    if inside:
        out = []
        if hi != pos:
            out.append((1, hi))
        if lo != pos:
            out.append((-1, lo))
        return out
    if torus:
        east = (hi - pos) % size <= (pos - lo) % size
    else:
        east = pos < lo
    return [(1, hi)] if east else [(-1, lo)]


def _ring_walk(start: int, step: int, end: int, size: int) -> list:
    """The hops (from, to) going ``step`` (+1 or -1) round a ring of ``size`` from ``start`` to ``end``."""
    hops = []
    position = start
    while position != end:
        following = (position + step) % size
        hops.append((position, following))
        position = following
    return hops


def multicast_links(noc, src, rect) -> list:
    """Links the XY tree uses (each once)."""
    torus = noc.topology == "torus"
    x0, y0, x1, y1 = rect
    sx, sy = src
    cols = set(span(x0, x1, noc.width, torus))
    links = []
    visited_cols = [sx]
    for step, end in _sweep(sx, x0, x1, noc.width, torus):
        for x, nx in _ring_walk(sx, step, end, noc.width):
            links.append(((x, sy), (nx, sy)))
            visited_cols.append(nx)
    for x in visited_cols:
        if x not in cols:
            continue
        for step, end in _sweep(sy, y0, y1, noc.height, torus):
            links += [((x, y), (x, ny)) for y, ny in _ring_walk(sy, step, end, noc.height)]
    return links


def pattern_destinations(noc, pattern: str, src) -> dict:
    """{destination: probability} for one source under a traffic pattern."""
    w, h = noc.width, noc.height
    x, y = src
    uniform = {(dx, dy): 1 / (w * h) for dx in range(w) for dy in range(h)}
    if pattern == "uniform":
        return uniform
    if pattern == "transpose":
        return {(y, x): 1.0} if w == h else uniform
    if pattern == "bitcomp":
        return {(w - 1 - x, h - 1 - y): 1.0}
    if pattern == "hotspot":
        out = {d: p * (1 - HOTSPOT_FRACTION) for d, p in uniform.items()}
        hot = (w // 2, h // 2)
        out[hot] = out.get(hot, 0) + HOTSPOT_FRACTION
        return out
    raise ValueError(f"unknown traffic pattern {pattern!r}; known: {PATTERNS}")


def channel_load_bound(noc, pattern: str, classes: int | None = None) -> float:
    """Ideal injection rate (flits/cycle/node) at which the busiest channel saturates.

    Channels are router-to-router links and each node's local injection and
    ejection channels, all carrying one flit per cycle; loads follow this
    network's XY routing.  The router has one injection and one ejection
    channel per message class, and the traffic is split evenly over
    ``classes`` classes (default: all of the network's, as the benchmark's
    generators do); ``classes=1`` gives the bound of a single local channel.
    """
    classes = noc.num_classes if classes is None else classes
    if not (isinstance(classes, int) and 1 <= classes <= noc.num_classes):
        raise ValueError(f"classes must be in 1..{noc.num_classes}, got {classes!r}")
    load = Counter()
    for sy in range(noc.height):
        for sx in range(noc.width):
            load[("inject", (sx, sy))] += 1.0 / classes
            for dst, p in pattern_destinations(noc, pattern, (sx, sy)).items():
                for link in unicast_path(noc, (sx, sy), dst):
                    load[link] += p
                load[("eject", dst)] += p / classes
    return 1.0 / max(load.values())
