"""The X-stage ALU unit in the Amaranth simulator against Python models of the RV32IM semantics.

Integer operations, branch conditions, the redirect decision and targets,
the four multiplies and (through the unit) the divider: corner values
(shifts by 0/31 and amounts with high bits set, signed overflow of
div/rem, division by zero, the most negative number) and seeded random cases.
"""

import random

from tessera.hw.core.alu import ALU
from tessera.hw.core.isa import AluOp, BranchCond, MulDivOp
from tb.core.unit_sim import simulate

M32 = 0xFFFF_FFFF
SEED = 2024
CORNERS = [0, 1, 2, 31, 32, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0001, M32, M32 - 1, 0x1234_5678,
           0xFFFF_0000, 0x0000_FFFF, 0xAAAA_AAAA]


def signed(v):
    return v - (1 << 32) if v >> 31 else v


def alu_reference(op, a, b):
    sh = b & 31
    return {
        AluOp.ADD: a + b, AluOp.SUB: a - b, AluOp.SLL: a << sh,
        AluOp.SLT: int(signed(a) < signed(b)), AluOp.SLTU: int(a < b),
        AluOp.XOR: a ^ b, AluOp.SRL: a >> sh, AluOp.SRA: signed(a) >> sh,
        AluOp.OR: a | b, AluOp.AND: a & b,
    }[op] & M32


def branch_reference(cond, a, b):
    return {
        BranchCond.BEQ: a == b, BranchCond.BNE: a != b,
        BranchCond.BLT: signed(a) < signed(b), BranchCond.BGE: signed(a) >= signed(b),
        BranchCond.BLTU: a < b, BranchCond.BGEU: a >= b,
    }[cond]


def muldiv_reference(op, a, b):
    sa, sb = signed(a), signed(b)
    if op == MulDivOp.MUL:
        return (a * b) & M32
    if op == MulDivOp.MULH:
        return ((sa * sb) >> 32) & M32
    if op == MulDivOp.MULHSU:
        return ((sa * b) >> 32) & M32
    if op == MulDivOp.MULHU:
        return ((a * b) >> 32) & M32
    if op in (MulDivOp.DIVU, MulDivOp.REMU):
        if b == 0:
            return M32 if op == MulDivOp.DIVU else a
        return a // b if op == MulDivOp.DIVU else a % b
    if b == 0:
        return M32 if op == MulDivOp.DIV else a
    if sa == -(1 << 31) and sb == -1:          # the one signed overflow
        return a if op == MulDivOp.DIV else 0
    quotient = abs(sa) // abs(sb) * (-1 if (sa < 0) != (sb < 0) else 1)   # rounds toward zero
    return (quotient if op == MulDivOp.DIV else sa - quotient * sb) & M32


def _run(bench):
    simulate(ALU(), bench)


def _sweep(ctx, dut, op_port, ops, pairs, out_port, reference, seed):
    """Every operation on every operand pair: ``out_port`` must equal the reference."""
    for op in ops:
        ctx.set(op_port, op)
        for a, b in pairs:
            ctx.set(dut.x_a, a)
            ctx.set(dut.x_b, b)
            expected = reference(op, a, b)
            got = ctx.get(out_port)
            assert got == expected, \
                f"seed {seed}: {op.name} {a:#x}, {b:#x}: got {got:#x}, expected {expected:#x}"


def _operand_pairs(rng, count):
    pairs = [(a, b) for a in CORNERS for b in CORNERS]
    pairs += [(rng.getrandbits(32), rng.getrandbits(32)) for _ in range(count)]
    pairs += [(rng.getrandbits(32), rng.choice([0, 1, 31, 32, 33, 63, 0xFFFF_FFE1]))
              for _ in range(count // 4)]                # shift amounts: only bits 4:0 count
    return pairs


def test_integer_operations_match_reference():
    rng = random.Random(SEED)
    pairs = _operand_pairs(rng, 200)

    async def bench(ctx, dut):
        _sweep(ctx, dut, dut.x_op, AluOp, pairs, dut.x_alu, alu_reference, SEED)
        _sweep(ctx, dut, dut.x_op, AluOp, pairs[:50], dut.x_result, alu_reference, SEED)

    _run(bench)


def test_shift_corners():
    """Shifts by 0 and 31, and amounts whose bits above 4 are set (ignored)."""
    cases = [
        (AluOp.SLL, 1, 31, 0x8000_0000), (AluOp.SLL, M32, 0, M32), (AluOp.SLL, 3, 32, 3),
        (AluOp.SRL, 0x8000_0000, 31, 1), (AluOp.SRL, M32, 0, M32),
        (AluOp.SRA, 0x8000_0000, 31, M32), (AluOp.SRA, 0x7FFF_FFFF, 31, 0),
        (AluOp.SRA, 0x8000_0000, 0xFFFF_FFE1, 0xC000_0000),      # amount 33 -> 1
    ]

    async def bench(ctx, dut):
        for op, a, b, expected in cases:
            ctx.set(dut.x_op, op)
            ctx.set(dut.x_a, a)
            ctx.set(dut.x_b, b)
            assert ctx.get(dut.x_alu) == expected, f"{op.name} {a:#x} by {b:#x}"

    _run(bench)


def test_branches_redirect_to_the_right_target():
    """Every condition on corner pairs; redirect only on a misprediction, gated by valid/stall."""
    rng = random.Random(SEED + 1)
    pairs = [(a, b) for a in CORNERS[:8] for b in CORNERS[:8]] + [(5, 5), (M32, M32)]

    async def bench(ctx, dut):
        ctx.set(dut.x_is_branch, 1)
        for cond in BranchCond:
            ctx.set(dut.x_funct3, cond.value)
            for a, b in pairs:
                pc = rng.getrandbits(31) << 1
                imm = rng.choice([-4096, -2, 2, 4094]) & M32
                len4 = rng.getrandbits(1)
                pred = rng.getrandbits(1)
                valid, stall = rng.choice([(1, 0), (1, 0), (0, 0), (1, 1)])
                for port, value in ((dut.x_rs1v, a), (dut.x_rs2v, b), (dut.x_pc, pc),
                                    (dut.x_imm, imm), (dut.x_len4, len4), (dut.x_pred, pred),
                                    (dut.x_valid, valid), (dut.x_stall, stall)):
                    ctx.set(port, value)
                taken = branch_reference(cond, a, b)
                target = (pc + imm) & M32 if taken else (pc + (4 if len4 else 2)) & M32
                case = f"{cond.name} {a:#x},{b:#x} pred={pred} valid={valid} stall={stall}"
                assert ctx.get(dut.x_taken) == taken, case
                assert ctx.get(dut.x_redirect) == (valid and not stall and taken != pred), case
                assert ctx.get(dut.x_target) == target, case

    _run(bench)


def test_jumps_link_and_jalr_target():
    rng = random.Random(SEED + 2)

    async def bench(ctx, dut):
        ctx.set(dut.x_valid, 1)
        for _ in range(100):
            pc, base, offset = rng.getrandbits(31) << 1, rng.getrandbits(32), rng.getrandbits(12)
            len4 = rng.getrandbits(1)
            link = (pc + (4 if len4 else 2)) & M32
            ctx.set(dut.x_pc, pc)
            ctx.set(dut.x_len4, len4)
            ctx.set(dut.x_a, base)
            ctx.set(dut.x_b, offset)
            ctx.set(dut.x_op, AluOp.ADD)
            ctx.set(dut.x_is_jalr, 1)
            assert ctx.get(dut.x_result) == link
            assert ctx.get(dut.x_redirect) == 1, "every jalr redirects"
            assert ctx.get(dut.x_target) == (base + offset) & M32 & ~1, "jalr clears bit 0"
            ctx.set(dut.x_is_jalr, 0)
            ctx.set(dut.x_is_jal, 1)
            assert ctx.get(dut.x_result) == link
            assert ctx.get(dut.x_redirect) == 0, "jal is redirected in decode"
            ctx.set(dut.x_is_jal, 0)

    _run(bench)


def test_multiplies_match_reference():
    rng = random.Random(SEED + 3)
    pairs = _operand_pairs(rng, 150)

    async def bench(ctx, dut):
        ctx.set(dut.x_is_mul, 1)
        multiplies = (MulDivOp.MUL, MulDivOp.MULH, MulDivOp.MULHSU, MulDivOp.MULHU)
        _sweep(ctx, dut, dut.x_funct3, multiplies, pairs, dut.x_result, muldiv_reference, SEED + 3)

    _run(bench)


def test_divisions_through_the_unit():
    """Divider behind the unit's handshake: start on x_valid & x_is_div, ack on x_advance."""
    rng = random.Random(SEED + 4)
    corners = [0, 1, 7, M32, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0001]
    cases = [(op, a, b) for op in (MulDivOp.DIV, MulDivOp.DIVU, MulDivOp.REM, MulDivOp.REMU)
             for a in corners for b in corners]
    cases += [(MulDivOp.DIV, 0x8000_0000, M32), (MulDivOp.REM, 0x8000_0000, M32)]  # overflow
    cases += [(rng.choice([MulDivOp.DIV, MulDivOp.DIVU, MulDivOp.REM, MulDivOp.REMU]),
               rng.getrandbits(32), rng.getrandbits(rng.choice([32, 8]))) for _ in range(80)]

    async def bench(ctx, dut):
        ctx.set(dut.x_is_div, 1)
        for op, a, b in cases:
            ctx.set(dut.x_funct3, op.value)
            ctx.set(dut.x_a, a)
            ctx.set(dut.x_b, b)
            ctx.set(dut.x_valid, 1)
            for cycle in range(40):
                if ctx.get(dut.x_div_done):
                    break
                await ctx.tick()
            else:
                raise AssertionError(f"{op.name} {a:#x} / {b:#x} never finished")
            expected = muldiv_reference(op, a, b)
            assert ctx.get(dut.x_result) == expected, \
                f"seed {SEED + 4}: {op.name} {a:#x}, {b:#x}: got {ctx.get(dut.x_result):#x}, expected {expected:#x}"
            ctx.set(dut.x_advance, 1)
            await ctx.tick()
            ctx.set(dut.x_advance, 0)
            assert not ctx.get(dut.x_div_done), "ack clears done: the next division starts afresh"

    _run(bench)
