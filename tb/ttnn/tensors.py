"""Device tensors made for one ttnn test, freed when it ends (the tiny chip has 1 MiB of DRAM)."""

from __future__ import annotations

import numpy as np

from tessera import ttnn


class Tensors:
    """Device tensors made for one test; :meth:`free` deallocates those still allocated."""

    def __init__(self, device):
        self.device, self.made = device, []

    def keep(self, t):
        self.made.append(t)
        return t

    def put(self, values, dtype=ttnn.bfloat16):
        return self.keep(ttnn.from_numpy(values, dtype=dtype, layout=ttnn.TILE_LAYOUT, device=self.device))

    def ids(self, ids):
        return self.keep(ttnn.from_numpy(np.asarray(ids, dtype=np.uint32), dtype=ttnn.uint32,
                                         layout=ttnn.ROW_MAJOR_LAYOUT, device=self.device))

    def free(self):
        for t in self.made:
            if t.is_on_device and t.buffer is not None:
                ttnn.deallocate(t)
