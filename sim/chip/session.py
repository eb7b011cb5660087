"""A cocotb session on the Verilator chip (block ``chip``): host, firmware, DRAM backdoor, hang reports.

:class:`ChipSession` bundles what the chip tests and ``tessera chip-bench``
need around :class:`~tessera.sim.chip.host.ChipHost`:

* ``load(image, data_writes)``: the firmware loader's plan
  (sw/toolchain/loader.py) through the host node — hold, segments, reset
  PCs, arguments — then the test's data, then the release writes;
* ``wait_done(timeout)``: waits for every loaded program's core to reach
  the DONE waypoint (crt0's exit stores it; the simulator runs freely and
  Python sleeps on the cores' waypoint ports), then reads the ``tohost``
  words over the NoC once; on timeout raises :class:`ChipHang` with the PC,
  retired count, trap and reset state of every core of every tile,
  symbolised with the loaded ELFs (:meth:`ChipSession.wait_exits` is the
  wait itself, for the device server too);
* ``dram_write`` / ``dram_read``: the DRAM nodes' backdoor ports (one memory
  word per cycle, no NoC traffic);
* every tile's console, collected in the background.
"""

from __future__ import annotations

from amaranth.lib import data

from tessera.hw.chip.dram import dram_memory_config
from tessera.hw.tile.waypoint import waypoint_name
from tessera.hw.tile.l1_port import L1Op, l1_request_layout
from tessera.sim.chip.host import ChipHost, CocotbHostPort, until_ready
from tessera.sim.exit_wait import wait_for_exits

__all__ = ["ChipHang", "ChipSession", "Symbolizer", "collect_console", "layout_fields", "masked_words",
           "pack_fields"]


class ChipHang(AssertionError):
    """Programs did not finish in time; the message reports every core of every tile."""


class Symbolizer:
    """PC -> ``name+offset`` from the function symbols of the loaded ELFs, per (tile, core)."""

    def __init__(self):
        self.funcs = []

    def add(self, tiles, core: str, elf_path) -> None:
        from elftools.elf.elffile import ELFFile

        with open(elf_path, "rb") as handle:
            elf = ELFFile(handle)
            for sym in elf.get_section_by_name(".symtab").iter_symbols():
                if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"]:
                    for tile in tiles:
                        self.funcs.append((sym["st_value"], sym["st_value"] + sym["st_size"], tuple(tile),
                                           core, sym.name))

    def name(self, tile, core: str, pc: int) -> str:
        for start, end, t, owner, name in self.funcs:
            if t == tuple(tile) and owner == core and start <= pc < end:
                return f"{name}+{pc - start:#x}"
        return "?"


def layout_fields(layout) -> dict:
    """{field: (offset, width)} of a data layout or Struct class (no bit position restated here)."""
    return {name: (field.offset, field.width) for name, field in data.Layout.cast(layout)}


def pack_fields(fields: dict, **values) -> int:
    """The word with each named field of ``fields`` (from :func:`layout_fields`) set to its value."""
    word = 0
    for name, value in values.items():
        offset, width = fields[name]
        word |= (int(value) & ((1 << width) - 1)) << offset
    return word


def masked_words(addr: int, data: bytes, word_bytes: int):
    """``(word address, byte mask, word)`` for each memory word that ``data`` written at byte
    ``addr`` touches: one write per word, the bytes outside ``data`` masked off at the edges."""
    pos = 0
    while pos < len(data):
        base = (addr + pos) // word_bytes * word_bytes
        first = addr + pos - base
        chunk = data[pos:pos + word_bytes - first]
        mask = ((1 << len(chunk)) - 1) << first
        yield base, mask, int.from_bytes(bytes(first) + chunk + bytes(word_bytes - first - len(chunk)), "little")
        pos += len(chunk)


async def collect_console(clk, valid, payload, sink: bytearray):
    """Append every byte of a console stream (``valid``/``payload``, ``ready``
    held high by the caller) to ``sink``; sleeps until ``valid`` rises, so
    nothing runs per cycle while the console is quiet.  Runs forever."""
    from cocotb.triggers import ReadOnly, RisingEdge

    while True:
        await RisingEdge(valid)
        while True:
            await ReadOnly()
            if not int(valid.value):
                break
            sink.append(int(payload.value))
            await RisingEdge(clk)


class ChipSession:
    def __init__(self, dut, cfg):
        import cocotb

        self.dut, self.cfg = dut, cfg
        self.clk = dut.clk
        self.port = CocotbHostPort(dut, cfg)
        self.host = ChipHost(cfg, self.port)
        self.tiles = [(n.x, n.y) for n in cfg.nodes_of("tensix")]
        self.drams = [(n.x, n.y) for n in cfg.nodes_of("dram")]
        self.symbols = Symbolizer()
        self.programs = []
        self.consoles = {t: bytearray() for t in self.tiles}
        self.mem_cfg = dram_memory_config(cfg)
        self.mem_fields = layout_fields(l1_request_layout(self.mem_cfg))
        for d in range(len(self.drams)):
            getattr(dut, f"dram_backdoor__{d}__req__valid").value = 0
        for t, tile in enumerate(self.tiles):
            getattr(dut, f"console__{t}__ready").value = 1
            cocotb.start_soon(collect_console(self.clk, getattr(dut, f"console__{t}__valid"),
                                              getattr(dut, f"console__{t}__payload"), self.consoles[tile]))

    def cycle(self) -> int:
        from cocotb.utils import get_sim_time

        from tessera.sim.harness import CLOCK_PERIOD_NS
        return int(get_sim_time("ns")) // CLOCK_PERIOD_NS

    # -- firmware -------------------------------------------------------------

    def add_program_symbols(self, tiles, core, elf_path):
        self.symbols.add(tiles, core, elf_path)

    async def load(self, image, data_writes=()):
        """Load ``image`` (plan phases before the release), write ``data_writes`` [(x, y, addr, bytes)],
        release the cores; returns the release cycle."""
        from tessera.sw.toolchain import load_plan
        from tessera.sw.toolchain.image import FirmwareImage

        plan = load_plan(image, self.cfg)
        self.programs = list(FirmwareImage.from_bytes(image).programs if isinstance(image, (bytes, bytearray))
                             else image.programs)
        writes = [(w.x, w.y, w.addr, w.data, True) for w in plan if w.phase != "release"]
        writes += [(x, y, addr, payload, True) for x, y, addr, payload in data_writes]
        writes += [(w.x, w.y, w.addr, w.data, True) for w in plan if w.phase == "release"]
        await self.host.write_batch(writes)
        return self.cycle()

    async def wait_done(self, timeout_cycles: int, poll_cycles: int = 1000) -> dict:
        """{(x, y, core): exit code} once every loaded program has exited; :class:`ChipHang` on timeout.

        ``poll_cycles``: see :meth:`wait_exits` (the waypoints make polling the exception)."""
        watched = [(prog.x, prog.y, prog.core, prog.exit_addr) for prog in self.programs]
        result = await self.wait_exits(watched, timeout_cycles, poll_cycles)
        if not result["done"]:
            raise ChipHang(f"programs did not finish in {timeout_cycles} cycles; exited: {result['codes']}\n"
                           + self.report())
        return result["codes"]

    def waypoint_port(self, x: int, y: int, core: str):
        """The ``debug.waypoint`` port of core ``core`` of tile (x, y), or None (not a tile core)."""
        names = [c.name for c in self.cfg.cores]
        if (x, y) not in self.tiles or core not in names:
            return None
        return getattr(self.dut, f"debug__{self.tiles.index((x, y))}__{names.index(core)}__waypoint")

    async def wait_exits(self, programs, budget: int, poll: int = 1000) -> dict:
        """Let the chip run until every one of ``programs`` [(x, y, core, exit_addr)] has exited or
        ``budget`` cycles have passed; returns ``{"done", "cycles", "codes": {(x, y, core): code}}``.

        No Python runs per cycle: one task per core sleeps on the value changes of its waypoint
        port (crt0 stores DONE just before the exit word), the call on their common event and a
        timer for the budget (:func:`~tessera.sim.exit_wait.wait_for_exits`).
        When every core is DONE the exit words (``tohost``: bit 0 set, code ``word >> 1``) are
        read over the NoC, in one batch; a read right after the DONE store can come too early,
        so a missing word is read again after
        :data:`~tessera.sim.exit_wait.EXIT_REREAD_CYCLES`, then at doubling
        intervals up to ``poll``.
        ``cycles`` is exact: from the call to the cycle the last core reached DONE.  ``poll`` is
        the interval between reads of the exit words of programs without a waypoint port (a
        ``core`` that is no tile core of this chip).  At the budget every exit word not yet
        seen is read once more."""
        keys, words = [], {}
        for x, y, core, exit_addr in programs:
            if (x, y, core) not in words:
                keys.append((x, y, core))
                words[(x, y, core)] = exit_addr

        async def read_words(reads):
            got = await self.host.read_batch([(x, y, words[(x, y, core)], 4) for x, y, core in reads])
            return [int.from_bytes(raw, "little") for raw in got]

        return await wait_for_exits(keys, {key: self.waypoint_port(*key) for key in keys}, read_words,
                                    self.cycle, budget, poll)

    def core_state(self) -> dict:
        state = {}
        for t, tile in enumerate(self.tiles):
            for i, core in enumerate(self.cfg.cores):
                get = lambda f: int(getattr(self.dut, f"debug__{t}__{i}__{f}").value)  # noqa: E731
                state[(tile, core.name)] = {"pc": get("pc"), "retired": get("retired"),
                                            "trapped": get("trapped"), "held": get("held"),
                                            "waypoint": waypoint_name(get("waypoint"))}
        return state

    def report(self) -> str:
        lines = [f"cycle {self.cycle()}: every core of every tile"]
        for (tile, name), s in self.core_state().items():
            where = "held in reset" if s["held"] else \
                f"pc {s['pc']:#010x} ({self.symbols.name(tile, name, s['pc'])}), retired {s['retired']}" + \
                (", TRAPPED" if s["trapped"] else "") + f", waypoint {s['waypoint']}"
            lines.append(f"  tile {tile} {name:8s} {where}")
        return "\n".join(lines)

    # -- DRAM backdoor ----------------------------------------------------------

    async def _backdoor(self, d, payload):
        from cocotb.triggers import FallingEdge, ReadOnly

        valid = getattr(self.dut, f"dram_backdoor__{d}__req__valid")
        ready = getattr(self.dut, f"dram_backdoor__{d}__req__ready")
        getattr(self.dut, f"dram_backdoor__{d}__req__payload").value = payload
        valid.value = 1
        await until_ready(self.clk, ready)
        await FallingEdge(self.clk)
        valid.value = 0
        await ReadOnly()
        rdata = int(getattr(self.dut, f"dram_backdoor__{d}__resp__rdata").value)
        await FallingEdge(self.clk)
        return rdata

    async def dram_write(self, d: int, addr: int, payload: bytes) -> None:
        """Write ``payload`` at byte ``addr`` of DRAM node ``d`` through its backdoor."""
        from cocotb.triggers import FallingEdge

        await FallingEdge(self.clk)
        for base, mask, word in masked_words(addr, payload, self.mem_cfg.bank_bytes):
            await self._backdoor(d, pack_fields(self.mem_fields, addr=base, op=L1Op.WRITE.value, mask=mask,
                                                wdata=word))

    async def dram_read(self, d: int, addr: int, n: int) -> bytes:
        from cocotb.triggers import FallingEdge

        wb = self.mem_cfg.bank_bytes
        await FallingEdge(self.clk)
        out = bytearray()
        base = addr // wb * wb
        while base < addr + n:
            word = await self._backdoor(d, pack_fields(self.mem_fields, addr=base, op=L1Op.READ.value))
            out += word.to_bytes(wb, "little")
            base += wb
        first = addr % wb
        return bytes(out[first:first + n])
