"""The engine block on Verilator (one build, tiny preset): every op x format x fidelity, bit-exact."""

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

TESTS = ["formats_roundtrip_with_wait_states", "matmul_every_fidelity_and_format", "eltwise_ops",
         "reductions", "sfpu_ops", "overlapped_matmul_throughput"]


@pytest.mark.parametrize("testcase", TESTS)
def test_engine_cocotb(testcase):
    run_cocotb("engine", "tb.engine.cocotb_engine", config=preset("tiny"), testcase=testcase,
               seed=1000 + TESTS.index(testcase))


def test_engine_rejects_unsupported_shapes():
    from tessera.hw.engine.engine import Engine
    with pytest.raises(ValueError, match="mm_inner == mm_cols"):
        Engine(preset("tiny", engine={"mm_inner": 8}))
    with pytest.raises(ValueError, match="cmd_depth"):
        Engine(preset("tiny"), cmd_depth=3)
