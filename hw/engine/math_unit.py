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
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp
from tessera.hw.engine.commands import MathCmd, MathOp, ReduceDim, ReduceKind
from tessera.hw.engine.geometry import EngineGeometry
from tessera.hw.engine.sfpu import Sfpu

__all__ = ["MathUnit"]

M_MM, M_ADD, M_SUB, M_MUL, M_ZERO, M_ROW, M_COL, M_SCALAR = range(8)

#: Register cuts inside a lane: the terms, then fp.fused_sum's three (aligned | sum | normalized).
LANE_CUTS = 4


class MathUnit(wiring.Component):
    def __init__(self, geo: EngineGeometry, a_ports, b_ports, dst_rd, dst_wr):
        self.geo = geo
        self.a_ports, self.b_ports, self.dst_rd, self.dst_wr = a_ports, b_ports, dst_rd, dst_wr
        super().__init__({
            "cmd": In(stream.Signature(MathCmd)),
            "src_buf": In(1),
            "src_valid": In(1),
            "pop": Out(1),
            "half": In(1),
            "half_full": In(1),
            "commit": Out(1),
            "busy": Out(1),
            #: High in every cycle that issues a matmul step (R*K*C MACs of one pass).
            "mm_issue": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geo
        R, K, C = g.R, g.K, g.C
        lr, lk, lc = R.bit_length() - 1, K.bit_length() - 1, C.bit_length() - 1
        m.submodules.sfpu = sfpu = Sfpu(g)
        cmd = Signal(MathCmd)
        mode = Signal(3)
        c3, c1, c0 = Signal(range(g.rows + 1)), Signal(range(g.rows + 1)), Signal(range(g.cols + 1))
        c2 = Signal(3)
        l3, l1, l0 = Signal.like(c3), Signal.like(c1), Signal.like(c0)
        l2 = Signal(3)
        # Pipeline registers.
        s1_valid, s2_valid = Signal(), Signal()
        dst_words = g.dst_tiles * g.tile_words
        s1_addr, s2_addr = Signal(range(dst_words)), Signal(range(dst_words))
        s1_mask, s2_mask = Signal(R * C), Signal(R * C)
        s1_mode = Signal(3)
        s1_pass = Signal(2)
        s1_init = Signal()
        s1_max = Signal()
        s1_rowsel = Signal(range(max(R, 2)))
        s1_bblk = Signal(range(max(K // R, 2)))
        s2_data = Signal(R * C * 32)

        # The lane stages' copies of s1's control (valid, Dst address, mask, max).
        p_valid = [s1_valid] + [Signal(name=f"p{k}_valid") for k in range(LANE_CUTS)]
        p_addr = [s1_addr] + [Signal.like(s1_addr, name=f"p{k}_addr") for k in range(LANE_CUTS)]
        p_mask = [s1_mask] + [Signal.like(s1_mask, name=f"p{k}_mask") for k in range(LANE_CUTS)]
        p_max = [s1_max] + [Signal(name=f"p{k}_max") for k in range(LANE_CUTS)]
        for k in range(LANE_CUTS):
            m.d.sync += [p_valid[k + 1].eq(p_valid[k]), p_addr[k + 1].eq(p_addr[k]),
                         p_mask[k + 1].eq(p_mask[k]), p_max[k + 1].eq(p_max[k])]
        in_lanes = Cat(*p_valid).any()

        tile_in_half = cmd.dst_tile[:(g.half_tiles - 1).bit_length()] if g.half_tiles > 1 else 0
        tile_base = Signal(range(dst_words + 1))
        m.d.comb += tile_base.eq((self.half * g.half_tiles + tile_in_half) * g.tile_words)
        pipe_empty = ~in_lanes & ~s2_valid

        # -- issue-stage address generation ---------------------------------------
        a_row, a_col = Signal(range(g.nrg + 1)), Signal(range(g.nkc + 1))
        b_row, b_col = Signal(range(g.nkc + 1)), Signal(range(g.ncc + 1))
        d_row, d_col = Signal(range(g.nrg + 1)), Signal(range(g.ncc + 1))
        first = Signal()
        with m.Switch(mode):
            with m.Case(M_MM):
                m.d.comb += [a_row.eq(c1), a_col.eq(c3), b_row.eq(c3), b_col.eq(c0), d_row.eq(c1),
                             d_col.eq(c0), first.eq((c3 == 0) & (c2 == 0))]
            with m.Case(M_ADD, M_SUB, M_MUL, M_ZERO):
                m.d.comb += [a_row.eq(c1), a_col.eq(c0), b_row.eq((c1 * R) >> lk), b_col.eq(c0),
                             d_row.eq(c1), d_col.eq(c0), first.eq(c2 == 0)]
            with m.Case(M_ROW):
                m.d.comb += [a_row.eq(c1), a_col.eq(c3), d_row.eq(c1), first.eq(c3 == 0)]
            with m.Case(M_COL):
                m.d.comb += [b_row.eq(c3), b_col.eq(c0), d_col.eq(c0), first.eq(c3 == 0)]
            with m.Case(M_SCALAR):
                m.d.comb += [a_row.eq(c3 >> lr), a_col.eq(c1), first.eq((c3 == 0) & (c1 == 0))]
        issue_addr = Signal(range(dst_words))
        m.d.comb += issue_addr.eq(tile_base + d_row * g.ncc + d_col)

        # -- control FSM -----------------------------------------------------------
        issue = Signal()
        hazard = Cat(*[v & (a == issue_addr) for v, a in zip(p_valid, p_addr)]).any()
        last = (c0 == l0 - 1) & (c1 == l1 - 1) & (c2 == l2 - 1) & (c3 == l3 - 1)
        op = cmd.op
        needs_src = (op == MathOp.MATMUL) | (op == MathOp.ADD) | (op == MathOp.SUB) | (op == MathOp.MUL) \
            | (op == MathOp.REDUCE)
        passes = cmd.fidelity.as_value() + 1
        with m.FSM(name="math") as fsm:
            with m.State("IDLE"):
                m.d.comb += self.cmd.ready.eq(1)
                with m.If(self.cmd.valid):
                    m.d.sync += cmd.eq(self.cmd.payload)
                    m.next = "DISPATCH"
            with m.State("DISPATCH"):
                m.d.sync += [c3.eq(0), c2.eq(0), c1.eq(0), c0.eq(0)]
                with m.Switch(op):
                    with m.Case(MathOp.MATMUL):
                        m.d.sync += [mode.eq(M_MM), l3.eq(g.nkc), l2.eq(passes), l1.eq(g.nrg), l0.eq(g.ncc)]
                    with m.Case(MathOp.ADD, MathOp.SUB, MathOp.ZERO):
                        m.d.sync += [mode.eq(Mux(op == MathOp.ADD, M_ADD, Mux(op == MathOp.SUB, M_SUB, M_ZERO))),
                                     l3.eq(1), l2.eq(1), l1.eq(g.nrg), l0.eq(g.ncc)]
                    with m.Case(MathOp.MUL):
                        m.d.sync += [mode.eq(M_MUL), l3.eq(1), l2.eq(passes), l1.eq(g.nrg), l0.eq(g.ncc)]
                    with m.Case(MathOp.REDUCE):
                        with m.Switch(cmd.reduce_dim):
                            with m.Case(ReduceDim.ROW):
                                m.d.sync += [mode.eq(M_ROW), l3.eq(g.nkc), l2.eq(1), l1.eq(g.nrg), l0.eq(1)]
                            with m.Case(ReduceDim.COL):
                                m.d.sync += [mode.eq(M_COL), l3.eq(g.nkc), l2.eq(1), l1.eq(1), l0.eq(g.ncc)]
                            with m.Default():
                                m.d.sync += [mode.eq(M_SCALAR), l3.eq(g.rows), l2.eq(1), l1.eq(g.nkc), l0.eq(1)]
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
                    with m.If(c0 == l0 - 1):
                        m.d.sync += c0.eq(0)
                        with m.If(c1 == l1 - 1):
                            m.d.sync += c1.eq(0)
                            with m.If(c2 == l2 - 1):
                                m.d.sync += [c2.eq(0), c3.eq(c3 + 1)]
                            with m.Else():
                                m.d.sync += c2.eq(c2 + 1)
                        with m.Else():
                            m.d.sync += c1.eq(c1 + 1)
                    with m.Else():
                        m.d.sync += c0.eq(c0 + 1)
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
        m.d.comb += self.mm_issue.eq(issue & (mode == M_MM))

        # -- memory reads ----------------------------------------------------------
        for port in self.a_ports:
            m.d.comb += [port.addr.eq(self.src_buf * g.a_depth + a_row * g.nkc + a_col), port.en.eq(issue)]
        for port in self.b_ports:
            m.d.comb += [port.addr.eq(self.src_buf * g.b_depth + b_row * g.ncc + b_col), port.en.eq(issue)]
        sfpu_active = fsm.ongoing("SFPU")
        for port in self.dst_rd:
            m.d.comb += [port.addr.eq(Mux(sfpu_active, sfpu.rd_addr, issue_addr)),
                         port.en.eq(Mux(sfpu_active, sfpu.rd_en, issue))]
        m.d.comb += [sfpu.op.eq(cmd.sfpu_op), sfpu.scalar.eq(cmd.scalar), sfpu.tile_base.eq(tile_base),
                     sfpu.rd_data.eq(Cat(*[p.data for p in self.dst_rd]))]

        # Static write masks per mode.
        def mask_of(pred):
            return Cat(*[Const(int(pred(i, j)), 1) for i in range(R) for j in range(C)])
        m.d.sync += s1_valid.eq(issue)
        with m.If(issue):
            m.d.sync += [
                s1_addr.eq(issue_addr), s1_mode.eq(mode), s1_pass.eq(c2), s1_init.eq(first & ~cmd.acc | (mode == M_ZERO)),
                s1_max.eq((mode >= M_ROW) & (cmd.reduce_kind == ReduceKind.MAX)),
                s1_rowsel.eq(c3[:lr] if R > 1 else 0),
                s1_bblk.eq(c1[:(K // R).bit_length() - 1] if K > R else 0),
                s1_mask.eq(Mux(mode == M_ROW, mask_of(lambda i, j: j == 0),
                               Mux(mode == M_COL, mask_of(lambda i, j: i == 0),
                                   Mux(mode == M_SCALAR, mask_of(lambda i, j: i == 0 and j == 0),
                                       mask_of(lambda i, j: True))))),
            ]

        # -- lanes (stage 1, combinational from the memories' read data) -----------
        A = [[self.a_ports[i].data[32 * k:32 * k + 32] for k in range(K)] for i in range(R)]
        B = [[self.b_ports[k].data[32 * j:32 * j + 32] for j in range(C)] for k in range(K)]
        D = [[self.dst_rd[i].data[32 * j:32 * j + 32] for j in range(C)] for i in range(R)]
        bsel = [[Array([B[blk * R + i][j] for blk in range(K // R)])[s1_bblk] for j in range(C)]
                for i in range(R)]
        ascal = [Array([A[i][k] for i in range(R)])[s1_rowsel] for k in range(K)]
        is_mm, is_mul = s1_mode == M_MM, s1_mode == M_MUL
        is_addsub = (s1_mode == M_ADD) | (s1_mode == M_SUB)
        results = []
        for i in range(R):
            for j in range(C):
                name = f"l{i}_{j}"
                init_val = Mux(s1_max, 0xFF800000, 0)
                dval = Signal(32, name=f"{name}_d")
                m.d.comb += dval.eq(Mux(s1_init, init_val, D[i][j]))
                terms = [fp.fp32_term(m, dval, name=f"{name}_dt")]
                raws = []
                for k in range(K):
                    pa = Signal(32, name=f"{name}_pa{k}")
                    pb = Signal(32, name=f"{name}_pb{k}")
                    raw = Signal(32, name=f"{name}_rw{k}")
                    if k == 0 and j < K:
                        m.d.comb += [pa.eq(Mux(is_mm, A[i][k], A[i][j])), pb.eq(Mux(is_mm, B[k][j], bsel[i][j]))]
                    else:
                        m.d.comb += [pa.eq(A[i][k]), pb.eq(B[k][j])]
                    prod_on = is_mm | (is_mul if k == 0 else Const(0, 1))
                    raw_on_expr = Const(0, 1)
                    raw_expr = Const(0, 32)
                    if k == 0:
                        raw_expr, raw_on_expr = A[i][j], is_addsub
                    elif k == 1:
                        raw_expr, raw_on_expr = bsel[i][j], is_addsub
                    if j == 0:
                        raw_expr = Mux(s1_mode == M_ROW, A[i][k], raw_expr)
                        raw_on_expr = raw_on_expr | (s1_mode == M_ROW)
                    if i == 0:
                        raw_expr = Mux(s1_mode == M_COL, B[k][j], raw_expr)
                        raw_on_expr = raw_on_expr | (s1_mode == M_COL)
                    if i == 0 and j == 0:
                        raw_expr = Mux(s1_mode == M_SCALAR, ascal[k], raw_expr)
                        raw_on_expr = raw_on_expr | (s1_mode == M_SCALAR)
                    pterm = fp.product_term(m, pa, pb, s1_pass, name=f"{name}_p{k}")
                    if k >= 2 and i != 0 and j != 0:
                        # Interior lanes never take raw values in slots >= 2: product only.
                        if k > 0:
                            pterm.m = Mux(is_mm, pterm.m, 0)
                            pterm.inf = pterm.inf & is_mm
                            pterm.nan = pterm.nan & is_mm
                        terms.append(pterm)
                        continue
                    m.d.comb += raw.eq(raw_expr)
                    raws.append(raw)
                    neg = (s1_mode == M_SUB) if k == 1 else Const(0, 1)
                    rterm = fp.fp32_term(m, raw, name=f"{name}_r{k}")
                    terms.append(fp.select_term(m, prod_on, pterm, rterm, prod_on | raw_on_expr,
                                                negate=neg & ~prod_on, name=f"{name}_s{k}"))
                stages = fp.Stages()
                terms = fp.cut_terms(m, stages, terms)
                total = fp.fused_sum(m, terms, name=f"{name}_fs", stages=stages)
                assert stages.count == LANE_CUTS, stages.count
                if i == 0 or j == 0:
                    mx_stages = fp.Stages()
                    mx = fp.fmax(m, [dval] + raws, name=f"{name}_mx", stages=mx_stages)
                    for k in range(LANE_CUTS - mx_stages.count):  # keep step with the fused sum
                        mx_next = Signal(32, name=f"{name}_mx_p{k}")
                        m.d.sync += mx_next.eq(mx)
                        mx = mx_next
                    res = Mux(p_max[-1], mx, total)
                else:
                    res = total
                results.append(res)

        m.d.sync += s2_valid.eq(p_valid[-1])
        with m.If(p_valid[-1]):
            m.d.sync += [s2_addr.eq(p_addr[-1]), s2_mask.eq(p_mask[-1]), s2_data.eq(Cat(*results))]

        # -- Dst writes: lane results, or the SFPU ----------------------------------
        for i, port in enumerate(self.dst_wr):
            with m.If(sfpu_active):
                m.d.comb += [port.addr.eq(sfpu.wr_addr), port.data.eq(sfpu.wr_data),
                             port.en.eq(Mux(sfpu.wr_row == i, sfpu.wr_lanes, 0))]
            with m.Else():
                m.d.comb += [port.addr.eq(s2_addr), port.data.eq(s2_data[32 * C * i:32 * C * (i + 1)]),
                             port.en.eq(Mux(s2_valid, s2_mask[C * i:C * (i + 1)], 0))]
        return m
