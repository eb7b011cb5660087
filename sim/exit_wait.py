"""Waiting for programs to exit without Python on the per-cycle path (runs inside the simulator).

Shared by the chip session (sim/chip/session.py) and the tile bench
(tb/tile/cocotb_tile.py): each core's ``debug.waypoint`` port turns to
:attr:`~tessera.hw.tile.waypoint.Waypoint.DONE` just before crt0 stores the
exit word (``tohost``: bit 0 set, exit code ``word >> 1``), so one task per
core sleeps on the value changes of its port and the exit words are read once,
when every core is DONE.  How a word is read (over the NoC, through a tile's
host port) is the caller's.
"""

from __future__ import annotations

__all__ = ["EXIT_REREAD_CYCLES", "wait_for_exits"]


#: Cycles between reads of an exit word still unwritten when its core reached the DONE waypoint
#: (crt0 stores the word a few instructions after the waypoint).
EXIT_REREAD_CYCLES = 16


async def wait_for_exits(keys, ports: dict, read_words, cycle, budget: int, poll: int) -> dict:
    """Let the simulation run until every program of ``keys`` has exited or ``budget`` cycles have
    passed; returns ``{"done", "cycles", "codes": {key: code}}``.

    ``keys``: one hashable per program (its core), no duplicates; ``ports[key]``: the core's
    waypoint port handle, or None for a program without one; ``read_words(keys)``: coroutine that
    reads the exit words of ``keys``, in that order, as ints; ``cycle()``: the current cycle.

    The call sleeps on the watchers' common event and a timer for the budget.  A read right after
    the DONE store can come too early, so a missing word is read again after
    :data:`EXIT_REREAD_CYCLES`, then at doubling intervals up to ``poll``.  ``cycles`` is exact:
    from the call to the cycle the last core reached DONE.  ``poll`` is the interval between reads
    of the exit words of programs without a waypoint port.  At the budget every exit word not yet
    seen is read once more."""
    import cocotb
    from cocotb.triggers import Event, First, Timer

    from tessera.hw.tile.waypoint import Waypoint
    from tessera.sim.clock import CLOCK_PERIOD_NS

    keys = list(keys)
    start = cycle()
    deadline = start + budget
    codes, exited_at = {}, {}
    if not keys:   # just let the clock run
        await Timer(budget * CLOCK_PERIOD_NS, unit="ns")
        return {"done": True, "cycles": cycle() - start, "codes": codes}
    running = {key for key in keys if ports[key] is not None}   # watched, not DONE yet
    all_done = Event()

    async def watch(key):
        port = ports[key]
        while int(port.value) != Waypoint.DONE.value:
            await port.value_change
        exited_at.setdefault(key, max(start, cycle()))
        running.discard(key)
        if not running:
            all_done.set()

    watchers = [cocotb.start_soon(watch(key)) for key in running]
    try:
        intervals = {True: min(poll, EXIT_REREAD_CYCLES), False: poll}   # watched?: re-read interval
        last_read = {True: None, False: None}
        while True:
            now = cycle()
            pending = {watched: [k for k in keys if k not in codes and (ports[k] is not None) == watched]
                       for watched in (True, False)}

            def due(watched):
                if not pending[watched]:
                    return False
                if now >= deadline:
                    return True
                if watched and running:
                    return False   # all DONE first: one batch
                return last_read[watched] is None or now - last_read[watched] >= intervals[watched]

            reads = []
            for watched in (True, False):
                if due(watched):
                    reads += pending[watched]
                    last_read[watched] = now
            if reads:
                got = await read_words(reads)
                for key, word in zip(reads, got):
                    if word & 1:
                        codes[key] = word >> 1
                        exited_at.setdefault(key, cycle())
                        running.discard(key)
                if any(k not in codes and ports[k] is not None for k in reads):
                    # A DONE core without its exit word: back off up to ``poll`` (it may never come).
                    intervals[True] = min(poll, 2 * intervals[True])
                pending = {watched: [k for k in group if k not in codes]
                           for watched, group in pending.items()}
            if len(codes) == len(keys):
                return {"done": True, "cycles": max(exited_at.values()) - start, "codes": codes}
            now = cycle()
            if now >= deadline:
                return {"done": False, "cycles": now - start, "codes": codes}
            wake = deadline - now
            for watched in (True, False):
                if pending[watched] and not (watched and running):
                    wake = min(wake, max(1, intervals[watched] - (now - last_read[watched])))
            timer = Timer(wake * CLOCK_PERIOD_NS, unit="ns")
            await (First(all_done.wait(), timer) if running else timer)
    finally:
        for task in watchers:
            if not task.done():
                task.cancel()
