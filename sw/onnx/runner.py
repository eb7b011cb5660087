"""Running a checked ONNX graph on a device, node by node, through ttnn: :func:`run`.

The graph inputs and the constants (initializers) become bfloat16 TILE device
tensors; a constant is uploaded once per run for each form a node needs it in
(as is, expanded to a broadcast shape, transposed, as its reciprocal).  A
computed tensor is freed after its last reader; everything the run put on the
device is freed when it ends.  Outputs come back as numpy arrays of the
graph's declared output types.
"""

from __future__ import annotations

import numpy as np
import onnx

from tessera.sw.host.errors import AllocationError
from tessera.sw.onnx.errors import OnnxError
from tessera.sw.onnx.graph import Plan, check
from tessera.sw.onnx.ops import OPS

#: numpy dtypes of the float ONNX output types (bfloat16 comes back as float32).
_OUTPUT_DTYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16,
                  onnx.TensorProto.DOUBLE: np.float64, onnx.TensorProto.BFLOAT16: np.float32}


def _ttnn():
    from tessera import ttnn
    return ttnn


def _storage(tensor):
    """What identifies a device tensor's memory: two tensors (a reshape's view) may share a buffer."""
    buffer = getattr(tensor, "buffer", None)
    return id(buffer if buffer is not None else tensor)


class Session:
    """One run of a :class:`Plan` on a device: the device tensor of each value, the uploaded constants.

    The op table's ``run`` functions use it: :meth:`tensor` / :meth:`operand` for
    their inputs, :meth:`op` for each ttnn op (so it is counted and, when its
    result is not kept, freed), :meth:`set` / :meth:`alias` for their outputs.
    """

    def __init__(self, plan: Plan, device, ttnn):
        self.plan = plan
        self.device = device
        self.ttnn = ttnn
        self.values = {}       # value name -> device tensor
        self.uploads = {}      # (constant name, form, shape) -> device tensor
        self.made = []         # tensors the current node's ttnn ops returned
        self.ops = []          # names of the current node's ttnn ops

    # -- what the op table calls ------------------------------------------------------------

    def shape(self, name: str) -> tuple:
        shape = self.plan.shapes.get(name)
        if shape is None or any(d is None for d in shape):
            raise OnnxError(f"value {name!r}: shape unknown after shape inference")
        return tuple(shape)

    def constant(self, name: str):
        """The host array of a constant value, ``None`` for a computed one."""
        return None if name in self.values else self.plan.constants.get(name)

    def tensor(self, name: str):
        """The device tensor of value ``name`` (a constant is uploaded as it is, once)."""
        if name in self.values:
            return self.values[name]
        if name in self.plan.constants:
            return self.operand(name)
        raise OnnxError(f"value {name!r} is read before any node computes it")

    def operand(self, name: str, shape=None, transform=None):
        """Value ``name`` as a device tensor; a constant is first transformed (``(tag, function)``) and
        expanded to ``shape`` on the host, and uploaded once per (name, tag, shape)."""
        value = self.constant(name)
        if value is None:
            return self.tensor(name)
        tag, function = transform if transform is not None else (None, None)
        key = (name, tag, None if shape is None else tuple(shape))
        if key not in self.uploads:
            array = function(value) if function is not None else value
            if shape is not None and tuple(array.shape) != tuple(shape):
                array = np.broadcast_to(array, shape)
            array = np.ascontiguousarray(array, dtype=np.float32)
            self.uploads[key] = self.upload(array)
        return self.uploads[key]

    def upload(self, array: np.ndarray):
        ttnn = self.ttnn
        return ttnn.from_numpy(array, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self.device)

    def op(self, name: str, *args, **kwargs):
        """Run ``ttnn.<name>(*args, **kwargs)``."""
        result = getattr(self.ttnn, name)(*args, **kwargs)
        self.made.append(result)
        self.ops.append(name)
        return result

    def set(self, name: str, tensor) -> None:
        self.values[name] = tensor

    def alias(self, name: str, source: str) -> None:
        """Value ``name`` is value ``source`` (Identity, an identity Transpose or Reshape)."""
        self.values[name] = self.tensor(source)

    # -- freeing ----------------------------------------------------------------------------

    def _live(self) -> set:
        return {_storage(t) for t in list(self.values.values()) + list(self.uploads.values())}

    def release(self, tensors) -> None:
        """Free the tensors no kept value shares memory with (each buffer once)."""
        live = self._live()
        freed = set()
        for tensor in tensors:
            storage = _storage(tensor)
            if storage not in live and storage not in freed:
                freed.add(storage)
                self.ttnn.deallocate(tensor)

    def release_all(self) -> None:
        everything = list(self.values.values()) + list(self.uploads.values()) + self.made
        self.values.clear()
        self.uploads.clear()
        self.made = []
        self.release(everything)


def _check_inputs(inputs) -> dict:
    if not isinstance(inputs, dict):
        raise OnnxError(f"inputs: expected a dict of name -> numpy array, got {type(inputs).__name__}")
    arrays = {}
    for name, value in inputs.items():
        array = np.asarray(value)
        if array.dtype.kind != "f":
            raise OnnxError(f"input {name!r} is a {array.dtype} array; only float inputs are supported "
                            f"(computed as bfloat16)")
        arrays[name] = array
    return arrays


def _output_dtype(plan: Plan, name: str):
    for output in plan.model.graph.output:
        if output.name == name:
            return _OUTPUT_DTYPES.get(output.type.tensor_type.elem_type, np.float32)
    return np.float32


def run(model, inputs: dict, device, *, profile: list | None = None) -> dict:
    """Run ``model`` (a path, bytes, ``ModelProto`` or :class:`Plan`) on ``device``.

    ``inputs``: graph input name -> numpy float array (exactly the model's runtime
    inputs).  The model is checked again with these shapes before anything runs.
    Returns graph output name -> numpy array.  ``profile``, when a list, gets one
    dict per step that ran: ``node`` (the node's name or, unnamed, its first
    output; a MatMul and the bias Add fused into it: both, joined by '+'),
    ``op_type`` (``MatMul+Add`` for such a pair), ``ttnn_ops`` (the ttnn ops
    issued), ``cycles`` (the chip cycles of their programs, from
    ``ttnn.op_log``) and ``programs`` (the device's numbers of those programs:
    ``$TESSERA_TRACE_DIR/program-<n>`` are their timelines).
    """
    arrays = _check_inputs(inputs)
    if isinstance(model, Plan):
        model = model.model
    plan = check(model, {name: array.shape for name, array in arrays.items()})
    ttnn = _ttnn()
    session = Session(plan, device, ttnn)
    outputs = {}
    try:
        refusals = (ttnn.TtnnError, AllocationError)
        for name in plan.inputs:
            try:
                session.set(name, session.upload(np.ascontiguousarray(arrays[name], dtype=np.float32)))
            except refusals as exc:
                raise OnnxError(f"input {name!r}: {exc}") from exc
        graph_outputs = set(plan.outputs)
        for index, step in enumerate(plan.steps):
            log_start = len(ttnn.op_log(device))
            programs_start = getattr(device, "runs", 0)
            session.made, session.ops = [], []
            try:
                OPS[step.node.op_type].run(session, step)
            except refusals as exc:  # a ttnn op refused the tensors, or the device memory is full
                raise OnnxError(f"{step.label}: {exc}") from exc
            runs = ttnn.op_log(device)[log_start:]
            if profile is not None:
                profile.append({"node": step.name, "op_type": step.op_type,
                                "ttnn_ops": list(session.ops), "cycles": sum(int(r["cycles"]) for r in runs),
                                "programs": list(range(programs_start, getattr(device, "runs", 0)))})
            # Inputs read for the last time, and outputs nothing reads, are freed now.
            done = [name for name in dict.fromkeys(step.node.input) if name and plan.last_use.get(name) == index]
            done += [name for name in step.outputs if name and name not in plan.last_use]
            finished = [session.values.pop(name) for name in done
                        if name not in graph_outputs and name in session.values]
            session.release(finished + session.made)
            session.made = []
        for name in plan.outputs:
            if name in session.values:
                array = ttnn.to_numpy(session.values[name])
            elif name in plan.constants:
                array = plan.constants[name]
            else:
                raise OnnxError(f"output {name!r} is computed by no node")
            outputs[name] = np.asarray(array).astype(_output_dtype(plan, name), copy=False)
    finally:
        session.release_all()
    return outputs
