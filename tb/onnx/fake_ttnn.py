"""A numpy stand-in for ``tessera.ttnn`` that runs the ONNX front end's graph walking with no chip.

Each op computes in float32 and keeps the shape rules of the real ops
(sw/ttnn/ops: binary ops broadcast only their second operand, matmul's B
leading dims equal A's or all 1, transpose only of the last two dims), so a
mapping the real ops would refuse fails here too.  Tensors track
deallocation: using a freed tensor fails, and :meth:`FakeTtnn.live` lists
what a run left allocated.
"""

from __future__ import annotations

import math

import numpy as np


class TtnnError(ValueError):
    pass


class FakeBuffer:
    """The memory of a tensor; two views (a reshape) share one."""

    def __init__(self):
        self.freed = False


class FakeTensor:
    def __init__(self, values, device, buffer=None):
        self.values = np.asarray(values, dtype=np.float32)
        self.shape = tuple(self.values.shape)
        self.device = device
        self.buffer = buffer if buffer is not None else FakeBuffer()

    def data(self, opname):
        if self.buffer.freed:
            raise AssertionError(f"ttnn.{opname}: a deallocated tensor was used")
        return self.values


class FakeTtnn:
    bfloat16 = "bfloat16"
    TILE_LAYOUT = "TILE"
    TtnnError = TtnnError

    def __init__(self):
        self.tensors = []
        self.log = []
        self.uploads = 0

    def _make(self, values, device, op=None):
        tensor = FakeTensor(values, device)
        self.tensors.append(tensor)
        if op is not None:
            self.log.append({"op": op, "cycles": 100})
        return tensor

    def live(self):
        """The buffers still allocated."""
        return list({id(t.buffer): t.buffer for t in self.tensors if not t.buffer.freed}.values())

    # -- tensors -------------------------------------------------------------------------

    def from_numpy(self, array, dtype=None, layout=None, device=None):
        assert dtype == self.bfloat16 and layout == self.TILE_LAYOUT and device is not None
        if np.asarray(array).ndim == 0:
            raise TtnnError("from_numpy: shape [] is not supported")
        self.uploads += 1
        return self._make(array, device)

    def to_numpy(self, tensor):
        return tensor.data("to_numpy").copy()

    def deallocate(self, tensor):
        if tensor.buffer.freed:
            raise AssertionError("a buffer was deallocated twice")
        tensor.buffer.freed = True

    def op_log(self, device):
        return list(self.log)

    # -- ops ------------------------------------------------------------------------------

    def _binary(self, opname, function, a, b):
        x = a.data(opname)
        if not isinstance(b, FakeTensor):
            return self._make(function(x, np.float32(b)), a.device, opname)
        y = b.data(opname)
        sa = [1] + list(x.shape) if x.ndim == 1 else list(x.shape)
        sb = [1] + list(y.shape) if y.ndim == 1 else list(y.shape)
        lead_b = sb[:-2]
        while lead_b and lead_b[0] == 1:
            lead_b.pop(0)
        allowed = (len(sb) <= len(sa) and sb[-1] == sa[-1] and sb[-2] in (1, sa[-2])
                   and (not lead_b or lead_b == sa[:-2][len(sa) - 2 - len(lead_b):]))
        if not allowed:
            raise TtnnError(f"ttnn.{opname}: shapes {list(x.shape)} and {list(y.shape)} do not broadcast")
        return self._make(function(x, y), a.device, opname)

    def add(self, a, b):
        return self._binary("add", np.add, a, b)

    def subtract(self, a, b):
        return self._binary("subtract", np.subtract, a, b)

    def multiply(self, a, b):
        return self._binary("multiply", np.multiply, a, b)

    def _unary(self, opname, function, t):
        return self._make(function(t.data(opname)), t.device, opname)

    def relu(self, t):
        return self._unary("relu", lambda x: np.maximum(x, 0), t)

    def gelu(self, t):
        k = math.sqrt(2 / math.pi)
        return self._unary("gelu", lambda x: 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x ** 3))), t)

    def sqrt(self, t):
        return self._unary("sqrt", np.sqrt, t)

    def reciprocal(self, t):
        return self._unary("reciprocal", lambda x: 1 / x, t)

    def exp(self, t):
        return self._unary("exp", np.exp, t)

    def sigmoid(self, t):
        return self._unary("sigmoid", lambda x: 1 / (1 + np.exp(-x)), t)

    def neg(self, t):
        return self._unary("neg", np.negative, t)

    def softmax(self, t, dim=-1):
        assert dim == -1

        def softmax(x):
            e = np.exp(x - x.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        return self._unary("softmax", softmax, t)

    def layer_norm(self, t, *, weight=None, bias=None, epsilon=1e-5):
        x = t.data("layer_norm")
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        y = (x - mean) / np.sqrt(var + epsilon)
        if weight is not None:
            assert weight.shape[-1] == x.shape[-1]
            y = y * weight.data("layer_norm").reshape(-1)
        if bias is not None:
            y = y + bias.data("layer_norm").reshape(-1)
        return self._make(y, t.device, "layer_norm")

    def rms_norm(self, t, *, weight=None, epsilon=1e-5):
        x = t.data("rms_norm")
        y = x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + epsilon)
        if weight is not None:
            y = y * weight.data("rms_norm").reshape(-1)
        return self._make(y, t.device, "rms_norm")

    def concat(self, tensors, dim=0):
        if len(tensors) == 1:
            return tensors[0]          # as ttnn.concat: the tensor itself
        return self._make(np.concatenate([t.data("concat") for t in tensors], axis=dim), tensors[0].device, "concat")

    def matmul(self, a, b):
        x, y = a.data("matmul"), b.data("matmul")
        if not (tuple(y.shape[:-2]) == tuple(x.shape[:-2])
                or (all(d == 1 for d in y.shape[:-2]) and y.ndim <= x.ndim)):
            raise TtnnError(f"ttnn.matmul: B {list(y.shape)} against A {list(x.shape)}")
        y = y.reshape(y.shape[-2:]) if y.ndim != x.ndim else y
        return self._make(x @ y, a.device, "matmul")

    def linear(self, a, weight, *, bias=None):
        out = self.matmul(a, weight)
        if bias is not None:
            n = out.shape[-1]
            if bias.shape not in ((n,), (1, n)):
                raise TtnnError(f"ttnn.linear: bias {list(bias.shape)}")
            out.values = out.values + bias.data("linear").reshape(-1)
        self.log[-1]["op"] = "linear"
        return out

    def transpose(self, t, dim0, dim1):
        assert (dim0, dim1) == (-2, -1)
        return self._unary("transpose", lambda x: np.swapaxes(x, -2, -1), t)

    def reshape(self, t, shape):
        view = FakeTensor(t.data("reshape").reshape(shape), t.device, buffer=t.buffer)
        self.tensors.append(view)
        return view
