"""Run ONNX graphs on the simulated chip through the ttnn tensor API (docs/onnx.md).

::

    from tessera import ttnn
    from tessera.sw import onnx as tonnx

    model = tonnx.load("mlp.onnx")
    tonnx.check(model)                      # refuses unsupported ops / attributes, naming them
    with ttnn.manage_device(0) as device:
        outputs = tonnx.run(model, {"x": x}, device)

Every node becomes one or a few ttnn ops (:data:`SUPPORTED_OPS`); initializers
become bfloat16 TILE device tensors once per run.
"""

from tessera.sw.onnx.errors import OnnxError
from tessera.sw.onnx.graph import Plan, check, load
from tessera.sw.onnx.ops import SUPPORTED_OPS
from tessera.sw.onnx.reference import pcc, reference_outputs
from tessera.sw.onnx.runner import run

__all__ = ["OnnxError", "Plan", "SUPPORTED_OPS", "check", "load", "pcc", "reference_outputs", "run"]
