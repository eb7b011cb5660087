"""The engine block on Verilator (one build, tiny preset): every op x format x fidelity, bit-exact."""

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

#: The cocotb tests of tb/engine/cocotb_engine.py in two simulator runs of about the same length
#: (one simulator start each; ``pytest -n 2`` runs them side by side): (tests, seed).
RUNS = {
    "dataflow": (["formats_roundtrip_with_wait_states", "matmul_every_fidelity_and_format",
                  "overlapped_matmul_throughput"], 1000),
    "arithmetic": (["eltwise_ops", "reductions", "sfpu_ops"], 1002),
}


@pytest.mark.parametrize("run", list(RUNS))
def test_engine_cocotb(run):
    tests, seed = RUNS[run]
    result = run_cocotb("engine", "tb.engine.cocotb_engine", config=preset("tiny"), testcase=tests, seed=seed)
    assert result.tests == len(tests), f"{result.tests} cocotb tests ran, expected {tests}"


def test_engine_rejects_unsupported_shapes():
    from tessera.hw.engine.engine import Engine
    with pytest.raises(ValueError, match="mm_inner == mm_cols"):
        Engine(preset("tiny", engine={"mm_inner": 8}))
    with pytest.raises(ValueError, match="cmd_depth"):
        Engine(preset("tiny"), cmd_depth=3)
