"""cocotb side of the engine bench top (:mod:`tessera.sim.engine.bench_top`): load, run, read back.

Python runs per cycle only while loading L1 and the command memories and
while reading results back, one L1 row (every bank) and one word per thread
per cycle; the run itself is one wait on ``done`` (or the timeout), with the
cycles counted in hardware.
"""

from __future__ import annotations

import time

from cocotb.triggers import FallingEdge, First, RisingEdge, Timer

from tessera.hw.engine.engine import CMD_WIDTH, THREADS
from tessera.sim.clock import CLOCK_PERIOD_NS
from tessera.sim.cocotb_util import load_params
from tessera.sim.engine.bench_top import DEFAULT_CMD_WORDS, STATUS_WIDTH

__all__ = ["BenchTopDriver", "RunTimeout"]


class RunTimeout(TimeoutError):
    """The engine did not finish its commands within the cycle budget."""


class BenchTopDriver:
    """Drives the ``engine_bench`` block ``dut`` of configuration ``cfg`` (clock running, reset done)."""

    def __init__(self, dut, cfg):
        self.dut = dut
        self.cfg = cfg
        l1 = cfg.l1
        self.row_bytes = l1.banks * l1.bank_bytes
        self.rows = l1.words_per_bank
        self.size = l1.size_bytes
        self._pending = []             # (addr, bytes) given to write(), loaded by load()
        for name in ("clear", "cmd_load", "cmd_data", "start", "host_valid", "host_write",
                     "host_row", "host_wdata"):
            getattr(dut, name).value = 0

    # -- L1 ---------------------------------------------------------------------------------------
    def _check_range(self, addr: int, n: int):
        if addr < 0 or n < 0 or addr + n > self.size:
            raise ValueError(f"L1 access of {n} bytes at {addr:#x} is outside the "
                             f"{self.size}-byte L1")

    def write(self, addr: int, data: bytes):
        """Queue ``data`` for L1 at byte ``addr``; :meth:`load` writes it."""
        self._check_range(addr, len(data))
        self._pending.append((addr, bytes(data)))

    async def read(self, addr: int, n: int) -> bytes:
        """The ``n`` bytes of L1 at ``addr`` (start low or after ``done``)."""
        self._check_range(addr, n)
        first, last = addr // self.row_bytes, (addr + n - 1) // self.row_bytes
        rows = await self._read_rows(range(first, last + 1)) if n else {}
        image = b"".join(rows[r] for r in range(first, last + 1)) if n else b""
        offset = addr - first * self.row_bytes
        return image[offset:offset + n]

    async def _read_rows(self, rows) -> dict:
        dut = self.dut
        rows = list(rows)
        got = {}
        dut.host_write.value = 0
        previous = None
        for row in rows + [None]:
            await FallingEdge(dut.clk)
            if previous is not None:   # the row asked for in the cycle before
                got[previous] = int(dut.host_rdata.value).to_bytes(self.row_bytes, "little")
            if row is None:
                dut.host_valid.value = 0
            else:
                dut.host_valid.value = 1
                dut.host_row.value = row
            previous = row
        self._check_host("reading L1")
        return got

    def _check_host(self, what: str):
        if int(self.dut.host_refused.value):
            raise RuntimeError(f"engine bench top: the L1 refused a host request while {what} "
                               f"(the engine must be idle: start low or done)")

    # -- loading ----------------------------------------------------------------------------------
    async def load(self, commands: dict):
        """Empty the command memories, then load the queued L1 writes and ``commands``
        (``{thread: [word, ...]}``), row by row and word by word in the same cycles."""
        dut = self.dut
        bad = set(commands) - set(THREADS)
        if bad:
            raise ValueError(f"unknown engine thread {sorted(bad)[0]!r}; threads are {', '.join(THREADS)}")
        rows = self._rows_of_pending()
        partial = [r for r, (_, mask) in rows.items() if mask != (1 << self.row_bytes) - 1]
        old = await self._read_rows(sorted(partial)) if partial else {}
        row_words = []
        for row in sorted(rows):
            image, mask = rows[row]
            if row in old:
                image = bytes(b if mask >> i & 1 else o for i, (b, o) in enumerate(zip(image, old[row])))
            row_words.append((row, int.from_bytes(image, "little")))
        streams = [list(commands.get(t, ())) for t in THREADS]
        capacity = self.capacity()
        for thread, words in zip(THREADS, streams):
            if len(words) > capacity:
                raise ValueError(f"{len(words)} {thread} command words do not fit the bench top's "
                                 f"command memory of {capacity} words (block parameter cmd_words)")
        await FallingEdge(dut.clk)
        dut.clear.value = 1
        await FallingEdge(dut.clk)
        dut.clear.value = 0
        mask = (1 << CMD_WIDTH) - 1
        dut.host_write.value = 1
        for i in range(max([len(row_words)] + [len(s) for s in streams])):
            if i < len(row_words):
                row, word = row_words[i]
                dut.host_valid.value = 1
                dut.host_row.value = row
                dut.host_wdata.value = word
            elif i == len(row_words):
                dut.host_valid.value = 0
            load, data = 0, 0
            for t, words in enumerate(streams):
                if i < len(words):
                    load |= 1 << t
                    data |= (words[i] & mask) << (CMD_WIDTH * t)
            dut.cmd_load.value = load
            dut.cmd_data.value = data
            await FallingEdge(dut.clk)
        dut.host_valid.value = 0
        dut.host_write.value = 0
        dut.cmd_load.value = 0
        await FallingEdge(dut.clk)
        self._pending.clear()
        self._check_host("loading L1")
        if int(dut.cmd_overflow.value):
            raise RuntimeError("engine bench top: a command memory overflowed while loading")
        loaded = self._per_thread(dut.loaded)
        want = {t: len(s) for t, s in zip(THREADS, streams)}
        if loaded != want:
            raise RuntimeError(f"engine bench top loaded {loaded} command words, expected {want}")

    def _rows_of_pending(self) -> dict:
        """``{row: (bytes, byte mask)}`` of the queued writes (later writes win)."""
        rows = {}
        rb = self.row_bytes
        for addr, data in self._pending:
            pos = 0
            while pos < len(data):
                row, offset = divmod(addr + pos, rb)
                take = min(rb - offset, len(data) - pos)
                image, mask = rows.get(row, (bytes(rb), 0))
                image = image[:offset] + data[pos:pos + take] + image[offset + take:]
                mask |= ((1 << take) - 1) << offset
                rows[row] = (image, mask)
                pos += take
        return rows

    def capacity(self) -> int:
        """Command words per thread the block holds."""
        return int(load_params().get("cmd_words", DEFAULT_CMD_WORDS))

    def _per_thread(self, handle) -> dict:
        value = int(handle.value)
        return {t: (value >> (STATUS_WIDTH * i)) & ((1 << STATUS_WIDTH) - 1) for i, t in enumerate(THREADS)}

    # -- running ----------------------------------------------------------------------------------
    async def run(self, budget: int) -> dict:
        """Release the loaded commands and sleep until the engine has finished them;
        ``{"cycles", "mm_issue_cycles", "wall_seconds"}`` (cycles counted by the bench top).
        Raises :class:`RunTimeout` naming where it stopped if ``done`` has not risen within
        ``budget`` cycles."""
        dut = self.dut
        if budget < 1:
            raise ValueError(f"run budget must be at least one cycle, got {budget!r}")
        await FallingEdge(dut.clk)
        dut.start.value = 1
        wall = time.monotonic()
        await First(RisingEdge(dut.done), Timer(budget * CLOCK_PERIOD_NS, unit="ns"))
        wall = time.monotonic() - wall
        await FallingEdge(dut.clk)
        done = int(dut.done.value)
        if not done:
            taken, loaded = self._per_thread(dut.taken), self._per_thread(dut.loaded)
            status = ", ".join(f"{t} {taken[t]}/{loaded[t]}" for t in THREADS)
            busy = int(dut.busy.value)
            busy_threads = " ".join(t for i, t in enumerate(THREADS) if busy >> i & 1) or "none"
            message = (f"engine not done after {budget} cycles (reset before the next run): "
                       f"command words taken/loaded {status}; busy threads: {busy_threads}; "
                       f"src_valid={int(dut.src_valid.value):02b} dst_full={int(dut.dst_full.value):02b}")
            dut.start.value = 0
            raise RunTimeout(message)
        dut.start.value = 0
        return {"cycles": int(dut.cycles.value), "mm_issue_cycles": int(dut.mm_issue_cycles.value),
                "wall_seconds": wall}
