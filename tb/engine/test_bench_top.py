"""The engine bench top (``engine_bench``, sim/engine/bench_top.py) on Verilator: bit-exact matmuls
timed in hardware, cycle counts close to the Python-L1 model's, a hang reported at its budget."""

import json

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

#: Output tiles m,n and K tiles of the comparison: small, but every thread overlaps.
SHAPE = (2, 2, 2)
FIDELITIES = ("lofi", "hifi2")
FORMATS = (("float16_b", "bfp8_b"), ("bfp8_b", "float16_b"))
SEED = 7
#: Largest relative difference of the cycle counts: the real L1 makes the unpacker and the
#: packer wait for each other when they hit the same bank, the Python model never does.
CYCLE_TOLERANCE = 0.03


def test_bench_top_cocotb():
    tests = ["host_rows_round_trip", "hang_is_reported_then_reset_recovers"]
    result = run_cocotb("engine_bench", "tb.engine.cocotb_bench_top", config=preset("tiny"), testcase=tests,
                        seed=1010)
    assert result.tests == len(tests), f"{result.tests} cocotb tests ran, expected {tests}"


def test_bench_matches_python_l1_model(tmp_path):
    """``run_bench`` (bench top; it checks every output tile against the golden) against the same
    matmuls, same seed, on the ``engine`` block with the L1 modelled in Python."""
    from tessera.sim.engine.cli import run_bench

    rows = run_bench("tiny", SHAPE, FIDELITIES, FORMATS, str(tmp_path / "bench_top"), SEED)
    reference = tmp_path / "python_l1.json"
    env = {"TESSERA_BENCH_SHAPE": ",".join(map(str, SHAPE)), "TESSERA_BENCH_FIDELITIES": ",".join(FIDELITIES),
           "TESSERA_BENCH_FORMATS": ",".join(f"{a}:{b}" for a, b in FORMATS), "TESSERA_BENCH_OUT": str(reference)}
    run_cocotb("engine", "tb.engine.cocotb_python_l1_bench", config=preset("tiny"), env=env, seed=SEED)
    ref_rows = json.loads(reference.read_text())
    assert [(r["fmt_in"], r["fmt_out"], r["fidelity"]) for r in rows] == \
        [(r["fmt_in"], r["fmt_out"], r["fidelity"]) for r in ref_rows]
    peak = preset("tiny").engine.macs_per_cycle
    passes = {"lofi": 1, "hifi2": 2}
    for new, old in zip(rows, ref_rows):
        what = f"{new['fmt_in']} -> {new['fmt_out']} {new['fidelity']} (seed {SEED})"
        assert new["bit_exact"] and new["macs"] == old["macs"], what
        bound = new["macs"] * passes[new["fidelity"]] // peak
        assert new["cycles"] >= bound, f"{what}: {new['cycles']} cycles, below the lane bound {bound}"
        diff = abs(new["cycles"] - old["cycles"]) / old["cycles"]
        assert diff <= CYCLE_TOLERANCE, \
            f"{what}: bench top {new['cycles']} cycles, Python-L1 model {old['cycles']} ({100 * diff:.1f}% apart)"
        # Every matmul step is issued exactly once, whatever the L1 does.
        assert new["mm_issue_cycles"] == old["mm_issue_cycles"] == bound, what


def test_bench_params_grow_the_command_memories_only_when_needed():
    from tessera.sim.engine.bench_top import DEFAULT_CMD_WORDS
    from tessera.sim.engine.cli import bench_params
    assert bench_params((4, 4, 8)) == {}
    assert bench_params((8, 8, DEFAULT_CMD_WORDS // 128 + 1)) == {"cmd_words": 2 * DEFAULT_CMD_WORDS}
    with pytest.raises(ValueError, match="65536 unpack command words"):
        bench_params((16, 16, 128))


@pytest.mark.parametrize("words", [0, 1 << 16, 2.5, True])
def test_bench_top_rejects_bad_cmd_words(words):
    from tessera.sim.engine.bench_top import EngineBenchTop
    with pytest.raises(ValueError, match="cmd_words"):
        EngineBenchTop(preset("tiny"), cmd_words=words)


def test_engine_bench_cli_rejects_a_shape_too_big_for_l1(capsys):
    from tessera.sim.cli import main
    assert main(["engine-bench", "--shape", "8,8,1"]) == 2
    err = capsys.readouterr().err
    assert "--shape 8,8,1" in err and "65536" in err
