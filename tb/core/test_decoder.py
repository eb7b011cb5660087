"""The D-stage decoder in the Amaranth simulator against a table-driven Python model of RV32IMC.

The reference is written from the ISA manual, independently of the
hardware: a mask/match table of every implemented 32-bit instruction (any
other encoding is illegal) with its format and effects, and an RV32C
expander that maps each compressed encoding to its 32-bit equivalent (or
to "reserved").  Checked: control word, immediate, decode-time exceptions
and their mtval (illegal, ecall, ebreak, fetch faults on either half),
static prediction and its target -- on encodings of every instruction with
random free fields, near misses of each one, fully random words and every
compressed halfword.
"""

import random

from tessera.hw.core.decoder import Decoder
from tessera.hw.core.isa import AluOp, Cause
from tb.core.unit_sim import simulate

M32 = 0xFFFF_FFFF
SEED = 31

# ---------------------------------------------------------------------------
# Reference: the implemented 32-bit instructions.
# name, format, mask, match, effects.  Effects: "rd" writes rd, "rs1"/"rs2"
# reads them; "alu=OP" and operand selection for instructions that go
# through the ALU; "kind" flags of the control word.
# ---------------------------------------------------------------------------
R_MASK, I_MASK, FULL = 0xFE00_707F, 0x0000_707F, 0xFFFF_FFFF

INSTRUCTIONS = [
    ("lui",    "U", 0x7F,   0x37,        "rd a_zero b_imm alu=ADD"),
    ("auipc",  "U", 0x7F,   0x17,        "rd a_pc b_imm alu=ADD"),
    ("jal",    "J", 0x7F,   0x6F,        "rd is_jal"),
    ("jalr",   "I", I_MASK, 0x67,        "rd rs1 b_imm is_jalr alu=ADD"),
    ("beq",    "B", I_MASK, 0x0063,      "rs1 rs2 is_branch"),
    ("bne",    "B", I_MASK, 0x1063,      "rs1 rs2 is_branch"),
    ("blt",    "B", I_MASK, 0x4063,      "rs1 rs2 is_branch"),
    ("bge",    "B", I_MASK, 0x5063,      "rs1 rs2 is_branch"),
    ("bltu",   "B", I_MASK, 0x6063,      "rs1 rs2 is_branch"),
    ("bgeu",   "B", I_MASK, 0x7063,      "rs1 rs2 is_branch"),
    ("lb",     "I", I_MASK, 0x0003,      "rd rs1 b_imm is_load alu=ADD"),
    ("lh",     "I", I_MASK, 0x1003,      "rd rs1 b_imm is_load alu=ADD"),
    ("lw",     "I", I_MASK, 0x2003,      "rd rs1 b_imm is_load alu=ADD"),
    ("lbu",    "I", I_MASK, 0x4003,      "rd rs1 b_imm is_load alu=ADD"),
    ("lhu",    "I", I_MASK, 0x5003,      "rd rs1 b_imm is_load alu=ADD"),
    ("sb",     "S", I_MASK, 0x0023,      "rs1 rs2 b_imm is_store alu=ADD"),
    ("sh",     "S", I_MASK, 0x1023,      "rs1 rs2 b_imm is_store alu=ADD"),
    ("sw",     "S", I_MASK, 0x2023,      "rs1 rs2 b_imm is_store alu=ADD"),
    ("addi",   "I", I_MASK, 0x0013,      "rd rs1 b_imm alu=ADD"),
    ("slti",   "I", I_MASK, 0x2013,      "rd rs1 b_imm alu=SLT"),
    ("sltiu",  "I", I_MASK, 0x3013,      "rd rs1 b_imm alu=SLTU"),
    ("xori",   "I", I_MASK, 0x4013,      "rd rs1 b_imm alu=XOR"),
    ("ori",    "I", I_MASK, 0x6013,      "rd rs1 b_imm alu=OR"),
    ("andi",   "I", I_MASK, 0x7013,      "rd rs1 b_imm alu=AND"),
    ("slli",   "I", R_MASK, 0x0000_1013, "rd rs1 b_imm alu=SLL"),
    ("srli",   "I", R_MASK, 0x0000_5013, "rd rs1 b_imm alu=SRL"),
    ("srai",   "I", R_MASK, 0x4000_5013, "rd rs1 b_imm alu=SRA"),
    ("add",    "R", R_MASK, 0x0000_0033, "rd rs1 rs2 alu=ADD"),
    ("sub",    "R", R_MASK, 0x4000_0033, "rd rs1 rs2 alu=SUB"),
    ("sll",    "R", R_MASK, 0x0000_1033, "rd rs1 rs2 alu=SLL"),
    ("slt",    "R", R_MASK, 0x0000_2033, "rd rs1 rs2 alu=SLT"),
    ("sltu",   "R", R_MASK, 0x0000_3033, "rd rs1 rs2 alu=SLTU"),
    ("xor",    "R", R_MASK, 0x0000_4033, "rd rs1 rs2 alu=XOR"),
    ("srl",    "R", R_MASK, 0x0000_5033, "rd rs1 rs2 alu=SRL"),
    ("sra",    "R", R_MASK, 0x4000_5033, "rd rs1 rs2 alu=SRA"),
    ("or",     "R", R_MASK, 0x0000_6033, "rd rs1 rs2 alu=OR"),
    ("and",    "R", R_MASK, 0x0000_7033, "rd rs1 rs2 alu=AND"),
    ("mul",    "R", R_MASK, 0x0200_0033, "rd rs1 rs2 is_mul"),
    ("mulh",   "R", R_MASK, 0x0200_1033, "rd rs1 rs2 is_mul"),
    ("mulhsu", "R", R_MASK, 0x0200_2033, "rd rs1 rs2 is_mul"),
    ("mulhu",  "R", R_MASK, 0x0200_3033, "rd rs1 rs2 is_mul"),
    ("div",    "R", R_MASK, 0x0200_4033, "rd rs1 rs2 is_div"),
    ("divu",   "R", R_MASK, 0x0200_5033, "rd rs1 rs2 is_div"),
    ("rem",    "R", R_MASK, 0x0200_6033, "rd rs1 rs2 is_div"),
    ("remu",   "R", R_MASK, 0x0200_7033, "rd rs1 rs2 is_div"),
    ("fence",  "-", I_MASK, 0x000F,      ""),
    ("fence.i", "-", I_MASK, 0x100F,     "is_fencei"),
    ("ecall",  "-", FULL,   0x0000_0073, "ecall"),
    ("ebreak", "-", FULL,   0x0010_0073, "ebreak"),
    ("mret",   "-", FULL,   0x3020_0073, "is_mret"),
    ("wfi",    "-", FULL,   0x1050_0073, ""),
    ("csrrw",  "-", I_MASK, 0x1073,      "rd rs1 is_csr"),
    ("csrrs",  "-", I_MASK, 0x2073,      "rd rs1 is_csr"),
    ("csrrc",  "-", I_MASK, 0x3073,      "rd rs1 is_csr"),
    ("csrrwi", "-", I_MASK, 0x5073,      "rd is_csr csr_imm"),
    ("csrrsi", "-", I_MASK, 0x6073,      "rd is_csr csr_imm"),
    ("csrrci", "-", I_MASK, 0x7073,      "rd is_csr csr_imm"),
]

KIND_FLAGS = ["is_branch", "is_jal", "is_jalr", "is_load", "is_store", "is_mul", "is_div",
              "is_csr", "csr_imm", "is_mret", "is_fencei", "a_pc", "a_zero", "b_imm"]


def bits(value, hi, lo):
    return (value >> lo) & ((1 << (hi - lo + 1)) - 1)


def sext(value, width):
    return (value - (1 << width) if value >> (width - 1) else value) & M32


def immediate(fmt, w):
    if fmt == "I":
        return sext(bits(w, 31, 20), 12)
    if fmt == "S":
        return sext((bits(w, 31, 25) << 5) | bits(w, 11, 7), 12)
    if fmt == "B":
        return sext((bits(w, 31, 31) << 12) | (bits(w, 7, 7) << 11) | (bits(w, 30, 25) << 5)
                    | (bits(w, 11, 8) << 1), 13)
    if fmt == "U":
        return w & 0xFFFF_F000
    if fmt == "J":
        return sext((bits(w, 31, 31) << 20) | (bits(w, 19, 12) << 12) | (bits(w, 20, 20) << 11)
                    | (bits(w, 30, 21) << 1), 21)
    return None


def lookup32(word):
    """The table entry of a 32-bit encoding, or None when it is not implemented."""
    hits = [entry for entry in INSTRUCTIONS if word & entry[2] == entry[3]]
    assert len(hits) <= 1, f"reference table overlaps at {word:#010x}: {hits}"
    return hits[0] if hits else None


# ---------------------------------------------------------------------------
# Reference: RV32C -> RV32I expansion (ISA manual, chapter "C" tables).
# ---------------------------------------------------------------------------
def enc_i(imm, rs1, f3, rd, opcode):
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode


def enc_s(imm, rs2, rs1, f3, opcode):
    return (bits(imm, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (bits(imm, 4, 0) << 7) | opcode


def enc_r(f7, rs2, rs1, f3, rd, opcode):
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode


def enc_b(imm, rs2, rs1, f3):
    return ((bits(imm, 12, 12) << 31) | (bits(imm, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15)
            | (f3 << 12) | (bits(imm, 4, 1) << 8) | (bits(imm, 11, 11) << 7) | 0x63)


def enc_j(imm, rd):
    return ((bits(imm, 20, 20) << 31) | (bits(imm, 10, 1) << 21) | (bits(imm, 11, 11) << 20)
            | (bits(imm, 19, 12) << 12) | (rd << 7) | 0x6F)


def expand16(c):
    """The 32-bit instruction a compressed halfword stands for, or None (reserved / not RV32IC)."""
    op, f3 = c & 3, bits(c, 15, 13)
    rd, rs2 = bits(c, 11, 7), bits(c, 6, 2)
    rdp, rs1p, rs2p = 8 + bits(c, 4, 2), 8 + bits(c, 9, 7), 8 + bits(c, 4, 2)
    imm6 = sext((bits(c, 12, 12) << 5) | bits(c, 6, 2), 6)
    uimm_w = (bits(c, 5, 5) << 6) | (bits(c, 12, 10) << 3) | (bits(c, 6, 6) << 2)
    cj = sext((bits(c, 12, 12) << 11) | (bits(c, 8, 8) << 10) | (bits(c, 10, 9) << 8)
              | (bits(c, 6, 6) << 7) | (bits(c, 7, 7) << 6) | (bits(c, 2, 2) << 5)
              | (bits(c, 11, 11) << 4) | (bits(c, 5, 3) << 1), 12)
    cb = sext((bits(c, 12, 12) << 8) | (bits(c, 6, 5) << 6) | (bits(c, 2, 2) << 5)
              | (bits(c, 11, 10) << 3) | (bits(c, 4, 3) << 1), 9)
    shamt_high = bits(c, 12, 12)        # shamt[5]: must be 0 on RV32
    if op == 0:
        if f3 == 0b000:
            nzuimm = (bits(c, 10, 7) << 6) | (bits(c, 12, 11) << 4) | (bits(c, 5, 5) << 3) | (bits(c, 6, 6) << 2)
            return enc_i(nzuimm, 2, 0, rdp, 0x13) if nzuimm else None
        if f3 == 0b010:
            return enc_i(uimm_w, rs1p, 2, rdp, 0x03)
        if f3 == 0b110:
            return enc_s(uimm_w, rs2p, rs1p, 2, 0x23)
        return None                     # c.fld/c.flw/c.fsd/c.fsw, reserved
    if op == 1:
        if f3 == 0b000:
            return enc_i(imm6, rd, 0, rd, 0x13)              # c.addi, c.nop (and hints)
        if f3 == 0b001:
            return enc_j(cj, 1)                              # c.jal
        if f3 == 0b010:
            return enc_i(imm6, 0, 0, rd, 0x13)               # c.li
        if f3 == 0b011:
            if rd == 2:
                nzimm = sext((bits(c, 12, 12) << 9) | (bits(c, 4, 3) << 7) | (bits(c, 5, 5) << 6)
                             | (bits(c, 2, 2) << 5) | (bits(c, 6, 6) << 4), 10)
                return enc_i(nzimm, 2, 0, 2, 0x13) if nzimm else None
            nzimm = sext((bits(c, 12, 12) << 17) | (bits(c, 6, 2) << 12), 18)
            return (nzimm & 0xFFFF_F000) | (rd << 7) | 0x37 if nzimm else None
        if f3 == 0b100:
            funct2 = bits(c, 11, 10)
            if funct2 == 0b00:
                return None if shamt_high else enc_r(0, rs2, rs1p, 5, rs1p, 0x13)
            if funct2 == 0b01:
                return None if shamt_high else enc_r(0x20, rs2, rs1p, 5, rs1p, 0x13)
            if funct2 == 0b10:
                return enc_i(imm6, rs1p, 7, rs1p, 0x13)
            if bits(c, 12, 12):
                return None                                  # c.subw/c.addw: RV64
            f3_op, f7 = [(0, 0x20), (4, 0), (6, 0), (7, 0)][bits(c, 6, 5)]
            return enc_r(f7, rs2p, rs1p, f3_op, rs1p, 0x33)
        if f3 == 0b101:
            return enc_j(cj, 0)                              # c.j
        return enc_b(cb, 0, rs1p, 0 if f3 == 0b110 else 1)   # c.beqz / c.bnez
    # quadrant 2
    if f3 == 0b000:
        return None if shamt_high else enc_r(0, rs2, rd, 1, rd, 0x13)
    if f3 == 0b010:
        uimm = (bits(c, 3, 2) << 6) | (bits(c, 12, 12) << 5) | (bits(c, 6, 4) << 2)
        return enc_i(uimm, 2, 2, rd, 0x03) if rd else None
    if f3 == 0b100:
        if not bits(c, 12, 12):
            if rs2 == 0:
                return enc_i(0, rd, 0, 0, 0x67) if rd else None   # c.jr
            return enc_r(0, rs2, 0, 0, rd, 0x33)                  # c.mv
        if rs2 == 0:
            return 0x0010_0073 if rd == 0 else enc_i(0, rd, 0, 1, 0x67)   # c.ebreak / c.jalr
        return enc_r(0, rs2, rd, 0, rd, 0x33)                     # c.add
    if f3 == 0b110:
        uimm = (bits(c, 8, 7) << 6) | (bits(c, 12, 9) << 2)
        return enc_s(uimm, rs2, 2, 2, 0x23)
    return None                                                   # F/D forms


# ---------------------------------------------------------------------------
# Expected decoder outputs.
# ---------------------------------------------------------------------------
def expected(insn, pc, fetch_err):
    """Expected outputs for the view ``insn`` (halfword 0 in bits 15:0) at ``pc``."""
    is32 = insn & 3 == 3
    raw = insn if is32 else insn & 0xFFFF
    word = raw if is32 else expand16(raw)
    entry = lookup32(word) if word is not None else None
    out = {"is32": is32, "raw": raw, "entry": entry, "word": word}
    fault = fetch_err & 1 or (is32 and fetch_err & 2)
    if fault:
        out.update(trap=True, cause=Cause.INSN_FAULT, tval=pc if fetch_err & 1 else (pc + 2) & M32)
    elif entry is None:
        out.update(trap=True, cause=Cause.ILLEGAL, tval=raw)
    elif entry[0] == "ecall":
        out.update(trap=True, cause=Cause.ECALL_M, tval=0)
    elif entry[0] == "ebreak":
        out.update(trap=True, cause=Cause.BREAKPOINT, tval=pc)
    else:
        out.update(trap=False)
    if entry is not None:
        imm = immediate(entry[1], word)
        out["imm"] = imm
        effects = entry[4].split()
        out["pred"] = not out["trap"] and (entry[0] == "jal" or
                                           ("is_branch" in effects and imm >> 31 == 1))
        if imm is not None:
            out["target"] = (pc + imm) & M32
    return out


def _check(ctx, dut, insn, pc, fetch_err, tag):
    ctx.set(dut.d_insn, insn)
    ctx.set(dut.d_pc, pc)
    ctx.set(dut.d_fetch_err, fetch_err)
    exp = expected(insn, pc, fetch_err)
    ctrl = ctx.get(dut.d_ctrl)          # one read of the whole control word
    where = f"{tag}: insn {insn:#010x} pc {pc:#x} err {fetch_err} ({exp['entry'][0] if exp['entry'] else 'illegal'})"
    assert ctx.get(dut.d_is32) == exp["is32"], where
    assert ctx.get(dut.d_raw) == exp["raw"], where
    assert ctrl.trap == exp["trap"], where
    if exp["trap"]:
        assert ctrl.cause == exp["cause"], where
        assert ctx.get(dut.d_tval) == exp["tval"], f"{where}: mtval {ctx.get(dut.d_tval):#x}"
    assert ctx.get(dut.d_pred) == exp.get("pred", False), where
    if exp.get("pred", False):
        # The prediction's own adder (from raw instruction bits, in parallel
        # with decode) must land where the decoded branch/jump goes.
        assert ctx.get(dut.d_pred_target) == exp["target"], f"{where}: predicted target"
    entry = exp["entry"]
    if entry is None:
        return
    word, effects = exp["word"], entry[4].split()
    assert ctrl.wen == ("rd" in effects), where
    assert ctrl.use_rs1 == ("rs1" in effects), where
    assert ctrl.use_rs2 == ("rs2" in effects), where
    for flag in KIND_FLAGS:
        assert getattr(ctrl, flag) == (flag in effects), f"{where}: {flag}"
    if "rd" in effects:
        assert ctrl.rd == bits(word, 11, 7), where
    if "rs1" in effects or "csr_imm" in effects:    # csrr*i: the field is the immediate
        assert ctrl.rs1 == bits(word, 19, 15), where
    if "rs2" in effects:
        assert ctrl.rs2 == bits(word, 24, 20), where
    alu = [e.split("=")[1] for e in effects if e.startswith("alu=")]
    if alu:
        assert ctrl.alu_op == AluOp[alu[0]], where
    if {"is_branch", "is_load", "is_store", "is_mul", "is_div", "is_csr"} & set(effects):
        assert ctrl.funct3 == bits(word, 14, 12), where
    if exp["imm"] is not None:
        assert ctx.get(dut.d_imm) == exp["imm"], f"{where}: imm {ctx.get(dut.d_imm):#x}"
        assert ctx.get(dut.d_target) == exp["target"], where


def _run(bench):
    simulate(Decoder(), bench, clocked=False)


def test_every_32bit_instruction_and_its_near_misses():
    rng = random.Random(SEED)
    words = []
    for _, _, mask, match, _ in INSTRUCTIONS:
        for _ in range(12):
            words.append((rng.getrandbits(32) & ~mask) | match)
        for bit in range(32):                    # flip one fixed bit: usually illegal
            if mask >> bit & 1 and bit > 1:
                words.append(((rng.getrandbits(32) & ~mask) | match) ^ (1 << bit))
    words += [rng.getrandbits(32) | 3 for _ in range(1500)]
    words += [0xFFFF_FFFF, 0x0000_0013, 0x1020_0073, 0x0020_0073, 0x7B20_0073]  # ones, nop, sret, uret, dret

    async def bench(ctx, dut):
        for word in words:
            _check(ctx, dut, word, rng.getrandbits(31) << 1, 0, f"seed {SEED} 32-bit")

    _run(bench)


def test_every_compressed_halfword():
    """All 49,152 compressed encodings: expansion semantics, reserved ones illegal."""
    rng = random.Random(SEED + 1)

    async def bench(ctx, dut):
        for c in range(1 << 16):
            if c & 3 == 3:
                continue
            junk = rng.getrandbits(16) << 16         # the next halfword must not matter
            _check(ctx, dut, junk | c, rng.getrandbits(31) << 1, 0, f"seed {SEED + 1} compressed")

    _run(bench)


def test_fetch_faults_and_trap_priority():
    """A fault on halfword 0 wins over everything; halfword 1 only matters for a 32-bit head."""
    rng = random.Random(SEED + 2)
    heads = [0x0000_0073, 0x0010_0073, 0xFFFF_FFFF, 0x0000_0000, 0x9002, 0x0000_6F6F,
             0x1234_0001, 0x0040_006F]        # ecall, ebreak, illegal both ways, c.ebreak, jal, c.nop
    heads += [rng.getrandbits(32) for _ in range(200)]

    async def bench(ctx, dut):
        for insn in heads:
            for fetch_err in range(4):
                _check(ctx, dut, insn, rng.getrandbits(31) << 1, fetch_err, f"seed {SEED + 2} fault")

    _run(bench)


def test_static_prediction():
    """jal, c.j, c.jal and backward branches predicted taken; forward branches and jalr not."""
    cases = [
        (enc_j(-8, 1), True), (enc_j(2048, 0), True),
        (enc_b(-4, 2, 1, 0), True), (enc_b(-4096, 2, 1, 7), True),
        (enc_b(4, 2, 1, 0), False), (enc_b(4094, 2, 1, 1), False),
        (enc_i(-4, 1, 0, 0, 0x67), False),
        (0xBFF5, True),       # c.j -4
        (0x3FF5, True),       # c.jal -4
        (0xDCFD, True),       # c.beqz x9, -2
        (0xC481, False),      # c.beqz x9, +0 (forward)
    ]
    rng = random.Random(SEED + 3)

    async def bench(ctx, dut):
        for insn, taken in cases:
            _check(ctx, dut, insn, 0x8000_1000, 0, "prediction")
            assert ctx.get(dut.d_pred) == taken, f"{insn:#x}"
        _check(ctx, dut, enc_b(-4, 2, 1, 0), rng.getrandbits(31) << 1, 1, "faulted branch")
        assert not ctx.get(dut.d_pred), "a faulted instruction is not predicted"

    _run(bench)
