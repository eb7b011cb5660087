"""The ONNX front end's graph walking with no chip: every mapping run on a numpy stand-in for ttnn
(tb/onnx/fake_ttnn.py, float32, the real ops' shape rules) against onnx.reference.ReferenceEvaluator.

What the chip adds (bfloat16 rounding, the engine's numerics) is tb/onnx/test_onnx_chip.py's; here
the results agree to float32 rounding, and every device tensor a run made is freed when it ends.
"""

from __future__ import annotations

import numpy as np
import pytest

from tessera.sw import onnx as tonnx
from tessera.sw.onnx import runner
from tb.onnx import models
from tb.onnx.fake_ttnn import FakeTtnn

R, C, N = 32, 64, 48


@pytest.fixture
def fake(monkeypatch):
    ttnn = FakeTtnn()
    monkeypatch.setattr(runner, "_ttnn", lambda: ttnn)
    return ttnn


def run_and_compare(fake, model, seed, positive=False, atol=1e-4):
    inputs = models.random_inputs(model, seed, positive=positive)
    profile = []
    outputs = tonnx.run(model, inputs, device="device", profile=profile)
    expected = tonnx.reference_outputs(model, inputs)
    assert outputs.keys() == expected.keys()
    for name in outputs:
        assert outputs[name].shape == expected[name].shape and outputs[name].dtype == np.float32
        np.testing.assert_allclose(outputs[name], expected[name], atol=atol, rtol=1e-4,
                                   err_msg=f"output {name} (seed {seed})")
    assert fake.live() == [], "the run left device tensors allocated"
    return profile


def test_mlp(fake):
    profile = run_and_compare(fake, models.mlp(), seed=1)
    # Each MatMul + bias Add is one ttnn.linear.
    assert [(p["node"], p["op_type"], p["ttnn_ops"]) for p in profile] == [
        ("fc1/matmul+fc1/bias", "MatMul+Add", ["linear"]), ("relu", "Relu", ["relu"]),
        ("fc2/matmul+fc2/bias", "MatMul+Add", ["linear"]), ("softmax", "Softmax", ["softmax"])]
    assert all(p["cycles"] == 100 for p in profile)


def test_a_matmul_is_fused_with_its_bias_add_only_when_that_is_its_one_reader(fake):
    from onnx import helper
    rng = np.random.default_rng(17)
    init = {"w": rng.standard_normal((C, N)).astype(np.float32), "row": rng.standard_normal((1, N)).astype(np.float32),
            "full": rng.standard_normal((R, N)).astype(np.float32)}
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h1"], name="mm1"),
             helper.make_node("Relu", ["x"], ["unrelated"], name="between"),
             helper.make_node("Add", ["row", "h1"], ["y1"], name="bias1"),          # fused: the row comes first
             helper.make_node("MatMul", ["x", "w"], ["h2"], name="mm2"),
             helper.make_node("Add", ["h2", "full"], ["y2"], name="full_add"),      # not a row: not fused
             helper.make_node("MatMul", ["x", "w"], ["h3"], name="mm3"),
             helper.make_node("Add", ["h3", "row"], ["y3"], name="bias3"),
             helper.make_node("Relu", ["h3"], ["y4"], name="second_reader")]      # h3 read twice: not fused
    model = models._model(nodes, [("x", [R, C])], [("unrelated", [R, C]), ("y1", [R, N]), ("y2", [R, N]),
                                                   ("y3", [R, N]), ("y4", [R, N])], init)
    profile = run_and_compare(fake, model, seed=18)
    assert [(p["node"], p["ttnn_ops"]) for p in profile] == [
        ("mm1+bias1", ["linear"]), ("between", ["relu"]), ("mm2", ["matmul"]), ("full_add", ["add"]),
        ("mm3", ["matmul"]), ("bias3", ["add"]), ("second_reader", ["relu"])]


def test_attention(fake):
    profile = run_and_compare(fake, models.attention(), seed=2)
    ops = {p["node"]: p["ttnn_ops"] for p in profile}
    assert ops["scale"] == ["multiply"]         # Div by a scalar constant: one multiply by 1/8
    assert ops["k_t"] == ["transpose"] and ops["flatten"] == ["reshape"]
    assert ops["out_proj/matmul+out_proj/bias"] == ["linear"]
    # The weights were uploaded once each, with the input.
    assert fake.uploads == 1 + 7


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("c_shape", [None, (N,), (1, N), (R, N), (R, 1), ()])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 2.0)])
def test_gemm_with_constant_operands(fake, trans_a, trans_b, c_shape, alpha, beta):
    rng = np.random.default_rng(3)
    b = rng.standard_normal((N, C) if trans_b else (C, N)).astype(np.float32)
    init = {"b": b}
    if c_shape is not None:
        init["c"] = rng.standard_normal(c_shape).astype(np.float32)
    model = models.single("Gemm", [("a", [C, R] if trans_a else [R, C])], [R, N], init, alpha=alpha, beta=beta,
                          transA=trans_a, transB=trans_b)
    profile = run_and_compare(fake, model, seed=4)
    ops = profile[0]["ttnn_ops"]
    assert ops[0] == ("transpose" if trans_a else ops[0])
    if c_shape in ((N,), (1, N)):
        assert ops[-1] == "linear"                 # a one-row C is linear's bias (alpha folded into B)


def test_gemm_with_computed_operands(fake):
    model = models.single("Gemm", [("a", [R, C]), ("b", [N, C]), ("c", [1, N])], [R, N], alpha=0.25, beta=-1.0,
                          transB=1)
    profile = run_and_compare(fake, model, seed=5)
    assert profile[0]["ttnn_ops"] == ["transpose", "matmul", "multiply", "multiply", "add"]


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("const_shape,const_first", [((), False), ((), True), ((C,), False), ((C,), True),
                                                     ((R, 1), False), ((R, C), True), ((1, 1), False)])
def test_binary_with_a_constant(fake, op_type, const_shape, const_first):
    rng = np.random.default_rng(6)
    value = rng.uniform(0.5, 2.0, const_shape).astype(np.float32)
    inputs = [("x", [R, C])]
    if const_first:  # the constant is the node's first input
        from onnx import helper
        model = models._model([helper.make_node(op_type, ["k", "x"], ["y"], name="op")], inputs, [("y", [R, C])],
                              {"k": value})
    else:
        model = models.single(op_type, inputs, [R, C], {"k": value})
    profile = run_and_compare(fake, model, seed=7, positive=True)
    ops = profile[0]["ttnn_ops"]
    if value.size == 1 and (not const_first or op_type in ("Add", "Mul")):
        assert len(ops) == 1                       # a float operand
    if op_type == "Div":                           # a constant divisor's reciprocal is taken on the host
        assert ops.count("reciprocal") == (1 if const_first else 0)


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("a_shape,b_shape", [([R, C], [R, C]), ([R, C], [C]), ([2, R, C], [R, C]),
                                             ([2, R, C], [1, 1, C])])
def test_binary_of_computed_tensors(fake, op_type, a_shape, b_shape):
    out = list(np.broadcast_shapes(tuple(a_shape), tuple(b_shape)))
    model = models.single(op_type, [("a", a_shape), ("b", b_shape)], out)
    profile = run_and_compare(fake, model, seed=8, positive=True)
    assert profile[0]["ttnn_ops"] == (["reciprocal", "multiply"] if op_type == "Div" else
                                      [{"Add": "add", "Sub": "subtract", "Mul": "multiply"}[op_type]])


def test_commutative_ops_swap_a_broadcast_first_operand(fake):
    for op_type in ("Add", "Mul", "Div"):
        run_and_compare(fake, models.single(op_type, [("b", [C]), ("a", [R, C])], [R, C]), seed=9, positive=True)


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
def test_a_node_with_one_input_twice(fake, op_type):
    from onnx import helper
    model = models._model([helper.make_node(op_type, ["x", "x"], ["y"])], [("x", [R, C])], [("y", [R, C])], {})
    run_and_compare(fake, model, seed=19, positive=True)


@pytest.mark.parametrize("op_type,attributes,positive", [
    ("Relu", {}, False), ("Sqrt", {}, True), ("Reciprocal", {}, True), ("Gelu", {"approximate": "tanh"}, False),
    ("Softmax", {"axis": -1}, False), ("Exp", {}, False), ("Sigmoid", {}, False), ("Neg", {}, False)])
def test_unary(fake, op_type, attributes, positive):
    run_and_compare(fake, models.single(op_type, [("x", [2, R, C])], [2, R, C], **attributes), seed=10,
                    positive=positive)


def test_layer_norm_without_bias(fake):
    rng = np.random.default_rng(11)
    model = models.single("LayerNormalization", [("x", [R, C])], [R, C],
                          {"scale": rng.standard_normal(C).astype(np.float32)}, epsilon=1e-3)
    run_and_compare(fake, model, seed=12)


def test_layout_ops(fake):
    from onnx import helper
    rng = np.random.default_rng(13)
    w = rng.standard_normal((N, C)).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["w"], ["wt"], name="w_t"),             # a constant: folded on the host
        helper.make_node("Identity", ["x"], ["x2"], name="same"),
        helper.make_node("MatMul", ["x2", "wt"], ["h"], name="mm"),            # [R, N]
        helper.make_node("Reshape", ["h", "s1"], ["h3"], name="to3d"),          # [2, 16, N]
        helper.make_node("Transpose", ["h3"], ["h3t"], name="swap", perm=[0, 2, 1]),
        helper.make_node("Transpose", ["h3t"], ["h3u"], name="keep", perm=[0, 1, 2]),
        helper.make_node("Reshape", ["h3u", "s2"], ["y"], name="same_shape"),   # an identity reshape
        helper.make_node("Constant", [], ["k"], name="k", value_float=3.0),
        helper.make_node("Mul", ["y", "k"], ["z"], name="times3"),
    ]
    model = models._model(nodes, [("x", [R, C])], [("z", [2, N, 16])],
                          {"w": w, "s1": np.array([2, -1, N], np.int64), "s2": np.array([0, 0, 16], np.int64)})
    profile = run_and_compare(fake, model, seed=14)
    assert [(p["node"], p["ttnn_ops"]) for p in profile] == [
        ("same", []), ("mm", ["matmul"]), ("to3d", ["reshape"]), ("swap", ["transpose"]), ("keep", []),
        ("same_shape", []), ("times3", ["multiply"])]


def test_an_output_that_is_an_input_or_a_constant(fake):
    from onnx import helper
    nodes = [helper.make_node("Identity", ["x"], ["same"]), helper.make_node("Identity", ["k"], ["konst"]),
             helper.make_node("Relu", ["x"], ["r"])]
    model = models._model(nodes, [("x", [R, C])], [("same", [R, C]), ("konst", [C]), ("r", [R, C])],
                          {"k": np.arange(C, dtype=np.float32)})
    run_and_compare(fake, model, seed=15)


def test_a_ttnn_refusal_names_the_node(fake, monkeypatch):
    def refuse(*args, **kwargs):
        raise fake.TtnnError("ttnn.relu: the input is too large")
    monkeypatch.setattr(fake, "relu", refuse)
    model = models.mlp()
    with pytest.raises(tonnx.OnnxError, match=r"^Relu node 'relu': ttnn.relu: the input is too large"):
        tonnx.run(model, models.random_inputs(model, 16), device="device")
    assert fake.live() == []                       # freed on the way out too


def test_rms_norm(fake):
    rng = np.random.default_rng(21)
    model = models.single("RMSNormalization", [("x", [2, R, C])], [2, R, C],
                          {"scale": rng.standard_normal(C).astype(np.float32)}, opset=23, epsilon=1e-4)
    profile = run_and_compare(fake, model, seed=22)
    assert profile[0]["ttnn_ops"] == ["rms_norm"]


def test_concat(fake):
    from onnx import helper
    rng = np.random.default_rng(23)
    nodes = [helper.make_node("Concat", ["x", "k"], ["wide"], name="cat_last", axis=-1),        # [R, 2C]
             helper.make_node("Concat", ["x", "x", "x"], ["tall"], name="cat_rows", axis=0),    # [3R, C]
             helper.make_node("Concat", ["x"], ["one"], name="cat_one", axis=0)]               # the input itself
    init = {"k": rng.standard_normal((R, C)).astype(np.float32)}
    model = models._model(nodes, [("x", [R, C])], [("wide", [R, 2 * C]), ("tall", [3 * R, C]), ("one", [R, C])],
                          init)
    profile = run_and_compare(fake, model, seed=24)
    assert [p["ttnn_ops"] for p in profile] == [["concat"], ["concat"], ["concat"]]
    # A Concat of constants is folded on the host.
    folded = models._model([helper.make_node("Concat", ["k", "k"], ["kk"], name="cat_constants", axis=0),
                            helper.make_node("Add", ["x", "kk"], ["y"], name="add")],
                           [("x", [2 * R, C])], [("y", [2 * R, C])], init)
    plan = tonnx.check(folded)
    assert [s.node.name for s in plan.steps] == ["add"] and plan.constants["kk"].shape == (2 * R, C)
    run_and_compare(fake, folded, seed=25)
