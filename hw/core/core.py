"""Tessera RV32IMC core: a 3-stage in-order pipeline with forwarding.

Stages (see docs/core.md for the diagram and the hazard table):

* **F/D** -- fetch and decode.  A fetch unit keeps one word request in flight
  on the instruction bus and pushes the returned halfwords into a 6-halfword
  fetch buffer.  The buffer's head is viewed *together with* the response
  arriving this cycle, so a fetched word is decoded in the cycle it arrives
  and a 32-bit instruction straddling two words costs nothing.  The head is
  expanded (RVC), decoded, its registers read and forwarded.  JAL and
  backward branches are predicted taken here: the fetch unit is redirected
  in the same cycle, so a correctly predicted jump or loop branch costs no
  bubble at all.
* **X** -- execute.  ALU, branch resolution (a misprediction or a JALR
  redirects fetch: 1 bubble), address generation and data-bus request,
  single-cycle multiplier, iterative divider, misaligned-access checks.
* **W** -- memory response, CSRs, traps, write-back and retirement.  Loads
  wait here for their response; every exception is taken here, in program
  order, so traps are precise.

Memory-ordering: the data bus has at most one access in flight, owned by the
instruction in W; a younger access is only issued once that one has
answered without error.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.core.bus import DataBus, InstructionBus, RetireTrace
from tessera.hw.core.divider import Divider
from tessera.hw.core.rvc import CompressedExpander

__all__ = ["Core", "build_core", "Cause", "CSR_ADDRS", "MISA"]

#: misa: MXL=1 (32-bit), extensions I, M, C.
MISA = (1 << 30) | (1 << 8) | (1 << 12) | (1 << 2)


class Cause:
    """mcause values of the exceptions this core raises."""
    INSN_MISALIGNED = 0
    INSN_FAULT = 1
    ILLEGAL = 2
    BREAKPOINT = 3
    LOAD_MISALIGNED = 4
    LOAD_FAULT = 5
    STORE_MISALIGNED = 6
    STORE_FAULT = 7
    ECALL_M = 11


#: Implemented CSRs (name -> address).  Anything else traps as illegal.
CSR_ADDRS = {
    "mstatus": 0x300, "misa": 0x301, "mie": 0x304, "mtvec": 0x305,
    "mscratch": 0x340, "mepc": 0x341, "mcause": 0x342, "mtval": 0x343, "mip": 0x344,
    "mcycle": 0xB00, "minstret": 0xB02, "mcycleh": 0xB80, "minstreth": 0xB82,
    "cycle": 0xC00, "instret": 0xC02, "cycleh": 0xC80, "instreth": 0xC82,
    "mvendorid": 0xF11, "marchid": 0xF12, "mimpid": 0xF13, "mhartid": 0xF14,
}

# ALU operations: {funct7[5], funct3} of the OP encoding.
ALU_ADD, ALU_SLL, ALU_SLT, ALU_SLTU, ALU_XOR, ALU_SRL, ALU_OR, ALU_AND = range(8)
ALU_SUB, ALU_SRA = 0b1000, 0b1101

# Major opcodes (insn[6:2]).
OPC_LOAD, OPC_MISC_MEM, OPC_OP_IMM, OPC_AUIPC = 0b00000, 0b00011, 0b00100, 0b00101
OPC_STORE, OPC_OP, OPC_LUI, OPC_BRANCH = 0b01000, 0b01100, 0b01101, 0b11000
OPC_JALR, OPC_JAL, OPC_SYSTEM = 0b11001, 0b11011, 0b11100

FETCH_BUFFER_HALFWORDS = 6


class Decoded(data.Struct):
    """Control word produced by decode and carried down the pipeline."""
    rd: unsigned(5)
    rs1: unsigned(5)
    rs2: unsigned(5)
    use_rs1: unsigned(1)
    use_rs2: unsigned(1)
    wen: unsigned(1)
    alu_op: unsigned(4)
    a_pc: unsigned(1)       # operand A is the PC (auipc)
    a_zero: unsigned(1)     # operand A is zero (lui)
    b_imm: unsigned(1)      # operand B is the immediate
    funct3: unsigned(3)
    is_branch: unsigned(1)
    is_jal: unsigned(1)
    is_jalr: unsigned(1)
    is_load: unsigned(1)
    is_store: unsigned(1)
    is_mul: unsigned(1)
    is_div: unsigned(1)
    is_csr: unsigned(1)
    csr_imm: unsigned(1)    # csrr*i: the rs1 field is a 5-bit immediate
    is_mret: unsigned(1)
    is_fencei: unsigned(1)
    trap: unsigned(1)
    cause: unsigned(4)


def decode(m: Module, insn, dec, imm):
    """Drive ``dec`` (a Decoded view) and ``imm`` from a 32-bit instruction."""
    opc = insn[2:7]
    f3 = insn[12:15]
    f7 = insn[25:32]
    imm_i = Cat(insn[20:31], insn[31].replicate(21))
    imm_s = Cat(insn[7:12], insn[25:31], insn[31].replicate(21))
    imm_b = Cat(Const(0, 1), insn[8:12], insn[25:31], insn[7], insn[31].replicate(20))
    imm_u = Cat(Const(0, 12), insn[12:32])
    imm_j = Cat(Const(0, 1), insn[21:31], insn[20], insn[12:20], insn[31].replicate(12))
    illegal = Signal()

    m.d.comb += [
        dec.rd.eq(insn[7:12]), dec.rs1.eq(insn[15:20]), dec.rs2.eq(insn[20:25]),
        dec.funct3.eq(f3), dec.alu_op.eq(ALU_ADD), imm.eq(imm_i),
    ]
    with m.If(insn[0:2] != 0b11):
        m.d.comb += illegal.eq(1)
    with m.Else():
        with m.Switch(opc):
            with m.Case(OPC_LUI):
                m.d.comb += [dec.wen.eq(1), dec.a_zero.eq(1), dec.b_imm.eq(1), imm.eq(imm_u)]
            with m.Case(OPC_AUIPC):
                m.d.comb += [dec.wen.eq(1), dec.a_pc.eq(1), dec.b_imm.eq(1), imm.eq(imm_u)]
            with m.Case(OPC_JAL):
                m.d.comb += [dec.wen.eq(1), dec.is_jal.eq(1), imm.eq(imm_j)]
            with m.Case(OPC_JALR):
                m.d.comb += [dec.wen.eq(1), dec.is_jalr.eq(1), dec.use_rs1.eq(1), dec.b_imm.eq(1),
                             illegal.eq(f3 != 0)]
            with m.Case(OPC_BRANCH):
                m.d.comb += [dec.is_branch.eq(1), dec.use_rs1.eq(1), dec.use_rs2.eq(1),
                             imm.eq(imm_b), illegal.eq((f3 == 2) | (f3 == 3))]
            with m.Case(OPC_LOAD):
                m.d.comb += [dec.wen.eq(1), dec.is_load.eq(1), dec.use_rs1.eq(1), dec.b_imm.eq(1),
                             illegal.eq((f3 == 3) | (f3 == 6) | (f3 == 7))]
            with m.Case(OPC_STORE):
                m.d.comb += [dec.is_store.eq(1), dec.use_rs1.eq(1), dec.use_rs2.eq(1),
                             dec.b_imm.eq(1), imm.eq(imm_s), illegal.eq(f3 > 2)]
            with m.Case(OPC_OP_IMM):
                m.d.comb += [dec.wen.eq(1), dec.use_rs1.eq(1), dec.b_imm.eq(1),
                             dec.alu_op.eq(Cat(f3, 0))]
                with m.If(f3 == 0b001):  # slli
                    m.d.comb += illegal.eq(f7 != 0)
                with m.If(f3 == 0b101):  # srli / srai
                    m.d.comb += [dec.alu_op.eq(Cat(f3, f7[5])),
                                 illegal.eq((f7 != 0) & (f7 != 0b0100000))]
            with m.Case(OPC_OP):
                m.d.comb += [dec.wen.eq(1), dec.use_rs1.eq(1), dec.use_rs2.eq(1),
                             dec.alu_op.eq(Cat(f3, f7[5]))]
                with m.If(f7 == 0b0000001):
                    m.d.comb += [dec.is_mul.eq(~f3[2]), dec.is_div.eq(f3[2])]
                with m.Elif(f7 == 0b0100000):
                    m.d.comb += illegal.eq((f3 != 0b000) & (f3 != 0b101))
                with m.Elif(f7 != 0):
                    m.d.comb += illegal.eq(1)
            with m.Case(OPC_MISC_MEM):
                # fence (any predecessor/successor set) is a no-op here: the
                # data bus is strictly in order.  fence.i refetches.
                m.d.comb += [dec.is_fencei.eq(f3 == 0b001), illegal.eq(f3 > 1)]
            with m.Case(OPC_SYSTEM):
                with m.If(f3 == 0):
                    with m.Switch(insn):
                        with m.Case(0x00000073):  # ecall
                            m.d.comb += [dec.trap.eq(1), dec.cause.eq(Cause.ECALL_M)]
                        with m.Case(0x00100073):  # ebreak
                            m.d.comb += [dec.trap.eq(1), dec.cause.eq(Cause.BREAKPOINT)]
                        with m.Case(0x30200073):  # mret
                            m.d.comb += dec.is_mret.eq(1)
                        with m.Case(0x10500073):  # wfi: no interrupts, so a no-op
                            pass
                        with m.Default():
                            m.d.comb += illegal.eq(1)
                with m.Elif(f3 == 0b100):
                    m.d.comb += illegal.eq(1)
                with m.Else():
                    m.d.comb += [dec.is_csr.eq(1), dec.wen.eq(1), dec.csr_imm.eq(f3[2]),
                                 dec.use_rs1.eq(~f3[2])]
            with m.Default():
                m.d.comb += illegal.eq(1)
    return illegal


class Core(wiring.Component):
    """RV32IMC core.

    Ports: ``ibus`` and ``dbus`` (see :mod:`hw.core.bus`), ``trace`` (retire
    trace), inputs ``hartid`` (read by mhartid) and ``reset_pc`` (sampled in
    the second cycle after reset; nothing is requested while in reset).
    """

    def __init__(self):
        super().__init__({
            "ibus": Out(InstructionBus.Signature()),
            "dbus": Out(DataBus.Signature()),
            "trace": Out(RetireTrace()),
            "hartid": In(32),
            "reset_pc": In(32),
        })

    def elaborate(self, platform):
        m = Module()
        ibus, dbus, trace = self.ibus, self.dbus, self.trace
        CAP = FETCH_BUFFER_HALFWORDS

        # ------------------------------------------------------------------
        # Register file: two combinational read ports (LUT RAM on an FPGA).
        # ------------------------------------------------------------------
        m.submodules.regfile = regfile = Memory(shape=32, depth=32, init=[])
        rf_rd1 = regfile.read_port(domain="comb")
        rf_rd2 = regfile.read_port(domain="comb")
        rf_wr = regfile.write_port()

        # ------------------------------------------------------------------
        # Pipeline registers
        # ------------------------------------------------------------------
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

        # Control signals shared between stages (defined below).
        w_busy = Signal()          # W waits for its data response
        w_fire = Signal()          # W leaves the pipeline this cycle
        w_redirect = Signal()      # trap, mret or fence.i: flush and refetch
        w_target = Signal(32)
        x_redirect = Signal()
        x_target = Signal(32)
        x_adv = Signal()

        # ------------------------------------------------------------------
        # CSR state
        # ------------------------------------------------------------------
        mstatus_mie = Signal()
        mstatus_mpie = Signal()
        mie = Signal(32)
        mtvec = Signal(32)
        mscratch = Signal(32)
        mepc = Signal(32)
        mcause = Signal(32)
        mtval = Signal(32)
        mcycle = Signal(64)
        minstret = Signal(64)

        # ==================================================================
        # Fetch unit and fetch buffer
        # ==================================================================
        # awake rises in the first cycle after reset, booted one cycle later:
        # the core issues nothing while held in reset (a tile's soft reset)
        # and fetches reset_pc in its second cycle.
        awake = Signal()
        booted = Signal()
        fetch_pc = Signal(32)      # next word address to request
        fetch_drop = Signal()      # that request's low halfword is not wanted
        outstanding = Signal()
        out_discard = Signal()     # the outstanding response is stale (redirected)
        out_drop = Signal()
        buf = Array(Signal(16, name=f"fbuf{i}") for i in range(CAP))
        buf_err = Signal(CAP)
        count = Signal(range(CAP + 1))
        head_pc = Signal(32)
        head_redirected = Signal()

        resp_arrive = Signal()
        m.d.comb += resp_arrive.eq(outstanding & ibus.resp.valid)
        flush_fetch = Signal()     # a redirect from X or W (or boot) clears the buffer
        m.d.comb += flush_fetch.eq(w_redirect | x_redirect | ~booted)
        resp_useful = Signal()
        m.d.comb += resp_useful.eq(resp_arrive & ~out_discard & ~flush_fetch)
        npush = Signal(2)
        inc = [Signal(16, name="inc0"), Signal(16, name="inc1")]
        inc_err = Signal()
        m.d.comb += [
            npush.eq(Mux(resp_useful, Mux(out_drop, 1, 2), 0)),
            inc[0].eq(Mux(out_drop, ibus.resp.rdata[16:32], ibus.resp.rdata[0:16])),
            inc[1].eq(ibus.resp.rdata[16:32]),
            inc_err.eq(ibus.resp.err),
        ]

        # The view: buffered halfwords followed by the ones arriving now.
        VIEW = CAP + 2
        view = [Signal(16, name=f"view{i}") for i in range(VIEW)]
        view_err = Signal(VIEW)
        view_count = Signal(range(VIEW + 1))
        m.d.comb += view_count.eq(count + npush)
        with m.Switch(count):
            for c in range(CAP + 1):
                with m.Case(c):
                    for i in range(VIEW):
                        if i < c:
                            m.d.comb += [view[i].eq(buf[i]), view_err[i].eq(buf_err[i])]
                        elif i - c < 2:
                            m.d.comb += [view[i].eq(inc[i - c]), view_err[i].eq(inc_err)]

        # ---- decode of the head instruction ----
        h_is32 = Signal()
        h_len = Signal(2)          # in halfwords
        h_valid = Signal()
        h_err = Signal()
        h_raw = Signal(32)
        h_insn = Signal(32)
        m.d.comb += [
            h_is32.eq(view[0][0:2] == 0b11),
            h_len.eq(Mux(h_is32 & ~view_err[0], 2, 1)),
            h_valid.eq(booted & (view_count >= h_len) & (view_count != 0)),
            h_err.eq(view_err[0] | (h_is32 & view_err[1])),
            h_raw.eq(Mux(h_is32, Cat(view[0], view[1]), Cat(view[0], Const(0, 16)))),
        ]
        m.submodules.rvc = rvc = CompressedExpander()
        m.d.comb += [rvc.insn16.eq(view[0]),
                     h_insn.eq(Mux(h_is32, h_raw, rvc.insn32))]
        d = Signal(Decoded)
        d_imm = Signal(32)
        d_illegal = decode(m, h_insn, d, d_imm)
        d_trap = Signal()
        d_cause = Signal(4)
        d_tval = Signal(32)
        d_rvc_bad = Signal()
        m.d.comb += d_rvc_bad.eq(~h_is32 & rvc.illegal)
        with m.If(h_err):
            m.d.comb += [d_trap.eq(1), d_cause.eq(Cause.INSN_FAULT),
                         d_tval.eq(Mux(view_err[0], head_pc, head_pc + 2))]
        with m.Elif(d_illegal | d_rvc_bad):
            m.d.comb += [d_trap.eq(1), d_cause.eq(Cause.ILLEGAL), d_tval.eq(h_raw)]
        with m.Elif(d.trap):
            m.d.comb += [d_trap.eq(1), d_cause.eq(d.cause),
                         d_tval.eq(Mux(d.cause == Cause.BREAKPOINT, head_pc, 0))]
        d_target = Signal(32)
        d_pred = Signal()
        m.d.comb += [
            d_target.eq(head_pc + d_imm),
            d_pred.eq(~d_trap & (d.is_jal | (d.is_branch & d_imm[31]))),
        ]

        # ---- register read with forwarding from X and W ----
        x_result = Signal(32)
        w_final = Signal(32)       # W's write-back value this cycle
        m.d.comb += [rf_rd1.addr.eq(d.rs1), rf_rd2.addr.eq(d.rs2)]

        def forwarded(rs, rf_data):
            value = Signal(32, name=f"fwd_{rs.name if hasattr(rs, 'name') else 'rs'}")
            with m.If(rs == 0):
                m.d.comb += value.eq(0)
            with m.Elif(x_valid & x.wen & (x.rd == rs)):
                m.d.comb += value.eq(x_result)
            with m.Elif(w_valid & w.wen & (w.rd == rs)):
                m.d.comb += value.eq(w_final)
            with m.Else():
                m.d.comb += value.eq(rf_data)
            return value

        rs1v = forwarded(d.rs1, rf_rd1.data)
        rs2v = forwarded(d.rs2, rf_rd2.data)

        # Load-use (and CSR-use) hazard: the value appears only in W.
        d_hazard = Signal()
        m.d.comb += d_hazard.eq(
            x_valid & x.wen & (x.rd != 0) & (x.is_load | x.is_csr) &
            ((d.use_rs1 & (d.rs1 == x.rd)) | (d.use_rs2 & (d.rs2 == x.rd))))

        x_free = Signal()
        d_fire = Signal()
        m.d.comb += [
            x_free.eq(~x_valid | x_adv),
            d_fire.eq(h_valid & ~d_hazard & x_free & ~x_redirect & ~w_redirect),
        ]

        # ---- static prediction redirects fetch as soon as the head is seen ----
        pred_redirect = Signal()
        m.d.comb += pred_redirect.eq(h_valid & d_pred & ~head_redirected & ~flush_fetch)

        redirect = Signal()
        target = Signal(32)
        m.d.comb += redirect.eq(flush_fetch | pred_redirect)
        with m.If(~booted):
            m.d.comb += target.eq(self.reset_pc)
        with m.Elif(w_redirect):
            m.d.comb += target.eq(w_target)
        with m.Elif(x_redirect):
            m.d.comb += target.eq(x_target)
        with m.Else():
            m.d.comb += target.eq(d_target)

        # ---- fetch request ----
        can_issue = Signal()
        space_ok = Signal()
        m.d.comb += [
            can_issue.eq(~outstanding | resp_arrive),
            space_ok.eq(count + npush + 2 <= CAP),
            ibus.req.valid.eq(awake & can_issue & (redirect | space_ok)),
            ibus.req.payload.addr.eq(Mux(redirect, Cat(Const(0, 2), target[2:32]),
                                         Cat(Const(0, 2), fetch_pc[2:32]))),
        ]
        accept = Signal()
        m.d.comb += accept.eq(ibus.req.valid & ibus.req.ready)
        m.d.sync += [awake.eq(1), booted.eq(awake)]
        with m.If(accept):
            m.d.sync += [outstanding.eq(1), out_discard.eq(0),
                         out_drop.eq(Mux(redirect, target[1], fetch_drop)),
                         fetch_pc.eq(ibus.req.payload.addr + 4), fetch_drop.eq(0)]
        with m.Else():
            with m.If(resp_arrive):
                m.d.sync += outstanding.eq(0)
            with m.If(redirect):
                m.d.sync += [fetch_pc.eq(target), fetch_drop.eq(target[1])]
                with m.If(outstanding & ~resp_arrive):
                    m.d.sync += out_discard.eq(1)

        # ---- buffer update ----
        pop = Signal(2)
        m.d.comb += pop.eq(Mux(d_fire, h_len, 0))
        new_count = Signal(range(VIEW + 1))
        with m.If(flush_fetch):
            m.d.comb += new_count.eq(0)
        with m.Elif(pred_redirect):
            m.d.comb += new_count.eq(h_len - pop)  # keep only the head
        with m.Else():
            m.d.comb += new_count.eq(view_count - pop)
        m.d.sync += count.eq(new_count)
        for i in range(CAP):
            with m.Switch(pop):
                for k in range(3):
                    with m.Case(k):
                        m.d.sync += [buf[i].eq(view[i + k]), buf_err[i].eq(view_err[i + k])]
        with m.If(flush_fetch):
            m.d.sync += [head_pc.eq(target), head_redirected.eq(0)]
        with m.Elif(d_fire):
            m.d.sync += [head_pc.eq(Mux(d_pred, d_target, head_pc + Cat(Const(0, 1), h_len))),
                         head_redirected.eq(0)]
        with m.Elif(pred_redirect):
            m.d.sync += head_redirected.eq(1)

        # ==================================================================
        # D -> X
        # ==================================================================
        with m.If(w_redirect | x_redirect):
            m.d.sync += x_valid.eq(0)
        with m.Elif(x_free):
            m.d.sync += x_valid.eq(d_fire)
            with m.If(d_fire):
                m.d.sync += [
                    x.eq(d), x.trap.eq(d_trap), x.cause.eq(d_cause), x_tval.eq(d_tval),
                    x_pc.eq(head_pc), x_insn.eq(h_raw), x_len4.eq(h_is32), x_imm.eq(d_imm),
                    x_a.eq(Mux(d.a_pc, head_pc, Mux(d.a_zero, 0, rs1v))),
                    x_b.eq(Mux(d.b_imm, d_imm, rs2v)),
                    x_rs1v.eq(Mux(d.csr_imm, d.rs1, rs1v)), x_rs2v.eq(rs2v),
                    x_pred.eq(d_pred),
                ]

        # ==================================================================
        # X: execute
        # ==================================================================
        alu = Signal(32)
        shamt = x_b[0:5]
        with m.Switch(x.alu_op):
            with m.Case(ALU_ADD):
                m.d.comb += alu.eq(x_a + x_b)
            with m.Case(ALU_SUB):
                m.d.comb += alu.eq(x_a - x_b)
            with m.Case(ALU_SLL):
                m.d.comb += alu.eq(x_a << shamt)
            with m.Case(ALU_SLT):
                m.d.comb += alu.eq(x_a.as_signed() < x_b.as_signed())
            with m.Case(ALU_SLTU):
                m.d.comb += alu.eq(x_a < x_b)
            with m.Case(ALU_XOR):
                m.d.comb += alu.eq(x_a ^ x_b)
            with m.Case(ALU_SRL):
                m.d.comb += alu.eq(x_a >> shamt)
            with m.Case(ALU_SRA):
                m.d.comb += alu.eq(x_a.as_signed() >> shamt)
            with m.Case(ALU_OR):
                m.d.comb += alu.eq(x_a | x_b)
            with m.Case(ALU_AND):
                m.d.comb += alu.eq(x_a & x_b)

        # Branch comparison on the register values.
        eq = x_rs1v == x_rs2v
        lt = x_rs1v.as_signed() < x_rs2v.as_signed()
        ltu = x_rs1v < x_rs2v
        cond = Mux(x.funct3[2], Mux(x.funct3[1], ltu, lt), eq)
        taken = Signal()
        m.d.comb += taken.eq(cond ^ x.funct3[0])
        link = Signal(32)
        m.d.comb += link.eq(x_pc + Mux(x_len4, 4, 2))

        # Multiplier: 33x33 signed product covers all four forms.
        mul_a_s = Cat(x_a, x_a[31] & (x.funct3 != 0b011)).as_signed()   # mulhu: rs1 unsigned
        mul_b_s = Cat(x_b, x_b[31] & ~x.funct3[1]).as_signed()          # mulhsu/mulhu: rs2 unsigned
        product = Signal(66)
        m.d.comb += product.eq(mul_a_s * mul_b_s)
        mul_result = Mux(x.funct3 == 0, product[0:32], product[32:64])

        m.submodules.divider = div = Divider()
        m.d.comb += [div.start.eq(x_valid & x.is_div & ~x.trap), div.funct3.eq(x.funct3),
                     div.a.eq(x_a), div.b.eq(x_b), div.ack.eq(x_adv)]

        with m.If(x.is_jal | x.is_jalr):
            m.d.comb += x_result.eq(link)
        with m.Elif(x.is_mul):
            m.d.comb += x_result.eq(mul_result)
        with m.Elif(x.is_div):
            m.d.comb += x_result.eq(div.result)
        with m.Else():
            m.d.comb += x_result.eq(alu)

        # Memory access: address, alignment, byte lanes.
        addr = alu
        size = x.funct3[0:2]
        misaligned = Signal()
        m.d.comb += misaligned.eq(Mux(size == 2, addr[0:2] != 0, Mux(size == 1, addr[0], 0)))
        mask = Signal(4)
        with m.Switch(size):
            with m.Case(0):
                m.d.comb += mask.eq(Const(1, 4) << addr[0:2])
            with m.Case(1):
                m.d.comb += mask.eq(Mux(addr[1], 0b1100, 0b0011))
            with m.Default():
                m.d.comb += mask.eq(0b1111)
        wdata = Signal(32)
        with m.Switch(size):
            with m.Case(0):
                m.d.comb += wdata.eq(x_rs2v[0:8].replicate(4))
            with m.Case(1):
                m.d.comb += wdata.eq(x_rs2v[0:16].replicate(2))
            with m.Default():
                m.d.comb += wdata.eq(x_rs2v)

        x_mem = Signal()
        x_trap = Signal()
        x_cause = Signal(4)
        x_tval_now = Signal(32)
        m.d.comb += [x_trap.eq(x.trap), x_cause.eq(x.cause), x_tval_now.eq(x_tval)]
        with m.If(~x.trap & (x.is_load | x.is_store) & misaligned):
            m.d.comb += [x_trap.eq(1), x_tval_now.eq(addr),
                         x_cause.eq(Mux(x.is_store, Cause.STORE_MISALIGNED, Cause.LOAD_MISALIGNED))]
        m.d.comb += x_mem.eq((x.is_load | x.is_store) & ~x_trap)

        # Redirects from X: mispredicted branches and every JALR.
        jalr_target = Cat(Const(0, 1), alu[1:32])
        m.d.comb += [
            x_redirect.eq(x_valid & ~x.trap & ~w_busy & ~w_redirect &
                          ((x.is_branch & (taken != x_pred)) | x.is_jalr)),
            x_target.eq(Mux(x.is_jalr, jalr_target, Mux(taken, x_pc + x_imm, link))),
        ]

        x_ready = Signal()
        with m.If(x_mem):
            m.d.comb += x_ready.eq(dbus.req.ready)
        with m.Elif(x.is_div & ~x.trap):
            m.d.comb += x_ready.eq(div.done)
        with m.Else():
            m.d.comb += x_ready.eq(1)
        m.d.comb += [
            dbus.req.valid.eq(x_valid & x_mem & ~w_busy & ~w_redirect),
            dbus.req.payload.addr.eq(addr),
            dbus.req.payload.we.eq(x.is_store),
            dbus.req.payload.mask.eq(mask),
            dbus.req.payload.wdata.eq(wdata),
            x_adv.eq(x_valid & x_ready & ~w_busy & ~w_redirect),
        ]

        # ==================================================================
        # X -> W
        # ==================================================================
        with m.If(x_adv):
            m.d.sync += [
                w_valid.eq(1), w.eq(x), w.trap.eq(x_trap), w.cause.eq(x_cause), w_tval.eq(x_tval_now),
                w_pc.eq(x_pc), w_insn.eq(x_insn), w_len4.eq(x_len4),
                w_result.eq(Mux(x.is_csr, x_rs1v, x_result)),
                w_addr.eq(Mux(x.is_load | x.is_store, addr, 0)), w_mask.eq(mask),
                w_wdata.eq(wdata),
            ]
        with m.Elif(w_fire):
            m.d.sync += w_valid.eq(0)

        # ==================================================================
        # W: memory response, CSRs, traps, write-back
        # ==================================================================
        w_mem = Signal()
        m.d.comb += [
            w_mem.eq((w.is_load | w.is_store) & ~w.trap),
            w_busy.eq(w_valid & w_mem & ~dbus.resp.valid),
            w_fire.eq(w_valid & ~w_busy),
        ]

        # Load data alignment and extension.
        lshift = Cat(Const(0, 3), w_addr[0:2])
        lraw = Signal(32)
        m.d.comb += lraw.eq(dbus.resp.rdata >> lshift)
        load_value = Signal(32)
        with m.Switch(w.funct3):
            with m.Case(0b000):
                m.d.comb += load_value.eq(lraw[0:8].as_signed())
            with m.Case(0b001):
                m.d.comb += load_value.eq(lraw[0:16].as_signed())
            with m.Case(0b100):
                m.d.comb += load_value.eq(lraw[0:8])
            with m.Case(0b101):
                m.d.comb += load_value.eq(lraw[0:16])
            with m.Default():
                m.d.comb += load_value.eq(lraw)

        # CSR access.
        csr_addr = w_insn[20:32]
        csr_src = w_result
        csr_old = Signal(32)
        csr_known = Signal()
        csr_writes = Signal()
        csr_new = Signal(32)
        m.d.comb += csr_writes.eq((w.funct3[0:2] == 0b01) | (w_insn[15:20] != 0))
        with m.Switch(w.funct3[0:2]):
            with m.Case(0b01):
                m.d.comb += csr_new.eq(csr_src)
            with m.Case(0b10):
                m.d.comb += csr_new.eq(csr_old | csr_src)
            with m.Default():
                m.d.comb += csr_new.eq(csr_old & ~csr_src)
        mstatus_value = Cat(Const(0, 3), mstatus_mie, Const(0, 3), mstatus_mpie, Const(0, 3),
                            Const(0b11, 2), Const(0, 19))
        m.d.comb += csr_known.eq(1)
        with m.Switch(csr_addr):
            with m.Case(CSR_ADDRS["mstatus"]):
                m.d.comb += csr_old.eq(mstatus_value)
            with m.Case(CSR_ADDRS["misa"]):
                m.d.comb += csr_old.eq(MISA)
            with m.Case(CSR_ADDRS["mie"]):
                m.d.comb += csr_old.eq(mie)
            with m.Case(CSR_ADDRS["mtvec"]):
                m.d.comb += csr_old.eq(mtvec)
            with m.Case(CSR_ADDRS["mscratch"]):
                m.d.comb += csr_old.eq(mscratch)
            with m.Case(CSR_ADDRS["mepc"]):
                m.d.comb += csr_old.eq(mepc)
            with m.Case(CSR_ADDRS["mcause"]):
                m.d.comb += csr_old.eq(mcause)
            with m.Case(CSR_ADDRS["mtval"]):
                m.d.comb += csr_old.eq(mtval)
            with m.Case(CSR_ADDRS["mip"]):
                m.d.comb += csr_old.eq(0)
            with m.Case(CSR_ADDRS["mcycle"], CSR_ADDRS["cycle"]):
                m.d.comb += csr_old.eq(mcycle[0:32])
            with m.Case(CSR_ADDRS["mcycleh"], CSR_ADDRS["cycleh"]):
                m.d.comb += csr_old.eq(mcycle[32:64])
            with m.Case(CSR_ADDRS["minstret"], CSR_ADDRS["instret"]):
                m.d.comb += csr_old.eq(minstret[0:32])
            with m.Case(CSR_ADDRS["minstreth"], CSR_ADDRS["instreth"]):
                m.d.comb += csr_old.eq(minstret[32:64])
            with m.Case(CSR_ADDRS["mvendorid"], CSR_ADDRS["marchid"], CSR_ADDRS["mimpid"]):
                m.d.comb += csr_old.eq(0)
            with m.Case(CSR_ADDRS["mhartid"]):
                m.d.comb += csr_old.eq(self.hartid)
            with m.Default():
                m.d.comb += csr_known.eq(0)
        csr_illegal = Signal()
        m.d.comb += csr_illegal.eq(~csr_known | (csr_writes & (csr_addr[10:12] == 0b11)))

        # Exceptions found in W (bus errors, CSR legality) join the earlier ones.
        w_trap = Signal()
        w_cause = Signal(4)
        w_trap_tval = Signal(32)
        m.d.comb += [w_trap.eq(w.trap), w_cause.eq(w.cause), w_trap_tval.eq(w_tval)]
        with m.If(~w.trap & w_mem & dbus.resp.err):
            m.d.comb += [w_trap.eq(1), w_trap_tval.eq(w_addr),
                         w_cause.eq(Mux(w.is_store, Cause.STORE_FAULT, Cause.LOAD_FAULT))]
        with m.Elif(~w.trap & w.is_csr & csr_illegal):
            m.d.comb += [w_trap.eq(1), w_cause.eq(Cause.ILLEGAL), w_trap_tval.eq(w_insn)]

        w_retire = Signal()
        m.d.comb += [
            w_retire.eq(w_fire & ~w_trap),
            w_final.eq(Mux(w.is_load, load_value, Mux(w.is_csr, csr_old, w_result))),
            w_redirect.eq(w_fire & (w_trap | w.is_mret | w.is_fencei)),
            w_target.eq(Mux(w_trap, mtvec, Mux(w.is_mret, mepc, w_pc + Mux(w_len4, 4, 2)))),
            rf_wr.addr.eq(w.rd),
            rf_wr.data.eq(w_final),
            rf_wr.en.eq(w_retire & w.wen & (w.rd != 0)),
        ]

        # CSR updates (writes by instructions, then traps and mret).
        m.d.sync += mcycle.eq(mcycle + 1)
        with m.If(w_retire):
            m.d.sync += minstret.eq(minstret + 1)
        with m.If(w_retire & w.is_csr & csr_writes):
            with m.Switch(csr_addr):
                with m.Case(CSR_ADDRS["mstatus"]):
                    m.d.sync += [mstatus_mie.eq(csr_new[3]), mstatus_mpie.eq(csr_new[7])]
                with m.Case(CSR_ADDRS["mie"]):
                    m.d.sync += mie.eq(csr_new & 0x888)
                with m.Case(CSR_ADDRS["mtvec"]):
                    m.d.sync += mtvec.eq(Cat(Const(0, 2), csr_new[2:32]))
                with m.Case(CSR_ADDRS["mscratch"]):
                    m.d.sync += mscratch.eq(csr_new)
                with m.Case(CSR_ADDRS["mepc"]):
                    m.d.sync += mepc.eq(Cat(Const(0, 1), csr_new[1:32]))
                with m.Case(CSR_ADDRS["mcause"]):
                    m.d.sync += mcause.eq(csr_new)
                with m.Case(CSR_ADDRS["mtval"]):
                    m.d.sync += mtval.eq(csr_new)
                with m.Case(CSR_ADDRS["mcycle"]):
                    m.d.sync += mcycle[0:32].eq(csr_new)
                with m.Case(CSR_ADDRS["mcycleh"]):
                    m.d.sync += mcycle[32:64].eq(csr_new)
                with m.Case(CSR_ADDRS["minstret"]):
                    m.d.sync += minstret[0:32].eq(csr_new)
                with m.Case(CSR_ADDRS["minstreth"]):
                    m.d.sync += minstret[32:64].eq(csr_new)
        with m.If(w_fire & w_trap):
            m.d.sync += [mepc.eq(w_pc), mcause.eq(w_cause), mtval.eq(w_trap_tval),
                         mstatus_mpie.eq(mstatus_mie), mstatus_mie.eq(0)]
        with m.Elif(w_fire & w.is_mret):
            m.d.sync += [mstatus_mie.eq(mstatus_mpie), mstatus_mpie.eq(1)]

        # Retire trace.
        traced_rd = Mux(w_retire & w.wen, w.rd, 0)
        m.d.comb += [
            trace.valid.eq(w_fire),
            trace.trap.eq(w_trap),
            trace.cause.eq(Mux(w_trap, w_cause, 0)),
            trace.pc.eq(w_pc),
            trace.insn.eq(w_insn),
            trace.rd.eq(traced_rd),
            trace.rd_wdata.eq(Mux(traced_rd != 0, w_final, 0)),
            trace.mem_addr.eq(Mux(w_mem, w_addr, 0)),
            trace.mem_rmask.eq(Mux(w_mem & w.is_load, w_mask, 0)),
            trace.mem_wmask.eq(Mux(w_mem & w.is_store & ~w_trap, w_mask, 0)),
            trace.mem_wdata.eq(Mux(w_mem & w.is_store, w_wdata, 0)),
            trace.mem_rdata.eq(Mux(w_mem & w.is_load, dbus.resp.rdata, 0)),
        ]
        return m


def build_core(cfg, **params):
    """Registry factory: the bare core (buses and trace at the top level)."""
    if params:
        raise ValueError(f"the core takes no parameters, got {params!r}")
    return Core()
