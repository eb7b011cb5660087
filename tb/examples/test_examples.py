"""The reference programs of examples/ on the Verilator chip, each bit-exact against the engine's
golden, at the small sizes of their registry entry (``tessera run-example all`` runs the full
ones); and the registry, goldens and command line without a simulator.

One device serves every chip test of this module (pytest-xdist keeps them on one worker).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tessera import metal as ttm
from tessera.hw.config import preset
from tessera.sim import examples as ex

CHIP_EXAMPLES = [name for name in ex.EXAMPLES if name != "dram_loopback"]   # tb/host runs the loopback


@pytest.fixture(scope="module")
def device():
    dev = ttm.CreateDevice(0, print_console=False)
    yield dev
    dev.close()


@pytest.mark.xdist_group("examples_chip")
@pytest.mark.parametrize("name", CHIP_EXAMPLES)
def test_example_is_bit_exact_on_the_chip(device, name):
    result = ex.run(name, device, "small")
    assert result["mismatches"] == 0, f"{name}: {result['mismatches']} of {result['values']} values differ " \
                                      f"from the golden (seed {result['seed']}, params {result['params']})"
    assert result["pcc"] > 0.999, f"{name}: PCC {result['pcc']} against float64"
    assert result["cores"] == (1 if name in ("matmul_single_core",) else 4)
    assert result["cycles"] > 0


def test_every_example_has_a_host_script_and_kernels():
    for e in ex.EXAMPLES.values():
        assert e.host.is_file(), e.host
        source = e.host.read_text()
        assert "def run(" in source and "def main(" in source, e.host
        assert set(e.small) <= set(e.full), e.name


def test_split_covers_every_item_once():
    for total in range(0, 13):
        for parts in range(1, 6):
            ranges = ex.split(total, parts)
            items = [i for first, count in ranges for i in range(first, first + count)]
            assert items == list(range(total)), (total, parts, ranges)
            assert max(c for _, c in ranges) - min(c for _, c in ranges) <= 1


def test_matmul_golden_agrees_with_float64():
    ecfg = preset("tiny").engine
    rng = np.random.default_rng(3)
    inputs = ex.matmul_inputs(rng, 1, 2, 1)
    a, a_bits, b, b_bits = inputs
    got = ex.golden_matmul(ex.tile_list(a_bits), ex.tile_list(b_bits), 1, 2, 1, "hifi4", ecfg)
    checked = ex.check_matmul(got, inputs, 1, 2, 1, "hifi4", ecfg)
    assert checked["mismatches"] == 0 and checked["pcc"] > 0.9999, checked
    # HiFi4 on bf16 inputs is exact products summed in fp32: within bf16 rounding of float64.
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(ex.bf16_values(got, (32, 32)), want, rtol=2 ** -7, atol=1e-2)


def test_eltwise_golden_is_the_bf16_rounded_sum():
    ecfg = preset("tiny").engine
    rng = np.random.default_rng(4)
    a, a_bits = ex.random_bf16(rng, (1, 32, 32))
    b, b_bits = ex.random_bf16(rng, (1, 32, 32))
    got = ex.golden_eltwise(ex.tile_list(a_bits), ex.tile_list(b_bits), "add", ecfg)
    # bf16 inputs add exactly in fp32; the pack rounds to nearest even, as to_bfloat16 does.
    assert np.array_equal(got, ttm.tilize(ttm.to_bfloat16((a + b).astype(np.float32))))


def test_multicast_moves_less_dram_than_reuse_and_reuse_less_than_plain():
    reuse = ex.load("matmul_reuse")
    page = 2048
    plain_dram = (2 * 4 * 4 * 4 + 4 * 4) * page
    reuse_noc, reuse_dram = reuse.traffic(4, 4, 4, 2, 2, page, multicast=False)
    mcast_noc, mcast_dram = reuse.traffic(4, 4, 4, 2, 2, page, multicast=True)
    assert reuse_dram == ((2 * 4 + 2 * 4) * 4 + 16) * page
    assert mcast_dram == ((4 + 4) * 4 + 16) * page
    assert mcast_dram < reuse_dram < plain_dram
    # the same tile bytes, plus per piece (2 x (4 + 1) of A, as many of B) two semaphore words
    assert mcast_noc == reuse_noc + 4 * (10 * 2 + 10 * 2)


def test_run_example_refuses_an_unknown_name_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "tessera.sim.cli", "run-example", "matmul_nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "tessera run-example: example 'matmul_nope' is not known; known: all, " + ", ".join(ex.EXAMPLES)]


def test_blocks_refuse_a_problem_that_does_not_divide_over_the_grid():
    reuse = ex.load("matmul_reuse")

    class Grid:
        @staticmethod
        def compute_with_storage_grid_size():
            return ttm.CoreCoord(2, 2)
    with pytest.raises(ValueError, match="Mt=3 and Nt=4 must be multiples of the compute grid's 2 rows"):
        reuse.blocks(Grid, 3, 4)


def test_run_example_refuses_an_unknown_parameter_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "tessera.sim.cli", "run-example", "matmul_reuse", "--set", "km=2"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "tessera run-example: --set km=2: example matmul_reuse has no parameter 'km'; "
        "its parameters: fidelity, kt, mt, nt, out_pages, seed"]
