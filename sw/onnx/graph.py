"""Loading an ONNX model and checking it before anything runs: :func:`load`, :func:`check`.

:func:`check` refuses, naming the node, first any op type outside
:data:`~tessera.sw.onnx.ops.SUPPORTED_OPS` or of another domain and any
attribute an op's mapping does not know, then (after ONNX shape inference,
with the graph inputs' shapes fixed to the actual inputs' when they are
given) any attribute value, shape or broadcast a mapping does not handle.
What it returns, a :class:`Plan`, is everything :func:`~tessera.sw.onnx.run`
needs: the steps in graph order (a MatMul and the Add of a constant bias row
that is its only reader are one step, a ``ttnn.linear``), every value's shape,
the constants (initializers, ``Constant`` nodes, and layout-only nodes of
constants folded on the host) and each value's last reader.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from tessera.sw.onnx.errors import OnnxError
from tessera.sw.onnx.ops import OPS, SUPPORTED_OPS, OpContext

#: Element types a graph input or a data initializer may have (computed as bfloat16 on the chip).
FLOAT_TYPES = {
    onnx.TensorProto.FLOAT: "float",
    onnx.TensorProto.FLOAT16: "float16",
    onnx.TensorProto.BFLOAT16: "bfloat16",
    onnx.TensorProto.DOUBLE: "double",
}

#: The default ONNX operator domain, under its two spellings.
DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclasses.dataclass
class Plan:
    """A checked model: what :func:`~tessera.sw.onnx.run` executes."""

    model: onnx.ModelProto
    opset: int                           # the default domain's opset version
    steps: list                          # Step per node that runs, graph order (folded nodes left out)
    inputs: list                         # names of the runtime inputs, graph order
    outputs: list                        # names of the graph outputs, graph order
    shapes: dict                         # value name -> tuple of dims (int, None if unknown) or None
    constants: dict                      # value name -> np.ndarray (float32 or int64), host side
    last_use: dict                       # value name -> index in ``steps`` of its last reader

    def shape(self, name: str):
        return self.shapes.get(name)

    def is_constant(self, name: str) -> bool:
        return name in self.constants


@dataclasses.dataclass(frozen=True)
class Step:
    """One node to run: the node, how messages name it, its attributes (defaults filled in), and
    ``bias``: the Add node fused into a MatMul (one ttnn.linear), with its constant row."""

    node: onnx.NodeProto
    label: str
    attributes: dict
    bias: tuple | None = None          # (Add node, name of its constant [N] / [1, N] input)

    @property
    def name(self) -> str:
        """The node's name (unnamed: its first output); a fused pair's two names joined by '+'."""
        names = [self.node] + ([self.bias[0]] if self.bias else [])
        return "+".join(n.name or n.output[0] for n in names)

    @property
    def op_type(self) -> str:
        return self.node.op_type + ("+Add" if self.bias else "")

    @property
    def outputs(self) -> list:
        return list((self.bias[0] if self.bias else self.node).output)


def node_label(node: onnx.NodeProto, index: int) -> str:
    """How messages name a node: ``Softmax node 'attn/softmax'``, or its position and output if unnamed."""
    if node.name:
        return f"{node.op_type} node {node.name!r}"
    output = node.output[0] if node.output else "?"
    return f"{node.op_type} node #{index} (unnamed, output {output!r})"


def load(path_or_model) -> onnx.ModelProto:
    """A model from a file path, serialized bytes or a ``ModelProto``, validated by the ONNX checker."""
    if isinstance(path_or_model, onnx.ModelProto):
        model = path_or_model
    elif isinstance(path_or_model, (bytes, bytearray)):
        try:
            model = onnx.load_from_string(bytes(path_or_model))
        except Exception as exc:  # noqa: BLE001 -- protobuf raises its own DecodeError
            raise OnnxError(f"not an ONNX model: {exc}") from exc
    elif isinstance(path_or_model, (str, os.PathLike)):
        path = Path(path_or_model)
        if not path.is_file():
            raise OnnxError(f"ONNX model {str(path)!r}: no such file")
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # noqa: BLE001
            raise OnnxError(f"ONNX model {str(path)!r}: not an ONNX model ({exc})") from exc
    else:
        raise OnnxError(f"load: expected a path, bytes or an onnx.ModelProto, got {type(path_or_model).__name__}")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxError(f"not a valid ONNX model: {first}") from exc
    return model


def _default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return entry.version
    raise OnnxError("the model imports no opset of the default ONNX domain (only "
                    f"{', '.join(repr(e.domain) for e in model.opset_import)}); its ops are not supported")


def _dims(type_proto) -> tuple | None:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in type_proto.tensor_type.shape.dim)


def _runtime_inputs(model: onnx.ModelProto) -> list:
    initialized = {t.name for t in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initialized]


def _check_input_shapes(model: onnx.ModelProto, input_shapes: dict) -> None:
    """The given shapes name exactly the runtime inputs and fit their declared static dims."""
    declared = {value.name: value for value in _runtime_inputs(model)}
    missing = [name for name in declared if name not in input_shapes]
    if missing:
        raise OnnxError(f"input {missing[0]!r} is missing (the model's inputs: {', '.join(declared)})")
    extra = [name for name in input_shapes if name not in declared]
    if extra:
        raise OnnxError(f"input {extra[0]!r} is not an input of the model (its inputs: {', '.join(declared)})")
    for name, shape in input_shapes.items():
        shape = tuple(int(d) for d in shape)
        dims = _dims(declared[name].type)
        if dims is None:
            continue
        if len(dims) != len(shape) or any(d is not None and d != s for d, s in zip(dims, shape)):
            wanted = "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"
            raise OnnxError(f"input {name!r} has shape {list(shape)}; the model declares {wanted}")


def _with_input_shapes(model: onnx.ModelProto, input_shapes: dict) -> onnx.ModelProto:
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    for value in fixed.graph.input:
        if value.name in input_shapes:
            shape = value.type.tensor_type.shape
            shape.Clear()
            for d in input_shapes[value.name]:
                shape.dim.add().dim_value = int(d)
    return fixed


def _infer(model: onnx.ModelProto) -> dict:
    try:
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001 -- onnx raises InferenceError / ValidationError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxError(f"ONNX shape inference failed: {first}") from exc
    graph = inferred.graph
    shapes = {}
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        shapes[value.name] = _dims(value.type)
    for tensor in graph.initializer:
        shapes[tensor.name] = tuple(tensor.dims)
    return shapes


def _constant_array(tensor: onnx.TensorProto) -> np.ndarray:
    array = numpy_helper.to_array(tensor)
    if tensor.data_type in FLOAT_TYPES:
        return np.asarray(array, dtype=np.float32)
    return np.asarray(array)


def _fuse_bias_adds(steps: list, graph, shapes: dict, constants: dict) -> list:
    """MatMul whose one reader is an Add of a constant row ([N] or [1, N]): one step, ttnn.linear's bias.

    The Add's other input is a constant, so it can run where the MatMul runs; nothing else reads the
    product, so it never exists on its own."""
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    outputs = {output.name for output in graph.output}
    fused, absorbed = [], set()
    for index, step in enumerate(steps):
        if index in absorbed:
            continue
        product = step.node.output[0]
        if step.node.op_type == "MatMul" and readers.get(product) == 1 and product not in outputs:
            later = next((k for k in range(index + 1, len(steps)) if product in steps[k].node.input), None)
            add = steps[later].node if later is not None else None
            if add is not None and add.op_type == "Add":
                other = add.input[1] if add.input[0] == product else add.input[0]
                shape = shapes.get(product)
                row = constants.get(other)
                if (shape and row is not None and tuple(row.shape) in ((shape[-1],), (1, shape[-1]))
                        and shapes.get(add.output[0]) == shape):
                    fused.append(dataclasses.replace(step, bias=(add, other),
                                                     label=f"{step.label} + {steps[later].label}"))
                    absorbed.add(later)
                    continue
        fused.append(step)
    return fused


def check(model, input_shapes: dict | None = None) -> Plan:
    """Check every node of ``model`` (a path, bytes or ``ModelProto``) maps onto ttnn ops.

    ``input_shapes`` (name -> shape), when given, must name exactly the model's
    runtime inputs; their shapes replace the declared ones for shape inference
    (so symbolic dims become known).  Refusals raise :class:`OnnxError` naming the
    op type, the node and the attribute or value; nothing runs on any device.
    """
    model = load(model)
    opset = _default_opset(model)
    graph = model.graph

    # Op types, domains and attribute names first: an op the front end does not run is named as
    # such, not by a shape inference that may not know it either.
    attributes_of = []
    for index, node in enumerate(graph.node):
        label = node_label(node, index)
        if node.domain not in DEFAULT_DOMAINS:
            raise OnnxError(f"{label}: op domain {node.domain!r} is not supported (only the default ONNX domain; "
                            f"ops: {', '.join(SUPPORTED_OPS)})")
        spec = OPS.get(node.op_type)
        if spec is None:
            raise OnnxError(f"{label}: op type {node.op_type!r} is not supported (supported: "
                            f"{', '.join(SUPPORTED_OPS)})")
        attributes = dict(spec.attributes(opset))
        for attribute in node.attribute:
            if attribute.name not in attributes:
                known = ", ".join(attributes) or "none"
                raise OnnxError(f"{label}: attribute {attribute.name!r} is not supported (supported: {known})")
            attributes[attribute.name] = helper.get_attribute_value(attribute)
        attributes_of.append(attributes)

    if input_shapes is not None:
        _check_input_shapes(model, input_shapes)
        model_for_shapes = _with_input_shapes(model, input_shapes)
    else:
        model_for_shapes = model
    shapes = _infer(model_for_shapes)

    constants = {tensor.name: _constant_array(tensor) for tensor in graph.initializer}
    runtime = [value.name for value in _runtime_inputs(model)]
    for name in runtime:  # an input that overrides an initializer of the same name is not constant
        constants.pop(name, None)

    used = frozenset([name for node in graph.node for name in node.input if name]
                     + [output.name for output in graph.output])
    planned = []
    for index, (node, attributes) in enumerate(zip(graph.node, attributes_of)):
        label = node_label(node, index)
        spec = OPS[node.op_type]
        context = OpContext(node=node, label=label, attributes=attributes, opset=opset,
                            shapes=shapes, constants=constants, used=used)
        spec.check(context)
        folded = spec.fold(context) if spec.fold is not None else None
        if folded is not None:
            for name, array in zip(node.output, folded):
                constants[name] = array
                shapes[name] = tuple(array.shape)
            continue
        planned.append(Step(node=node, label=label, attributes=attributes))

    for value in _runtime_inputs(model):
        elem = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else None
        if elem not in FLOAT_TYPES:
            kind = onnx.TensorProto.DataType.Name(elem) if elem is not None else "a non-tensor type"
            raise OnnxError(f"input {value.name!r} is {kind}; only float inputs are supported "
                            f"({', '.join(FLOAT_TYPES.values())}, computed as bfloat16)")
    for output in graph.output:
        if output.name not in shapes or shapes[output.name] is None:
            shapes[output.name] = _dims(output.type)

    planned = _fuse_bias_adds(planned, graph, shapes, constants)
    last_use = {}
    for index, step in enumerate(planned):
        for name in list(step.node.input) + ([step.bias[1]] if step.bias else []):
            if name:
                last_use[name] = index
    return Plan(model=model, opset=opset, steps=planned, inputs=runtime,
                outputs=[output.name for output in graph.output], shapes=shapes,
                constants=constants, last_use=last_use)
