"""Core coordinates, tt-metal style: ``CoreCoord``, ``CoreRange``, ``CoreRangeSet``.

Coordinates are *logical*: ``CoreCoord(0, 0)`` is the first Tensix tile of
the compute grid, whatever its NoC position.  The compute grid is the
bounding box of the configuration's Tensix nodes
(``device.compute_with_storage_grid_size()``); logical (x, y) is NoC node
(x0 + x, y0 + y) where (x0, y0) is the box's corner.  A coordinate outside
the box, or one landing on a node that is not a Tensix tile, is refused when
a kernel, circular buffer or semaphore is placed on it
(:func:`resolve_cores`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RuntimeInputError

__all__ = ["CoreCoord", "CoreRange", "CoreRangeSet", "ComputeGrid", "as_core_set"]


def _coord_int(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RuntimeInputError(f"{what} must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True, order=True)
class CoreCoord:
    """A logical core (a Tensix tile of the compute grid)."""

    x: int
    y: int

    def __post_init__(self):
        _coord_int(self.x, "CoreCoord x")
        _coord_int(self.y, "CoreCoord y")

    def __str__(self) -> str:
        return f"({self.x}, {self.y})"


@dataclass(frozen=True)
class CoreRange:
    """The rectangle ``start`` .. ``end`` of logical cores, both included."""

    start: CoreCoord
    end: CoreCoord

    def __init__(self, start, end=None):
        start = _as_coord(start)
        end = start if end is None else _as_coord(end)
        if end.x < start.x or end.y < start.y:
            raise RuntimeInputError(f"CoreRange {start}..{end}: end lies before start")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def cores(self) -> list:
        return [CoreCoord(x, y) for y in range(self.start.y, self.end.y + 1)
                for x in range(self.start.x, self.end.x + 1)]

    def __iter__(self):
        return iter(self.cores())

    def __len__(self) -> int:
        return (self.end.x - self.start.x + 1) * (self.end.y - self.start.y + 1)

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


class CoreRangeSet:
    """A set of :class:`CoreRange`; ranges must not overlap (as in tt-metal)."""

    def __init__(self, ranges):
        if isinstance(ranges, (CoreRange, CoreCoord)):
            ranges = [ranges]
        self.ranges = tuple(r if isinstance(r, CoreRange) else CoreRange(r) for r in ranges)
        seen = {}
        for r in self.ranges:
            for core in r.cores():
                if core in seen:
                    raise RuntimeInputError(f"CoreRangeSet: ranges {seen[core]} and {r} overlap at core {core}")
                seen[core] = r

    def cores(self) -> list:
        return sorted({c for r in self.ranges for c in r.cores()}, key=lambda c: (c.y, c.x))

    def __iter__(self):
        return iter(self.cores())

    def __len__(self) -> int:
        return len(self.cores())

    def __repr__(self) -> str:
        return f"CoreRangeSet([{', '.join(str(r) for r in self.ranges)}])"


def _as_coord(value) -> CoreCoord:
    if isinstance(value, CoreCoord):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return CoreCoord(*value)
    raise RuntimeInputError(f"expected a CoreCoord or (x, y), got {value!r}")


def as_core_set(spec) -> list:
    """The logical cores of a CoreCoord, (x, y), CoreRange, CoreRangeSet or a list of any of them."""
    if isinstance(spec, CoreCoord) or (isinstance(spec, tuple) and len(spec) == 2
                                       and all(isinstance(v, int) for v in spec)):
        return [_as_coord(spec)]
    if isinstance(spec, (CoreRange, CoreRangeSet)):
        return spec.cores()
    if isinstance(spec, (list, tuple, set, frozenset)):
        cores = []
        for item in spec:
            for core in as_core_set(item):
                if core not in cores:
                    cores.append(core)
        if not cores:
            raise RuntimeInputError("empty set of cores")
        return cores
    raise RuntimeInputError(f"expected a CoreCoord, CoreRange, CoreRangeSet or a list of them, got {spec!r}")


class ComputeGrid:
    """Logical cores <-> NoC nodes for a configuration (see the module docstring)."""

    def __init__(self, cfg):
        self.cfg = cfg
        tensix = cfg.nodes_of("tensix")
        if not tensix:
            raise RuntimeInputError(f"configuration {cfg.name!r} has no Tensix tile")
        self.x0 = min(n.x for n in tensix)
        self.y0 = min(n.y for n in tensix)
        self.width = max(n.x for n in tensix) - self.x0 + 1
        self.height = max(n.y for n in tensix) - self.y0 + 1

    @property
    def size(self) -> CoreCoord:
        return CoreCoord(self.width, self.height)

    def noc(self, core: CoreCoord) -> tuple:
        """NoC (x, y) of a logical core; refuses cores off the grid and non-Tensix nodes."""
        core = _as_coord(core)
        if core.x >= self.width or core.y >= self.height:
            raise RuntimeInputError(f"core {core} lies outside the {self.width}x{self.height} compute grid of "
                                    f"configuration {self.cfg.name!r} (logical x 0..{self.width - 1}, "
                                    f"y 0..{self.height - 1})")
        x, y = self.x0 + core.x, self.y0 + core.y
        try:
            kind = f"the {self.cfg.node_at(x, y).kind} node"
        except KeyError:
            kind = "a position without a node"
        if kind != "the tensix node":
            raise RuntimeInputError(f"core {core} is NoC node ({x}, {y}), {kind}, not a Tensix "
                                    f"tile; kernels, circular buffers and semaphores go on Tensix tiles")
        return x, y

    def logical(self, x: int, y: int) -> CoreCoord:
        return CoreCoord(x - self.x0, y - self.y0)

    def resolve(self, spec) -> list:
        """``[(CoreCoord, (noc x, noc y))]`` for a core spec, every core checked."""
        return [(core, self.noc(core)) for core in as_core_set(spec)]
