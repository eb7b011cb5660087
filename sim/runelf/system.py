"""The single-core system of ``tessera run-elf``: core, sparse RAM, console, exit.

Address map (from ``cfg.runelf``):

* RAM: ``ram_bytes`` at ``ram_base`` (4 MiB at 0x8000_0000 by default, where
  riscv-tests and riscv-arch-test link).  The RAM is *sparse* so Verilator
  stays cheap: the address range is cut into ``page_bytes`` pages, and a page
  table maps each page touched by a write (core or host loader) to one of
  ``pool_bytes / page_bytes`` physical pages on first write.  A page never
  written reads as zero, exactly like zeroed RAM.  A write that needs a page
  when the pool is exhausted fails with a bus error and sets
  ``pool_exhausted``, so a too-large program stops loudly, never silently.
* Console: a store to ``console_addr`` puts its lowest enabled byte on
  ``console_data`` and increments ``console_count`` (the host prints it).
  Reads there return 0.
* Exit: the store that retires to ``tohost_addr`` (an input, set per run from
  the ELF symbol ``tohost``) with bit 0 set ends the run: ``done`` rises and
  ``exit_code`` holds ``value >> 1`` (riscv-tests convention).
* Anything else is a bus error.

Loading: after reset the system sweeps its page table clear and raises
``ready`` (max(page-table entries, pool words) cycles); host writes before that are ignored.  While
``run`` is low the core is held in reset and the host writes
words through ``host_we/host_addr/host_wdata`` (one per cycle) and reads
them back through ``host_addr``/``host_rdata`` (one cycle later).  The core
starts at ``reset_pc`` when ``run`` rises.

Wait states: ``stall`` (0..255) is the probability, in 1/256, that a bus
refuses a request in a given cycle and, independently, that a response is
delayed one more cycle (up to 3); 0 gives the zero-wait memory.
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.core.bus import RetireTrace
from hw.core.core import Core

__all__ = ["RunElfSystem", "build_runelf_system"]


class RunElfSystem(wiring.Component):
    def __init__(self, cfg, *, page_bytes: int = 1024, pool_bytes: int = 64 * 1024):
        re = cfg.runelf
        if page_bytes < 64 or page_bytes & (page_bytes - 1) or page_bytes > re.ram_bytes:
            raise ValueError(f"page_bytes must be a power of two in 64..ram_bytes, got {page_bytes!r}")
        if pool_bytes < page_bytes or pool_bytes & (pool_bytes - 1) or pool_bytes > re.ram_bytes:
            raise ValueError(f"pool_bytes must be a power of two in page_bytes..ram_bytes, "
                             f"got {pool_bytes!r}")
        self.cfg = cfg
        self.page_bytes = page_bytes
        self.pool_bytes = pool_bytes
        super().__init__({
            "run": In(1),
            "reset_pc": In(32),
            "tohost_addr": In(32),
            "stall": In(8),
            "host_we": In(1),
            "host_addr": In(32),
            "host_wdata": In(32),
            "host_rdata": Out(32),
            "ready": Out(1),
            "done": Out(1),
            "exit_code": Out(31),
            "pool_exhausted": Out(1),
            "cycles": Out(64),
            "instret": Out(64),
            "last_pc": Out(32),
            "console_count": Out(32),
            "console_data": Out(8),
            "trace": Out(RetireTrace()),
            #: The trace fields a lock-step checker needs, in one word so a
            #: testbench reads one signal per cycle: {done, wdata, addr,
            #: wmask, rd_wdata, rd, cause, trap, insn, pc, valid} from bit 0 up.
            "trace_packed": Out(1 + 32 + 32 + 1 + 4 + 5 + 32 + 4 + 32 + 32 + 1),
        })

    def elaborate(self, platform):
        m = Module()
        re = self.cfg.runelf
        page_bits = (self.page_bytes - 1).bit_length()
        vpages = re.ram_bytes // self.page_bytes
        ppages = self.pool_bytes // self.page_bytes
        vpn_bits = max(1, (vpages - 1).bit_length())
        ppn_bits = max(1, (ppages - 1).bit_length())
        word_bits = page_bits - 2

        core = Core()
        m.submodules.core = ResetInserter({"sync": ~self.run})(core)
        m.d.comb += [core.hartid.eq(0), core.reset_pc.eq(self.reset_pc)]

        # Page table: entry = {valid, ppn}.  Pool: the physical words.
        m.submodules.ptable = ptable = Memory(shape=ppn_bits + 1, depth=vpages, init=[])
        pt_i = ptable.read_port(domain="comb")
        pt_d = ptable.read_port(domain="comb")
        pt_w = ptable.write_port()
        m.submodules.pool = pool = Memory(shape=32, depth=self.pool_bytes // 4, init=[])
        pool_i = pool.read_port()
        pool_d = pool.read_port()
        pool_w = pool.write_port(granularity=8)
        next_free = Signal(range(ppages + 1))

        # Random stalls: a 16-bit Galois LFSR, two bytes per bus.
        lfsr = Signal(32, init=0xACE1_1234)
        m.d.sync += lfsr.eq(Mux(lfsr[0], (lfsr >> 1) ^ 0x8020_0003, lfsr >> 1))

        def in_ram(addr):
            return addr[page_bits + vpn_bits:] == (re.ram_base >> (page_bits + vpn_bits))

        def vpn(addr):
            return addr[page_bits:page_bits + vpn_bits]

        def slave(bus_req, bus_resp, rnd_refuse, rnd_delay, name):
            """Response sequencing shared by both buses: one access in flight."""
            pending = Signal(name=f"{name}_pending")
            delay = Signal(2, name=f"{name}_delay")
            m.d.comb += [
                bus_resp.valid.eq(pending & (delay == 0)),
                bus_req.ready.eq((~pending | bus_resp.valid) & (rnd_refuse >= self.stall)),
            ]
            accept = Signal(name=f"{name}_accept")
            m.d.comb += accept.eq(bus_req.valid & bus_req.ready)
            with m.If(accept):
                m.d.sync += [pending.eq(1),
                             delay.eq(Mux(rnd_delay < self.stall, rnd_delay[0:2], 0))]
            with m.Elif(bus_resp.valid):
                m.d.sync += pending.eq(0)
            with m.Elif(pending):
                m.d.sync += delay.eq(delay - 1)
            return accept

        # ---- instruction bus: RAM reads only ----
        ibus, dbus = core.ibus, core.dbus
        i_addr = ibus.req.payload.addr
        i_accept = slave(ibus.req, ibus.resp, lfsr[0:8], lfsr[8:16], "ibus")
        i_mapped = Signal()
        i_err = Signal()
        m.d.comb += [
            pt_i.addr.eq(vpn(i_addr)),
            pool_i.addr.eq(Cat(i_addr[2:page_bits], pt_i.data[:ppn_bits])),
            pool_i.en.eq(i_accept),
        ]
        with m.If(i_accept):
            m.d.sync += [i_mapped.eq(pt_i.data[ppn_bits]), i_err.eq(~in_ram(i_addr))]
        m.d.comb += [ibus.resp.rdata.eq(Mux(i_mapped, pool_i.data, 0)), ibus.resp.err.eq(i_err)]

        # ---- data bus (or the host loader while the core is held) ----
        d_req = dbus.req.payload
        d_accept = slave(dbus.req, dbus.resp, lfsr[16:24], lfsr[24:32], "dbus")
        addr = Signal(32)
        we = Signal()
        mask = Signal(4)
        wdata = Signal(32)
        with m.If(~self.run):
            m.d.comb += [addr.eq(self.host_addr), we.eq(self.host_we), mask.eq(0xF),
                         wdata.eq(self.host_wdata)]
        with m.Else():
            m.d.comb += [addr.eq(d_req.addr), we.eq(d_accept & d_req.we), mask.eq(d_req.mask),
                         wdata.eq(d_req.wdata)]
        active = Mux(self.run, d_accept, self.host_we & self.ready)
        ram_hit = in_ram(addr)
        mapped = pt_d.data[ppn_bits]
        need_page = ram_hit & we & ~mapped
        can_alloc = next_free != ppages
        ppn = Mux(mapped, pt_d.data[:ppn_bits], next_free[:ppn_bits])
        # After reset the page table and the pool are swept clear (memories
        # keep their contents across a reset), one entry per cycle; ``ready``
        # then rises.  A freshly allocated page therefore reads as zero.
        pool_words = self.pool_bytes // 4
        sweep_len = max(vpages, pool_words)
        sweep = Signal(range(sweep_len))
        with m.If(~self.ready):
            m.d.sync += sweep.eq(sweep + 1)
            with m.If(sweep == sweep_len - 1):
                m.d.sync += self.ready.eq(1)
        m.d.comb += [
            pt_d.addr.eq(vpn(addr)),
            pt_w.addr.eq(Mux(self.ready, vpn(addr), sweep)),
            pt_w.data.eq(Mux(self.ready, Cat(next_free[:ppn_bits], Const(1, 1)), 0)),
            pt_w.en.eq(~self.ready | (active & need_page & can_alloc)),
            pool_d.addr.eq(Cat(addr[2:page_bits], ppn)),
            pool_d.en.eq(d_accept | ~self.run),
            pool_w.addr.eq(Mux(self.ready, Cat(addr[2:page_bits], ppn), sweep)),
            pool_w.data.eq(Mux(self.ready, wdata, 0)),
            pool_w.en.eq(Mux(~self.ready, 0xF,
                             Mux(active & ram_hit & we & (mapped | can_alloc), mask, 0))),
        ]
        with m.If(active & need_page):
            with m.If(can_alloc):
                m.d.sync += next_free.eq(next_free + 1)
            with m.Else():
                m.d.sync += self.pool_exhausted.eq(1)

        is_console = addr == re.console_addr
        d_mapped = Signal()
        d_err = Signal()
        with m.If(d_accept):
            m.d.sync += [
                d_mapped.eq(mapped & ram_hit),
                d_err.eq(~(ram_hit | is_console) | (ram_hit & we & ~mapped & ~can_alloc)),
            ]
        with m.If(~self.run):
            m.d.sync += d_mapped.eq(mapped & ram_hit)
        m.d.comb += [dbus.resp.rdata.eq(Mux(d_mapped, pool_d.data, 0)), dbus.resp.err.eq(d_err),
                     self.host_rdata.eq(Mux(d_mapped, pool_d.data, 0))]

        # Console: the lowest enabled byte lane of a store.
        lane = Mux(mask[0], wdata[0:8], Mux(mask[1], wdata[8:16], Mux(mask[2], wdata[16:24], wdata[24:32])))
        with m.If(self.run & d_accept & we & is_console):
            m.d.sync += [self.console_data.eq(lane), self.console_count.eq(self.console_count + 1)]

        # ---- retire trace, counters and exit ----
        tr = core.trace
        m.d.comb += [getattr(self.trace, name).eq(getattr(tr, name)) for name in
                     ("valid", "trap", "cause", "pc", "insn", "rd", "rd_wdata", "mem_addr",
                      "mem_rmask", "mem_wmask", "mem_wdata", "mem_rdata")]
        m.d.comb += self.trace_packed.eq(Cat(
            tr.valid, tr.pc, tr.insn, tr.trap, tr.cause, tr.rd, tr.rd_wdata, tr.mem_wmask,
            tr.mem_addr, tr.mem_wdata, self.done))
        counting = self.run & ~self.done
        with m.If(counting):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(tr.valid):
                m.d.sync += self.last_pc.eq(tr.pc)
                with m.If(~tr.trap):
                    m.d.sync += self.instret.eq(self.instret + 1)
            with m.If(tr.valid & ~tr.trap & (tr.mem_wmask != 0) &
                      (tr.mem_addr == self.tohost_addr) & tr.mem_wdata[0]):
                m.d.sync += [self.done.eq(1), self.exit_code.eq(tr.mem_wdata[1:32])]
        return m


def build_runelf_system(cfg, **params):
    """Registry factory (params: ``page_bytes``, ``pool_bytes``)."""
    unknown = set(params) - {"page_bytes", "pool_bytes"}
    if unknown:
        raise ValueError(f"unknown runelf_system parameters {sorted(unknown)!r}")
    return RunElfSystem(cfg, **params)
