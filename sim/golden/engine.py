"""Bit-exact golden model of the engine's math and SFPU operations on tiles.

Tiles are (tile_rows, tile_cols) arrays of fp32 bit patterns (uint32).  The
loop orders below are the HDL's; where the order changes a result (the
k-blocks and fidelity passes of a matmul, the chunks of a reduction) it is
part of the specification (docs/numerics.md).
"""

from __future__ import annotations

import numpy as np

from tessera.sim.golden import numerics as nx
from tessera.hw import numerics as contract

__all__ = ["FIDELITIES", "SFPU_OPS", "matmul", "eltwise", "reduce", "sfpu", "GELU_K", "GELU_C"]

FIDELITIES = ("lofi", "hifi2", "hifi3", "hifi4")
SFPU_OPS = ("relu", "exp", "recip", "sqrt", "gelu", "adds", "muls")

#: gelu(x) ~ x * sigmoid(2*sqrt(2/pi) * (x + 0.044715 x^3)) (the tanh form).
GELU_C = np.uint32(contract.GELU_C)
GELU_K = np.uint32(contract.GELU_K)
ONE = np.uint32(0x3F800000)


def _passes(fidelity: str) -> int:
    try:
        return nx.FIDELITY_PASSES[fidelity]
    except KeyError:
        raise ValueError(f"unknown fidelity {fidelity!r}; known: {FIDELITIES}") from None


def matmul(dst, a, b, ecfg, fidelity: str = "hifi4", acc: bool = True):
    """Dst (+)= A @ B.

    for k0 in steps of mm_inner: for each pass: every output element
    d = fused_sum(d, p_0 .. p_{mm_inner-1}) with p_k = pass slice product of
    A[r, k0+k] and B[k0+k, c].  Without ``acc`` the Dst term of the first step
    is zero.
    """
    dst = np.asarray(dst, dtype=np.uint32).copy()
    if not acc:
        dst[:] = 0
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    k_inner = ecfg.mm_inner
    for k0 in range(0, ecfg.tile_cols, k_inner):
        for p in range(_passes(fidelity)):
            terms = [nx.fp32_term(dst)]
            for k in range(k_inner):
                terms.append(nx.product_term(a[:, k0 + k][:, None], b[k0 + k, :][None, :], p))
            dst = nx.fused_sum(terms)
    return dst


def eltwise(dst, a, b, op: str, fidelity: str = "hifi4", acc: bool = False):
    """add: d = fsum(d?, a, b); sub: d = fsum(d?, a, -b); mul: per pass d = fsum(d, slice product)."""
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    d = np.asarray(dst, dtype=np.uint32) if acc else np.zeros_like(a)
    if op in ("add", "sub"):
        return nx.fused_sum([nx.fp32_term(d), nx.fp32_term(a), nx.fp32_term(b, negate=(op == "sub"))])
    if op == "mul":
        for p in range(_passes(fidelity)):
            d = nx.fused_sum([nx.fp32_term(d), nx.product_term(a, b, p)])
        return d
    raise ValueError(f"unknown eltwise op {op!r}; known: add, sub, mul")


def reduce(dst, src, dim: str, kind: str, ecfg, acc: bool = False):
    """Reductions; only the output positions of Dst change.

    row:    Dst[r, 0] over src[r, :] (src is SrcA), chunks of mm_inner columns in order.
    col:    Dst[0, c] over src[:, c] (src is SrcB), chunks of mm_inner rows in order.
    scalar: Dst[0, 0] over src (SrcA), row by row, chunks of mm_inner columns.
    Each step combines the running value with one chunk: fused_sum(run, chunk...)
    for sum, fmax_reduce for max.  Without ``acc`` the running value starts at
    +0 (sum) or -inf (max).
    """
    dst = np.asarray(dst, dtype=np.uint32).copy()
    src = np.asarray(src, dtype=np.uint32)
    k = ecfg.mm_inner
    init = np.uint32(0) if kind == "sum" else nx.NEG_INF
    if kind not in ("sum", "max"):
        raise ValueError(f"unknown reduction {kind!r}; known: sum, max")

    def step(run, chunk):
        if kind == "sum":
            return nx.fused_sum([nx.fp32_term(run)] + [nx.fp32_term(c) for c in chunk])
        return nx.fmax_reduce([run] + list(chunk))

    if dim == "row":
        run = dst[:, 0] if acc else np.full(ecfg.tile_rows, init, np.uint32)
        for c0 in range(0, ecfg.tile_cols, k):
            run = step(run, [src[:, c0 + j] for j in range(k)])
        dst[:, 0] = run
    elif dim == "col":
        run = dst[0, :] if acc else np.full(ecfg.tile_cols, init, np.uint32)
        for r0 in range(0, ecfg.tile_rows, k):
            run = step(run, [src[r0 + j, :] for j in range(k)])
        dst[0, :] = run
    elif dim == "scalar":
        run = np.array([dst[0, 0] if acc else init], dtype=np.uint32)
        for r in range(ecfg.tile_rows):
            for c0 in range(0, ecfg.tile_cols, k):
                run = step(run, [src[r, c0 + j:c0 + j + 1] for j in range(k)])
        dst[0, 0] = run[0]
    else:
        raise ValueError(f"unknown reduction dim {dim!r}; known: row, col, scalar")
    return dst


def gelu_program(x):
    """The SFPU's gelu micro-program, step by step (each step one rounded primitive)."""
    t = nx.fmul(x, x)
    t = nx.fmul(t, GELU_C)
    t = nx.fmul(t, x)
    t = nx.fadd(t, x)
    t = nx.fmul(t, GELU_K)
    t = nx.fexp(t)
    t = nx.fadd(t, ONE)
    t = nx.frecip(t)
    return nx.fmul(t, x)


def sfpu(dst, op: str, scalar=0):
    """An SFPU operation on every element of a Dst tile; ``scalar`` is an fp32 pattern."""
    x = np.asarray(dst, dtype=np.uint32)
    s = np.uint32(scalar)
    if op == "relu":
        return nx.frelu(x)
    if op == "exp":
        return nx.fexp(x)
    if op == "recip":
        return nx.frecip(x)
    if op == "sqrt":
        return nx.fsqrt(x)
    if op == "gelu":
        return gelu_program(x)
    if op == "adds":
        return nx.fadd(x, s)
    if op == "muls":
        return nx.fmul(x, s)
    raise ValueError(f"unknown SFPU op {op!r}; known: {SFPU_OPS}")
