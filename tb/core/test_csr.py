"""The CSR/trap unit in the Amaranth simulator against a Python model of machine-mode CSRs and traps.

A seeded random stream of W-stage events (CSR instructions on implemented,
unimplemented and read-only CSRs; exceptions raised earlier; data bus errors;
mret; fence.i; plain retires; cycles where nothing leaves W) is checked cycle
by cycle: the CSR value read, whether and why the instruction traps, the
redirect and its target, then the state written (every CSR read back).
Directed cases cover the legality rules of read-only CSRs.
"""

import random

from tessera.hw.core.csr import CSRUnit
from tessera.hw.core.isa import Cause, CsrOp
from tb.core.unit_sim import simulate

M32 = 0xFFFF_FFFF
SEED = 5
MISA = 0x4000_1104
HARTID = 0x0000_0003
UNIMPLEMENTED = [0x000, 0x306, 0x3A0, 0x7C0, 0xB03, 0xC01, 0xF15, 0x180]


class CsrModel:
    """Machine-mode CSRs as the privileged spec and docs/core.md define them."""

    WRITABLE = {0x304: 0x888, 0x305: 0xFFFF_FFFC, 0x340: M32, 0x341: 0xFFFF_FFFE,
                0x342: M32, 0x343: M32}

    def __init__(self):
        self.mie_bit = self.mpie_bit = 0
        self.regs = {addr: 0 for addr in self.WRITABLE}
        self.mcycle = self.minstret = 0

    def read(self, addr):
        """Value of a CSR, or None when it does not exist."""
        if addr == 0x300:
            return (self.mie_bit << 3) | (self.mpie_bit << 7) | (0b11 << 11)
        if addr == 0x301:
            return MISA
        if addr in (0x344, 0xF11, 0xF12, 0xF13):
            return 0
        if addr == 0xF14:
            return HARTID
        if addr in self.regs:
            return self.regs[addr]
        counters = {0xB00: self.mcycle, 0xC00: self.mcycle, 0xB02: self.minstret, 0xC02: self.minstret}
        if addr in counters:
            return counters[addr] & M32
        if addr - 0x80 in counters:
            return counters[addr - 0x80] >> 32
        return None

    def step(self, ev):
        """Outputs for event ``ev`` this cycle, then the state after the clock edge."""
        addr, rs1_field, op = ev["insn"] >> 20, (ev["insn"] >> 15) & 31, ev["op"] & 3
        old = self.read(addr)
        writes = op == 1 or rs1_field != 0
        illegal = old is None or (writes and addr >> 10 == 0b11)
        if ev["raised"]:
            trap, cause, tval = True, ev["raised_cause"], ev["raised_tval"]
        elif ev["bus_error"]:
            trap, cause, tval = True, Cause.STORE_FAULT if ev["store"] else Cause.LOAD_FAULT, ev["addr"]
        elif ev["csr"] and illegal:
            trap, cause, tval = True, Cause.ILLEGAL, ev["insn"]
        else:
            trap, cause, tval = False, None, None
        fire = ev["fire"]
        out = {
            "rdata": old, "trap": trap, "cause": cause, "retire": fire and not trap,
            "redirect": fire and (trap or ev["mret"] or ev["fencei"]),
            "target": self.regs[0x305] if trap else self.regs[0x341] if ev["mret"]
            else (ev["pc"] + (4 if ev["len4"] else 2)) & M32,
        }
        # State after the edge: counters count, a CSR write replaces what it names.
        self.mcycle = (self.mcycle + 1) & (2**64 - 1)
        if out["retire"]:
            self.minstret = (self.minstret + 1) & (2**64 - 1)
        if out["retire"] and ev["csr"] and writes:
            src = ev["src"]
            new = src if op == 1 else (old | src) if op == 2 else (old & ~src & M32)
            if addr == 0x300:
                self.mie_bit, self.mpie_bit = (new >> 3) & 1, (new >> 7) & 1
            elif addr in self.regs:
                self.regs[addr] = new & self.WRITABLE[addr]
            elif addr in (0xB00, 0xB80):
                self.mcycle = self._replace_half(self.mcycle, addr == 0xB80, new)
            elif addr in (0xB02, 0xB82):
                self.minstret = self._replace_half(self.minstret, addr == 0xB82, new)
        if fire and trap:
            self.regs[0x341], self.regs[0x342], self.regs[0x343] = ev["pc"], cause.value, tval
            self.mpie_bit, self.mie_bit = self.mie_bit, 0
        elif fire and ev["mret"]:
            self.mie_bit, self.mpie_bit = self.mpie_bit, 1
        return out

    @staticmethod
    def _replace_half(counter, high, value):
        return (counter & M32) | (value << 32) if high else (counter & ~M32) | value


IMPLEMENTED = [0x300, 0x301, 0x304, 0x305, 0x340, 0x341, 0x342, 0x343, 0x344, 0xB00, 0xB02,
               0xB80, 0xB82, 0xC00, 0xC02, 0xC80, 0xC82, 0xF11, 0xF12, 0xF13, 0xF14]
CORNER_VALUES = [0, M32, 0x8000_0000, 0x888, 0x88, 0x8, 0x80, 0xFFFF_FFFF - 0x888, 1, 3]


def random_event(rng):
    csr_addr = rng.choice(IMPLEMENTED * 3 + UNIMPLEMENTED)
    op = rng.choice(list(CsrOp)).value
    rs1_field = rng.choice([0, 0, rng.randrange(1, 32)])
    kind = rng.choices(["csr", "raised", "bus", "mret", "fencei", "plain"], [8, 2, 1, 1, 1, 2])[0]
    return {
        "fire": rng.random() < 0.85,
        "pc": rng.getrandbits(31) << 1,
        "len4": rng.getrandbits(1),
        "insn": (csr_addr << 20) | (rs1_field << 15) | (op << 12) | (rng.getrandbits(5) << 7) | 0x73,
        "csr": kind == "csr",
        "op": op,
        "src": rng.choice(CORNER_VALUES + [rng.getrandbits(32)] * 4),
        "mret": kind == "mret",
        "fencei": kind == "fencei",
        "raised": kind == "raised",
        "raised_cause": rng.choice(list(Cause)),
        "raised_tval": rng.getrandbits(32),
        "bus_error": kind == "bus" or (kind == "raised" and rng.random() < 0.5),
        "store": rng.getrandbits(1),
        "addr": rng.getrandbits(32),
    }


def _drive(ctx, dut, ev):
    for port, key in ((dut.w_fire, "fire"), (dut.w_pc, "pc"), (dut.w_len4, "len4"),
                      (dut.w_insn, "insn"), (dut.w_csr, "csr"), (dut.w_csr_op, "op"),
                      (dut.w_csr_src, "src"), (dut.w_mret, "mret"), (dut.w_fencei, "fencei"),
                      (dut.w_raised, "raised"), (dut.w_raised_cause, "raised_cause"),
                      (dut.w_raised_tval, "raised_tval"), (dut.w_bus_error, "bus_error"),
                      (dut.w_store, "store"), (dut.w_addr, "addr")):
        ctx.set(port, ev[key])


def _run(bench):
    async def with_hartid(ctx, dut):
        ctx.set(dut.hartid, HARTID)
        await bench(ctx, dut)

    simulate(CSRUnit(), with_hartid)


def _check(ctx, dut, model, ev, where):
    exp = model.step(ev)
    if exp["rdata"] is not None:
        assert ctx.get(dut.w_csr_rdata) == exp["rdata"], \
            f"{where}: read {ev['insn'] >> 20:#x}: got {ctx.get(dut.w_csr_rdata):#x}, expected {exp['rdata']:#x}"
    assert ctx.get(dut.w_trap) == exp["trap"], where
    if exp["trap"]:
        assert ctx.get(dut.w_cause) == exp["cause"], where
    assert ctx.get(dut.w_retire) == exp["retire"], where
    assert ctx.get(dut.w_redirect) == exp["redirect"], where
    if exp["redirect"]:
        assert ctx.get(dut.w_target) == exp["target"], where


def _read_all(ctx, dut, model, where):
    """Read every implemented CSR (csrrs rd, csr, x0) without letting the instruction leave W."""
    for addr in IMPLEMENTED:
        ev = {"fire": 0, "pc": 0, "len4": 1, "insn": (addr << 20) | (CsrOp.CSRRS.value << 12) | 0x73,
              "csr": 1, "op": CsrOp.CSRRS.value, "src": 0, "mret": 0, "fencei": 0, "raised": 0,
              "raised_cause": Cause.INSN_MISALIGNED, "raised_tval": 0, "bus_error": 0, "store": 0,
              "addr": 0}
        _drive(ctx, dut, ev)
        expected = model.read(addr)
        assert ctx.get(dut.w_csr_rdata) == expected, \
            f"{where}: CSR {addr:#x} reads {ctx.get(dut.w_csr_rdata):#x}, expected {expected:#x}"
        assert not ctx.get(dut.w_trap), f"{where}: reading CSR {addr:#x} traps"


def test_random_stream_against_model():
    rng = random.Random(SEED)
    model = CsrModel()

    async def bench(ctx, dut):
        for cycle in range(3000):
            ev = random_event(rng)
            _drive(ctx, dut, ev)
            _check(ctx, dut, model, ev, f"seed {SEED} cycle {cycle}")
            await ctx.tick()
            if cycle % 250 == 0:
                _read_all(ctx, dut, model, f"seed {SEED} cycle {cycle}")

    _run(bench)


def _csr_event(addr, op, rs1_field, src, fire=1):
    return {"fire": fire, "pc": 0x8000_0100, "len4": 1,
            "insn": (addr << 20) | (rs1_field << 15) | (op.value << 12) | (5 << 7) | 0x73,
            "csr": 1, "op": op.value, "src": src, "mret": 0, "fencei": 0, "raised": 0,
            "raised_cause": Cause.INSN_MISALIGNED, "raised_tval": 0, "bus_error": 0,
            "store": 0, "addr": 0}


def test_read_only_and_unknown_csrs():
    """Bits 11:10 = 11 are read-only: csrrs/csrrc with x0 (or zimm 0) read them, any write traps."""
    read_only = [addr for addr in IMPLEMENTED if addr >> 10 == 0b11]
    model = CsrModel()

    async def bench(ctx, dut):
        for addr in read_only:
            for op, rs1_field, traps in ((CsrOp.CSRRS, 0, False), (CsrOp.CSRRC, 0, False),
                                         (CsrOp.CSRRSI, 0, False), (CsrOp.CSRRCI, 0, False),
                                         (CsrOp.CSRRW, 0, True), (CsrOp.CSRRWI, 0, True),
                                         (CsrOp.CSRRS, 3, True), (CsrOp.CSRRCI, 1, True)):
                ev = _csr_event(addr, op, rs1_field, 0, fire=0)
                _drive(ctx, dut, ev)
                where = f"{op.name} {addr:#x} rs1={rs1_field}"
                assert ctx.get(dut.w_trap) == traps, where
                if traps:
                    assert ctx.get(dut.w_cause) == Cause.ILLEGAL, where
        for addr in UNIMPLEMENTED:
            _drive(ctx, dut, _csr_event(addr, CsrOp.CSRRS, 0, 0, fire=0))
            assert ctx.get(dut.w_trap) and ctx.get(dut.w_cause) == Cause.ILLEGAL, f"{addr:#x}"
        # An illegal CSR access traps with mtval = the instruction, mepc = pc, to mtvec.
        _drive(ctx, dut, _csr_event(0x305, CsrOp.CSRRW, 1, 0x8000_0200))
        _check(ctx, dut, model, _csr_event(0x305, CsrOp.CSRRW, 1, 0x8000_0200), "set mtvec")
        await ctx.tick()
        bad = _csr_event(0xC00, CsrOp.CSRRW, 1, 7)
        _drive(ctx, dut, bad)
        assert ctx.get(dut.w_redirect) and ctx.get(dut.w_target) == 0x8000_0200
        _check(ctx, dut, model, bad, "write cycle")
        await ctx.tick()
        _read_all(ctx, dut, model, "after illegal write")
        assert model.read(0x343) == bad["insn"] and model.read(0x341) == bad["pc"]
        assert model.read(0x342) == Cause.ILLEGAL.value

    _run(bench)
