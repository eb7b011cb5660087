"""Accuracy of the engine's arithmetic against float64, computed on the bit-exact golden.

The HDL equals the golden bit for bit (tb/engine), so these are the engine's
own errors.  Used by ``tessera engine-bench`` and recorded in docs/engine.md.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm

__all__ = ["matmul_accuracy", "sfpu_accuracy", "accuracy_report", "format_accuracy"]


def _f64(bits):
    return fm.bits_to_f32(bits).astype(np.float64)


def matmul_accuracy(ecfg, seed: int = 7, trials: int = 4) -> list:
    """bf16 x bf16 tile matmul per fidelity vs float64 of the same bf16 inputs."""
    rng = np.random.default_rng(seed)
    rows = []
    for fid in ge.FIDELITIES:
        worst_rel, worst_norm = 0.0, 0.0
        for _ in range(trials):
            a = rng.standard_normal((ecfg.tile_rows, ecfg.tile_cols)).astype(ml_dtypes.bfloat16).astype(np.float32)
            b = rng.standard_normal((ecfg.tile_rows, ecfg.tile_cols)).astype(ml_dtypes.bfloat16).astype(np.float32)
            ab, bb = fm.f32_to_bits(a), fm.f32_to_bits(b)
            ref = a.astype(np.float64) @ b.astype(np.float64)
            got = _f64(ge.matmul(np.zeros_like(ab), ab, bb, ecfg, fid, acc=False))
            worst_rel = max(worst_rel, float(np.abs(got - ref).max() / np.abs(ref).max()))
            worst_norm = max(worst_norm, float(np.linalg.norm(got - ref) / np.linalg.norm(ref)))
        rows.append({"op": f"matmul bf16 {fid}", "max_abs_err_rel_to_max": worst_rel,
                     "frobenius_rel_err": worst_norm})
    return rows


def _ulps(got, ref):
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.abs(got - ref) / ulp


def sfpu_accuracy() -> list:
    rows = []
    cases = {
        "exp": (np.linspace(-87.0, 88.0, 200001, dtype=np.float32), np.exp),
        "recip": (np.geomspace(1e-37, 1e37, 200001, dtype=np.float32), lambda v: 1.0 / v),
        "sqrt": (np.geomspace(1e-37, 1e37, 200001, dtype=np.float32), np.sqrt),
    }
    for op, (x, fn) in cases.items():
        xb = fm.f32_to_bits(x)
        got = _f64(ge.sfpu(xb, op))
        ref = fn(_f64(xb))
        u = _ulps(got, ref)
        rows.append({"op": op, "range": f"[{x.min():.3g}, {x.max():.3g}]", "max_ulp": float(u.max()),
                     "mean_ulp": float(u.mean())})
    x = np.linspace(-10, 10, 40001, dtype=np.float32)
    xb = fm.f32_to_bits(x)
    got = _f64(ge.sfpu(xb, "gelu"))
    x64 = _f64(xb)
    erf_gelu = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x64])
    tanh_gelu = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64 ** 3)))
    rows.append({"op": "gelu", "range": "[-10, 10]", "max_abs_err_vs_erf": float(np.abs(got - erf_gelu).max()),
                 "max_abs_err_vs_tanh_form": float(np.abs(got - tanh_gelu).max())})
    return rows


def accuracy_report(ecfg) -> dict:
    return {"matmul": matmul_accuracy(ecfg), "sfpu": sfpu_accuracy()}


def format_accuracy(report: dict) -> str:
    lines = ["| op | max abs error / max abs(ref) | Frobenius relative error |", "|---|---|---|"]
    for r in report["matmul"]:
        lines.append(f"| {r['op']} | {r['max_abs_err_rel_to_max']:.3e} | {r['frobenius_rel_err']:.3e} |")
    lines += ["", "| SFPU op | range | error vs float64 |", "|---|---|---|"]
    for r in report["sfpu"]:
        if "max_ulp" in r:
            lines.append(f"| {r['op']} | {r['range']} | max {r['max_ulp']:.3f} ulp, mean {r['mean_ulp']:.3f} ulp |")
        else:
            lines.append(f"| {r['op']} | {r['range']} | max abs {r['max_abs_err_vs_erf']:.3e} vs erf-gelu, "
                         f"{r['max_abs_err_vs_tanh_form']:.3e} vs tanh form |")
    return "\n".join(lines)
