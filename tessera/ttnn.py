"""Tessera's tensor API with ttnn's names: ``from tessera import ttnn`` (docs/ttnn.md).

::

    with ttnn.manage_device(0) as device:
        x = ttnn.from_numpy(values, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device)
        y = ttnn.softmax(ttnn.matmul(x, w), dim=-1)
        print(ttnn.to_numpy(y))
"""

from tessera.sw.ttnn import *  # noqa: F401,F403
from tessera.sw.ttnn import __all__  # noqa: F401
