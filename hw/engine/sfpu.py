"""SFPU: element-wise programs on one Dst tile.

Each element is read from Dst, run through a short micro-program (one
primitive per cycle on a temporary T, with a second operand from the input X,
the command's scalar S or a constant) and written back.  Primitives are the
units of :mod:`hw.engine.fp` (multiply, add, exp, reciprocal, square root,
relu); the golden is sim.golden.engine.sfpu, which runs the same programs.
Cost: 3 + program length cycles per element (one element at a time; the
configuration's ``sfpu_lanes`` is not used by this model).
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hw.engine import fp
from hw.engine.geometry import EngineGeometry
from sim.golden.engine import GELU_C, GELU_K

__all__ = ["Sfpu", "PROGRAMS"]

# Units and second-operand selectors of a micro-step.
U_MUL, U_ADD, U_EXP, U_RECIP, U_SQRT, U_RELU = range(6)
B_X, B_S, B_GELU_C, B_GELU_K, B_ONE = range(5)

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
    def __init__(self, geo: EngineGeometry):
        self.geo = geo
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
        operand = Signal(32)
        m.d.comb += operand.eq(Array([x, scalar, Const(int(GELU_C), 32), Const(int(GELU_K), 32),
                                      Const(0x3F800000, 32), x, x, x])[bsel])
        results = Array([
            fp.fmul(m, t, operand, name="sf_mul"),
            fp.fused_sum(m, [fp.fp32_term(m, t, name="sf_ta"), fp.fp32_term(m, operand, name="sf_tb")],
                         name="sf_add"),
            fp.fexp(m, t, name="sf_exp"),
            fp.frecip(m, t, name="sf_rcp"),
            fp.fsqrt(m, t, name="sf_sqrt"),
            fp.frelu(m, t, name="sf_relu"),
            t, t,
        ])

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
                m.next = "STEP"
            with m.State("STEP"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += [t.eq(results[unit]), step.eq(step + 1)]
                with m.If(last):
                    m.next = "WRITE"
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
