"""``tessera run-onnx`` with no chip: option parsing, every refusal before the chip is opened (one line,
status 2), and a whole run on the numpy stand-in for ttnn (tb/onnx/fake_ttnn.py)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from tessera import ttnn
from tessera.sim.cli import main
from tessera.sw.onnx import cli as onnx_cli
from tessera.sw.onnx import runner
from tb.onnx import models
from tb.onnx.fake_ttnn import FakeTtnn


@pytest.fixture
def no_chip(monkeypatch):
    """Opening the chip fails the test: every refusal comes before it."""
    def refuse(*args, **kwargs):
        raise AssertionError("the chip was opened")
    monkeypatch.setattr(ttnn, "open_device", refuse)


@pytest.fixture
def fake_chip(monkeypatch):
    fake = FakeTtnn()
    opened = []
    monkeypatch.setattr(runner, "_ttnn", lambda: fake)
    monkeypatch.setattr(ttnn, "open_device", lambda device_id, **kwargs: opened.append(kwargs) or "device")
    monkeypatch.setattr(ttnn, "close_device", lambda device: opened.append("closed"))
    fake.opened = opened
    return fake


@pytest.fixture
def mlp_files(tmp_path):
    model = models.mlp()
    path = tmp_path / "mlp.onnx"
    onnx.save(model, str(path))
    x = models.random_inputs(model, seed=20)["x"]
    np.save(tmp_path / "x.npy", x)
    return path, tmp_path / "x.npy", x


def refusal(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    return err[0]


def test_input_options_are_refused_by_name(capsys, tmp_path, mlp_files, no_chip):
    model, x_file, _ = mlp_files
    assert refusal(capsys, ["run-onnx", str(model), "--input", "x"]) == \
        "tessera run-onnx: --input 'x': expected NAME=FILE.npy"
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={tmp_path}/none.npy"]) == \
        f"tessera run-onnx: --input 'x={tmp_path}/none.npy': no such file '{tmp_path}/none.npy'"
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={x_file}", "--input", f"x={x_file}"]) == \
        f"tessera run-onnx: --input 'x={x_file}': input 'x' is given twice"
    (tmp_path / "text.npy").write_text("not numpy")
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={tmp_path}/text.npy"]).startswith(
        f"tessera run-onnx: --input 'x={tmp_path}/text.npy': not a numpy .npy file")
    np.save(tmp_path / "ints.npy", np.zeros((32, 64), np.int32))
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={tmp_path}/ints.npy"]) == \
        "tessera run-onnx: --input x=...: a int32 array; only float arrays are supported"


def test_model_and_input_refusals_come_before_the_chip(capsys, tmp_path, mlp_files, no_chip):
    model, x_file, _ = mlp_files
    assert refusal(capsys, ["run-onnx", str(tmp_path / "none.onnx")]) == \
        f"tessera run-onnx: ONNX model '{tmp_path}/none.onnx': no such file"
    assert refusal(capsys, ["run-onnx", str(model)]) == \
        "tessera run-onnx: input 'x' is missing (the model's inputs: x)"
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={x_file}", "--input", f"z={x_file}"]) == \
        "tessera run-onnx: input 'z' is not an input of the model (its inputs: x)"
    np.save(tmp_path / "small.npy", np.zeros((32, 32), np.float32))
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={tmp_path}/small.npy"]) == \
        "tessera run-onnx: input 'x' has shape [32, 32]; the model declares [32, 64]"
    unsupported = tmp_path / "tanh.onnx"
    onnx.save(models.single("Tanh", [("x", [32, 64])], [32, 64], name="block/act"), str(unsupported))
    assert refusal(capsys, ["run-onnx", str(unsupported), "--input", f"x={x_file}"]).startswith(
        "tessera run-onnx: Tanh node 'block/act': op type 'Tanh' is not supported (supported: MatMul, Gemm,")
    (tmp_path / "file").write_text("")
    assert refusal(capsys, ["run-onnx", str(model), "--input", f"x={x_file}", "--output-dir",
                            str(tmp_path / "file")]) == \
        f"tessera run-onnx: --output-dir {tmp_path}/file: exists and is not a folder"


def test_argparse_refusals(capsys, mlp_files, no_chip):
    model, _, _ = mlp_files
    with pytest.raises(SystemExit) as stop:
        main(["run-onnx", str(model), "--pcc", "2"])
    assert stop.value.code == 2
    assert "argument --pcc: must be in -1..1, got '2'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run-onnx", str(model), "--preset", "nope"])
    assert "argument --preset: invalid choice: 'nope'" in capsys.readouterr().err


def test_a_whole_run(capsys, tmp_path, mlp_files, fake_chip):
    model, x_file, x = mlp_files
    out_dir = tmp_path / "out"
    status = main(["run-onnx", str(model), "--input", f"x={x_file}", "--check", "--output-dir", str(out_dir)])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert fake_chip.opened == [{"preset_name": "tiny", "print_console": False}, "closed"]
    assert lines[0] == f"run-onnx: {model}: 4 nodes to run, inputs x [32, 64]"
    assert lines[1].split() == ["node", "op", "ttnn", "ops", "cycles"]
    assert lines[2].split() == ["fc1/matmul+fc1/bias", "MatMul+Add", "linear", "100"]
    assert lines[6].split() == ["total", "400"]
    assert lines[7].startswith("output y [32, 32] float32  PCC 1.00000 against onnx.reference (ok)  -> ")
    from tessera.sw import onnx as tonnx
    np.testing.assert_allclose(np.load(out_dir / "y.npy"), tonnx.reference_outputs(str(model), {"x": x})["y"],
                               atol=1e-5)


def test_check_fails_below_the_pcc_threshold(capsys, mlp_files, fake_chip, monkeypatch):
    model, x_file, _ = mlp_files
    monkeypatch.setattr(fake_chip, "softmax", lambda t, dim=-1: fake_chip._unary("softmax", np.zeros_like, t))
    assert main(["run-onnx", str(model), "--input", f"x={x_file}", "--check"]) == 1
    assert "below 0.99" in capsys.readouterr().out


def test_trace_sets_the_trace_folder_for_the_run(tmp_path, mlp_files, fake_chip, monkeypatch, capsys):
    import os
    model, x_file, _ = mlp_files
    monkeypatch.delenv("TESSERA_TRACE_DIR", raising=False)
    seen = []
    real_run = runner.run

    def run(*args, **kwargs):
        seen.append(os.environ.get("TESSERA_TRACE_DIR"))
        return real_run(*args, **kwargs)
    monkeypatch.setattr(runner, "run", run)
    assert main(["run-onnx", str(model), "--input", f"x={x_file}", "--trace", str(tmp_path / "traces")]) == 0
    assert seen == [str((tmp_path / "traces").resolve())] and (tmp_path / "traces").is_dir()
    assert "TESSERA_TRACE_DIR" not in os.environ
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["node", "op", "ttnn", "ops", "programs", "cycles"]
    assert "timelines: " in out


def test_output_file_names():
    assert onnx_cli.output_file_name("y") == "y.npy"
    assert onnx_cli.output_file_name("block/out:0") == "block_out_0.npy"
