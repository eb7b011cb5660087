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
exp 5, recip 15, sqrt 14 (their iterations and a registered rounding), relu
0.  An element costs READ + LOAD + WRITE = 3 more.  Cycles per element
(measured in tb/engine/test_sfpu_units.py): relu 5, muls 6, adds 8, exp 10,
sqrt 19, recip 20, gelu 52.  One element at a
time: the configuration's ``sfpu_lanes`` is not used by this model.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.commands import SfpuOp
from tessera.hw.engine.geometry import EngineGeometry, log2, require_geometry
from tessera.hw.engine.sfpu_units import iterative_recip, iterative_sqrt
from tessera.hw.numerics import GELU_C, GELU_K

__all__ = ["Sfpu", "PROGRAMS", "SfpuUnit", "SfpuOperand"]


class SfpuUnit(enum.Enum, shape=3):
    """The unit a micro-step runs on T (and B)."""
    MUL = 0
    ADD = 1
    EXP = 2
    RECIP = 3
    SQRT = 4
    RELU = 5


class SfpuOperand(enum.Enum, shape=3):
    """Where a micro-step's second operand B comes from."""
    X = 0        #: the element as read from Dst
    SCALAR = 1   #: the command's fp32 scalar
    GELU_C = 2
    GELU_K = 3
    ONE = 4      #: 1.0

#: Quotient / root bits per cycle of the iterative reciprocal and square root.
DIGITS_PER_CYCLE = 2
#: Bound on any unit's latency (width of the wait counter).
MAX_LATENCY = 31

#: Micro-program of every SfpuOp: [(unit, second operand)] (matches sim.golden.engine.sfpu / gelu_program).
PROGRAMS = {
    SfpuOp.RELU: [(SfpuUnit.RELU, SfpuOperand.X)],
    SfpuOp.EXP: [(SfpuUnit.EXP, SfpuOperand.X)],
    SfpuOp.RECIP: [(SfpuUnit.RECIP, SfpuOperand.X)],
    SfpuOp.SQRT: [(SfpuUnit.SQRT, SfpuOperand.X)],
    SfpuOp.GELU: [(SfpuUnit.MUL, SfpuOperand.X), (SfpuUnit.MUL, SfpuOperand.GELU_C), (SfpuUnit.MUL, SfpuOperand.X),
                  (SfpuUnit.ADD, SfpuOperand.X), (SfpuUnit.MUL, SfpuOperand.GELU_K), (SfpuUnit.EXP, SfpuOperand.X),
                  (SfpuUnit.ADD, SfpuOperand.ONE), (SfpuUnit.RECIP, SfpuOperand.X), (SfpuUnit.MUL, SfpuOperand.X)],
    SfpuOp.ADDS: [(SfpuUnit.ADD, SfpuOperand.SCALAR)],
    SfpuOp.MULS: [(SfpuUnit.MUL, SfpuOperand.SCALAR)],
}
#: Bits of the micro-step counter (GELU's nine steps).
STEP_BITS = 4
assert max(len(program) for program in PROGRAMS.values()) <= 1 << STEP_BITS


class Sfpu(wiring.Component):
    """The SFPU of ``geo`` (R = mm_rows, C = mm_cols), ``digits`` bits per cycle in recip / sqrt.

    Ports:

    * ``start``: one-cycle strobe that samples ``op`` (:class:`~hw.engine.commands.SfpuOp`),
      ``scalar`` (fp32 pattern) and ``tile_base`` (first Dst word of the tile) and runs the
      program on every element of the tile; ``busy`` is high until the last write.
    * ``rd_addr`` / ``rd_en``: a Dst read (one word of every Dst memory); ``rd_data`` is the
      R x C values read, row-major, in the next cycle.
    * ``wr_addr`` / ``wr_row`` / ``wr_lanes`` / ``wr_data``: a Dst write of the value repeated
      C times (``wr_data``) into the lanes ``wr_lanes`` (one-hot) of Dst memory ``wr_row``.
    """

    def __init__(self, geo: EngineGeometry, digits: int = DIGITS_PER_CYCLE):
        if not isinstance(digits, int) or not 1 <= digits <= 8:
            raise ValueError(f"digits per cycle must be an int in 1..8, got {digits!r}")
        self.geo = require_geometry("Sfpu", geo)
        self.digits = digits
        super().__init__({
            "start": In(1),
            "op": In(SfpuOp),
            "scalar": In(32),
            "tile_base": In(range(geo.dst_words + 1)),
            "busy": Out(1),
            # Dst access (muxed onto the math thread's ports while busy).
            "rd_addr": Out(range(geo.dst_words)),
            "rd_en": Out(1),
            "rd_data": In(geo.mm_rows * geo.mm_cols * 32),
            "wr_addr": Out(range(geo.dst_words)),
            "wr_row": Out(range(max(2, geo.mm_rows))),
            "wr_lanes": Out(geo.mm_cols),
            "wr_data": Out(geo.mm_cols * 32),
        })

    def units(self, m, t, b, unit, issue):
        """(result, latency) of every :class:`SfpuUnit`, in code order: the result is valid
        ``latency`` cycles after an ISSUE cycle (b loaded in ISSUE, t stable throughout; the
        iterative units start when ``unit`` is issued)."""
        mul_stages, add_stages, exp_stages = fp.Stages(), fp.Stages(), fp.Stages()
        results = {
            SfpuUnit.MUL: (fp.fmul(m, t, b, name="sf_mul", stages=mul_stages), mul_stages),
            SfpuUnit.ADD: (fp.fused_sum(m, [fp.fp32_term(m, t, name="sf_ta"), fp.fp32_term(m, b, name="sf_tb")],
                                        name="sf_add", stages=add_stages), add_stages),
            SfpuUnit.EXP: (fp.fexp(m, t, name="sf_exp", stages=exp_stages), exp_stages),
        }
        units = {unit_code: (value, stages.count) for unit_code, (value, stages) in results.items()}
        recip = iterative_recip(m, t, issue & (unit == SfpuUnit.RECIP), digits=self.digits, name="sf_rcp")
        sqrt = iterative_sqrt(m, t, issue & (unit == SfpuUnit.SQRT), digits=self.digits, name="sf_sqrt")
        units[SfpuUnit.RECIP] = (recip.out, recip.cycles)
        units[SfpuUnit.SQRT] = (sqrt.out, sqrt.cycles)
        units[SfpuUnit.RELU] = (fp.frelu(m, t, name="sf_relu"), 0)
        assert max(latency for _, latency in units.values()) <= MAX_LATENCY
        return [units[unit_code] for unit_code in SfpuUnit]

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        mm_rows, mm_cols = geo.mm_rows, geo.mm_cols
        row_bits, col_bits = log2(mm_rows), log2(mm_cols)
        elem = Signal(range(geo.tile_elems + 1))   # row-major index of the element in the tile
        step = Signal(STEP_BITS)
        op = Signal(SfpuOp)
        scalar = Signal(32)
        base = Signal.like(self.tile_base)
        x = Signal(32)   # the element as read
        t = Signal(32)   # the running value of the program
        tile_col_bits = log2(geo.tile_cols)
        row = elem[tile_col_bits:tile_col_bits + log2(geo.tile_rows)]
        col = elem[:tile_col_bits]
        addr = base + (row >> row_bits) * geo.col_chunks + (col >> col_bits)

        unit = Signal(SfpuUnit)
        operand_sel = Signal(SfpuOperand)
        last = Signal()
        with m.Switch(Cat(step, op)):
            for sfpu_op, program in PROGRAMS.items():
                for index, (step_unit, step_operand) in enumerate(program):
                    with m.Case(index | (sfpu_op.value << STEP_BITS)):
                        m.d.comb += [unit.eq(step_unit), operand_sel.eq(step_operand),
                                     last.eq(index == len(program) - 1)]
            with m.Default():
                m.d.comb += last.eq(1)
        # The second operand is registered in ISSUE, so every unit starts from registers (t, b).
        b = Signal(32)
        operand_values = {SfpuOperand.X: x, SfpuOperand.SCALAR: scalar, SfpuOperand.GELU_C: Const(int(GELU_C), 32),
                          SfpuOperand.GELU_K: Const(int(GELU_K), 32), SfpuOperand.ONE: Const(0x3F800000, 32)}
        operand = Array([operand_values[member] for member in SfpuOperand]
                        + [x] * ((1 << SfpuOperand.as_shape().width) - len(operand_values)))[operand_sel.as_value()]
        issue = Signal()
        units = self.units(m, t, b, unit, issue)
        unused_codes = (1 << SfpuUnit.as_shape().width) - len(units)   # codes of no unit keep t, at once
        results = Array([value for value, _latency in units] + [t] * unused_codes)
        latency = Array([Const(cycles, range(MAX_LATENCY + 1)) for _value, cycles in units]
                        + [Const(0, range(MAX_LATENCY + 1))] * unused_codes)
        wait = Signal(range(MAX_LATENCY + 1))

        read_row = Array([self.rd_data.word_select(r, 32 * mm_cols) for r in range(mm_rows)])[
            row[:row_bits] if mm_rows > 1 else 0]
        loaded = read_row.word_select(col[:col_bits] if mm_cols > 1 else 0, 32)

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
                m.d.sync += [b.eq(operand), wait.eq(latency[unit.as_value()])]
                m.next = "WAIT"
            with m.State("WAIT"):
                # The unit's result is valid `latency` cycles after ISSUE; t takes it then.
                m.d.comb += self.busy.eq(1)
                m.d.sync += wait.eq(wait - 1)
                with m.If(wait == 0):
                    m.d.sync += [t.eq(results[unit.as_value()]), step.eq(step + 1)]
                    with m.If(last):
                        m.next = "WRITE"
                    with m.Else():
                        m.next = "ISSUE"
            with m.State("WRITE"):
                m.d.comb += self.busy.eq(1)
                m.d.comb += [self.wr_addr.eq(addr), self.wr_row.eq(row[:row_bits] if mm_rows > 1 else 0),
                             self.wr_lanes.eq(Const(1, mm_cols) << (col[:col_bits] if mm_cols > 1 else 0)),
                             self.wr_data.eq(Cat(*([t] * mm_cols)))]
                m.d.sync += elem.eq(elem + 1)
                with m.If(elem == geo.tile_elems - 1):
                    m.next = "IDLE"
                with m.Else():
                    m.next = "READ"
        return m
