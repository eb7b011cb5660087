"""The refusal of the ONNX front end."""

from __future__ import annotations


class OnnxError(ValueError):
    """A model, an input or a node the ONNX front end does not run.

    The message names what was refused (the op type and node name, the
    attribute and its value, the input and its shape) and what is allowed.
    ``check`` raises it before anything runs on the chip; ``run`` raises it
    too when a ttnn op refuses a node's tensors (the ttnn error chained).
    """
