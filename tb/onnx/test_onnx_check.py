"""The ONNX front end's checks, with no chip: what ``check`` accepts, and each refusal by name.

Every refusal names the op type and the node (and the attribute and its value,
or the input and its shape); ``run`` refuses before it uploads anything.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tessera.sw import onnx as tonnx
from tessera.sw.onnx import runner
from tessera.sw.onnx.ops import binary_layout, reshape_target, ttnn_broadcasts
from tb.onnx import models
from tb.onnx.fake_ttnn import FakeTtnn

R, C = 32, 64


def refused(model, match, input_shapes=None):
    with pytest.raises(tonnx.OnnxError, match=match):
        tonnx.check(model, input_shapes)


def test_the_test_models_pass():
    for model, fused in ((models.mlp(), 2), (models.attention(), 1)):
        plan = tonnx.check(model)
        assert len(plan.steps) == len(model.graph.node) - fused      # MatMul + bias Add: one step
        assert all(shape is not None and None not in shape for shape in plan.shapes.values())


def test_check_takes_a_path_and_refuses_what_is_not_a_model(tmp_path):
    path = tmp_path / "mlp.onnx"
    onnx.save(models.mlp(), str(path))
    assert [s.node.name for s in tonnx.check(path).steps][0] == "fc1/matmul"
    with pytest.raises(tonnx.OnnxError, match=r"'.*missing.onnx': no such file"):
        tonnx.load(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x01\x02not protobuf")
    with pytest.raises(tonnx.OnnxError, match="not an ONNX model"):
        tonnx.load(tmp_path / "junk.onnx")
    with pytest.raises(tonnx.OnnxError, match="expected a path, bytes or an onnx.ModelProto, got int"):
        tonnx.load(3)


def test_an_unsupported_op_is_refused_naming_type_and_node():
    model = models.single("Tanh", [("x", [R, C])], [R, C], name="block/act")
    refused(model, r"^Tanh node 'block/act': op type 'Tanh' is not supported \(supported: MatMul, Gemm, ")


def test_an_unnamed_node_is_named_by_position_and_output():
    node = helper.make_node("Tanh", ["x"], ["e"])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="first"), node], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [R, C])],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [R, C])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    refused(model, r"^Tanh node #1 \(unnamed, output 'e'\): op type 'Tanh' is not supported")


def test_an_op_of_another_domain_is_refused():
    node = helper.make_node("FastGelu", ["x"], ["y"], name="fg", domain="com.microsoft")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [R, C])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [R, C])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                    helper.make_opsetid("com.microsoft", 1)])
    refused(model, r"^FastGelu node 'fg': op domain 'com.microsoft' is not supported")


def test_an_attribute_the_mapping_does_not_know_is_refused_by_name():
    # Gemm before opset 7 has a `broadcast` attribute.
    model = models.single("Gemm", [("a", [R, C]), ("b", [C, R]), ("c", [R, R])], [R, R], opset=6, name="g",
                          broadcast=1)
    refused(model, r"^Gemm node 'g': attribute 'broadcast' is not supported \(supported: alpha, beta, transA, "
                   r"transB\)")


@pytest.mark.parametrize("attribute", ["transA", "transB"])
def test_gemm_transpose_flags_other_than_0_1_are_refused(attribute):
    model = models.single("Gemm", [("a", [R, R]), ("b", [R, R])], [R, R], name="g", **{attribute: 2})
    refused(model, rf"^Gemm node 'g': attribute {attribute}=2 is not supported \(0 or 1\)")


def test_gemm_every_alpha_beta_trans_and_constant_c_passes():
    rng = np.random.default_rng(0)
    for c_shape in ([R], [1, R], [C, R], [C, 1], []):
        model = models.single("Gemm", [("a", [R, C])], [C, R], {"b": rng.standard_normal((R, R), np.float32),
                                                                "c": rng.standard_normal(c_shape, np.float32)},
                              alpha=0.5, beta=2.0, transA=1, transB=1)
        tonnx.check(model)


def test_gemm_a_computed_c_that_ttnn_cannot_broadcast_is_refused():
    model = models.single("Gemm", [("a", [R, C]), ("b", [C, R]), ("c", [R, 1])], [R, R], name="g")
    refused(model, r"^Gemm node 'g': input C 'c' \[32, 1\] would be broadcast to the output's \[32, 32\]")
    tonnx.check(models.single("Gemm", [("a", [R, C]), ("b", [C, R]), ("c", [1, R])], [R, R]))


def test_softmax_only_on_the_last_axis():
    refused(models.single("Softmax", [("x", [R, C])], [R, C], name="sm", axis=0),
            r"^Softmax node 'sm': attribute axis=0 is not supported for input 'x' \[32, 64\]: only the last axis")
    tonnx.check(models.single("Softmax", [("x", [R, C])], [R, C], axis=1))
    # Before opset 13 the default axis is 1: the last axis of a matrix, not of a 3-D tensor.
    tonnx.check(models.single("Softmax", [("x", [R, C])], [R, C], opset=11))
    refused(models.single("Softmax", [("x", [2, R, C])], [2, R, C], opset=11, name="old"),
            r"^Softmax node 'old': attribute axis=1 is not supported")


def _layer_norm(**attributes):
    rng = np.random.default_rng(1)
    return models.single("LayerNormalization", [("x", [R, C])], [R, C],
                         {"scale": rng.standard_normal(C, np.float32), "bias": rng.standard_normal(C, np.float32)},
                         name="ln", **attributes)


def test_layer_norm_attributes():
    tonnx.check(_layer_norm(epsilon=1e-6))
    refused(_layer_norm(axis=0), r"^LayerNormalization node 'ln': attribute axis=0 is not supported")
    refused(_layer_norm(stash_type=0), r"^LayerNormalization node 'ln': attribute stash_type=0 is not supported")
    refused(_layer_norm(epsilon=-1.0), r"^LayerNormalization node 'ln': attribute epsilon=-1.0 is not supported")


def test_layer_norm_statistics_outputs_only_when_unused():
    rng = np.random.default_rng(1)
    init = {"scale": rng.standard_normal(C, np.float32)}
    unused = models.single("LayerNormalization", [("x", [R, C])], [R, C], init, name="ln",
                           outputs=["y", "mean", "inv_std"])
    tonnx.check(unused)
    node = helper.make_node("LayerNormalization", ["x", "scale"], ["y", "mean"], name="ln")
    use = helper.make_node("Relu", ["mean"], ["m"], name="use")
    graph = helper.make_graph([node, use], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [R, C])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [R, C]),
                               helper.make_tensor_value_info("m", TensorProto.FLOAT, [R, 1])],
                              [onnx.numpy_helper.from_array(init["scale"], "scale")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    refused(model, r"^LayerNormalization node 'ln': output 1 \(Mean, 'mean'\) is used; only output 0")


def test_rms_norm_attributes():
    rng = np.random.default_rng(1)
    init = {"scale": rng.standard_normal(C).astype(np.float32)}
    tonnx.check(models.single("RMSNormalization", [("x", [R, C])], [R, C], init, opset=23))
    refused(models.single("RMSNormalization", [("x", [R, C])], [R, C], init, opset=23, name="rms", axis=0),
            r"^RMSNormalization node 'rms': attribute axis=0 is not supported")
    refused(models.single("RMSNormalization", [("x", [R, C])], [R, C], init, opset=23, name="rms", stash_type=0),
            r"^RMSNormalization node 'rms': attribute stash_type=0 is not supported")


def test_gelu_only_the_tanh_form():
    refused(models.single("Gelu", [("x", [R, C])], [R, C], name="act", approximate="exact"),
            r"^Gelu node 'act': attribute approximate='exact' is not supported: 'none' \(erf form\) and 'tanh' run")
    tonnx.check(models.single("Gelu", [("x", [R, C])], [R, C], approximate="tanh"))
    tonnx.check(models.single("Gelu", [("x", [R, C])], [R, C]))   # 'none': the tanh form, within 4.7e-4


def test_transpose_only_swaps_the_last_two_dims():
    tonnx.check(models.single("Transpose", [("x", [2, R, C])], [2, C, R], perm=[0, 2, 1]))
    tonnx.check(models.single("Transpose", [("x", [R, C])], [C, R]))            # default perm: reversed
    tonnx.check(models.single("Transpose", [("x", [2, R, C])], [2, R, C], perm=[0, 1, 2]))
    refused(models.single("Transpose", [("x", [2, R, C])], [R, 2, C], name="t", perm=[1, 0, 2]),
            r"^Transpose node 't': attribute perm=\[1, 0, 2\] is not supported for input 'x' \[2, 32, 64\]: "
            r"only the swap of the last two dims \(perm=\[0, 2, 1\]\)")
    refused(models.single("Transpose", [("x", [2, R, C])], [C, R, 2], name="t"), r"perm=\[2, 1, 0\]")


def test_reshape_needs_a_constant_shape():
    tonnx.check(models.single("Reshape", [("x", [1, R, C])], [R, C], {"s": np.array([-1, C], np.int64)}))
    tonnx.check(models.single("Reshape", [("x", [1, R, C])], [1, R, C], {"s": np.array([0, 0, -1], np.int64)}))
    graph = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [R, C]),
                               helper.make_tensor_value_info("s", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["h", "w"])])
    refused(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]),
            r"^Reshape node 'r': input shape 's' is not a constant \(a graph input or computed in the graph\); "
            r"only a constant shape")
    refused(models.single("Reshape", [("x", [R, C])], ["h", "w"], {"s": np.array([0, C], np.int64)}, name="r",
                          allowzero=1),
            r"^Reshape node 'r': attribute allowzero=1 with shape \[0, 64\] asks for an empty tensor")


def test_reshape_target():
    assert reshape_target((1, R, C), [-1, C]) == (R, C)
    assert reshape_target((2, R, C), [0, -1]) == (2, R * C)
    assert reshape_target((R, C), [0, 2, -1]) == (R, 2, C // 2)
    assert reshape_target((R, C), [R, C], allowzero=1) == (R, C)
    for bad, match in (([-1, -1], "more than one -1"), ([3, -1], "does not divide"), ([R, R], "does not fit"),
                       ([0, 0, 0], "0 at index 2 has no input dim")):
        with pytest.raises(ValueError, match=match):
            reshape_target((R, C), bad)


def test_binary_broadcasts():
    assert ttnn_broadcasts((R, C), (C,)) and ttnn_broadcasts((R, C), (1, C)) and ttnn_broadcasts((2, R, C), (R, C))
    assert not ttnn_broadcasts((R, C), (R, 1)) and not ttnn_broadcasts((R, C), (2, R, C))
    assert not ttnn_broadcasts((2, 3, R, C), (2, 1, R, C)) and not ttnn_broadcasts((R, C), ())
    shapes = {"x": (R, C), "b": (C,), "col": (R, 1)}
    layout = binary_layout("Add", "b", "x", (R, C), shapes.get, lambda n: False)
    assert (layout.first, layout.second, layout.expand_first, layout.expand_second, layout.swapped) == \
        ("x", "b", False, False, True)
    layout = binary_layout("Sub", "col", "x", (R, C), shapes.get, lambda n: n == "col")
    assert (layout.first, layout.expand_first) == ("col", True)


def test_a_computed_operand_is_broadcast_only_the_ways_ttnn_does():
    tonnx.check(models.single("Add", [("x", [R, C]), ("b", [C])], [R, C]))
    tonnx.check(models.single("Add", [("b", [C]), ("x", [R, C])], [R, C]))     # swapped: b goes second
    tonnx.check(models.single("Mul", [("x", [2, R, C]), ("m", [R, C])], [2, R, C]))
    refused(models.single("Sub", [("b", [C]), ("x", [R, C])], [R, C], name="s"),
            r"^Sub node 's': input 'b' \[64\] would be broadcast to the output's \[32, 64\] in a way ttnn's binary "
            r"ops do not do .*only the second input may be the smaller")
    refused(models.single("Add", [("x", [R, C]), ("col", [R, 1])], [R, C], name="a"),
            r"^Add node 'a': input 'col' \[32, 1\] would be broadcast")
    # The same broadcasts of a constant are expanded on the host.
    rng = np.random.default_rng(2)
    tonnx.check(models.single("Sub", [("x", [R, C])], [R, C], {"col": rng.standard_normal((R, 1), np.float32)}))
    tonnx.check(models.single("Div", [("x", [R, C])], [R, C], {"d": np.float32(8.0)}))


def test_matmul_operands():
    refused(models.single("MatMul", [("x", [R, C]), ("v", [C])], [R], name="mv"),
            r"^MatMul node 'mv': input 'v' is \[64\] \(rank 1\); only operands of rank 2 or more")
    refused(models.single("MatMul", [("x", [R, C]), ("w", [2, C, R])], [2, R, R], name="mm"),
            r"^MatMul node 'mm': inputs 'x' \[32, 64\] and 'w' \[2, 64, 32\]: ttnn.matmul takes B's leading dims "
            r"only equal to A's or all 1")
    tonnx.check(models.single("MatMul", [("x", [2, R, C]), ("w", [C, R])], [2, R, R]))
    tonnx.check(models.single("MatMul", [("x", [2, R, C]), ("w", [2, C, R])], [2, R, R]))


def test_constant_nodes():
    node = helper.make_node("Constant", [], ["c"], name="names", value_strings=["a", "b"])
    graph = helper.make_graph([node, helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [R, C])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [R, C])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    refused(model, r"^Constant node 'names': attribute 'value_strings' is not supported")


def test_inputs_are_float_and_match_the_model():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.INT64, [R, C])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, [R, C])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    refused(model, r"^input 'x' is INT64; only float inputs are supported")
    mlp = models.mlp()
    refused(mlp, r"^input 'x' is missing \(the model's inputs: x\)", {})
    refused(mlp, r"^input 'z' is not an input of the model", {"x": (R, C), "z": (1,)})
    refused(mlp, r"^input 'x' has shape \[32, 32\]; the model declares \[32, 64\]", {"x": (R, R)})


def test_symbolic_dims_are_decided_with_the_actual_shapes():
    graph = helper.make_graph([helper.make_node("Sub", ["x", "y"], ["z"], name="sub")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", C]),
                               helper.make_tensor_value_info("y", TensorProto.FLOAT, ["other", C])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["rows", C])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    tonnx.check(model)                                  # the shapes are not known yet
    assert tonnx.check(model, {"x": (R, C), "y": (1, C)}).shape("z") == (R, C)
    refused(model, r"^Sub node 'sub': input 'x' \[1, 64\] would be broadcast", {"x": (1, C), "y": (R, C)})


def test_run_refuses_before_anything_reaches_the_device(monkeypatch):
    fake = FakeTtnn()
    monkeypatch.setattr(runner, "_ttnn", lambda: fake)
    model = models.single("Tanh", [("x", [R, C])], [R, C], name="act")
    with pytest.raises(tonnx.OnnxError, match="op type 'Tanh' is not supported"):
        tonnx.run(model, {"x": np.zeros((R, C), np.float32)}, device="device")
    with pytest.raises(tonnx.OnnxError, match=r"input 'x' is a int32 array; only float inputs"):
        tonnx.run(models.mlp(), {"x": np.zeros((R, C), np.int32)}, device="device")
    with pytest.raises(tonnx.OnnxError, match=r"input 'x' has shape \[32, 32\]"):
        tonnx.run(models.mlp(), {"x": np.zeros((R, R), np.float32)}, device="device")
    assert fake.uploads == 0 and fake.log == []


def test_pcc():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100)
    assert tonnx.pcc(x, x) == pytest.approx(1.0)
    assert tonnx.pcc(x, -x) == pytest.approx(-1.0)
    assert tonnx.pcc(np.ones(4), np.ones(4)) == 1.0
    assert np.isnan(tonnx.pcc([np.nan, 1.0], [1.0, 2.0]))
