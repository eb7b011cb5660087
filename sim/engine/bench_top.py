"""Bench-only top of the engine: the engine on a real L1, fed from command memories, timed in hardware.

``tessera engine-bench`` runs on this block so that no Python runs while the
engine works: the testbench loads L1 and the three command memories, raises
``start`` and sleeps until ``done`` rises; a cycle counter measures the run::

    host_* (one L1 row per cycle) ──► L1 ports 2.. ┐
                                                   ├─ L1 (hw.tile.l1: banked, round-robin per bank)
    engine.unpack_l1 ──────────────► L1 port 0  ───┤
    engine.pack_l1   ──────────────► L1 port 1  ───┘
    cmd_load/cmd_data ──► command memory per thread ──► engine.<thread>_cmd (while start is high)

Ports (``T`` = the engine's threads unpack, math, pack in that order; ``B`` = ``cfg.l1.banks``,
``W`` = ``cfg.l1.bank_width``):

* ``clear``: for one cycle: empty the command memories, zero the counters, drop ``done`` and
  ``host_refused``.  Give it with ``start`` low.
* ``cmd_load`` (T bits) / ``cmd_data`` (T x 64 bits, thread t in bits 64t..64t+63): append the
  word of every thread whose bit is set to that thread's memory (``cmd_words`` words each);
  with ``start`` low.  ``cmd_overflow`` is set (sticky) by a word past the end; it is dropped.
* ``start`` (level): while high and not ``done`` the memories stream their words into the engine
  in order, one per thread and cycle at most, and ``cycles`` counts; ``mm_issue_cycles`` counts
  the cycles of those in which the lane array issued a matmul step.
* ``done`` (sticky until ``clear``): every loaded word has been taken, the engine is idle
  (``busy`` = 0) and no word was taken in the last :data:`FIFO_LATENCY` cycles (a word in the
  engine's command FIFO is not yet counted in ``busy``).  The cycle that finds this is the last
  one counted.
* ``taken`` (T x 16 bits) and ``loaded`` (T x 16 bits): words taken by the engine and loaded,
  per thread; with ``busy``, ``src_valid`` and ``dst_full`` (the engine's) they say where a run
  that never finishes got stuck.
* ``host_valid`` / ``host_write`` / ``host_row`` / ``host_wdata`` (B x W bits): read or write
  one L1 row, the B consecutive bank words at byte ``host_row * B * W / 8`` (one per bank, so all
  are granted in the same cycle when the engine does not use L1), as B requester ports of the
  L1.  A read's row is on ``host_rdata`` in the next cycle.  Use them with ``start`` low (or
  after ``done``); a request the L1 does not grant at once is dropped and sets ``host_refused``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.config import TesseraConfig
from tessera.hw.engine.engine import CMD_WIDTH, THREADS, Engine
from tessera.hw.tile.l1 import L1
from tessera.hw.tile.l1_port import L1AddressMap, L1Op

__all__ = ["EngineBenchTop", "build_engine_bench_top", "FIFO_LATENCY", "COUNTER_WIDTH",
           "STATUS_WIDTH", "DEFAULT_CMD_WORDS"]

#: Cycles from a word entering the engine's command FIFO to the unit seeing it
#: (hw.stream_fifo: offered two cycles after the push).
FIFO_LATENCY = 2
#: Bits of ``cycles`` and ``mm_issue_cycles``.
COUNTER_WIDTH = 48
#: Bits per thread of ``taken`` and ``loaded``.
STATUS_WIDTH = 16
#: Command words per thread when no ``cmd_words`` is given.
DEFAULT_CMD_WORDS = 4096


class EngineBenchTop(wiring.Component):
    """The engine of ``cfg`` on the L1 of ``cfg`` with ``cmd_words``-word command memories (see the
    module docstring)."""

    def __init__(self, cfg: TesseraConfig, cmd_words: int = DEFAULT_CMD_WORDS):
        if not isinstance(cmd_words, int) or isinstance(cmd_words, bool) \
                or not 1 <= cmd_words < 2 ** STATUS_WIDTH:
            raise ValueError(f"engine bench top cmd_words must be an integer in 1..{2 ** STATUS_WIDTH - 1}, "
                             f"got {cmd_words!r}")
        self.cfg = cfg
        self.cmd_words = cmd_words
        self.amap = L1AddressMap(cfg.l1)
        l1 = cfg.l1
        threads = len(THREADS)
        super().__init__({
            "clear": In(1),
            "cmd_load": In(threads),
            "cmd_data": In(threads * CMD_WIDTH),
            "cmd_overflow": Out(1),
            "start": In(1),
            "done": Out(1),
            "cycles": Out(COUNTER_WIDTH),
            "mm_issue_cycles": Out(COUNTER_WIDTH),
            "taken": Out(threads * STATUS_WIDTH),
            "loaded": Out(threads * STATUS_WIDTH),
            "busy": Out(threads),
            "src_valid": Out(2),
            "dst_full": Out(2),
            "host_valid": In(1),
            "host_write": In(1),
            "host_row": In(range(l1.words_per_bank)),
            "host_wdata": In(l1.banks * l1.bank_width),
            "host_rdata": Out(l1.banks * l1.bank_width),
            "host_refused": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, amap, l1 = self.cfg, self.amap, self.cfg.l1
        m.submodules.engine = engine = Engine(cfg)
        # The tile's order (engine ports before the host's) so the arbiters start alike.
        m.submodules.l1 = mem = L1(l1, 2 + l1.banks)
        wiring.connect(m, engine.unpack_l1, mem.port[0])
        wiring.connect(m, engine.pack_l1, mem.port[1])

        running = Signal()
        m.d.comb += running.eq(self.start & ~self.done)

        # Host rows: lane b is bank b of row host_row.
        refused = Signal()
        rdata = []
        for bank in range(l1.banks):
            port = mem.port[2 + bank]
            addr = Cat(Const(0, amap.offset_bits), Const(bank, amap.bank_bits), self.host_row) \
                if amap.bank_bits else Cat(Const(0, amap.offset_bits), self.host_row)
            m.d.comb += [
                port.req.valid.eq(self.host_valid),
                port.req.payload.addr.eq(addr),
                # Every byte of a write.  Not a constant: yosys writes a constant part of a
                # struct as an ``always @*`` that reads nothing, which Verilator never runs.
                port.req.payload.mask.eq(self.host_write.replicate(l1.bank_bytes)),
                port.req.payload.wdata.eq(self.host_wdata.word_select(bank, l1.bank_width)),
            ]
            with m.If(self.host_write):
                m.d.comb += port.req.payload.op.eq(L1Op.WRITE)
            with m.Else():
                m.d.comb += port.req.payload.op.eq(L1Op.READ)
            with m.If(self.host_valid & ~port.req.ready):
                m.d.comb += refused.eq(1)
            rdata.append(port.resp.rdata)
        m.d.comb += self.host_rdata.eq(Cat(*rdata))

        # Command memories: written while loading, streamed into the engine while running.
        taken_any = Signal()
        drained = Signal()
        accepts, empties = [], []
        for t, thread in enumerate(THREADS):
            words = Memory(shape=unsigned(CMD_WIDTH), depth=self.cmd_words, init=[])
            m.submodules[f"{thread}_commands"] = words
            write = words.write_port()
            read = words.read_port(domain="comb")
            loaded = Signal(range(self.cmd_words + 1), name=f"{thread}_loaded")
            taken = Signal(range(self.cmd_words + 1), name=f"{thread}_taken")
            cmd = getattr(engine, f"{thread}_cmd")
            m.d.comb += [
                write.addr.eq(loaded),
                write.data.eq(self.cmd_data.word_select(t, CMD_WIDTH)),
                read.addr.eq(taken),
                cmd.payload.eq(read.data),
                cmd.valid.eq(running & (taken != loaded)),
            ]
            with m.If(self.cmd_load[t] & ~self.clear):
                with m.If(loaded == self.cmd_words):
                    m.d.sync += self.cmd_overflow.eq(1)
                with m.Else():
                    m.d.comb += write.en.eq(1)
                    m.d.sync += loaded.eq(loaded + 1)
            accept = Signal(name=f"{thread}_accept")
            m.d.comb += accept.eq(cmd.valid & cmd.ready)
            with m.If(accept):
                m.d.sync += taken.eq(taken + 1)
            with m.If(self.clear):
                m.d.sync += [loaded.eq(0), taken.eq(0)]
            accepts.append(accept)
            empties.append(taken == loaded)
            m.d.comb += [
                self.taken.word_select(t, STATUS_WIDTH).eq(taken),
                self.loaded.word_select(t, STATUS_WIDTH).eq(loaded),
            ]
        m.d.comb += [taken_any.eq(Cat(*accepts).any()), drained.eq(Cat(*empties).all())]

        # A word just taken sits in the engine's FIFO for FIFO_LATENCY cycles before ``busy``
        # shows it: wait that long after the last one.
        recent = Signal(FIFO_LATENCY)
        m.d.sync += recent.eq(Cat(taken_any, recent[:-1]))
        with m.If(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(engine.mm_issue):
                m.d.sync += self.mm_issue_cycles.eq(self.mm_issue_cycles + 1)
            with m.If(drained & ~recent.any() & (engine.busy == 0)):
                m.d.sync += self.done.eq(1)
        with m.If(refused):
            m.d.sync += self.host_refused.eq(1)
        with m.If(self.clear):
            m.d.sync += [self.cycles.eq(0), self.mm_issue_cycles.eq(0), self.done.eq(0),
                         self.host_refused.eq(0), self.cmd_overflow.eq(0), recent.eq(0)]

        m.d.comb += [self.busy.eq(engine.busy), self.src_valid.eq(engine.src_valid),
                     self.dst_full.eq(engine.dst_full)]
        return m


def build_engine_bench_top(cfg: TesseraConfig, cmd_words: int = DEFAULT_CMD_WORDS):
    """Block factory of ``engine_bench``."""
    return EngineBenchTop(cfg, cmd_words=cmd_words)
