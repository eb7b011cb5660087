"""ONNX graphs on the simulated chip through ttnn, against onnx.reference.ReferenceEvaluator (PCC >= 0.99).

The models (tb/onnx/models.py): an MLP, one attention block, Gemm's attribute and C variants, and a graph
of the element-wise and layout mappings (constants broadcast on the host, a computed divisor, a Reshape
that moves values); every node that runs ttnn ops reports the chip cycles of their programs.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from tessera import ttnn
from tessera.sw import onnx as tonnx
from tb.onnx import models

pytestmark = pytest.mark.xdist_group("onnx_chip")

MIN_PCC = 0.99
R, C, N = 32, 64, 48


@pytest.fixture(scope="module")
def device():
    with ttnn.manage_device(0) as dev:
        yield dev


def dram_free(device) -> int:
    from tessera.metal import BufferType
    return device.allocator(BufferType.DRAM).free_bytes


def run_on_chip(device, model, seed, positive=False):
    inputs = models.random_inputs(model, seed, positive=positive)
    profile = []
    free_before = dram_free(device)
    outputs = tonnx.run(model, inputs, device, profile=profile)
    if not any(node.op_type == "LayerNormalization" for node in model.graph.node):
        # (ttnn.layer_norm keeps a prepared [32, W] device copy of its weight and bias, which outlives them)
        assert dram_free(device) == free_before, "the run left device tensors allocated"
    expected = tonnx.reference_outputs(model, inputs)
    for name, value in outputs.items():
        assert value.shape == expected[name].shape
        score = tonnx.pcc(value, expected[name])
        assert score >= MIN_PCC, f"output {name}: PCC {score:.5f} (seed {seed})"
    for step in profile:
        assert (step["cycles"] > 0) == bool(step["ttnn_ops"]), step
    return outputs, expected, profile


def test_mlp(device):
    _, _, profile = run_on_chip(device, models.mlp(), seed=1)
    assert [p["ttnn_ops"] for p in profile] == [["linear"], ["relu"], ["linear"], ["softmax"]]


def test_attention_block(device):
    outputs, expected, profile = run_on_chip(device, models.attention(), seed=2)
    np.testing.assert_allclose(outputs["y"], expected["y"], atol=0.1)
    assert len(profile) == 13


def test_gemm(device):
    rng = np.random.default_rng(3)
    # transA, transB, alpha != 1 with a constant one-row C: ttnn.linear (A transposed on the chip).
    model = models.single("Gemm", [("a", [C, R])], [R, N],
                          {"b": rng.standard_normal((N, C)).astype(np.float32) / 8,
                           "c": rng.standard_normal(N).astype(np.float32)},
                          alpha=0.5, beta=2.0, transA=1, transB=1)
    _, _, profile = run_on_chip(device, model, seed=4)
    assert profile[0]["ttnn_ops"] == ["transpose", "linear"]
    # Computed B, alpha and beta on the chip, a full constant C.
    model = models.single("Gemm", [("a", [R, C]), ("b", [C, N])], [R, N],
                          {"c": rng.standard_normal((R, N)).astype(np.float32)}, alpha=0.25, beta=0.5)
    _, _, profile = run_on_chip(device, model, seed=5)
    assert profile[0]["ttnn_ops"] == ["matmul", "multiply", "add"]


def test_elementwise_and_layout_graph(device):
    rng = np.random.default_rng(6)
    init = {"half": np.array(0.5, np.float32), "column": rng.uniform(0.5, 1.5, (R, 1)).astype(np.float32),
            "gamma": rng.uniform(0.5, 1.5, C).astype(np.float32), "beta": rng.uniform(-0.5, 0.5, C).astype(np.float32),
            "rms_scale": rng.uniform(0.5, 1.5, C).astype(np.float32), "wide": np.array([2 * C, R], np.int64)}
    nodes = [
        helper.make_node("Sqrt", ["x"], ["s"], name="sqrt"),
        helper.make_node("Reciprocal", ["s"], ["r"], name="recip"),
        helper.make_node("Div", ["x", "y"], ["d"], name="div_by_row"),           # computed divisor [C]
        helper.make_node("Mul", ["d", "half"], ["m"], name="half"),
        helper.make_node("Gelu", ["m"], ["g"], name="gelu"),           # approximate='none' (erf form)
        helper.make_node("Sub", ["column", "g"], ["a"], name="column_minus"),     # constant first, expanded
        helper.make_node("Add", ["a", "r"], ["sum"], name="add"),
        helper.make_node("Neg", ["sum"], ["neg"], name="neg"),
        helper.make_node("Sigmoid", ["neg"], ["sig"], name="sigmoid"),
        helper.make_node("Exp", ["sig"], ["exp"], name="exp"),
        helper.make_node("Sub", ["exp", "sum"], ["diff"], name="diff"),
        helper.make_node("Relu", ["diff"], ["relu"], name="relu"),
        helper.make_node("LayerNormalization", ["relu", "gamma", "beta"], ["ln"], name="ln", epsilon=1e-5),
        helper.make_node("RMSNormalization", ["ln", "rms_scale"], ["rms"], name="rms", epsilon=1e-5),
        helper.make_node("Concat", ["rms", "x"], ["joined"], name="concat", axis=-1),            # [32, 128]
        helper.make_node("Reshape", ["joined", "wide"], ["moved"], name="reshape"),  # -> [128, 32]: values move
        helper.make_node("Transpose", ["moved"], ["y_t"], name="transpose"),
    ]
    model = models._model(nodes, [("x", [R, C]), ("y", [C])], [("y_t", [R, 2 * C])], init, opset=23)
    _, _, profile = run_on_chip(device, model, seed=7, positive=True)
    ops = {p["node"]: p["ttnn_ops"] for p in profile}
    assert ops["div_by_row"] == ["reciprocal", "multiply"]
    assert ops["half"] == ["multiply"] and ops["column_minus"] == ["subtract"]


def test_a_ttnn_refusal_on_the_chip_names_the_node(device):
    # A softmax row of 2048 values does not fit a core's 64 KiB of L1: ttnn.softmax refuses it before it runs.
    model = models.single("Softmax", [("x", [1, 2048])], [1, 2048], name="wide_softmax")
    with pytest.raises(tonnx.OnnxError, match=r"^Softmax node 'wide_softmax': ttnn.softmax: a row of 2048 values"):
        tonnx.run(model, models.random_inputs(model, 8), device)


def test_the_command_line(tmp_path, capsys):
    import onnx
    from tessera.sim.cli import main
    model = models.mlp()
    onnx.save(model, str(tmp_path / "mlp.onnx"))
    x = models.random_inputs(model, seed=9)["x"]
    np.save(tmp_path / "x.npy", x)
    status = main(["run-onnx", str(tmp_path / "mlp.onnx"), "--input", f"x={tmp_path / 'x.npy'}", "--check",
                   "--output-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "against onnx.reference (ok)" in out
    total = [line for line in out.splitlines() if line.startswith("total")]
    assert len(total) == 1 and int(total[0].split()[-1]) > 0
    assert tonnx.pcc(np.load(tmp_path / "out" / "y.npy"), tonnx.reference_outputs(model, {"x": x})["y"]) >= MIN_PCC


def test_a_tensor_larger_than_the_dram_is_refused_by_name(device):
    model = models.single("Relu", [("x", [1024, 1024])], [1024, 1024], name="big")
    with pytest.raises(tonnx.OnnxError, match=r"^input 'x': .*DRAM"):
        tonnx.run(model, {"x": np.zeros((1024, 1024), np.float32)}, device)
