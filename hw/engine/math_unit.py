"""Math thread: the lane array (matmul, element-wise, reductions, zero) and the SFPU.

The lane array has R x C lanes (R = mm_rows, C = mm_cols).  Each cycle it
reads an R x K block of SrcA, a K x C block of SrcB and an R x C block of
Dst, and every lane computes one fused sum (hw.engine.fp.fused_sum) of its
Dst value and K slot terms -- slice products for matmul and mul, raw fp32
values for add/sub and sum reductions -- or a maximum for max reductions.

Pipeline: issue (addresses) -> memories (s1) -> lanes, LANE_CUTS register
stages (terms | aligned | sum | normalized) -> result register (s2) -> Dst
write, so an issue's result is in Dst LANE_CUTS + 2 cycles later.  The Dst
read port is transparent to the write port, so an issue only stalls when it
reads a block still in s1 or in the lane stages: matmul and element-wise ops
visit at least ncc (tiny: 8) other blocks before revisiting one, column
reductions ncc, row reductions nrg; scalar reductions revisit one block every
step and so take LANE_CUTS + 2 cycles per step.

Iteration orders (they fix the rounding, see sim.golden.engine):
  MATMUL   for k-block, for pass, for row group, for column chunk
  MUL      for pass, for row group, for column chunk
  ADD/SUB/ZERO  for row group, for column chunk
  REDUCE row: for k-block, for row group;  col: for k-block, for column chunk;
         scalar: for row, for k-block (one lane)
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import enum, stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.commands import MathCmd, MathOp, ReduceDim, ReduceKind
from tessera.hw.engine.geometry import EngineGeometry, log2, require_geometry, require_ports
from tessera.hw.engine.sfpu import Sfpu

__all__ = ["MathUnit", "MathMode", "LANE_CUTS"]


class MathMode(enum.Enum, shape=3):
    """What the lane array does in a run of issues (one per lane-array command)."""
    MATMUL = 0
    ADD = 1
    SUB = 2
    MUL = 3
    ZERO = 4
    ROW_REDUCE = 5
    COL_REDUCE = 6
    SCALAR_REDUCE = 7


#: The modes that reduce (their lanes may compute a maximum instead of a sum).
REDUCE_MODES = (MathMode.ROW_REDUCE, MathMode.COL_REDUCE, MathMode.SCALAR_REDUCE)

#: Register cuts inside a lane: the terms, then fp.fused_sum's three (aligned | sum | normalized).
LANE_CUTS = 4

#: Non-reducing operations and their modes (REDUCE picks its mode from ``reduce_dim``).
MODE_OF_OP = {MathOp.MATMUL: MathMode.MATMUL, MathOp.ADD: MathMode.ADD, MathOp.SUB: MathMode.SUB,
              MathOp.MUL: MathMode.MUL, MathOp.ZERO: MathMode.ZERO}

#: The operations that read the Src slot (they wait for it and may pop it).
SRC_OPS = (MathOp.MATMUL, MathOp.ADD, MathOp.SUB, MathOp.MUL, MathOp.REDUCE)


class MathUnit(wiring.Component):
    """The math thread: the lane array and the SFPU on the engine's register files.

    Parameters (R = ``mm_rows``, K = ``mm_inner``, C = ``mm_cols`` of ``geo``):

    * ``geo``: the :class:`~hw.engine.geometry.EngineGeometry`.
    * ``srca_ports``: R synchronous read ports of the SrcA memories (K fp32 values a word).
    * ``srcb_ports``: K synchronous read ports of the SrcB memories (C values a word).
    * ``dst_read_ports``: R read ports of the Dst memories (C values a word), transparent to
      ``dst_write_ports``: R write ports with one enable per 32-bit value.

    Ports:

    * ``cmd``: incoming stream of :data:`~hw.engine.commands.MathCmd`.
    * ``src_slot`` / ``src_valid``: the Src slot math reads, and whether it holds operands;
      ``pop``: one-cycle strobe, that slot is released (a command with ``pop``, after its last read).
    * ``half`` / ``half_full``: the Dst half math writes, and whether it is still committed to
      the packer (math waits); ``commit``: one-cycle strobe, COMMIT hands the half over.
    * ``busy``: a command is queued, running, or still in the lane pipeline.
    * ``mm_issue``: high in every cycle that issues a matmul step (R*K*C MACs of one pass).
    """

    def __init__(self, geo: EngineGeometry, srca_ports, srcb_ports, dst_read_ports, dst_write_ports):
        self.geo = require_geometry("MathUnit", geo)
        self.srca_ports = require_ports("MathUnit", "SrcA read ports", srca_ports, geo.mm_rows)
        self.srcb_ports = require_ports("MathUnit", "SrcB read ports", srcb_ports, geo.mm_inner)
        self.dst_read_ports = require_ports("MathUnit", "Dst read ports", dst_read_ports, geo.mm_rows)
        self.dst_write_ports = require_ports("MathUnit", "Dst write ports", dst_write_ports, geo.mm_rows)
        super().__init__({
            "cmd": In(stream.Signature(MathCmd)),
            "src_slot": In(1),
            "src_valid": In(1),
            "pop": Out(1),
            "half": In(1),
            "half_full": In(1),
            "commit": Out(1),
            "busy": Out(1),
            "mm_issue": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        geo = self.geo
        mm_rows, mm_inner, mm_cols = geo.mm_rows, geo.mm_inner, geo.mm_cols
        row_bits, inner_bits = log2(mm_rows), log2(mm_inner)
        srcb_blocks = mm_inner // mm_rows   # R-row blocks of one K-row SrcB block (element-wise ops)
        m.submodules.sfpu = sfpu = Sfpu(geo)
        cmd = Signal(MathCmd)
        mode = Signal(MathMode)
        # The loop nest of a run, outermost first (the iteration orders of the module docstring):
        # outer = k-block (SCALAR_REDUCE: tile row), fidelity pass, group = row group
        # (SCALAR_REDUCE: k-block), chunk = column chunk.  Each runs from 0 to its count - 1.
        outer, group = Signal(range(geo.tile_rows + 1)), Signal(range(geo.tile_rows + 1))
        fidelity_pass, chunk = Signal(3), Signal(range(geo.tile_cols + 1))
        outer_count, group_count = Signal.like(outer), Signal.like(group)
        pass_count, chunk_count = Signal.like(fidelity_pass), Signal.like(chunk)
        # Innermost first: a counter wraps at its count and carries into the next one out.
        loops = ((chunk, chunk_count), (group, group_count), (fidelity_pass, pass_count), (outer, outer_count))

        # Pipeline registers.
        s1_valid, s2_valid = Signal(), Signal()
        s1_addr, s2_addr = Signal(range(geo.dst_words)), Signal(range(geo.dst_words))
        s1_mask, s2_mask = Signal(mm_rows * mm_cols), Signal(mm_rows * mm_cols)
        s1_mode = Signal(MathMode)
        s1_pass = Signal(2)
        s1_init = Signal()
        s1_max = Signal()
        s1_scalar_row = Signal(range(max(mm_rows, 2)))       # SCALAR_REDUCE: the SrcA row read
        s1_srcb_block = Signal(range(max(srcb_blocks, 2)))   # element-wise: the SrcB rows read
        s2_data = Signal(mm_rows * mm_cols * 32)

        # The lane stages' copies of s1's control (valid, Dst address, mask, max).
        lane_valid = [s1_valid] + [Signal(name=f"p{k}_valid") for k in range(LANE_CUTS)]
        lane_addr = [s1_addr] + [Signal.like(s1_addr, name=f"p{k}_addr") for k in range(LANE_CUTS)]
        lane_mask = [s1_mask] + [Signal.like(s1_mask, name=f"p{k}_mask") for k in range(LANE_CUTS)]
        lane_max = [s1_max] + [Signal(name=f"p{k}_max") for k in range(LANE_CUTS)]
        for stage in range(LANE_CUTS):
            m.d.sync += [lane_valid[stage + 1].eq(lane_valid[stage]), lane_addr[stage + 1].eq(lane_addr[stage]),
                         lane_mask[stage + 1].eq(lane_mask[stage]), lane_max[stage + 1].eq(lane_max[stage])]
        in_lanes = Cat(*lane_valid).any()

        tile_base = geo.dst_tile_base(m, self.half, cmd.dst_tile)
        pipe_empty = ~in_lanes & ~s2_valid

        # -- issue-stage address generation ---------------------------------------
        srca_row, srca_col = Signal(range(geo.row_groups + 1)), Signal(range(geo.inner_chunks + 1))
        srcb_row, srcb_col = Signal(range(geo.inner_chunks + 1)), Signal(range(geo.col_chunks + 1))
        dst_row, dst_col = Signal(range(geo.row_groups + 1)), Signal(range(geo.col_chunks + 1))
        first = Signal()   # the first visit of this Dst block in the run (init instead of accumulate)
        with m.Switch(mode):
            with m.Case(MathMode.MATMUL):
                m.d.comb += [srca_row.eq(group), srca_col.eq(outer), srcb_row.eq(outer), srcb_col.eq(chunk),
                             dst_row.eq(group), dst_col.eq(chunk), first.eq((outer == 0) & (fidelity_pass == 0))]
            with m.Case(MathMode.ADD, MathMode.SUB, MathMode.MUL, MathMode.ZERO):
                m.d.comb += [srca_row.eq(group), srca_col.eq(chunk), srcb_row.eq((group * mm_rows) >> inner_bits),
                             srcb_col.eq(chunk), dst_row.eq(group), dst_col.eq(chunk), first.eq(fidelity_pass == 0)]
            with m.Case(MathMode.ROW_REDUCE):
                m.d.comb += [srca_row.eq(group), srca_col.eq(outer), dst_row.eq(group), first.eq(outer == 0)]
            with m.Case(MathMode.COL_REDUCE):
                m.d.comb += [srcb_row.eq(outer), srcb_col.eq(chunk), dst_col.eq(chunk), first.eq(outer == 0)]
            with m.Case(MathMode.SCALAR_REDUCE):
                m.d.comb += [srca_row.eq(outer >> row_bits), srca_col.eq(group),
                             first.eq((outer == 0) & (group == 0))]
        issue_addr = Signal(range(geo.dst_words))
        m.d.comb += issue_addr.eq(tile_base + dst_row * geo.col_chunks + dst_col)

        # -- control FSM -----------------------------------------------------------
        issue = Signal()
        hazard = Cat(*[valid & (addr == issue_addr) for valid, addr in zip(lane_valid, lane_addr)]).any()
        last = Cat(*[counter == count - 1 for counter, count in loops]).all()
        op = cmd.op
        needs_src = Cat(*[op == src_op for src_op in SRC_OPS]).any()
        passes = cmd.fidelity.as_value() + 1
        # Loop counts (outer, fidelity passes, groups, chunks) of every mode.
        loop_counts = {
            MathMode.MATMUL: (geo.inner_chunks, passes, geo.row_groups, geo.col_chunks),
            MathMode.ADD: (1, 1, geo.row_groups, geo.col_chunks),
            MathMode.SUB: (1, 1, geo.row_groups, geo.col_chunks),
            MathMode.ZERO: (1, 1, geo.row_groups, geo.col_chunks),
            MathMode.MUL: (1, passes, geo.row_groups, geo.col_chunks),
            MathMode.ROW_REDUCE: (geo.inner_chunks, 1, geo.row_groups, 1),
            MathMode.COL_REDUCE: (geo.inner_chunks, 1, 1, geo.col_chunks),
            MathMode.SCALAR_REDUCE: (geo.tile_rows, 1, geo.inner_chunks, 1),
        }

        def start_run(run_mode):
            counts = (outer_count, pass_count, group_count, chunk_count)
            m.d.sync += [mode.eq(run_mode)] + [limit.eq(n) for limit, n in zip(counts, loop_counts[run_mode])]

        with m.FSM(name="math") as fsm:
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += cmd.eq(self.cmd.payload)
                    m.next = "DISPATCH"
            with m.State("DISPATCH"):
                m.d.sync += [counter.eq(0) for counter, _count in loops]
                with m.Switch(op):
                    for math_op, run_mode in MODE_OF_OP.items():
                        with m.Case(math_op):
                            start_run(run_mode)
                    with m.Case(MathOp.REDUCE):
                        with m.Switch(cmd.reduce_dim):
                            with m.Case(ReduceDim.ROW):
                                start_run(MathMode.ROW_REDUCE)
                            with m.Case(ReduceDim.COL):
                                start_run(MathMode.COL_REDUCE)
                            with m.Default():
                                start_run(MathMode.SCALAR_REDUCE)
                with m.If((op == MathOp.NOP) | (op.as_value() > MathOp.COMMIT.value)):
                    m.next = "IDLE"
                with m.Elif(op == MathOp.COMMIT):
                    m.next = "COMMIT"
                with m.Else():
                    m.next = "WAIT"
            with m.State("WAIT"):
                ready = ~self.half_full & (~needs_src | self.src_valid)
                with m.If(ready & (op == MathOp.SFPU)):
                    with m.If(pipe_empty):
                        m.d.comb += sfpu.start.eq(1)
                        m.next = "SFPU"
                with m.Elif(ready):
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += issue.eq(~hazard)
                with m.If(~hazard):
                    carry = Const(1, 1)
                    for counter, count in loops:
                        at_end = counter == count - 1
                        with m.If(carry):
                            m.d.sync += counter.eq(Mux(at_end, 0, counter + 1))
                        carry = carry & at_end
                    with m.If(last):
                        m.d.comb += self.pop.eq(cmd.pop & needs_src)
                        m.next = "IDLE"
            with m.State("SFPU"):
                with m.If(~sfpu.busy):
                    m.next = "IDLE"
            with m.State("COMMIT"):
                with m.If(pipe_empty):
                    m.d.comb += self.commit.eq(1)
                    m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE") | in_lanes | s2_valid | self.cmd.valid)
        m.d.comb += self.mm_issue.eq(issue & (mode == MathMode.MATMUL))

        # -- memory reads ----------------------------------------------------------
        for port in self.srca_ports:
            m.d.comb += [port.addr.eq(self.src_slot * geo.srca_words + srca_row * geo.inner_chunks + srca_col),
                         port.en.eq(issue)]
        for port in self.srcb_ports:
            m.d.comb += [port.addr.eq(self.src_slot * geo.srcb_words + srcb_row * geo.col_chunks + srcb_col),
                         port.en.eq(issue)]
        sfpu_active = fsm.ongoing("SFPU")
        for port in self.dst_read_ports:
            m.d.comb += [port.addr.eq(Mux(sfpu_active, sfpu.rd_addr, issue_addr)),
                         port.en.eq(Mux(sfpu_active, sfpu.rd_en, issue))]
        m.d.comb += [sfpu.op.eq(cmd.sfpu_op), sfpu.scalar.eq(cmd.scalar), sfpu.tile_base.eq(tile_base),
                     sfpu.rd_data.eq(Cat(*[p.data for p in self.dst_read_ports]))]

        # Static write masks per mode: which lanes (row, col) write Dst.
        def lanes_where(pred):
            return Cat(*[Const(int(pred(row, col)), 1) for row in range(mm_rows) for col in range(mm_cols)])
        is_reduce = Cat(*[mode == reduce_mode for reduce_mode in REDUCE_MODES]).any()
        m.d.sync += s1_valid.eq(issue)
        with m.If(issue):
            m.d.sync += [
                s1_addr.eq(issue_addr), s1_mode.eq(mode), s1_pass.eq(fidelity_pass),
                s1_init.eq(first & ~cmd.acc | (mode == MathMode.ZERO)),
                s1_max.eq(is_reduce & (cmd.reduce_kind == ReduceKind.MAX)),
                s1_scalar_row.eq(outer[:row_bits] if mm_rows > 1 else 0),
                s1_srcb_block.eq(group[:log2(srcb_blocks)] if srcb_blocks > 1 else 0),
                s1_mask.eq(Mux(mode == MathMode.ROW_REDUCE, lanes_where(lambda row, col: col == 0),
                               Mux(mode == MathMode.COL_REDUCE, lanes_where(lambda row, col: row == 0),
                                   Mux(mode == MathMode.SCALAR_REDUCE, lanes_where(lambda row, col: row == col == 0),
                                       lanes_where(lambda row, col: True))))),
            ]

        # -- lanes (stage 1, combinational from the memories' read data) -----------
        # srca[row][k], srcb[k][col], dst_in[row][col]: the fp32 values of the blocks read.
        srca = [[self.srca_ports[row].data.word_select(k, 32) for k in range(mm_inner)] for row in range(mm_rows)]
        srcb = [[self.srcb_ports[k].data.word_select(col, 32) for col in range(mm_cols)] for k in range(mm_inner)]
        dst_in = [[self.dst_read_ports[row].data.word_select(col, 32) for col in range(mm_cols)]
                  for row in range(mm_rows)]
        # Element-wise ops: lane (row, col) takes SrcB row s1_srcb_block * R + row.
        srcb_eltwise = [[Array([srcb[block * mm_rows + row][col] for block in range(srcb_blocks)])[s1_srcb_block]
                         for col in range(mm_cols)] for row in range(mm_rows)]
        # Scalar reductions: the SrcA row s1_scalar_row, into lane (0, 0).
        srca_scalar_row = [Array([srca[row][k] for row in range(mm_rows)])[s1_scalar_row] for k in range(mm_inner)]
        is_matmul, is_mul = s1_mode == MathMode.MATMUL, s1_mode == MathMode.MUL
        is_addsub = (s1_mode == MathMode.ADD) | (s1_mode == MathMode.SUB)
        results = []
        for row in range(mm_rows):
            for col in range(mm_cols):
                name = f"l{row}_{col}"
                init_value = Mux(s1_max, 0xFF800000, 0)   # -inf for a maximum, +0 for a sum
                dst_value = Signal(32, name=f"{name}_d")
                m.d.comb += dst_value.eq(Mux(s1_init, init_value, dst_in[row][col]))
                terms = [fp.fp32_term(m, dst_value, name=f"{name}_dt")]
                raws = []
                for k in range(mm_inner):
                    mul_a = Signal(32, name=f"{name}_pa{k}")
                    mul_b = Signal(32, name=f"{name}_pb{k}")
                    raw = Signal(32, name=f"{name}_rw{k}")
                    if k == 0 and col < mm_inner:
                        m.d.comb += [mul_a.eq(Mux(is_matmul, srca[row][k], srca[row][col])),
                                     mul_b.eq(Mux(is_matmul, srcb[k][col], srcb_eltwise[row][col]))]
                    else:
                        m.d.comb += [mul_a.eq(srca[row][k]), mul_b.eq(srcb[k][col])]
                    use_product = is_matmul | (is_mul if k == 0 else Const(0, 1))
                    # The raw (unmultiplied) value slot k takes, and when: a/b of add/sub in slots
                    # 0/1; a row of A in column 0, a column of B in row 0, the scalar row in (0, 0).
                    use_raw = Const(0, 1)
                    raw_value = Const(0, 32)
                    if k == 0:
                        raw_value, use_raw = srca[row][col], is_addsub
                    elif k == 1:
                        raw_value, use_raw = srcb_eltwise[row][col], is_addsub
                    if col == 0:
                        raw_value = Mux(s1_mode == MathMode.ROW_REDUCE, srca[row][k], raw_value)
                        use_raw = use_raw | (s1_mode == MathMode.ROW_REDUCE)
                    if row == 0:
                        raw_value = Mux(s1_mode == MathMode.COL_REDUCE, srcb[k][col], raw_value)
                        use_raw = use_raw | (s1_mode == MathMode.COL_REDUCE)
                    if row == 0 and col == 0:
                        raw_value = Mux(s1_mode == MathMode.SCALAR_REDUCE, srca_scalar_row[k], raw_value)
                        use_raw = use_raw | (s1_mode == MathMode.SCALAR_REDUCE)
                    product = fp.product_term(m, mul_a, mul_b, s1_pass, name=f"{name}_p{k}")
                    if k >= 2 and row != 0 and col != 0:
                        # Interior lanes never take raw values in slots >= 2: product only.
                        product.mant = Mux(is_matmul, product.mant, 0)
                        product.inf = product.inf & is_matmul
                        product.nan = product.nan & is_matmul
                        terms.append(product)
                        continue
                    m.d.comb += raw.eq(raw_value)
                    raws.append(raw)
                    negate = (s1_mode == MathMode.SUB) if k == 1 else Const(0, 1)
                    raw_term = fp.fp32_term(m, raw, name=f"{name}_r{k}")
                    terms.append(fp.select_term(m, use_product, product, raw_term, use_product | use_raw,
                                                negate=negate & ~use_product, name=f"{name}_s{k}"))
                stages = fp.Stages()
                terms = fp.cut_terms(m, stages, terms)
                total = fp.fused_sum(m, terms, name=f"{name}_fs", stages=stages)
                assert stages.count == LANE_CUTS, stages.count
                if row == 0 or col == 0:
                    max_stages = fp.Stages()
                    maximum = fp.fmax(m, [dst_value] + raws, name=f"{name}_mx", stages=max_stages)
                    for k in range(LANE_CUTS - max_stages.count):  # keep step with the fused sum
                        delayed = Signal(32, name=f"{name}_mx_p{k}")
                        m.d.sync += delayed.eq(maximum)
                        maximum = delayed
                    result = Mux(lane_max[-1], maximum, total)
                else:
                    result = total
                results.append(result)

        m.d.sync += s2_valid.eq(lane_valid[-1])
        with m.If(lane_valid[-1]):
            m.d.sync += [s2_addr.eq(lane_addr[-1]), s2_mask.eq(lane_mask[-1]), s2_data.eq(Cat(*results))]

        # -- Dst writes: lane results, or the SFPU ----------------------------------
        for row, port in enumerate(self.dst_write_ports):
            with m.If(sfpu_active):
                m.d.comb += [port.addr.eq(sfpu.wr_addr), port.data.eq(sfpu.wr_data),
                             port.en.eq(Mux(sfpu.wr_row == row, sfpu.wr_lanes, 0))]
            with m.Else():
                m.d.comb += [port.addr.eq(s2_addr), port.data.eq(s2_data.word_select(row, 32 * mm_cols)),
                             port.en.eq(Mux(s2_valid, s2_mask.word_select(row, mm_cols), 0))]
        return m
