"""``tessera ttnn-bench``: its options and refusals (no chip), and one ``--quick --ops add`` run on the
chip whose JSON holds the figures the table is made of."""

from __future__ import annotations

import json

import pytest

from tessera.sim import ttnn_bench
from tessera.sim.cli import build_parser
from tb.cli_runner import run_cli

pytestmark = pytest.mark.xdist_group("ttnn_bench")


run = run_cli


def test_options_parse_into_ops_and_grids():
    args = build_parser().parse_args(["ttnn-bench", "--ops", "add, softmax", "--grids", "1x1,2x1"])
    assert args.ops == ("add", "softmax")
    assert args.grids == ((1, 1), (2, 1))
    args = build_parser().parse_args(["ttnn-bench"])
    assert (args.ops, args.grids, args.quick, args.preset) == (None, None, False, "tiny")
    assert set(ttnn_bench.QUICK_OPS) <= set(ttnn_bench.OPS)


REFUSALS = [
    (["--ops", "add,foo"], ("--ops", "unknown op 'foo'", "matmul_lofi", "embedding")),
    (["--ops", ","], ("--ops", "expected op names", "','")),
    (["--ops", "add,add"], ("--ops", "named twice", "'add,add'")),
    (["--grids", "2y2"], ("--grids", "COLUMNSxROWS", "'2y2'")),
    (["--grids", "0x1"], ("--grids", "'0x1'")),
    (["--grids", "1x1,1x1"], ("--grids", "named twice")),
    (["--grids", "3x1"], ("--grids 3x1", "larger than the 2x2 Tensix grid", "'tiny'")),
    (["--preset", "huge"], ("--preset", "'huge'", "tiny")),
    (["--quick", "--json"], ("--json", "expected one argument")),
]


@pytest.mark.parametrize("argv, parts", REFUSALS, ids=[" ".join(a) for a, _ in REFUSALS])
def test_bad_options_are_refused_in_one_line(capsys, argv, parts):
    status, out, err = run(["ttnn-bench", *argv], capsys)
    assert status == 2
    assert err.startswith("tessera ttnn-bench: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"
    assert "ttnn-bench:" not in out   # refused before any run


def test_quick_add_on_the_chip_writes_the_table_and_valid_json(capsys, tmp_path):
    path = tmp_path / "bench.json"
    status, out, err = run(["ttnn-bench", "--quick", "--ops", "add", "--json", str(path)], capsys)
    print(out, err)
    assert status == 0
    report = json.loads(path.read_text())
    n = ttnn_bench.QUICK_SIZE
    assert (report["size"], report["ops"], report["grids"]) == (n, ["add"], ["1x1", "2x2"])
    assert report["dram_bytes_per_cycle"] == 8
    one, four = report["results"]
    tiles = (n // 32) ** 2
    for r, cores in ((one, 1), (four, 4)):
        assert (r["op"], r["cores"], r["tiles"], r["programs"], r["macs"]) == ("add", cores, tiles, 1, 0)
        assert r["cycles"] > 0 and r["pcc"] > 0.9999
        assert r["dram_bytes"] == 3 * tiles * 2048          # two inputs read, one output written
        assert r["dram_bytes_per_cycle"] == pytest.approx(r["dram_bytes"] / r["cycles"])
        assert r["tiles_per_kcycle"] == pytest.approx(1000 * tiles / r["cycles"])
    assert one["speedup_from_1x1"] == 1.0
    assert four["speedup_from_1x1"] == pytest.approx(one["cycles"] / four["cycles"])
    assert four["cycles"] < one["cycles"]
    # progress, one line per op and grid, then the table
    assert "add on 1x1:" in out and "add on 2x2:" in out
    assert f"{one['cycles']:,}" in out and f"wrote {path}" in out
