"""X stage: integer ALU, branch resolution, multiplier and divider.

The ALU computes the ten RV32I operations (also the load/store address and
the ``jalr`` target).  Branches compare the two register values; a branch
whose outcome differs from the prediction made in decode, and every
``jalr``, redirects fetch from X.  One 33x33 signed multiplier gives all four
MUL forms in a single cycle; DIV/DIVU/REM/REMU run in an iterative divider
of :mod:`~tessera.hw.core.divider`, the fast or the compact one.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.divider import divider_for
from tessera.hw.core.isa import AluOp, MulDivOp

__all__ = ["ALU"]


class ALU(wiring.Component):
    """The execute unit of the X stage.

    Operation (from decode): ``x_op`` (:class:`AluOp`), ``x_funct3`` (the
    :class:`BranchCond` of a branch, the :class:`MulDivOp` of an M
    instruction), ``x_is_branch``/``x_is_jal``/``x_is_jalr``/``x_is_mul``/
    ``x_is_div``, ``x_pred`` (decode predicted the branch taken).
    Operands: ``x_a`` (rs1, pc or 0), ``x_b`` (rs2 or the immediate),
    ``x_rs1v``/``x_rs2v`` (register values, compared by branches), ``x_pc``,
    ``x_len4`` (32-bit instruction), ``x_imm``.
    Control: ``x_valid`` (X holds an instruction without an exception),
    ``x_stall`` (W cannot take it), ``x_advance`` (it leaves X this cycle).

    Outputs: ``x_alu`` (ALU result), ``x_sum`` (``x_a + x_b`` straight from
    the adder, ahead of the operation mux: the memory address of a
    load/store, whose ``x_op`` is always ADD),
    ``x_result`` (the value written to rd: link, product, quotient/remainder
    or ALU result), ``x_taken`` (branch condition holds), ``x_redirect`` and
    ``x_target`` (fetch restarts there: a mispredicted branch or a ``jalr``),
    ``x_div_done`` (the division's result is ready).

    ``divider`` names the divider (``CoreConfig.divider``: ``fast`` or ``compact``).
    """

    x_op: In(AluOp)
    x_funct3: In(3)
    x_is_branch: In(1)
    x_is_jal: In(1)
    x_is_jalr: In(1)
    x_is_mul: In(1)
    x_is_div: In(1)
    x_pred: In(1)
    x_a: In(32)
    x_b: In(32)
    x_rs1v: In(32)
    x_rs2v: In(32)
    x_pc: In(32)
    x_len4: In(1)
    x_imm: In(32)
    x_valid: In(1)
    x_stall: In(1)
    x_advance: In(1)

    x_alu: Out(32)
    x_sum: Out(32)
    x_result: Out(32)
    x_taken: Out(1)
    x_redirect: Out(1)
    x_target: Out(32)
    x_div_done: Out(1)

    def __init__(self, divider: str = "fast"):
        self.divider = divider
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        a, b, alu = self.x_a, self.x_b, self.x_alu
        shamt = b[0:5]
        m.d.comb += self.x_sum.eq(a + b)
        with m.Switch(self.x_op):
            with m.Case(AluOp.ADD):
                m.d.comb += alu.eq(self.x_sum)
            with m.Case(AluOp.SUB):
                m.d.comb += alu.eq(a - b)
            with m.Case(AluOp.SLL):
                m.d.comb += alu.eq(a << shamt)
            with m.Case(AluOp.SLT):
                m.d.comb += alu.eq(a.as_signed() < b.as_signed())
            with m.Case(AluOp.SLTU):
                m.d.comb += alu.eq(a < b)
            with m.Case(AluOp.XOR):
                m.d.comb += alu.eq(a ^ b)
            with m.Case(AluOp.SRL):
                m.d.comb += alu.eq(a >> shamt)
            with m.Case(AluOp.SRA):
                m.d.comb += alu.eq(a.as_signed() >> shamt)
            with m.Case(AluOp.OR):
                m.d.comb += alu.eq(a | b)
            with m.Case(AluOp.AND):
                m.d.comb += alu.eq(a & b)

        # Branch condition on the register values (BranchCond: bit 0 inverts).
        funct3 = self.x_funct3
        rs1v, rs2v = self.x_rs1v, self.x_rs2v
        equal = rs1v == rs2v
        less = rs1v.as_signed() < rs2v.as_signed()
        less_unsigned = rs1v < rs2v
        cond = Mux(funct3[2], Mux(funct3[1], less_unsigned, less), equal)
        taken = self.x_taken
        m.d.comb += taken.eq(cond ^ funct3[0])
        link = Signal(32)
        m.d.comb += link.eq(self.x_pc + Mux(self.x_len4, 4, 2))

        # Multiplier: a 33x33 signed product covers all four forms.
        mul_a = Cat(a, a[31] & (funct3 != MulDivOp.MULHU)).as_signed()  # mulhu: rs1 unsigned
        mul_b = Cat(b, b[31] & ~funct3[1]).as_signed()    # mulhsu/mulhu: rs2 unsigned
        product = Signal(66)
        m.d.comb += product.eq(mul_a * mul_b)
        mul_result = Mux(funct3 == MulDivOp.MUL, product[0:32], product[32:64])

        m.submodules.divider = divider = divider_for(self.divider)
        m.d.comb += [divider.start.eq(self.x_valid & self.x_is_div), divider.funct3.eq(funct3),
                     divider.a.eq(a), divider.b.eq(b), divider.ack.eq(self.x_advance),
                     self.x_div_done.eq(divider.done)]

        with m.If(self.x_is_jal | self.x_is_jalr):
            m.d.comb += self.x_result.eq(link)
        with m.Elif(self.x_is_mul):
            m.d.comb += self.x_result.eq(mul_result)
        with m.Elif(self.x_is_div):
            m.d.comb += self.x_result.eq(divider.result)
        with m.Else():
            m.d.comb += self.x_result.eq(alu)

        # Redirects from X: mispredicted branches and every jalr (bit 0 cleared).
        jalr_target = Cat(Const(0, 1), alu[1:32])
        m.d.comb += [
            self.x_redirect.eq(self.x_valid & ~self.x_stall &
                               ((self.x_is_branch & (taken != self.x_pred)) | self.x_is_jalr)),
            self.x_target.eq(Mux(self.x_is_jalr, jalr_target,
                                 Mux(taken, self.x_pc + self.x_imm, link))),
        ]
        return m
