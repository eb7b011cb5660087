"""RV32C expander: a 16-bit compressed instruction to its 32-bit equivalent.

The pipeline decodes only 32-bit instructions; every compressed instruction
is rewritten here first (the RISC-V spec defines each RVC instruction by its
32-bit expansion).  Reserved encodings, the F/D load/store forms (no F/D
here) and the RV64/RV128-only forms raise ``illegal``.  Hints (``c.nop`` with
an immediate, ``c.li x0``, shifts by zero, ...) expand to their harmless
32-bit forms.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.isa import Opcode, SystemInsn, opcode32

__all__ = ["CompressedExpander"]

# 32-bit opcode fields used by expansions.
OP_LOAD, OP_STORE = opcode32(Opcode.LOAD), opcode32(Opcode.STORE)
OP_IMM, OP_OP, OP_LUI = opcode32(Opcode.OP_IMM), opcode32(Opcode.OP), opcode32(Opcode.LUI)
OP_JAL, OP_JALR, OP_BRANCH = opcode32(Opcode.JAL), opcode32(Opcode.JALR), opcode32(Opcode.BRANCH)


def _i_type(imm12, rs1, f3, rd, op):
    return Cat(Const(op, 7), rd, Const(f3, 3), rs1, imm12)


def _s_type(imm12, rs2, rs1, f3, op):
    return Cat(Const(op, 7), imm12[0:5], Const(f3, 3), rs1, rs2, imm12[5:12])


def _r_type(f7, rs2, rs1, f3, rd, op):
    return Cat(Const(op, 7), rd, Const(f3, 3), rs1, rs2, Const(f7, 7))


def _b_type(imm13, rs2, rs1, f3):
    return Cat(Const(OP_BRANCH, 7), imm13[11], imm13[1:5], Const(f3, 3), rs1, rs2,
               imm13[5:11], imm13[12])


def _j_type(imm21, rd):
    return Cat(Const(OP_JAL, 7), rd, imm21[12:20], imm21[11], imm21[1:11], imm21[20])


class CompressedExpander(wiring.Component):
    """Combinational: ``insn16`` in, ``insn32`` and ``illegal`` out."""

    insn16: In(16)
    insn32: Out(32)
    illegal: Out(1)

    def elaborate(self, platform):
        m = Module()
        c = self.insn16
        out, bad = self.insn32, self.illegal

        def reg(field):  # the x8..x15 registers of the 3-bit fields
            return Cat(field, Const(0b01, 2))

        rd_full, rs2_full = c[7:12], c[2:7]
        rdp, rs1p, rs2p = reg(c[2:5]), reg(c[7:10]), reg(c[2:5])
        x0, x1, x2 = Const(0, 5), Const(1, 5), Const(2, 5)

        # Immediates, sign-extended where the spec says so.
        imm6 = Signal(12)          # c.addi/c.li/c.andi: imm[5]=c[12], imm[4:0]=c[6:2]
        m.d.comb += imm6.eq(Cat(c[2:7], c[12].replicate(7)))
        uimm_lw = Cat(Const(0, 2), c[6], c[10:13], c[5], Const(0, 5))          # 12 bits
        uimm_lwsp = Cat(Const(0, 2), c[4:7], c[12], c[2:4], Const(0, 4))       # 12 bits
        uimm_swsp = Cat(Const(0, 2), c[9:13], c[7:9], Const(0, 4))             # 12 bits
        nzuimm_4spn = Cat(Const(0, 2), c[6], c[5], c[11:13], c[7:11], Const(0, 2))  # 12 bits
        nzimm_16sp = Cat(Const(0, 4), c[6], c[2], c[5], c[3:5], c[12].replicate(3))  # 12 bits
        lui_imm = Cat(c[2:7], c[12].replicate(15))                             # imm[31:12]
        j_imm = Signal(21)
        m.d.comb += j_imm.eq(Cat(Const(0, 1), c[3:6], c[11], c[2], c[7], c[6], c[9:11], c[8],
                                 c[12].replicate(10)))
        b_imm = Signal(13)
        m.d.comb += b_imm.eq(Cat(Const(0, 1), c[3:5], c[10:12], c[2], c[5:7], c[12].replicate(5)))
        shamt = c[2:7]

        m.d.comb += [out.eq(0), bad.eq(0)]
        with m.Switch(Cat(c[0:2], c[13:16])):
            # ---- quadrant 0 -------------------------------------------------
            with m.Case(0b000_00):  # c.addi4spn (all-zero immediate is illegal)
                m.d.comb += [out.eq(_i_type(nzuimm_4spn, x2, 0b000, rdp, OP_IMM)),
                             bad.eq(nzuimm_4spn == 0)]
            with m.Case(0b010_00):  # c.lw
                m.d.comb += out.eq(_i_type(uimm_lw, rs1p, 0b010, rdp, OP_LOAD))
            with m.Case(0b110_00):  # c.sw
                m.d.comb += out.eq(_s_type(uimm_lw, rs2p, rs1p, 0b010, OP_STORE))
            # ---- quadrant 1 -------------------------------------------------
            with m.Case(0b000_01):  # c.addi / c.nop
                m.d.comb += out.eq(_i_type(imm6, rd_full, 0b000, rd_full, OP_IMM))
            with m.Case(0b001_01):  # c.jal (RV32)
                m.d.comb += out.eq(_j_type(j_imm, x1))
            with m.Case(0b010_01):  # c.li
                m.d.comb += out.eq(_i_type(imm6, x0, 0b000, rd_full, OP_IMM))
            with m.Case(0b011_01):
                with m.If(rd_full == 2):  # c.addi16sp
                    m.d.comb += [out.eq(_i_type(nzimm_16sp, x2, 0b000, x2, OP_IMM)),
                                 bad.eq(nzimm_16sp == 0)]
                with m.Else():  # c.lui
                    m.d.comb += [out.eq(Cat(Const(OP_LUI, 7), rd_full, lui_imm)),
                                 bad.eq(Cat(c[2:7], c[12]) == 0)]
            with m.Case(0b100_01):
                with m.Switch(c[10:12]):
                    with m.Case(0b00):  # c.srli (shamt[5] must be 0 on RV32)
                        m.d.comb += [out.eq(_r_type(0b0000000, shamt, rs1p, 0b101, rs1p, OP_IMM)),
                                     bad.eq(c[12])]
                    with m.Case(0b01):  # c.srai
                        m.d.comb += [out.eq(_r_type(0b0100000, shamt, rs1p, 0b101, rs1p, OP_IMM)),
                                     bad.eq(c[12])]
                    with m.Case(0b10):  # c.andi
                        m.d.comb += out.eq(_i_type(imm6, rs1p, 0b111, rs1p, OP_IMM))
                    with m.Case(0b11):
                        with m.If(c[12]):  # c.subw/c.addw: RV64 only
                            m.d.comb += bad.eq(1)
                        with m.Else():
                            with m.Switch(c[5:7]):
                                with m.Case(0b00):  # c.sub
                                    m.d.comb += out.eq(_r_type(0b0100000, rs2p, rs1p, 0b000, rs1p, OP_OP))
                                with m.Case(0b01):  # c.xor
                                    m.d.comb += out.eq(_r_type(0, rs2p, rs1p, 0b100, rs1p, OP_OP))
                                with m.Case(0b10):  # c.or
                                    m.d.comb += out.eq(_r_type(0, rs2p, rs1p, 0b110, rs1p, OP_OP))
                                with m.Case(0b11):  # c.and
                                    m.d.comb += out.eq(_r_type(0, rs2p, rs1p, 0b111, rs1p, OP_OP))
            with m.Case(0b101_01):  # c.j
                m.d.comb += out.eq(_j_type(j_imm, x0))
            with m.Case(0b110_01):  # c.beqz
                m.d.comb += out.eq(_b_type(b_imm, x0, rs1p, 0b000))
            with m.Case(0b111_01):  # c.bnez
                m.d.comb += out.eq(_b_type(b_imm, x0, rs1p, 0b001))
            # ---- quadrant 2 -------------------------------------------------
            with m.Case(0b000_10):  # c.slli
                m.d.comb += [out.eq(_r_type(0, shamt, rd_full, 0b001, rd_full, OP_IMM)),
                             bad.eq(c[12])]
            with m.Case(0b010_10):  # c.lwsp (rd = x0 reserved)
                m.d.comb += [out.eq(_i_type(uimm_lwsp, x2, 0b010, rd_full, OP_LOAD)),
                             bad.eq(rd_full == 0)]
            with m.Case(0b100_10):
                with m.If(~c[12]):
                    with m.If(rs2_full == 0):  # c.jr (rs1 = x0 reserved)
                        m.d.comb += [out.eq(_i_type(Const(0, 12), rd_full, 0b000, x0, OP_JALR)),
                                     bad.eq(rd_full == 0)]
                    with m.Else():  # c.mv
                        m.d.comb += out.eq(_r_type(0, rs2_full, x0, 0b000, rd_full, OP_OP))
                with m.Else():
                    with m.If((rs2_full == 0) & (rd_full == 0)):  # c.ebreak
                        m.d.comb += out.eq(SystemInsn.EBREAK.value)
                    with m.Elif(rs2_full == 0):  # c.jalr
                        m.d.comb += out.eq(_i_type(Const(0, 12), rd_full, 0b000, x1, OP_JALR))
                    with m.Else():  # c.add
                        m.d.comb += out.eq(_r_type(0, rs2_full, rd_full, 0b000, rd_full, OP_OP))
            with m.Case(0b110_10):  # c.swsp
                m.d.comb += out.eq(_s_type(uimm_swsp, rs2_full, x2, 0b010, OP_STORE))
            with m.Default():  # F/D forms, reserved, and quadrant 3 (not compressed)
                m.d.comb += bad.eq(1)
        return m
