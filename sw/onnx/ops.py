"""The op table: how each ONNX op is checked and which ttnn ops run it.

Every entry of :data:`OPS` has the op's attributes with their defaults (an
attribute not listed is refused by name), a ``check`` that refuses attribute
values and shapes the mapping does not handle, a ``run`` that issues the ttnn
ops through the :class:`~tessera.sw.onnx.runner.Session`, and for the
layout-only ops a ``fold`` that computes the node on the host when its input
is a constant (``Transpose`` of a weight, a ``Constant`` node...).

Shapes: :func:`~tessera.sw.onnx.check` without the inputs' shapes may not
know every dim (symbolic batch dims); a check that needs a dim it does not
know passes, and :func:`~tessera.sw.onnx.run` checks again with the actual
shapes before anything runs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
from onnx import numpy_helper

from tessera.sw.onnx.errors import OnnxError


@dataclasses.dataclass
class OpContext:
    """What an op's ``check`` and ``fold`` see of one node."""

    node: object
    label: str
    attributes: dict
    opset: int
    shapes: dict
    constants: dict
    used: frozenset = frozenset()    # names some node reads or the graph outputs

    def refuse(self, message: str):
        raise OnnxError(f"{self.label}: {message}")

    def shape(self, name: str):
        return self.shapes.get(name)

    def rank(self, name: str):
        shape = self.shapes.get(name)
        return None if shape is None else len(shape)

    def is_constant(self, name: str) -> bool:
        return name in self.constants

    def constant(self, name: str):
        return self.constants.get(name)


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """One ONNX op type: its attributes, its checks, the ttnn ops that run it."""

    maps_to: str                                  # the ttnn ops, for messages and docs
    defaults: Callable[[int], dict]              # opset -> {attribute: default}
    check: Callable[[OpContext], None]
    run: Callable
    fold: Callable[[OpContext], list] | None = None

    def attributes(self, opset: int) -> dict:
        return self.defaults(opset)


def _no_attributes(opset):
    return {}


def _known(shape) -> bool:
    return shape is not None and all(d is not None for d in shape)


def _shape_text(shape) -> str:
    if shape is None:
        return "of unknown shape"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _check_opset(ctx: OpContext, minimum: int):
    if ctx.opset < minimum:
        ctx.refuse(f"needs opset {minimum} or later (the model imports opset {ctx.opset})")


# --- element-wise binary ops ---------------------------------------------------------------

def ttnn_broadcasts(full, other) -> bool:
    """Whether ttnn's binary ops take ``other`` as their second operand against a first of shape ``full``
    (tessera.sw.ttnn.ops.eltwise: equal shapes; missing or size-1 leading dims when other's matrix repeats
    over full's; one row against full's rows)."""
    sa, sb = list(full), list(other)
    if not sa or not sb:
        return False
    sa = [1] + sa if len(sa) == 1 else sa
    sb = [1] + sb if len(sb) == 1 else sb
    if len(sb) > len(sa) or sb[-1] != sa[-1] or sb[-2] not in (1, sa[-2]):
        return False
    lead_a, lead_b = sa[:-2], sb[:-2]
    while lead_b and lead_b[0] == 1:
        lead_b = lead_b[1:]
    return not lead_b or lead_b == lead_a[len(lead_a) - len(lead_b):]


@dataclasses.dataclass(frozen=True)
class BinaryLayout:
    """How a binary node becomes one ttnn call: which input is the first operand, which the second
    (``swapped``: the node's second input goes first), and whether each, a constant, is expanded on the
    host to the output's shape (else it goes as it is)."""

    first: str
    second: str
    expand_first: bool
    expand_second: bool
    swapped: bool


def binary_layout(op_type: str, a: str, b: str, out, shape_of, is_constant) -> BinaryLayout:
    """The :class:`BinaryLayout` of ``a <op> b`` with output shape ``out``, or a ValueError naming the
    broadcast ttnn does not do.  Add, Mul and Div (a * reciprocal(b)) may swap their operands."""
    commutative = op_type in ("Add", "Mul", "Div")
    orders = [(a, b), (b, a)] if commutative and a != b else [(a, b)]
    for swapped, (first, second) in enumerate(orders):
        first_shape, second_shape = tuple(shape_of(first)), tuple(shape_of(second))
        if first_shape != out and not is_constant(first):
            continue
        if second_shape == out:
            expand_second = False
        elif second_shape and ttnn_broadcasts(out, second_shape):
            expand_second = False
        elif is_constant(second):
            expand_second = True
        else:
            continue
        return BinaryLayout(first, second, first_shape != out, expand_second, bool(swapped))
    computed = [name for name in (a, b) if not is_constant(name) and tuple(shape_of(name)) != out]
    name = computed[-1] if computed else b
    raise ValueError(f"input {name!r} {_shape_text(shape_of(name))} would be broadcast to the output's "
                     f"{_shape_text(out)} in a way ttnn's binary ops do not do (they take equal shapes, a second "
                     f"operand with missing or size-1 leading dims, or one row against many; "
                     f"{'only the second input may be the smaller, ' if op_type == 'Sub' else ''}"
                     f"a constant operand is expanded on the host)")


def _check_binary(ctx: OpContext):
    a, b = ctx.node.input
    shapes = [ctx.shape(a), ctx.shape(b), ctx.shape(ctx.node.output[0])]
    if not all(_known(shape) for shape in shapes):
        return  # decided by run's check, when the inputs' shapes are known
    if _scalar_layout(ctx.node.op_type, a, b, shapes[2], lambda n: tuple(ctx.shape(n)), ctx.constant):
        return
    try:
        binary_layout(ctx.node.op_type, a, b, tuple(shapes[2]), ctx.shape, ctx.is_constant)
    except ValueError as exc:
        ctx.refuse(str(exc))


def _scalar_layout(op_type, a, b, out, shape_of, constant_of):
    """(tensor input, scalar) when the node is a computed tensor of the output's shape against a size-1
    constant that ttnn takes as a float operand (Add, Sub, Mul, Div by it; Add, Mul with it first), else None."""
    orders = [(a, b), (b, a)] if op_type in ("Add", "Mul") else [(a, b)]
    for tensor_name, scalar_name in orders:
        value = constant_of(scalar_name)
        if (value is not None and value.size == 1 and constant_of(tensor_name) is None
                and tuple(shape_of(tensor_name)) == tuple(out)):
            return tensor_name, float(value.reshape(()))
    return None


def _reciprocal(array: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return (1.0 / np.asarray(array, dtype=np.float64)).astype(np.float32)


_TTNN_BINARY = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Div": "multiply"}


def _run_binary(session, step):
    op_type = step.node.op_type
    a, b = step.node.input
    out = step.node.output[0]
    shape = session.shape(out)
    ttnn_op = _TTNN_BINARY[op_type]
    scalar = _scalar_layout(op_type, a, b, shape, session.shape, session.constant)
    if scalar is not None:
        tensor_name, value = scalar
        if op_type == "Div":  # x / c -> x * (1 / c), the float rounded once on the host
            value = float(_reciprocal(np.float32(value)))
        session.set(out, session.op(ttnn_op, session.tensor(tensor_name), value))
        return
    layout = binary_layout(op_type, a, b, shape, session.shape, lambda n: session.constant(n) is not None)

    def operand(name, expand, divisor):
        if divisor:  # Div's second input: its reciprocal
            if session.constant(name) is not None:
                return session.operand(name, shape if expand else None, transform=("reciprocal", _reciprocal))
            return session.op("reciprocal", session.tensor(name))
        return session.operand(name, shape if expand else None)

    is_div = op_type == "Div"
    first = operand(layout.first, layout.expand_first, is_div and layout.swapped)
    second = operand(layout.second, layout.expand_second, is_div and not layout.swapped)
    session.set(out, session.op(ttnn_op, first, second))


# --- matrix products -----------------------------------------------------------------------

def matmul_batches_fit(a_shape, b_shape) -> bool:
    """Whether ttnn.matmul takes B's leading dims against A's: the same, or all 1 and no more of them."""
    a_lead, b_lead = tuple(a_shape[:-2]), tuple(b_shape[:-2])
    return a_lead == b_lead or (all(d == 1 for d in b_lead) and len(b_lead) <= len(a_lead))


def _check_matmul(ctx: OpContext):
    a, b = ctx.node.input
    for name in (a, b):
        rank = ctx.rank(name)
        if rank is not None and rank < 2:
            ctx.refuse(f"input {name!r} is {_shape_text(ctx.shape(name))} (rank {rank}); "
                       f"only operands of rank 2 or more are supported")
    a_shape, b_shape = ctx.shape(a), ctx.shape(b)
    if _known(a_shape) and _known(b_shape) and not matmul_batches_fit(a_shape, b_shape):
        ctx.refuse(f"inputs {a!r} {_shape_text(a_shape)} and {b!r} {_shape_text(b_shape)}: ttnn.matmul takes B's "
                   f"leading dims only equal to A's or all 1 (one B for every matrix of A)")


def _run_matmul(session, step):
    a, b = step.node.input
    if step.bias is None:
        session.set(step.node.output[0], session.op("matmul", session.tensor(a), session.tensor(b)))
        return
    add, row = step.bias  # MatMul + Add of a constant row: ttnn.linear with the row as its bias
    bias = session.operand(row, None, transform=("row", lambda x: x.reshape(1, -1)))
    session.set(add.output[0], session.op("linear", session.tensor(a), session.tensor(b), bias=bias))


def _gemm_defaults(opset):
    return {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0}


def _check_gemm(ctx: OpContext):
    _check_opset(ctx, 7)  # earlier Gemm had a "broadcast" attribute and other rules
    for name in ("transA", "transB"):
        if ctx.attributes[name] not in (0, 1):
            ctx.refuse(f"attribute {name}={ctx.attributes[name]} is not supported (0 or 1)")
    for name in ("alpha", "beta"):
        if not math.isfinite(ctx.attributes[name]):
            ctx.refuse(f"attribute {name}={ctx.attributes[name]} is not supported (a finite number)")
    inputs = list(ctx.node.input)
    if len(inputs) > 2 and inputs[2] and not ctx.is_constant(inputs[2]):
        out = ctx.shape(ctx.node.output[0])
        shape = ctx.shape(inputs[2])
        if _known(shape) and _known(out) and tuple(shape) != tuple(out) and not ttnn_broadcasts(out, shape):
            ctx.refuse(f"input C {inputs[2]!r} {_shape_text(shape)} would be broadcast to the output's "
                       f"{_shape_text(out)} in a way ttnn.add does not do (a computed C needs the output's shape "
                       f"or one row [1, N]; a constant C is expanded on the host)")


def _row_vector(shape, n: int) -> bool:
    return tuple(shape) in ((n,), (1, n))


def _run_gemm(session, step):
    """alpha * A' @ B' + beta * C: a constant A or B is transposed (and B scaled by alpha) on the host; a
    constant C of one row ([N], [1, N]) is the bias of ttnn.linear, any other C is added with ttnn.add."""
    attributes = step.attributes
    alpha, beta = float(attributes["alpha"]), float(attributes["beta"])
    inputs = list(step.node.input)
    a_name, b_name = inputs[0], inputs[1]
    c_name = inputs[2] if len(inputs) > 2 and inputs[2] and beta != 0.0 else None
    out = step.node.output[0]
    shape = session.shape(out)

    def side(name, transposed, scale):
        if session.constant(name) is not None:
            def transform(x, transposed=transposed, scale=scale):
                x = x.T if transposed else x
                return (x * np.float32(scale)).astype(np.float32) if scale != 1.0 else x
            return session.operand(name, None, transform=(("gemm", bool(transposed), scale), transform)), True
        tensor = session.tensor(name)
        if transposed:
            tensor = session.op("transpose", tensor, -2, -1)
        return tensor, False

    def scaled(x, factor=beta):
        return (x * np.float32(factor)).astype(np.float32) if factor != 1.0 else x

    a, _ = side(a_name, attributes["transA"], 1.0)
    b, alpha_folded = side(b_name, attributes["transB"], alpha)
    alpha_left = alpha != 1.0 and not alpha_folded
    c_value = session.constant(c_name) if c_name is not None else None
    if c_value is not None and not alpha_left and _row_vector(c_value.shape, shape[-1]):
        bias = session.operand(c_name, None, transform=(("row", beta), lambda x: scaled(x).reshape(1, -1)))
        session.set(out, session.op("linear", a, b, bias=bias))
        return
    product = session.op("matmul", a, b)
    if alpha_left:
        product = session.op("multiply", product, alpha)
    if c_name is not None:
        if c_value is not None:
            expand = not ttnn_broadcasts(shape, c_value.shape) if c_value.ndim else True
            bias = session.operand(c_name, shape if expand else None, transform=(("beta", beta), scaled))
        else:
            bias = session.tensor(c_name)
            if beta != 1.0:
                bias = session.op("multiply", bias, beta)
        product = session.op("add", product, bias)
    session.set(out, product)


# --- element-wise unary ops ----------------------------------------------------------------

def _unary_runner(ttnn_op: str, **kwargs):
    def run(session, step):
        session.set(step.node.output[0], session.op(ttnn_op, session.tensor(step.node.input[0]), **kwargs))
    return run


def _check_nothing(ctx: OpContext):
    pass


def _gelu_defaults(opset):
    return {"approximate": "none"}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_gelu(ctx: OpContext):
    _check_opset(ctx, 20)
    # The engine's gelu is the tanh form.  It runs for approximate='none' (the erf form) too: the two
    # differ by at most 4.7e-4 (at x = 2.70, where gelu is 2.69), a tenth of a bfloat16 step there.
    approximate = _text(ctx.attributes["approximate"])
    if approximate not in ("tanh", "none"):
        ctx.refuse(f"attribute approximate={approximate!r} is not supported: 'none' (erf form) and 'tanh' run "
                   f"as the engine's tanh-form gelu")


# --- softmax, layer norm -------------------------------------------------------------------

def _softmax_defaults(opset):
    return {"axis": -1 if opset >= 13 else 1}


def _last_axis(ctx: OpContext, name: str, axis: int, what: str):
    """Refuse ``axis`` unless it is the last axis of value ``name`` (passes when the rank is unknown)."""
    rank = ctx.rank(name)
    if rank is None:
        return
    if not -rank <= axis < rank:
        ctx.refuse(f"attribute {what}={axis} is out of range for input {name!r} {_shape_text(ctx.shape(name))}")
    if axis % rank != rank - 1:
        ctx.refuse(f"attribute {what}={axis} is not supported for input {name!r} {_shape_text(ctx.shape(name))}: "
                   f"only the last axis ({what}=-1 or {rank - 1})")


def _check_softmax(ctx: OpContext):
    # Before opset 13 Softmax flattens from `axis` on: the same as the last-axis softmax exactly
    # when `axis` is the last axis, which is all this accepts.
    _last_axis(ctx, ctx.node.input[0], ctx.attributes["axis"], "axis")


def _layer_norm_defaults(opset):
    return {"axis": -1, "epsilon": 1e-5, "stash_type": 1}


def _check_normalization(ctx: OpContext, minimum_opset: int, vectors: tuple):
    """LayerNormalization and RMSNormalization: over the last axis, float statistics, vectors [N]."""
    _check_opset(ctx, minimum_opset)
    x = ctx.node.input[0]
    _last_axis(ctx, x, ctx.attributes["axis"], "axis")
    if ctx.attributes["stash_type"] != 1:
        ctx.refuse(f"attribute stash_type={ctx.attributes['stash_type']} is not supported (1: float statistics)")
    epsilon = ctx.attributes["epsilon"]
    if not (math.isfinite(epsilon) and epsilon >= 0):
        ctx.refuse(f"attribute epsilon={epsilon} is not supported (a finite number >= 0)")
    x_shape = ctx.shape(x)
    width = x_shape[-1] if x_shape else None
    for name, what in zip(ctx.node.input[1:], vectors):
        if not name:
            continue
        shape = ctx.shape(name)
        if shape is None:
            continue
        if len(shape) != 1 or (width is not None and shape[0] is not None and shape[0] != width):
            ctx.refuse(f"input {what} {name!r} is {_shape_text(shape)}; only a vector over the last axis "
                       f"([{width if width is not None else 'N'}]) is supported")


def _check_layer_norm(ctx: OpContext):
    _check_normalization(ctx, 17, ("Scale", "B"))
    for index, name in enumerate(ctx.node.output[1:], start=1):
        if name and name in ctx.used:
            which = "Mean" if index == 1 else "InvStdDev"
            ctx.refuse(f"output {index} ({which}, {name!r}) is used; only output 0 (Y) is computed")


def _check_rms_norm(ctx: OpContext):
    _check_normalization(ctx, 23, ("scale",))


def _run_rms_norm(session, step):
    x_name, scale_name = step.node.input
    session.set(step.node.output[0], session.op("rms_norm", session.tensor(x_name),
                                                weight=session.tensor(scale_name),
                                                epsilon=float(step.attributes["epsilon"])))


def _run_layer_norm(session, step):
    inputs = list(step.node.input) + [""] * (3 - len(step.node.input))
    x_name, scale_name, bias_name = inputs[:3]
    weight = session.tensor(scale_name)
    bias = session.tensor(bias_name) if bias_name else None
    session.set(step.node.output[0], session.op("layer_norm", session.tensor(x_name), weight=weight, bias=bias,
                                                epsilon=float(step.attributes["epsilon"])))


# --- layout ops ----------------------------------------------------------------------------

def _transpose_defaults(opset):
    return {"perm": None}


def _perm(ctx_or_step, rank):
    perm = ctx_or_step.attributes["perm"]
    return list(range(rank))[::-1] if perm is None else [int(p) for p in perm]


def _check_transpose(ctx: OpContext):
    name = ctx.node.input[0]
    rank = ctx.rank(name)
    if rank is None:
        if ctx.attributes["perm"] is None:
            return
        rank = len(ctx.attributes["perm"])
    perm = _perm(ctx, rank)
    identity = list(range(rank))
    swap_last = identity[:-2] + identity[-2:][::-1]
    if perm != identity and perm != swap_last:
        ctx.refuse(f"attribute perm={perm} is not supported for input {name!r} {_shape_text(ctx.shape(name))}: "
                   f"only the swap of the last two dims (perm={swap_last}) or the identity")


def _fold_transpose(ctx: OpContext):
    value = ctx.constant(ctx.node.input[0])
    if value is None:
        return None
    return [np.ascontiguousarray(np.transpose(value, _perm(ctx, value.ndim)))]


def _run_transpose(session, step):
    name = step.node.input[0]
    rank = len(session.shape(name))
    if _perm(step, rank) == list(range(rank)):
        session.alias(step.node.output[0], name)
    else:
        session.set(step.node.output[0], session.op("transpose", session.tensor(name), -2, -1))


def _reshape_defaults(opset):
    return {"allowzero": 0} if opset >= 14 else {}


def reshape_target(input_shape, requested, allowzero: int = 0) -> tuple:
    """ONNX Reshape's output shape: 0 copies the input's dim (unless ``allowzero``), one -1 is inferred."""
    requested = [int(d) for d in requested]
    dims = []
    for index, d in enumerate(requested):
        if d == 0 and not allowzero:
            if index >= len(input_shape):
                raise ValueError(f"shape {requested}: 0 at index {index} has no input dim to copy "
                                 f"(the input is {list(input_shape)})")
            d = input_shape[index]
        dims.append(d)
    total = math.prod(input_shape)
    if dims.count(-1) > 1:
        raise ValueError(f"shape {requested}: more than one -1")
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0 or total % known:
            raise ValueError(f"shape {requested}: {list(input_shape)} ({total} elements) does not divide into it")
        dims[dims.index(-1)] = total // known
    if any(d < 0 for d in dims) or math.prod(dims) != total:
        raise ValueError(f"shape {requested} does not fit the input {list(input_shape)} ({total} elements)")
    return tuple(dims)


def _check_reshape(ctx: OpContext):
    data, shape_name = ctx.node.input[0], ctx.node.input[1]
    requested = ctx.constant(shape_name)
    if requested is None:
        ctx.refuse(f"input shape {shape_name!r} is not a constant (a graph input or computed in the graph); "
                   f"only a constant shape (an initializer or a Constant node) is supported")
    requested = [int(d) for d in np.asarray(requested).reshape(-1)]
    allowzero = ctx.attributes.get("allowzero", 0)
    if allowzero not in (0, 1):
        ctx.refuse(f"attribute allowzero={allowzero} is not supported (0 or 1)")
    if allowzero and 0 in requested:
        ctx.refuse(f"attribute allowzero=1 with shape {requested} asks for an empty tensor; not supported")
    data_shape = ctx.shape(data)
    if _known(data_shape):
        try:
            reshape_target(data_shape, requested, allowzero)
        except ValueError as exc:
            ctx.refuse(str(exc))


def _fold_reshape(ctx: OpContext):
    value = ctx.constant(ctx.node.input[0])
    if value is None:
        return None
    requested = np.asarray(ctx.constant(ctx.node.input[1])).reshape(-1)
    return [value.reshape(reshape_target(value.shape, requested, ctx.attributes.get("allowzero", 0)))]


def _run_reshape(session, step):
    name, out = step.node.input[0], step.node.output[0]
    requested = np.asarray(session.constant(step.node.input[1])).reshape(-1)
    target = reshape_target(session.shape(name), requested, step.attributes.get("allowzero", 0))
    if target == tuple(session.shape(name)):
        session.alias(out, name)
    else:
        session.set(out, session.op("reshape", session.tensor(name), target))


def _concat_defaults(opset):
    return {"axis": None}


def _check_concat(ctx: OpContext):
    axis = ctx.attributes["axis"]
    if axis is None:
        ctx.refuse("attribute axis is missing (it is required)")
    rank = ctx.rank(ctx.node.input[0])
    if rank is not None and not -rank <= axis < rank:
        ctx.refuse(f"attribute axis={axis} is out of range for rank-{rank} inputs")


def _fold_concat(ctx: OpContext):
    values = [ctx.constant(name) for name in ctx.node.input]
    if any(value is None for value in values):
        return None
    return [np.concatenate(values, axis=int(ctx.attributes["axis"]))]


def _run_concat(session, step):
    tensors = [session.tensor(name) for name in step.node.input]
    session.set(step.node.output[0], session.op("concat", tensors, int(step.attributes["axis"])))


def _fold_identity(ctx: OpContext):
    value = ctx.constant(ctx.node.input[0])
    return None if value is None else [value]


def _run_identity(session, step):
    session.alias(step.node.output[0], step.node.input[0])


_CONSTANT_ATTRIBUTES = ("value", "value_float", "value_floats", "value_int", "value_ints",
                        "sparse_value", "value_string", "value_strings")


def _constant_defaults(opset):
    return {name: None for name in _CONSTANT_ATTRIBUTES}


def _check_constant(ctx: OpContext):
    given = [name for name in _CONSTANT_ATTRIBUTES if ctx.attributes[name] is not None]
    for name in given:
        if name in ("sparse_value", "value_string", "value_strings"):
            ctx.refuse(f"attribute {name!r} is not supported (a dense numeric value: value, value_float(s), "
                       f"value_int(s))")


def _fold_constant(ctx: OpContext):
    a = ctx.attributes
    if a["value"] is not None:
        tensor = a["value"]
        array = numpy_helper.to_array(tensor)
        is_float = np.issubdtype(array.dtype, np.floating) or array.dtype.name == "bfloat16"
        return [np.asarray(array, dtype=np.float32) if is_float else np.asarray(array)]
    if a["value_float"] is not None:
        return [np.asarray(a["value_float"], dtype=np.float32)]
    if a["value_floats"] is not None:
        return [np.asarray(list(a["value_floats"]), dtype=np.float32)]
    if a["value_int"] is not None:
        return [np.asarray(a["value_int"], dtype=np.int64)]
    return [np.asarray(list(a["value_ints"]), dtype=np.int64)]


def _run_folded(session, step):  # never called: folded nodes are not planned
    raise AssertionError(f"{step.label} should have been folded on the host")


OPS = {
    "MatMul": OpSpec("ttnn.matmul (ttnn.linear with a fused bias Add)", _no_attributes, _check_matmul,
                     _run_matmul),
    "Gemm": OpSpec("ttnn.linear / ttnn.matmul (+ ttnn.transpose, ttnn.multiply, ttnn.add)", _gemm_defaults,
                   _check_gemm,
                   _run_gemm),
    "Add": OpSpec("ttnn.add", _no_attributes, _check_binary, _run_binary),
    "Sub": OpSpec("ttnn.subtract", _no_attributes, _check_binary, _run_binary),
    "Mul": OpSpec("ttnn.multiply", _no_attributes, _check_binary, _run_binary),
    "Div": OpSpec("ttnn.multiply by the reciprocal", _no_attributes, _check_binary, _run_binary),
    "Relu": OpSpec("ttnn.relu", _no_attributes, _check_nothing, _unary_runner("relu")),
    "Gelu": OpSpec("ttnn.gelu", _gelu_defaults, _check_gelu, _unary_runner("gelu")),
    "Sqrt": OpSpec("ttnn.sqrt", _no_attributes, _check_nothing, _unary_runner("sqrt")),
    "Reciprocal": OpSpec("ttnn.reciprocal", _no_attributes, _check_nothing, _unary_runner("reciprocal")),
    "Exp": OpSpec("ttnn.exp", _no_attributes, _check_nothing, _unary_runner("exp")),
    "Sigmoid": OpSpec("ttnn.sigmoid", _no_attributes, _check_nothing, _unary_runner("sigmoid")),
    "Neg": OpSpec("ttnn.neg", _no_attributes, _check_nothing, _unary_runner("neg")),
    "Softmax": OpSpec("ttnn.softmax", _softmax_defaults, _check_softmax, _unary_runner("softmax")),
    "LayerNormalization": OpSpec("ttnn.layer_norm", _layer_norm_defaults, _check_layer_norm, _run_layer_norm),
    "RMSNormalization": OpSpec("ttnn.rms_norm", _layer_norm_defaults, _check_rms_norm, _run_rms_norm),
    "Transpose": OpSpec("ttnn.transpose(t, -2, -1)", _transpose_defaults, _check_transpose, _run_transpose,
                        fold=_fold_transpose),
    "Reshape": OpSpec("ttnn.reshape", _reshape_defaults, _check_reshape, _run_reshape, fold=_fold_reshape),
    "Concat": OpSpec("ttnn.concat", _concat_defaults, _check_concat, _run_concat, fold=_fold_concat),
    "Identity": OpSpec("(no op: the same tensor)", _no_attributes, _check_nothing, _run_identity,
                       fold=_fold_identity),
    "Constant": OpSpec("(a host constant)", _constant_defaults, _check_constant, _run_folded,
                       fold=_fold_constant),
}

#: The op types :func:`~tessera.sw.onnx.check` accepts, in the order of :data:`OPS`.
SUPPORTED_OPS = tuple(OPS)
