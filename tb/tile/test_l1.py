"""L1 on Verilator: random concurrent requesters, atomics, starvation, throughput.

One build (the tiny preset, 6 ports on 4 banks) keeps the area's wall time
low; other shapes (1-16 banks, 32-128-bit words, 2-5 ports) are covered by
the Amaranth-simulator tests in test_l1_unit.py.
"""

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

VARIANTS = {
    # More requesters than banks, as in a tile (NIU, cores, unpacker, packer).
    "tiny-6ports": (lambda: preset("tiny"), 6),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_l1_cocotb(variant):
    make_cfg, ports = VARIANTS[variant]
    run_cocotb("l1", "tb.tile.cocotb_l1", config=make_cfg(), params={"ports": ports},
               seed=5101 + ports)
