"""Tessera RV32IMC core: a 3-stage in-order pipeline with forwarding.

Stages and the units that decide in them (see docs/core.md for the diagram,
the hazard table and each unit's ports):

* **F/D** -- fetch and decode.  :class:`~tessera.hw.core.fetch.FetchUnit`
  keeps one word request in flight and a 6-halfword fetch buffer whose head
  is viewed together with the word arriving this cycle;
  :class:`~tessera.hw.core.decoder.Decoder` expands RVC, decodes, raises the
  decode-time exceptions and predicts ``jal`` and backward branches taken
  (fetch follows in the same cycle).  Registers are read and forwarded here.
* **X** -- execute.  :class:`~tessera.hw.core.alu.ALU` (ALU, branch
  resolution -- a misprediction or a ``jalr`` redirects fetch: 1 bubble --,
  multiplier, divider) and the X half of
  :class:`~tessera.hw.core.lsu.LoadStoreUnit` (alignment, byte lanes,
  data-bus request).
* **W** -- the W half of the load-store unit (response, load data) and
  :class:`~tessera.hw.core.csr.CSRUnit` (CSRs, every exception in program
  order so traps are precise, ``mret``/``fence.i``), write-back, retirement.

Memory ordering: the data bus has at most one access in flight, owned by the
instruction in W; a younger access is only issued once that one has
answered without error.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.config import CoreConfig
from tessera.hw.core.alu import ALU
from tessera.hw.core.bus import DataBus, InstructionBus, RetireTrace
from tessera.hw.core.csr import CSRUnit
from tessera.hw.core.decoder import Decoded, Decoder
from tessera.hw.core.fetch import FetchUnit
from tessera.hw.core.isa import Cause
from tessera.hw.core.lsu import LoadStoreUnit

__all__ = ["Core", "build_core"]


class Core(wiring.Component):
    """RV32IMC core.

    Ports: ``ibus`` and ``dbus`` (see :mod:`hw.core.bus`), ``trace`` (retire
    trace), inputs ``hartid`` (read by mhartid) and ``reset_pc`` (sampled in
    the second cycle after reset; nothing is requested while in reset).

    The units (``fetch``, ``decoder``, ``alu``, ``lsu``, ``csr``) decide;
    this module holds the register file, the pipeline registers between the
    stages, operand forwarding, the hazard and advance logic and the trace.

    ``core_cfg`` (a :class:`~tessera.hw.config.CoreConfig`) chooses the
    hardware options: its ``divider`` and ``counter_bits``; without it the
    core has the defaults of those fields.
    """

    def __init__(self, core_cfg: CoreConfig | None = None):
        self.divider = core_cfg.divider if core_cfg else CoreConfig.divider
        self.counter_bits = core_cfg.counter_bits if core_cfg else CoreConfig.counter_bits
        super().__init__({
            "ibus": Out(InstructionBus.Signature()),
            "dbus": Out(DataBus.Signature()),
            "trace": Out(RetireTrace()),
            "hartid": In(32),
            "reset_pc": In(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.fetch = fetch = FetchUnit()
        m.submodules.decoder = decoder = Decoder()
        m.submodules.alu = alu = ALU(self.divider)
        m.submodules.lsu = lsu = LoadStoreUnit()
        m.submodules.csr = csr = CSRUnit(self.counter_bits)
        wiring.connect(m, wiring.flipped(self.ibus), fetch.ibus)
        wiring.connect(m, wiring.flipped(self.dbus), lsu.dbus)

        # Register file: two combinational read ports (LUT RAM on an FPGA).
        m.submodules.regfile = regfile = Memory(shape=32, depth=32, init=[])
        rf_rd1 = regfile.read_port(domain="comb")
        rf_rd2 = regfile.read_port(domain="comb")
        rf_wr = regfile.write_port()

        # ---- pipeline registers ----
        x_valid = Signal()
        x = Signal(Decoded)
        x_pc = Signal(32)
        x_insn = Signal(32)
        x_len4 = Signal()
        x_imm = Signal(32)
        x_a = Signal(32)           # operand A (rs1 / pc / 0)
        x_b = Signal(32)           # operand B (rs2 / imm)
        x_rs1v = Signal(32)        # rs1 value (branch compare, CSR source)
        x_rs2v = Signal(32)        # rs2 value (branch compare, store data)
        x_pred = Signal()          # predicted taken in decode
        x_tval = Signal(32)

        w_valid = Signal()
        w = Signal(Decoded)
        w_pc = Signal(32)
        w_insn = Signal(32)
        w_len4 = Signal()
        w_result = Signal(32)      # ALU/link/mul/div result, or CSR source operand
        w_addr = Signal(32)
        w_mask = Signal(4)
        w_wdata = Signal(32)
        w_tval = Signal(32)

        w_fire = Signal()          # W leaves the pipeline this cycle
        w_final = Signal(32)       # W's write-back value this cycle
        x_adv = Signal()           # X's instruction moves to W this cycle
        x_stall = Signal()         # W cannot take X's instruction
        m.d.comb += x_stall.eq(lsu.w_busy | csr.w_redirect)

        # ==================================================================
        # F/D: fetch, decode, register read
        # ==================================================================
        d = decoder.d_ctrl
        m.d.comb += [
            fetch.reset_pc.eq(self.reset_pc),
            fetch.w_redirect.eq(csr.w_redirect), fetch.w_target.eq(csr.w_target),
            fetch.x_redirect.eq(alu.x_redirect), fetch.x_target.eq(alu.x_target),
            fetch.d_pred.eq(decoder.d_pred), fetch.d_target.eq(decoder.d_pred_target),
            decoder.d_insn.eq(fetch.d_insn), decoder.d_fetch_err.eq(fetch.d_fetch_err),
            decoder.d_pc.eq(fetch.d_pc),
        ]

        # Register read with forwarding from X and W.
        m.d.comb += [rf_rd1.addr.eq(d.rs1), rf_rd2.addr.eq(d.rs2)]

        def forwarded(rs, rf_data, name):
            value = Signal(32, name=name)
            with m.If(rs == 0):
                m.d.comb += value.eq(0)
            with m.Elif(x_valid & x.wen & (x.rd == rs)):
                m.d.comb += value.eq(alu.x_result)
            with m.Elif(w_valid & w.wen & (w.rd == rs)):
                m.d.comb += value.eq(w_final)
            with m.Else():
                m.d.comb += value.eq(rf_data)
            return value

        rs1v = forwarded(d.rs1, rf_rd1.data, "d_rs1v")
        rs2v = forwarded(d.rs2, rf_rd2.data, "d_rs2v")

        # Load-use (and CSR-use) hazard: the value appears only in W.
        d_hazard = Signal()
        m.d.comb += d_hazard.eq(
            x_valid & x.wen & (x.rd != 0) & (x.is_load | x.is_csr) &
            ((d.use_rs1 & (d.rs1 == x.rd)) | (d.use_rs2 & (d.rs2 == x.rd))))

        x_free = Signal()
        d_fire = fetch.d_fire
        m.d.comb += [
            x_free.eq(~x_valid | x_adv),
            d_fire.eq(fetch.d_valid & ~d_hazard & x_free & ~alu.x_redirect & ~csr.w_redirect),
        ]

        # ---- D -> X ----
        with m.If(csr.w_redirect | alu.x_redirect):
            m.d.sync += x_valid.eq(0)
        with m.Elif(x_free):
            m.d.sync += x_valid.eq(d_fire)
            with m.If(d_fire):
                m.d.sync += [
                    x.eq(d), x_tval.eq(decoder.d_tval),
                    x_pc.eq(fetch.d_pc), x_insn.eq(decoder.d_raw), x_len4.eq(decoder.d_is32),
                    x_imm.eq(decoder.d_imm),
                    x_a.eq(Mux(d.a_pc, fetch.d_pc, Mux(d.a_zero, 0, rs1v))),
                    x_b.eq(Mux(d.b_imm, decoder.d_imm, rs2v)),
                    x_rs1v.eq(Mux(d.csr_imm, d.rs1, rs1v)), x_rs2v.eq(rs2v),
                    x_pred.eq(decoder.d_pred),
                ]

        # ==================================================================
        # X: execute, data-bus request
        # ==================================================================
        m.d.comb += [
            alu.x_op.eq(x.alu_op), alu.x_funct3.eq(x.funct3),
            alu.x_is_branch.eq(x.is_branch), alu.x_is_jal.eq(x.is_jal),
            alu.x_is_jalr.eq(x.is_jalr), alu.x_is_mul.eq(x.is_mul), alu.x_is_div.eq(x.is_div),
            alu.x_pred.eq(x_pred), alu.x_a.eq(x_a), alu.x_b.eq(x_b),
            alu.x_rs1v.eq(x_rs1v), alu.x_rs2v.eq(x_rs2v),
            alu.x_pc.eq(x_pc), alu.x_len4.eq(x_len4), alu.x_imm.eq(x_imm),
            alu.x_valid.eq(x_valid & ~x.trap), alu.x_advance.eq(x_adv),
            # The ALU's redirect waits for the data response only: wherever
            # x_redirect is used (fetch flush and target, D -> X, d_fire) a W
            # redirect wins anyway, so gating it with csr.w_redirect as well
            # would only lengthen the W -> fetch path.
            alu.x_stall.eq(lsu.w_busy),

            lsu.x_valid.eq(x_valid), lsu.x_stall.eq(x_stall), lsu.x_trap.eq(x.trap),
            lsu.x_load.eq(x.is_load), lsu.x_store.eq(x.is_store), lsu.x_width.eq(x.funct3),
            # x_sum equals x_alu for a load/store (always ADD); taking it ahead
            # of the ALU's operation mux keeps the alignment check (and with it
            # x_ready -> x_adv -> d_fire) short, while the bus payload stays
            # x_alu in every cycle.
            lsu.x_addr.eq(Mux(x.is_load | x.is_store, alu.x_sum, alu.x_alu)),
            lsu.x_store_data.eq(x_rs2v),
        ]

        # A misaligned access raises its exception here (earlier ones win).
        x_trap = Signal()
        x_cause = Signal(Cause)
        x_tval_now = Signal(32)
        m.d.comb += [x_trap.eq(x.trap), x_cause.eq(x.cause), x_tval_now.eq(x_tval)]
        with m.If(lsu.x_misaligned):
            m.d.comb += [x_trap.eq(1), x_tval_now.eq(alu.x_sum),
                         x_cause.eq(Mux(x.is_store, Cause.STORE_MISALIGNED, Cause.LOAD_MISALIGNED))]

        x_ready = Signal()
        with m.If(lsu.x_access):
            m.d.comb += x_ready.eq(lsu.x_ready)
        with m.Elif(x.is_div & ~x.trap):
            m.d.comb += x_ready.eq(alu.x_div_done)
        with m.Else():
            m.d.comb += x_ready.eq(1)
        m.d.comb += x_adv.eq(x_valid & x_ready & ~x_stall)

        # ---- X -> W ----
        with m.If(x_adv):
            m.d.sync += [
                w_valid.eq(1), w.eq(x), w.trap.eq(x_trap), w.cause.eq(x_cause), w_tval.eq(x_tval_now),
                w_pc.eq(x_pc), w_insn.eq(x_insn), w_len4.eq(x_len4),
                w_result.eq(Mux(x.is_csr, x_rs1v, alu.x_result)),
                w_addr.eq(Mux(x.is_load | x.is_store, alu.x_sum, 0)), w_mask.eq(lsu.x_mask),
                w_wdata.eq(lsu.x_wdata),
            ]
        with m.Elif(w_fire):
            m.d.sync += w_valid.eq(0)

        # ==================================================================
        # W: memory response, CSRs, traps, write-back
        # ==================================================================
        m.d.comb += [
            lsu.w_valid.eq(w_valid), lsu.w_trap.eq(w.trap),
            lsu.w_load.eq(w.is_load), lsu.w_store.eq(w.is_store),
            lsu.w_width.eq(w.funct3), lsu.w_addr.eq(w_addr),
            w_fire.eq(w_valid & ~lsu.w_busy),

            csr.w_fire.eq(w_fire), csr.w_pc.eq(w_pc), csr.w_len4.eq(w_len4),
            csr.w_insn.eq(w_insn), csr.w_csr.eq(w.is_csr), csr.w_csr_op.eq(w.funct3),
            csr.w_csr_src.eq(w_result), csr.w_mret.eq(w.is_mret), csr.w_fencei.eq(w.is_fencei),
            csr.w_raised.eq(w.trap), csr.w_raised_cause.eq(w.cause), csr.w_raised_tval.eq(w_tval),
            csr.w_bus_error.eq(lsu.w_error), csr.w_store.eq(w.is_store), csr.w_addr.eq(w_addr),
            csr.hartid.eq(self.hartid),
        ]

        w_retire = csr.w_retire
        w_mem = lsu.w_access
        m.d.comb += [
            w_final.eq(Mux(w.is_load, lsu.w_load_data, Mux(w.is_csr, csr.w_csr_rdata, w_result))),
            rf_wr.addr.eq(w.rd),
            rf_wr.data.eq(w_final),
            rf_wr.en.eq(w_retire & w.wen & (w.rd != 0)),
        ]

        # Retire trace.
        trace = self.trace
        traced_rd = Mux(w_retire & w.wen, w.rd, 0)
        m.d.comb += [
            trace.valid.eq(w_fire),
            trace.trap.eq(csr.w_trap),
            trace.cause.eq(Mux(csr.w_trap, csr.w_cause, 0)),
            trace.pc.eq(w_pc),
            trace.insn.eq(w_insn),
            trace.rd.eq(traced_rd),
            trace.rd_wdata.eq(Mux(traced_rd != 0, w_final, 0)),
            trace.mem_addr.eq(Mux(w_mem, w_addr, 0)),
            trace.mem_rmask.eq(Mux(w_mem & w.is_load, w_mask, 0)),
            trace.mem_wmask.eq(Mux(w_mem & w.is_store & ~csr.w_trap, w_mask, 0)),
            trace.mem_wdata.eq(Mux(w_mem & w.is_store, w_wdata, 0)),
            trace.mem_rdata.eq(Mux(w_mem & w.is_load, lsu.w_rdata, 0)),
        ]
        return m


def build_core(cfg, core: str | None = None):
    """Registry factory: the bare core (buses and trace at the top level), with the hardware
    options of ``cfg``'s core named ``core`` (by default its first)."""
    names = [c.name for c in cfg.cores]
    if core is not None and core not in names:
        raise ValueError(f"core: no core {core!r} in this configuration; its cores are {', '.join(names)}")
    return Core(cfg.core(core) if core is not None else cfg.cores[0])
