"""Firmware waypoints: what a tile core is doing, as one small code it stores to tile_ctrl.

A core writes its ``tile_ctrl.waypoint[i]`` register (one MMIO store,
``tessera_waypoint()`` in sw/include/tessera_waypoint.h) before it starts to
spin on something and writes :attr:`Waypoint.RUNNING` when the wait is over;
the runtime writes :attr:`Waypoint.DONE` when the program exits.  The
register drives the core's ``debug.waypoint`` port, so a timeline tracer
(sim/chip/trace.py) sees each wait as an interval without following the PC.
The register reads back, and is 0 (``RUNNING``) while the core is held in
reset, so a released core starts as running.

tt-metal calls its firmware status markers waypoints too (4-character
strings in a debug ring); here a code is a number so that marking a wait
costs one store.  This enum is the only place the codes are defined: the C
header (``TESSERA_WAYPOINT_<NAME>`` in the generated tessera_target.h), the
tracer's track names and the table in docs/chip.md come from it.
"""

from __future__ import annotations

from amaranth.hdl import Shape
from amaranth.lib import enum

__all__ = ["Waypoint", "WAYPOINT_DOCS", "WAYPOINT_BITS", "is_wait", "waypoint_name", "waypoint_table"]


class Waypoint(enum.Enum, shape=8):
    """A tile core's waypoint code (``tile_ctrl.waypoint[i]``, ``debug.waypoint``)."""
    RUNNING = 0
    DONE = 1
    CB_WAIT_FRONT = 2
    CB_RESERVE_BACK = 3
    NOC_READ_BARRIER = 4
    NOC_WRITE_BARRIER = 5
    NOC_WRITES_FLUSHED = 6
    NOC_ATOMIC_BARRIER = 7
    NOC_CMD_BUFFER_WAIT = 8
    SEMAPHORE_WAIT = 9
    ENGINE_WAIT = 10


#: What each code means (the docs table and the C header comments).
WAYPOINT_DOCS = {
    Waypoint.RUNNING: "running: no wait marked (the state after release and after every wait)",
    Waypoint.DONE: "the program exited (tessera_exit, a return from main or a trap)",
    Waypoint.CB_WAIT_FRONT: "cb_wait_front: waiting for pages from the producer",
    Waypoint.CB_RESERVE_BACK: "cb_reserve_back: waiting for free pages from the consumer",
    Waypoint.NOC_READ_BARRIER: "noc_async_read_barrier: waiting for read responses",
    Waypoint.NOC_WRITE_BARRIER: "noc_async_write_barrier: waiting for write acks",
    Waypoint.NOC_WRITES_FLUSHED: "noc_async_writes_flushed: waiting for write data to leave L1",
    Waypoint.NOC_ATOMIC_BARRIER: "noc_async_atomic_barrier: waiting for atomic responses",
    Waypoint.NOC_CMD_BUFFER_WAIT: "a NoC command waiting for its busy NIU command buffer",
    Waypoint.SEMAPHORE_WAIT: "noc_semaphore_wait / noc_semaphore_wait_min: spinning on a local semaphore",
    Waypoint.ENGINE_WAIT: "tessera_engine_wait_idle: waiting for the engine threads",
}

#: Width of the waypoint register's value (the rest of the word reads 0).
WAYPOINT_BITS = Shape.cast(Waypoint).width


def is_wait(code: int) -> bool:
    """Whether ``code`` marks a wait (everything but RUNNING and DONE; unknown codes count as waits)."""
    return code not in (Waypoint.RUNNING.value, Waypoint.DONE.value)


def waypoint_name(code: int) -> str:
    """The enum name of ``code``, or ``WAYPOINT_<n>`` for a code the enum does not define."""
    try:
        return Waypoint(code).name
    except ValueError:
        return f"WAYPOINT_{code}"


def waypoint_table() -> str:
    """The codes as a Markdown table (docs/chip.md quotes it)."""
    rows = ["| code | name | meaning |", "|---|---|---|"]
    rows += [f"| {w.value} | `{w.name}` | {WAYPOINT_DOCS[w]} |" for w in Waypoint]
    return "\n".join(rows)
