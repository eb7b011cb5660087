"""CSR and trap unit of the W stage (machine mode only).

W takes every exception, in program order, so traps are precise: the ones
raised in D or X arrive with the instruction; a bus error on its data access
and an illegal CSR access (unknown address, or a write to a read-only CSR)
are found here.  A trap writes mepc/mcause/mtval, saves MIE in MPIE and
jumps to mtvec; ``mret`` restores MIE and jumps to mepc; ``fence.i`` refetches
the next instruction.  CSR instructions read the old value and write the new
one in the cycle they retire.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.isa import MISA, Cause, CsrAddr

__all__ = ["CSRUnit", "READ_WRITE_CSRS"]

#: The plain read/write CSRs: address -> mask of the bits that hold state
#: (the others read 0): mie keeps MSIE/MTIE/MEIE, mtvec is direct mode only,
#: mepc is 2-byte aligned.
READ_WRITE_CSRS = {
    CsrAddr.MIE:      0x0000_0888,
    CsrAddr.MTVEC:    0xFFFF_FFFC,
    CsrAddr.MSCRATCH: 0xFFFF_FFFF,
    CsrAddr.MEPC:     0xFFFF_FFFE,
    CsrAddr.MCAUSE:   0xFFFF_FFFF,
    CsrAddr.MTVAL:    0xFFFF_FFFF,
}


class CSRUnit(wiring.Component):
    """The CSRs, exceptions and W-stage redirects.

    Inputs: ``w_fire`` (W's instruction leaves the pipeline this cycle),
    ``w_pc``, ``w_len4`` (32-bit instruction), ``w_insn`` (its bits: CSR
    address, rs1 field, mtval of an illegal CSR access), ``w_csr`` (a Zicsr
    instruction), ``w_csr_op`` (its funct3, a :class:`CsrOp`), ``w_csr_src``
    (rs1 value or 5-bit immediate), ``w_mret``, ``w_fencei``,
    ``w_raised``/``w_raised_cause``/``w_raised_tval`` (an exception raised in
    D or X), ``w_bus_error``/``w_store``/``w_addr`` (the data access failed),
    ``hartid``.

    Outputs: ``w_csr_rdata`` (the CSR's old value), ``w_trap`` and
    ``w_cause`` (the instruction traps instead of retiring), ``w_retire``,
    ``w_redirect`` and ``w_target`` (fetch restarts: trap, ``mret``,
    ``fence.i``).

    ``counter_bits`` (``CoreConfig.counter_bits``): 64, or 32 for counters
    without their high halves, which then read 0 and ignore writes.
    """

    w_fire: In(1)
    w_pc: In(32)
    w_len4: In(1)
    w_insn: In(32)
    w_csr: In(1)
    w_csr_op: In(3)
    w_csr_src: In(32)
    w_mret: In(1)
    w_fencei: In(1)
    w_raised: In(1)
    w_raised_cause: In(Cause)
    w_raised_tval: In(32)
    w_bus_error: In(1)
    w_store: In(1)
    w_addr: In(32)
    hartid: In(32)

    w_csr_rdata: Out(32)
    w_trap: Out(1)
    w_cause: Out(Cause)
    w_retire: Out(1)
    w_redirect: Out(1)
    w_target: Out(32)

    def __init__(self, counter_bits: int = 64):
        if counter_bits not in (32, 64):
            raise ValueError(f"counter_bits must be 32 or 64, got {counter_bits!r}")
        self.counter_bits = counter_bits
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        mstatus_mie = Signal()
        mstatus_mpie = Signal()
        registers = {addr: Signal(32, name=addr.name.lower()) for addr in READ_WRITE_CSRS}
        mtvec, mepc = registers[CsrAddr.MTVEC], registers[CsrAddr.MEPC]
        mcause, mtval = registers[CsrAddr.MCAUSE], registers[CsrAddr.MTVAL]
        mcycle = Signal(self.counter_bits)
        minstret = Signal(self.counter_bits)
        #: The counters: (register, write-low CSR, write-high CSR, read-only views).
        counters = [
            (mcycle, CsrAddr.MCYCLE, CsrAddr.MCYCLEH, CsrAddr.CYCLE, CsrAddr.CYCLEH),
            (minstret, CsrAddr.MINSTRET, CsrAddr.MINSTRETH, CsrAddr.INSTRET, CsrAddr.INSTRETH),
        ]

        # ---- read ----
        addr = self.w_insn[20:32]
        old = self.w_csr_rdata
        mstatus_value = Cat(Const(0, 3), mstatus_mie, Const(0, 3), mstatus_mpie, Const(0, 3),
                            Const(0b11, 2), Const(0, 19))     # MPP reads M
        reads = [
            ((CsrAddr.MSTATUS,), mstatus_value),
            ((CsrAddr.MISA,), Const(MISA, 32)),
            ((CsrAddr.MIP, CsrAddr.MVENDORID, CsrAddr.MARCHID, CsrAddr.MIMPID), Const(0, 32)),
            ((CsrAddr.MHARTID,), self.hartid),
        ]
        reads += [((csr,), register) for csr, register in registers.items()]
        for counter, low, high, view_low, view_high in counters:
            high_half = counter[32:64] if self.counter_bits == 64 else Const(0, 32)
            reads += [((low, view_low), counter[0:32]), ((high, view_high), high_half)]
        known = Signal()
        m.d.comb += known.eq(1)
        with m.Switch(addr):
            for addrs, value in reads:
                with m.Case(*addrs):
                    m.d.comb += old.eq(value)
            with m.Default():
                m.d.comb += known.eq(0)

        # ---- new value: csrrw(i) writes, csrrs(i) sets, csrrc(i) clears ----
        src = self.w_csr_src
        writes = Signal()          # csrrs/csrrc with rs1 = x0 (or zimm = 0) only read
        new = Signal(32)
        m.d.comb += writes.eq((self.w_csr_op[0:2] == 0b01) | (self.w_insn[15:20] != 0))
        with m.Switch(self.w_csr_op[0:2]):
            with m.Case(0b01):
                m.d.comb += new.eq(src)
            with m.Case(0b10):
                m.d.comb += new.eq(old | src)
            with m.Default():
                m.d.comb += new.eq(old & ~src)
        illegal = Signal()
        m.d.comb += illegal.eq(~known | (writes & (addr[10:12] == 0b11)))

        # ---- exceptions found in W join the earlier ones ----
        tval = Signal(32)
        m.d.comb += [self.w_trap.eq(self.w_raised), self.w_cause.eq(self.w_raised_cause),
                     tval.eq(self.w_raised_tval)]
        with m.If(~self.w_raised & self.w_bus_error):
            m.d.comb += [self.w_trap.eq(1), tval.eq(self.w_addr),
                         self.w_cause.eq(Mux(self.w_store, Cause.STORE_FAULT, Cause.LOAD_FAULT))]
        with m.Elif(~self.w_raised & self.w_csr & illegal):
            m.d.comb += [self.w_trap.eq(1), self.w_cause.eq(Cause.ILLEGAL), tval.eq(self.w_insn)]

        retire = self.w_retire
        m.d.comb += [
            retire.eq(self.w_fire & ~self.w_trap),
            self.w_redirect.eq(self.w_fire & (self.w_trap | self.w_mret | self.w_fencei)),
            self.w_target.eq(Mux(self.w_trap, mtvec,
                                 Mux(self.w_mret, mepc, self.w_pc + Mux(self.w_len4, 4, 2)))),
        ]

        # ---- updates: counters, CSR writes, then traps and mret (later wins) ----
        m.d.sync += mcycle.eq(mcycle + 1)
        with m.If(retire):
            m.d.sync += minstret.eq(minstret + 1)
        with m.If(retire & self.w_csr & writes):
            with m.Switch(addr):
                with m.Case(CsrAddr.MSTATUS):
                    m.d.sync += [mstatus_mie.eq(new[3]), mstatus_mpie.eq(new[7])]
                for csr, register in registers.items():
                    with m.Case(csr):
                        m.d.sync += register.eq(new & READ_WRITE_CSRS[csr])
                for counter, low, high, _, _ in counters:
                    with m.Case(low):
                        m.d.sync += counter[0:32].eq(new)
                    if self.counter_bits == 64:
                        with m.Case(high):
                            m.d.sync += counter[32:64].eq(new)
        with m.If(self.w_fire & self.w_trap):
            m.d.sync += [mepc.eq(self.w_pc), mcause.eq(self.w_cause), mtval.eq(tval),
                         mstatus_mpie.eq(mstatus_mie), mstatus_mie.eq(0)]
        with m.Elif(self.w_fire & self.w_mret):
            m.d.sync += [mstatus_mie.eq(mstatus_mpie), mstatus_mpie.eq(1)]
        return m
