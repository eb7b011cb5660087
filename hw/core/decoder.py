"""D stage: decode of the instruction at the head of the fetch view.

A compressed head is expanded to its 32-bit form first (``CompressedExpander``),
then one 32-bit decoder produces the control word carried down the pipeline
(:class:`Decoded`) and the immediate.  The decoder also decides the
exceptions known at decode (instruction access fault, illegal instruction,
``ecall``/``ebreak``) with their ``mtval``, and the static prediction: ``jal``,
``c.j``, ``c.jal`` and backward conditional branches are predicted taken.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.isa import AluOp, Cause, Opcode, SystemInsn, opcode32
from tessera.hw.core.rvc import CompressedExpander

__all__ = ["Decoded", "Decoder"]


class Decoded(data.Struct):
    """Control word produced by decode and carried down the pipeline."""
    rd: unsigned(5)
    rs1: unsigned(5)
    rs2: unsigned(5)
    use_rs1: unsigned(1)
    use_rs2: unsigned(1)
    wen: unsigned(1)
    alu_op: AluOp
    a_pc: unsigned(1)       # operand A is the PC (auipc)
    a_zero: unsigned(1)     # operand A is zero (lui)
    b_imm: unsigned(1)      # operand B is the immediate
    funct3: unsigned(3)     # BranchCond, MemWidth, MulDivOp or CsrOp by instruction
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
    trap: unsigned(1)       # the instruction raises an exception (cause below)
    cause: Cause


class Decoder(wiring.Component):
    """Combinational decode of the fetch-view head.

    Inputs: ``d_insn`` (halfword 0 of the view in bits 15:0, halfword 1 in
    bits 31:16; the upper half is ignored when the head is compressed),
    ``d_fetch_err`` (bus error on halfword 0 / 1), ``d_pc``.

    Outputs: ``d_is32`` (the head is a 32-bit instruction), ``d_raw`` (the
    instruction as fetched; a compressed one with the upper half zero),
    ``d_ctrl`` (control word, with ``trap``/``cause`` the decode-time
    exception), ``d_imm``, ``d_tval`` (mtval of that exception), ``d_target``
    (``d_pc + d_imm``), ``d_pred`` (predicted taken) and ``d_pred_target``
    (where fetch goes when ``d_pred`` is high; equal to ``d_target`` then).

    ``d_pred`` and ``d_pred_target`` close the loop fetch view -> decode ->
    fetch address within one cycle, the core's longest path.  They are
    therefore computed from the raw halfwords in parallel with RVC expansion
    and the full decode: only ``jal``, ``c.j``, ``c.jal``, the conditional
    branches, ``c.beqz`` and ``c.bnez`` can be predicted, and their
    immediates are picked straight from the instruction bits.
    """

    d_insn: In(32)
    d_fetch_err: In(2)
    d_pc: In(32)
    d_is32: Out(1)
    d_raw: Out(32)
    d_ctrl: Out(Decoded)
    d_imm: Out(32)
    d_tval: Out(32)
    d_target: Out(32)
    d_pred: Out(1)
    d_pred_target: Out(32)

    def elaborate(self, platform):
        m = Module()
        halfword0, halfword1 = self.d_insn[0:16], self.d_insn[16:32]
        is32 = self.d_is32
        fetch_error = Signal()
        m.d.comb += [
            is32.eq(halfword0[0:2] == 0b11),
            fetch_error.eq(self.d_fetch_err[0] | (is32 & self.d_fetch_err[1])),
            self.d_raw.eq(Mux(is32, Cat(halfword0, halfword1), Cat(halfword0, Const(0, 16)))),
        ]
        m.submodules.rvc = rvc = CompressedExpander()
        insn32 = Signal(32)
        m.d.comb += [rvc.insn16.eq(halfword0), insn32.eq(Mux(is32, self.d_raw, rvc.insn32))]

        ctrl = Signal(Decoded)
        illegal32 = _decode32(m, insn32, ctrl, self.d_imm)

        # Priority of the decode-time exceptions: a fetch fault hides the
        # instruction bits; an illegal encoding hides ecall/ebreak.
        trap = Signal()
        cause = Signal(Cause)
        m.d.comb += [self.d_ctrl.eq(ctrl), self.d_ctrl.trap.eq(trap), self.d_ctrl.cause.eq(cause)]
        with m.If(fetch_error):
            m.d.comb += [trap.eq(1), cause.eq(Cause.INSN_FAULT),
                         self.d_tval.eq(Mux(self.d_fetch_err[0], self.d_pc, self.d_pc + 2))]
        with m.Elif(illegal32 | (~is32 & rvc.illegal)):
            m.d.comb += [trap.eq(1), cause.eq(Cause.ILLEGAL), self.d_tval.eq(self.d_raw)]
        with m.Elif(ctrl.trap):
            m.d.comb += [trap.eq(1), cause.eq(ctrl.cause),
                         self.d_tval.eq(Mux(ctrl.cause == Cause.BREAKPOINT, self.d_pc, 0))]

        m.d.comb += self.d_target.eq(self.d_pc + self.d_imm)
        _predict(m, halfword0, halfword1, self.d_fetch_err, self.d_pc,
                 self.d_pred, self.d_pred_target)
        return m


def _predict(m: Module, halfword0, halfword1, fetch_err, pc, pred, pred_target):
    """Static prediction straight from the raw halfwords.

    Drives ``pred`` exactly as "no decode-time exception and (``jal`` or a
    branch with a negative offset)" on the decoded instruction, and
    ``pred_target`` as ``pc`` plus that instruction's offset, without going
    through RVC expansion or the immediate mux of the decoder: a ``jal`` is
    always legal, a branch is illegal only with funct3 2 or 3, and the four
    compressed jumps/branches are always legal.
    """
    insn = Cat(halfword0, halfword1)
    c = halfword0
    is32 = halfword0[0:2] == 0b11
    # 32-bit forms: opcode 1101111 (jal) and 1100011 (branch); bit 3 tells them apart.
    is_jal32 = insn[0:7] == opcode32(Opcode.JAL)
    is_branch32 = insn[0:7] == opcode32(Opcode.BRANCH)
    branch_f3_legal = ~(~insn[14] & insn[13])      # funct3 2 and 3 are reserved
    imm_j = Cat(Const(0, 1), insn[21:31], insn[20], insn[12:20], insn[31].replicate(12))
    imm_b = Cat(Const(0, 1), insn[8:12], insn[25:31], insn[7], insn[31].replicate(20))
    # Compressed forms (quadrant 1): funct3 001 c.jal, 101 c.j, 110 c.beqz, 111 c.bnez;
    # bit 14 tells jumps from branches.
    quadrant1 = c[0:2] == 0b01
    is_cjump = quadrant1 & (c[13:15] == 0b01)
    is_cbranch = quadrant1 & (c[14:16] == 0b11)
    imm_cj = Cat(Const(0, 1), c[3:6], c[11], c[2], c[7], c[6], c[9:11], c[8],
                 c[12].replicate(21))
    imm_cb = Cat(Const(0, 1), c[3:5], c[10:12], c[2], c[5:7], c[12].replicate(24))

    offset = Signal(32)
    m.d.comb += [
        offset.eq(Mux(is32, Mux(insn[3], imm_j, imm_b), Mux(c[14], imm_cb, imm_cj))),
        pred_target.eq(pc + offset),
        pred.eq(Mux(is32,
                    ~fetch_err[0] & ~fetch_err[1] &
                    (is_jal32 | (is_branch32 & branch_f3_legal & insn[31])),
                    ~fetch_err[0] & (is_cjump | (is_cbranch & c[12])))),
    ]


def _decode32(m: Module, insn, dec, imm):
    """Drive ``dec`` (a :class:`Decoded` view) and ``imm`` from a 32-bit instruction.

    Returns a signal that is high for an encoding the core does not implement.
    ``dec.trap``/``dec.cause`` report ``ecall`` and ``ebreak`` only.
    """
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
        dec.funct3.eq(f3), dec.alu_op.eq(AluOp.ADD), imm.eq(imm_i),
    ]
    with m.If(insn[0:2] != 0b11):
        m.d.comb += illegal.eq(1)
    with m.Else():
        with m.Switch(opc):
            with m.Case(Opcode.LUI):
                m.d.comb += [dec.wen.eq(1), dec.a_zero.eq(1), dec.b_imm.eq(1), imm.eq(imm_u)]
            with m.Case(Opcode.AUIPC):
                m.d.comb += [dec.wen.eq(1), dec.a_pc.eq(1), dec.b_imm.eq(1), imm.eq(imm_u)]
            with m.Case(Opcode.JAL):
                m.d.comb += [dec.wen.eq(1), dec.is_jal.eq(1), imm.eq(imm_j)]
            with m.Case(Opcode.JALR):
                m.d.comb += [dec.wen.eq(1), dec.is_jalr.eq(1), dec.use_rs1.eq(1), dec.b_imm.eq(1),
                             illegal.eq(f3 != 0)]
            with m.Case(Opcode.BRANCH):
                m.d.comb += [dec.is_branch.eq(1), dec.use_rs1.eq(1), dec.use_rs2.eq(1),
                             imm.eq(imm_b), illegal.eq((f3 == 2) | (f3 == 3))]
            with m.Case(Opcode.LOAD):
                m.d.comb += [dec.wen.eq(1), dec.is_load.eq(1), dec.use_rs1.eq(1), dec.b_imm.eq(1),
                             illegal.eq((f3 == 3) | (f3 == 6) | (f3 == 7))]
            with m.Case(Opcode.STORE):
                m.d.comb += [dec.is_store.eq(1), dec.use_rs1.eq(1), dec.use_rs2.eq(1),
                             dec.b_imm.eq(1), imm.eq(imm_s), illegal.eq(f3 > 2)]
            with m.Case(Opcode.OP_IMM):
                m.d.comb += [dec.wen.eq(1), dec.use_rs1.eq(1), dec.b_imm.eq(1),
                             dec.alu_op.eq(Cat(f3, 0))]
                with m.If(f3 == 0b001):  # slli
                    m.d.comb += illegal.eq(f7 != 0)
                with m.If(f3 == 0b101):  # srli / srai
                    m.d.comb += [dec.alu_op.eq(Cat(f3, f7[5])),
                                 illegal.eq((f7 != 0) & (f7 != 0b0100000))]
            with m.Case(Opcode.OP):
                m.d.comb += [dec.wen.eq(1), dec.use_rs1.eq(1), dec.use_rs2.eq(1),
                             dec.alu_op.eq(Cat(f3, f7[5]))]
                with m.If(f7 == 0b0000001):
                    m.d.comb += [dec.is_mul.eq(~f3[2]), dec.is_div.eq(f3[2])]
                with m.Elif(f7 == 0b0100000):
                    m.d.comb += illegal.eq((f3 != 0b000) & (f3 != 0b101))
                with m.Elif(f7 != 0):
                    m.d.comb += illegal.eq(1)
            with m.Case(Opcode.MISC_MEM):
                # fence (any predecessor/successor set) is a no-op here: the
                # data bus is strictly in order.  fence.i refetches.
                m.d.comb += [dec.is_fencei.eq(f3 == 0b001), illegal.eq(f3 > 1)]
            with m.Case(Opcode.SYSTEM):
                with m.If(f3 == 0):
                    with m.Switch(insn):
                        with m.Case(SystemInsn.ECALL):
                            m.d.comb += [dec.trap.eq(1), dec.cause.eq(Cause.ECALL_M)]
                        with m.Case(SystemInsn.EBREAK):
                            m.d.comb += [dec.trap.eq(1), dec.cause.eq(Cause.BREAKPOINT)]
                        with m.Case(SystemInsn.MRET):
                            m.d.comb += dec.is_mret.eq(1)
                        with m.Case(SystemInsn.WFI):  # no interrupts, so a no-op
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
