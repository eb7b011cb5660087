"""SFPU: element-wise programs on one Dst tile.

Each element is read from Dst, run through a short micro-program (one
primitive per micro-step on a temporary T, with a second operand B from the
input X, the command's scalar S or a constant) and written back.  Primitives
are the units of :mod:`hw.engine.fp` (multiply, add, exp, relu), built as
register pipelines (``fp.Stages``), and the iterative reciprocal and square
root of :mod:`hw.engine.sfpu_units` (``DIGITS_PER_CYCLE`` bits per cycle), so
no path is deeper than about one fp32 multiply-round or one alignment /
normalisation step.  The golden is sim.golden.engine.sfpu, which runs the
same programs; the values are bit for bit those of the combinational units.

A micro-step is ISSUE (B is loaded; the iterative units start) + latency +
1 cycles (T takes the result), the unit latencies being mul 1, add 3,
exp 5, recip 14, sqrt 13, relu 0.  An element costs READ + LOAD + WRITE = 3
more.  Cycles per element (measured in tb/engine/test_sfpu_units.py):
relu 5, muls 6, adds 8, exp 10, sqrt 18, recip 19, gelu 51.  One element at a
time: the configuration's ``sfpu_lanes`` is not used by this model.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.geometry import EngineGeometry
from tessera.hw.engine.sfpu_units import iterative_recip, iterative_sqrt
from tessera.hw.numerics import GELU_C, GELU_K

__all__ = ["Sfpu", "PROGRAMS"]

# Units and second-operand selectors of a micro-step.
U_MUL, U_ADD, U_EXP, U_RECIP, U_SQRT, U_RELU = range(6)
B_X, B_S, B_GELU_C, B_GELU_K, B_ONE = range(5)
#: Quotient / root bits per cycle of the iterative reciprocal and square root.
DIGITS_PER_CYCLE = 2
#: Bound on any unit's latency (width of the wait counter).
MAX_LATENCY = 31

#: SfpuOp code -> [(unit, operand)] (matches sim.golden.engine.sfpu / gelu_program).
PROGRAMS = {
    0: [(U_RELU, B_X)],
    1: [(U_EXP, B_X)],
    2: [(U_RECIP, B_X)],
    3: [(U_SQRT, B_X)],
    4: [(U_MUL, B_X), (U_MUL, B_GELU_C), (U_MUL, B_X), (U_ADD, B_X), (U_MUL, B_GELU_K),
        (U_EXP, B_X), (U_ADD, B_ONE), (U_RECIP, B_X), (U_MUL, B_X)],
    5: [(U_ADD, B_S)],
    6: [(U_MUL, B_S)],
}


class Sfpu(wiring.Component):
    def __init__(self, geo: EngineGeometry, digits: int = DIGITS_PER_CYCLE):
        if not isinstance(digits, int) or not 1 <= digits <= 8:
            raise ValueError(f"digits per cycle must be an int in 1..8, got {digits!r}")
        self.geo = geo
        self.digits = digits
        g = geo
        super().__init__({
            "start": In(1),
            "op": In(3),
            "scalar": In(32),
            "tile_base": In(range(g.dst_tiles * g.tile_words + 1)),
            "busy": Out(1),
            # Dst access (muxed onto the math thread's ports while busy).
            "rd_addr": Out(range(g.dst_tiles * g.tile_words)),
            "rd_en": Out(1),
            "rd_data": In(g.R * g.C * 32),
            "wr_addr": Out(range(g.dst_tiles * g.tile_words)),
            "wr_row": Out(range(max(2, g.R))),
            "wr_lanes": Out(g.C),
            "wr_data": Out(g.C * 32),
        })

    def units(self, m, t, b, unit, issue):
        """(result, latency) per unit code: result valid `latency` cycles after an ISSUE cycle
        (b loaded in ISSUE, t stable throughout; the iterative units start when ``unit`` is issued)."""
        mul_st, add_st, exp_st = fp.Stages(), fp.Stages(), fp.Stages()
        mul = fp.fmul(m, t, b, name="sf_mul", stages=mul_st)
        add = fp.fused_sum(m, [fp.fp32_term(m, t, name="sf_ta"), fp.fp32_term(m, b, name="sf_tb")],
                           name="sf_add", stages=add_st)
        exp = fp.fexp(m, t, name="sf_exp", stages=exp_st)
        rcp = iterative_recip(m, t, issue & (unit == U_RECIP), digits=self.digits, name="sf_rcp")
        sqrt = iterative_sqrt(m, t, issue & (unit == U_SQRT), digits=self.digits, name="sf_sqrt")
        relu = fp.frelu(m, t, name="sf_relu")
        units = [(mul, mul_st.count), (add, add_st.count), (exp, exp_st.count), (rcp.out, rcp.cycles),
                 (sqrt.out, sqrt.cycles), (relu, 0)]
        assert max(lat for _, lat in units) <= MAX_LATENCY
        return units

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        R, C = g.R, g.C
        lr, lc = R.bit_length() - 1, C.bit_length() - 1
        elem = Signal(range(g.elems + 1))
        step = Signal(4)
        op = Signal(3)
        scalar = Signal(32)
        base = Signal.like(self.tile_base)
        x = Signal(32)
        t = Signal(32)
        lrows = g.rows.bit_length() - 1
        lcols = g.cols.bit_length() - 1
        row = elem[lcols:lcols + lrows]
        col = elem[:lcols]
        addr = base + (row >> lr) * g.ncc + (col >> lc)

        unit = Signal(3)
        bsel = Signal(3)
        last = Signal()
        with m.Switch(Cat(step, op)):
            for code, prog in PROGRAMS.items():
                for i, (u, b) in enumerate(prog):
                    with m.Case(i | (code << 4)):
                        m.d.comb += [unit.eq(u), bsel.eq(b), last.eq(i == len(prog) - 1)]
            with m.Default():
                m.d.comb += last.eq(1)
        # The second operand is registered in ISSUE, so every unit starts from registers (t, b).
        b = Signal(32)
        operand = Array([x, scalar, Const(int(GELU_C), 32), Const(int(GELU_K), 32),
                         Const(0x3F800000, 32), x, x, x])[bsel]
        issue = Signal()
        units = self.units(m, t, b, unit, issue)
        results = Array([u[0] for u in units] + [t, t])
        latency = Array([Const(u[1], range(MAX_LATENCY + 1)) for u in units]
                        + [Const(0, range(MAX_LATENCY + 1))] * 2)
        wait = Signal(range(MAX_LATENCY + 1))

        rdw = Array([self.rd_data[32 * C * i:32 * C * (i + 1)] for i in range(R)])[row[:lr] if R > 1 else 0]
        loaded = rdw.word_select(col[:lc] if C > 1 else 0, 32)

        with m.FSM(name="sfpu"):
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [elem.eq(0), op.eq(self.op), scalar.eq(self.scalar), base.eq(self.tile_base)]
                    m.next = "READ"
            with m.State("READ"):
                m.d.comb += self.busy.eq(1)
                m.d.comb += [self.rd_addr.eq(addr), self.rd_en.eq(1)]
                m.next = "LOAD"
            with m.State("LOAD"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += [x.eq(loaded), t.eq(loaded), step.eq(0)]
                m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += [self.busy.eq(1), issue.eq(1)]
                m.d.sync += [b.eq(operand), wait.eq(latency[unit])]
                m.next = "WAIT"
            with m.State("WAIT"):
                # The unit's result is valid `latency` cycles after ISSUE; t takes it then.
                m.d.comb += self.busy.eq(1)
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.d.sync += [t.eq(results[unit]), step.eq(step + 1)]
                    with m.If(last):
                        m.next = "WRITE"
                    with m.Else():
                        m.next = "ISSUE"
            with m.State("WRITE"):
                m.d.comb += self.busy.eq(1)
                m.d.comb += [self.wr_addr.eq(addr), self.wr_row.eq(row[:lr] if R > 1 else 0),
                             self.wr_lanes.eq(Const(1, C) << (col[:lc] if C > 1 else 0)),
                             self.wr_data.eq(Cat(*([t] * C)))]
                m.d.sync += elem.eq(elem + 1)
                with m.If(elem == g.elems - 1):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "READ"
        return m
