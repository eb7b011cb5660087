"""What a run is compared against: ONNX's reference evaluator, and the Pearson correlation."""

from __future__ import annotations

import numpy as np

from tessera.sw.onnx.graph import load


def reference_outputs(model, inputs: dict) -> dict:
    """Output name -> array of ``model`` on ``inputs`` by ``onnx.reference.ReferenceEvaluator`` (float32)."""
    from onnx.reference import ReferenceEvaluator
    model = load(model)
    evaluator = ReferenceEvaluator(model)
    feeds = {name: np.asarray(value, dtype=np.float32) for name, value in inputs.items()}
    results = evaluator.run(None, feeds)
    return {output.name: np.asarray(result) for output, result in zip(model.graph.output, results)}


def pcc(actual, expected) -> float:
    """Pearson correlation of two arrays of the same shape (1.0 for two equal constant arrays)."""
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    b = np.asarray(expected, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"pcc: {a.size} values against {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    da, db = a - a.mean(), b - b.mean()
    norm = np.sqrt(np.dot(da, da) * np.dot(db, db))
    if norm == 0.0:
        return 1.0 if np.allclose(a, b) else 0.0
    return float(np.dot(da, db) / norm)
