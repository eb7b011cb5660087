"""A ttnn-shaped tensor API on the simulated chip (docs/ttnn.md): ``from tessera import ttnn``.

::

    with ttnn.manage_device(0) as device:
        a = ttnn.from_numpy(x, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
        b = ttnn.exp(ttnn.add(a, 1.0))
        print(ttnn.to_numpy(b))
"""

from .device import close_device, manage_device, op_log, op_summary, open_device, reset_op_log  # noqa: F401
from .ops.data_movement import concat, embedding, reshape, transpose  # noqa: F401
from .ops.eltwise import (add, exp, gelu, multiply, neg, reciprocal, relu, sigmoid, sqrt, subtract)  # noqa: F401
from .ops.matmul import linear, matmul  # noqa: F401
from .ops.normalization import layer_norm, rms_norm, silu, softmax  # noqa: F401
from .tensor import (Tensor, deallocate, from_device, from_numpy, from_torch, to_device, to_layout,  # noqa: F401
                     to_numpy, to_torch, typecast, view)
from .types import (DRAM_MEMORY_CONFIG, L1_MEMORY_CONFIG, ROW_MAJOR_LAYOUT, TILE_LAYOUT, TILE_SIZE,  # noqa: F401
                    DataType, Layout, MemoryConfig, TtnnError, bfloat8_b, bfloat16, float32, uint32)

__all__ = [name for name in dir() if not name.startswith("_") and name not in ("device", "ops", "tensor", "types",
                                                                                "op")]
