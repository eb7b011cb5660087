"""The single-core system of ``tessera run-elf``: core, flat RAM, console, exit.

The core is built with the hardware options (divider, counters) of the
configuration's first core, the one a tile starts first.

Address map (from ``cfg.runelf``):

* RAM: a flat ``ram_bytes`` (4 MiB by default) at ``ram_base`` (0x8000_0000,
  where riscv-tests and riscv-arch-test link).  It is the hand-written
  Verilog module ``sim/runelf/ram.v`` (an ``Instance``; Amaranth's Memory
  would write all 1 Mi initial words into the Verilog), zeroed at time 0
  and while ``rst`` is high, so a word never written since the last reset
  reads as zero (a testbench may run several programs, one per reset).
* Console: a store to ``console_addr`` puts its lowest enabled byte on
  ``console_data`` and increments ``console_count`` (the host prints it).
  Reads there return 0.
* Exit: the store that retires to ``tohost_addr`` (an input, set per run from
  the ELF symbol ``tohost``) with bit 0 set ends the run: ``done`` rises and
  ``exit_code`` holds ``value >> 1`` (riscv-tests convention).
* Anything else is a bus error.

Loading: ``ready`` rises the cycle after reset; host writes before that are
ignored.  While ``run`` is low the core is held in reset and the host writes
words through ``host_we/host_addr/host_wdata`` (one per cycle) and reads them
back through ``host_addr``/``host_rdata`` (one cycle later).  The core
starts at ``reset_pc`` when ``run`` rises.

Wait states: ``stall`` (0..255) is the probability, in 1/256, that a bus
refuses a request in a given cycle and, independently, that a response is
delayed one more cycle (up to 3); 0 gives the zero-wait memory.
"""

from amaranth.hdl import (Cat, ClockSignal, Instance, Module, Mux, ResetInserter, ResetSignal,
                          Signal)
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.bus import RetireTrace
from tessera.hw.core.core import Core

__all__ = ["RunElfSystem", "build_runelf_system"]


class RunElfSystem(wiring.Component):
    def __init__(self, cfg):
        self.cfg = cfg
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
        ram_bits = (re.ram_bytes - 1).bit_length()
        word_bits = ram_bits - 2

        core = Core(self.cfg.cores[0])
        m.submodules.core = ResetInserter({"sync": ~self.run})(core)
        m.d.comb += [core.hartid.eq(0), core.reset_pc.eq(self.reset_pc)]

        # The RAM: a hand-written Verilog module (sim/runelf/ram.v), zeroed at
        # time 0 and by reset.  Both ports are synchronous, so every response
        # is registered and comes at least one cycle after its request, as the
        # core needs.
        i_ram_en = Signal()
        i_ram_addr = Signal(word_bits)
        i_ram_data = Signal(32)
        d_ram_en = Signal()
        d_ram_addr = Signal(word_bits)
        d_ram_we = Signal(4)
        d_ram_wdata = Signal(32)
        d_ram_data = Signal(32)
        m.submodules.ram = Instance(
            "tessera_runelf_ram",
            p_WORDS=re.ram_bytes // 4, p_ADDR_BITS=word_bits,
            i_clk=ClockSignal("sync"), i_clear=ResetSignal("sync"),
            i_i_en=i_ram_en, i_i_addr=i_ram_addr, o_i_rdata=i_ram_data,
            i_d_en=d_ram_en, i_d_addr=d_ram_addr, i_d_we=d_ram_we, i_d_wdata=d_ram_wdata,
            o_d_rdata=d_ram_data)

        # Random stalls: a 32-bit Galois LFSR, two bytes per bus.
        lfsr = Signal(32, init=0xACE1_1234)
        m.d.sync += lfsr.eq(Mux(lfsr[0], (lfsr >> 1) ^ 0x8020_0003, lfsr >> 1))

        def in_ram(addr):
            return addr[ram_bits:] == (re.ram_base >> ram_bits)

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
        i_hit = Signal()
        i_err = Signal()
        m.d.comb += [i_ram_addr.eq(i_addr[2:ram_bits]), i_ram_en.eq(i_accept)]
        with m.If(i_accept):
            m.d.sync += [i_hit.eq(in_ram(i_addr)), i_err.eq(~in_ram(i_addr))]
        m.d.comb += [ibus.resp.rdata.eq(Mux(i_hit, i_ram_data, 0)), ibus.resp.err.eq(i_err)]

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
        # ``ready`` rises the cycle after reset; host writes before that are
        # ignored (the loader waits for it).
        m.d.sync += self.ready.eq(1)
        m.d.comb += [
            d_ram_addr.eq(addr[2:ram_bits]),
            d_ram_en.eq(d_accept | ~self.run),
            d_ram_we.eq(Mux(active & ram_hit & we, mask, 0)),
            d_ram_wdata.eq(wdata),
        ]

        is_console = addr == re.console_addr
        d_hit = Signal()
        d_err = Signal()
        with m.If(d_accept):
            m.d.sync += [d_hit.eq(ram_hit), d_err.eq(~(ram_hit | is_console))]
        with m.If(~self.run):
            m.d.sync += d_hit.eq(ram_hit)
        m.d.comb += [dbus.resp.rdata.eq(Mux(d_hit, d_ram_data, 0)), dbus.resp.err.eq(d_err),
                     self.host_rdata.eq(Mux(d_hit, d_ram_data, 0))]

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
    """Registry factory (no parameters: the RAM size comes from ``cfg.runelf``)."""
    if params:
        raise ValueError(f"runelf_system takes no parameters, got {sorted(params)!r}")
    return RunElfSystem(cfg)
