"""The engine at the small shape of an FPGA board, on Verilator: the cocotb tests of
tb/engine/cocotb_engine.py (every op x format x fidelity, bit-exact against the golden models
of sim/engine, which follow the configuration) on the ulx3s preset's engine — a 1x2@2x2 lane
array on 32-bit L1 words (docs/fpga.md §5).

One Verilator build; the same two simulator runs as tb/engine/test_engine.py.  (The 1x4@4x4
array on 32-bit words passed the same tests when measured for docs/fpga.md §5:
``small_config`` below builds it; it is not in make test to save a model build.)
"""

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

from tb.engine.test_engine import RUNS

#: (mm_rows, mm_inner, mm_cols, l1.bank_width) on the tiny preset.  The engine needs
#: mm_inner == mm_cols and no more values of a format in one L1 word than a Dst word holds
#: (mm_cols), so a 2-wide lane array takes 32-bit L1 words (two bfloat16 values).
#: (``engine.sfpu_lanes`` is not a shape: the SFPU works one element at a time whatever it says.)
SHAPES = {
    "1x2@2x2-l1w32": (1, 2, 2, 32),
    "1x4@4x4-l1w32": (1, 4, 4, 32),
}


def small_config(shape: str):
    mm_rows, mm_inner, mm_cols, bank_width = SHAPES[shape]
    return preset("tiny", engine={"mm_rows": mm_rows, "mm_inner": mm_inner, "mm_cols": mm_cols},
                  l1={"bank_width": bank_width})


def test_ulx3s_engine_is_the_small_shape():
    cfg = preset("ulx3s")
    assert (cfg.engine.mm_rows, cfg.engine.mm_inner, cfg.engine.mm_cols, cfg.l1.bank_width) == \
        SHAPES["1x2@2x2-l1w32"]


@pytest.mark.parametrize("run", list(RUNS))
def test_engine_cocotb_ulx3s_shape(run):
    tests, seed = RUNS[run]
    result = run_cocotb("engine", "tb.engine.cocotb_engine", config=preset("ulx3s"), testcase=tests, seed=seed)
    assert result.tests == len(tests), f"ulx3s engine: {result.tests} cocotb tests ran, expected {tests}"


def test_small_shape_needs_narrow_l1_words():
    """A 2-wide lane array on 64-bit L1 words is refused, naming the fix."""
    from tessera.hw.engine.engine import Engine
    with pytest.raises(ValueError, match="narrow l1.bank_width"):
        Engine(preset("tiny", engine={"mm_rows": 1, "mm_inner": 2, "mm_cols": 2}))
