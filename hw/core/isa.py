"""RV32IMC encodings used by the core: opcodes, function codes, CSRs, causes.

Each table is an ``amaranth.lib.enum`` enum with the width of the field it
encodes, so a signal of that shape reads as names in simulation and
``Switch``/``Case`` take the members directly.  Values are from the RISC-V
unprivileged (RV32I, M, C, Zicsr, Zifencei) and privileged (machine mode)
specifications.
"""

from amaranth.lib import enum

__all__ = ["Opcode", "opcode32", "AluOp", "BranchCond", "MemWidth", "MulDivOp", "CsrOp",
           "SystemInsn", "Cause", "CsrAddr", "MISA"]


class Opcode(enum.Enum, shape=5):
    """Major opcode: bits 6:2 of a 32-bit instruction (bits 1:0 are 11)."""
    LOAD     = 0b00000
    MISC_MEM = 0b00011
    OP_IMM   = 0b00100
    AUIPC    = 0b00101
    STORE    = 0b01000
    OP       = 0b01100
    LUI      = 0b01101
    BRANCH   = 0b11000
    JALR     = 0b11001
    JAL      = 0b11011
    SYSTEM   = 0b11100


def opcode32(opcode: Opcode) -> int:
    """The 7-bit opcode field of a 32-bit instruction (``opcode`` with bits 1:0 = 11)."""
    return (Opcode(opcode).value << 2) | 0b11


class AluOp(enum.Enum, shape=4):
    """Integer operation: ``{funct7[5], funct3}`` of the OP encoding."""
    ADD  = 0b0_000
    SLL  = 0b0_001
    SLT  = 0b0_010
    SLTU = 0b0_011
    XOR  = 0b0_100
    SRL  = 0b0_101
    OR   = 0b0_110
    AND  = 0b0_111
    SUB  = 0b1_000
    SRA  = 0b1_101


class BranchCond(enum.Enum, shape=3):
    """funct3 of BRANCH: bit 0 inverts, bits 2:1 pick equal / signed / unsigned less-than."""
    BEQ  = 0b000
    BNE  = 0b001
    BLT  = 0b100
    BGE  = 0b101
    BLTU = 0b110
    BGEU = 0b111


class MemWidth(enum.Enum, shape=3):
    """funct3 of LOAD and STORE: bits 1:0 the size, bit 2 zero-extends a load."""
    B  = 0b000
    H  = 0b001
    W  = 0b010
    BU = 0b100
    HU = 0b101


class MulDivOp(enum.Enum, shape=3):
    """funct3 of the M extension (OP with funct7 = 0000001)."""
    MUL    = 0b000
    MULH   = 0b001
    MULHSU = 0b010
    MULHU  = 0b011
    DIV    = 0b100
    DIVU   = 0b101
    REM    = 0b110
    REMU   = 0b111


class CsrOp(enum.Enum, shape=3):
    """funct3 of the Zicsr instructions: bit 2 = immediate source, bits 1:0 = write/set/clear."""
    CSRRW  = 0b001
    CSRRS  = 0b010
    CSRRC  = 0b011
    CSRRWI = 0b101
    CSRRSI = 0b110
    CSRRCI = 0b111


class SystemInsn(enum.Enum, shape=32):
    """The SYSTEM instructions with funct3 = 0 that the core implements (whole encodings)."""
    ECALL  = 0x0000_0073
    EBREAK = 0x0010_0073
    MRET   = 0x3020_0073
    WFI    = 0x1050_0073


class Cause(enum.Enum, shape=4):
    """mcause values of the exceptions this core raises (interrupt bit 0)."""
    INSN_MISALIGNED  = 0
    INSN_FAULT       = 1
    ILLEGAL          = 2
    BREAKPOINT       = 3
    LOAD_MISALIGNED  = 4
    LOAD_FAULT       = 5
    STORE_MISALIGNED = 6
    STORE_FAULT      = 7
    ECALL_M          = 11


class CsrAddr(enum.Enum, shape=12):
    """The implemented CSRs.  Bits 11:10 = 11 marks a read-only CSR."""
    MSTATUS   = 0x300
    MISA      = 0x301
    MIE       = 0x304
    MTVEC     = 0x305
    MSCRATCH  = 0x340
    MEPC      = 0x341
    MCAUSE    = 0x342
    MTVAL     = 0x343
    MIP       = 0x344
    MCYCLE    = 0xB00
    MINSTRET  = 0xB02
    MCYCLEH   = 0xB80
    MINSTRETH = 0xB82
    CYCLE     = 0xC00
    INSTRET   = 0xC02
    CYCLEH    = 0xC80
    INSTRETH  = 0xC82
    MVENDORID = 0xF11
    MARCHID   = 0xF12
    MIMPID    = 0xF13
    MHARTID   = 0xF14


#: misa: MXL=1 (32-bit), extensions I, M, C.
MISA = (1 << 30) | (1 << 8) | (1 << 12) | (1 << 2)
