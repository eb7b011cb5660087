"""The Python command encoders agree with the amaranth.lib.data layouts the HDL decodes."""

import pytest

from tessera.hw.engine.commands import (MathCmd, PackCmd, UnpackCmd, encode_math, encode_pack, encode_unpack)


def _pack(layout, fields):
    return layout.const(fields).as_value().value


def test_unpack_encoding_matches_layout():
    want = _pack(UnpackCmd, {"op": 1, "operand": 1, "fmt": 2, "push": 1, "addr": 0x5440})
    assert encode_unpack(0x5440, "bfp8_b", "b", push=True) == want


def test_math_encoding_matches_layout():
    want = _pack(MathCmd, {"op": 6, "fidelity": 2, "acc": 1, "pop": 1, "dst_tile": 3, "reduce_dim": 2,
                           "reduce_kind": 1, "sfpu_op": 4, "scalar": 0x3FC00000})
    assert encode_math("sfpu", fidelity="hifi3", acc=True, pop=True, dst_tile=3, dim="scalar", kind="max",
                       sfpu="gelu", scalar=0x3FC00000) == want


def test_pack_encoding_matches_layout():
    want = _pack(PackCmd, {"op": 1, "fmt": 1, "release": 1, "dst_tile": 5, "addr": 0x8000})
    assert encode_pack(0x8000, "float16_b", dst_tile=5, release=True) == want


def test_layouts_are_64_bits():
    assert UnpackCmd.size == MathCmd.size == PackCmd.size == 64


@pytest.mark.parametrize("call,match", [
    (lambda: encode_unpack(0, "float32", "c"), "'c'"),
    (lambda: encode_math("conv"), "'conv'"),
    (lambda: encode_math("zero", dst_tile=16), "16"),
    (lambda: encode_pack(0, "float32", dst_tile=-1), "-1"),
    (lambda: encode_pack(0, "float8"), "'float8'"),
    (lambda: encode_pack(1 << 32, "float32"), str(1 << 32)),
    (lambda: encode_math("reduce", dim="diag"), "'diag'"),
    (lambda: encode_math("matmul", fidelity="hifi5"), "'hifi5'"),
    (lambda: encode_math("sfpu", sfpu="tanh"), "'tanh'"),
])
def test_encoders_reject_bad_fields(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_engine_bench_cli_rejects_bad_shape(capsys):
    from tessera.sim.cli import main
    assert main(["engine-bench", "--shape", "4,4"]) == 2
    assert "'4,4'" in capsys.readouterr().err
