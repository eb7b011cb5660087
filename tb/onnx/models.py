"""Small ONNX models for the tests, built with onnx.helper: an MLP, one attention block, one-node graphs."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 20          # Gelu is in the default domain from opset 20
SEQ, DIM, HIDDEN = 32, 64, 128


def _weight(rng, *shape, scale=None):
    scale = 1.0 / np.sqrt(shape[0]) if scale is None else scale
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def _model(nodes, inputs, outputs, initializers, opset=OPSET, name="test") -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def mlp(seed: int = 0, rows: int = SEQ, dim: int = DIM, hidden: int = HIDDEN, classes: int = 32):
    """x [rows, dim] -> MatMul + Add -> Relu -> MatMul + Add -> Softmax -> y [rows, classes]."""
    rng = np.random.default_rng(seed)
    init = {"w1": _weight(rng, dim, hidden), "b1": _weight(rng, hidden, scale=0.1),
            "w2": _weight(rng, hidden, classes), "b2": _weight(rng, classes, scale=0.1)}
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1/matmul"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1/bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"], name="fc2/matmul"),
        helper.make_node("Add", ["h3", "b2"], ["h4"], name="fc2/bias"),
        helper.make_node("Softmax", ["h4"], ["y"], name="softmax", axis=-1),
    ]
    return _model(nodes, [("x", [rows, dim])], [("y", [rows, classes])], init, name="mlp")


def attention(seed: int = 0, seq: int = SEQ, dim: int = DIM):
    """One single-head attention block with a residual: x [1, seq, dim] -> y [1, seq, dim].

    LayerNorm; Q, K, V = MatMuls; scores = Q @ Transpose(K) / sqrt(dim); Softmax; @ V;
    Reshape to [seq, dim]; output projection MatMul + bias Add; Reshape back; + x.
    """
    rng = np.random.default_rng(seed)
    init = {
        "ln_scale": (1.0 + 0.1 * rng.standard_normal(dim)).astype(np.float32),
        "ln_bias": (0.1 * rng.standard_normal(dim)).astype(np.float32),
        "wq": _weight(rng, dim, dim), "wk": _weight(rng, dim, dim), "wv": _weight(rng, dim, dim),
        "wo": _weight(rng, dim, dim), "bo": _weight(rng, dim, scale=0.1),
        "scale": np.array(np.sqrt(dim), dtype=np.float32),
        "flat_shape": np.array([-1, dim], dtype=np.int64),
        "batch_shape": np.array([1, -1, dim], dtype=np.int64),
    }
    nodes = [
        helper.make_node("LayerNormalization", ["x", "ln_scale", "ln_bias"], ["ln"], name="ln", axis=-1,
                         epsilon=1e-5),
        helper.make_node("MatMul", ["ln", "wq"], ["q"], name="q"),
        helper.make_node("MatMul", ["ln", "wk"], ["k"], name="k"),
        helper.make_node("MatMul", ["ln", "wv"], ["v"], name="v"),
        helper.make_node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="qk"),
        helper.make_node("Div", ["scores", "scale"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["context"], name="pv"),
        helper.make_node("Reshape", ["context", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "wo"], ["proj0"], name="out_proj/matmul"),
        helper.make_node("Add", ["proj0", "bo"], ["proj1"], name="out_proj/bias"),
        helper.make_node("Reshape", ["proj1", "batch_shape"], ["proj"], name="unflatten"),
        helper.make_node("Add", ["proj", "x"], ["y"], name="residual"),
    ]
    return _model(nodes, [("x", [1, seq, dim])], [("y", [1, seq, dim])], init, name="attention")


def single(op_type: str, inputs: list, output_shape, initializers: dict | None = None, opset: int = OPSET,
           name: str | None = None, outputs: list | None = None, **attributes):
    """A graph of one node: ``inputs`` are (name, shape) of the runtime inputs, then the initializers'
    names follow in the node's inputs (in ``initializers``' order) unless ``name`` lists them."""
    initializers = dict(initializers or {})
    node_inputs = [n for n, _ in inputs] + list(initializers)
    outputs = outputs or ["y"]
    node = helper.make_node(op_type, node_inputs, outputs, name=name or op_type.lower(), **attributes)
    return _model([node], inputs, [(outputs[0], output_shape)], initializers, opset=opset, name=op_type)


def random_inputs(model: onnx.ModelProto, seed: int, positive: bool = False) -> dict:
    """Seeded normal (or, with ``positive``, uniform 0.5..2) float32 inputs of the model's declared shapes."""
    rng = np.random.default_rng(seed)
    initialized = {t.name for t in model.graph.initializer}
    arrays = {}
    for value in model.graph.input:
        if value.name in initialized:
            continue
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        if positive:
            arrays[value.name] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        else:
            arrays[value.name] = rng.standard_normal(shape).astype(np.float32)
    return arrays
