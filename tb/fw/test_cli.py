"""`tessera fw build` and `tessera fw inspect`."""

from __future__ import annotations

import json

from tessera.sim.cli import main
from tessera.sw.toolchain import read_image
from tessera.sw.toolchain.build import KERNELS_DIR
from tb.fw.emulator import run_runelf

SUM = str(KERNELS_DIR / "tile_args_sum.c")


def test_fw_build_and_inspect(tmp_path, capsys, tiny):
    out = tmp_path / "sum.fwimg"
    assert main(["fw", "build", "--preset", "tiny", "-o", str(out), "--tile", "1,0", "--tile", "2,1",
                 "--core", f"brisc={SUM}", "--core", f"trisc2={SUM}", "--args", "brisc=2,0x10,5"]) == 0
    assert "wrote" in capsys.readouterr().out
    image = read_image(out)
    assert sorted((p.x, p.y, p.core) for p in image.programs) == [
        (1, 0, "brisc"), (1, 0, "trisc2"), (2, 1, "brisc"), (2, 1, "trisc2")]
    assert [p.runtime_args for p in image.programs if p.core == "brisc"] == [(2, 16, 5)] * 2

    assert main(["fw", "inspect", "--json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == image.manifest
    assert main(["fw", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "L1 used" in text and "trisc2" in text and f"config tiny ({tiny.fingerprint()[:16]})" in text


def test_fw_build_spec_file(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    (tmp_path / "k.c").write_text('#include "tessera.h"\nint main(void) { return (int)get_arg_val(0); }\n')
    spec.write_text(json.dumps({"programs": [
        {"core": "ncrisc", "tiles": [[1, 1], "2,0"], "sources": ["k.c"], "runtime_args": [9]}]}))
    out = tmp_path / "spec.fwimg"
    assert main(["fw", "build", "--spec", str(spec), "-o", str(out)]) == 0
    image = read_image(out)
    assert sorted((p.x, p.y) for p in image.programs) == [(1, 1), (2, 0)]
    assert all(p.runtime_args == (9,) for p in image.programs)


def test_fw_build_runelf(tmp_path, capsys, tiny):
    out = tmp_path / "hello.elf"
    assert main(["fw", "build", "--runelf", "-o", str(out), "-O", "s", str(KERNELS_DIR / "hello_runelf.c")]) == 0
    assert run_runelf(out, tiny).console.startswith("hello from tessera\n")


def test_fw_errors_exit_1_with_message(tmp_path, capsys):
    out = str(tmp_path / "x.fwimg")
    assert main(["fw", "build", "-o", out, "--tile", "1,0", "--core", f"nocore={SUM}"]) == 1
    assert "unknown build target 'nocore'" in capsys.readouterr().err
    assert main(["fw", "build", "-o", out, "--tile", "0,0", "--core", f"brisc={SUM}"]) == 1
    assert "is a host node" in capsys.readouterr().err
    assert main(["fw", "build", "-o", out, "--core", f"brisc={SUM}"]) == 1
    assert "--tile" in capsys.readouterr().err
    bad = tmp_path / "bad.fwimg"
    bad.write_bytes(b"\x7fTESSFW\n" + bytes(10))
    assert main(["fw", "inspect", str(bad)]) == 1
    assert "truncated" in capsys.readouterr().err


def test_fw_build_circular_buffers(tmp_path, capsys, tiny):
    from tessera.sw.toolchain.cb import cb_data_base
    out = tmp_path / "cb.fwimg"
    prod, cons = str(KERNELS_DIR / "cb_producer.c"), str(KERNELS_DIR / "cb_consumer.c")
    assert main(["fw", "build", "-o", str(out), "--tile", "1,1", "--core", f"brisc={prod}",
                 "--core", f"trisc0={cons}", "--cb", "0,64,4", "--cb", "5,24,3",
                 "--args", "brisc=0,8,1", "--args", "trisc0=0,8,1"]) == 0
    image = read_image(out)
    cbs = image.circular_buffers[(1, 1)]
    align = tiny.l1.bank_bytes
    assert [(cb.index, cb.addr, cb.page_size, cb.num_pages) for cb in cbs] == [
        (0, cb_data_base(tiny), 64, 4), (5, cb_data_base(tiny) + 256, 24, 3)]
    assert all(cb.addr % align == 0 for cb in cbs)
    capsys.readouterr()
    assert main(["fw", "inspect", str(out)]) == 0
    assert "cb5" in capsys.readouterr().out
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"programs": [{"core": "brisc", "tiles": [[1, 1]], "sources": [prod]}],
                                "circular_buffers": [{"tile": [1, 1], "index": 2, "page_size": 32,
                                                      "num_pages": 2, "addr": cb_data_base(tiny) + 1024}]}))
    assert main(["fw", "build", "--spec", str(spec), "-o", str(out)]) == 0
    assert read_image(out).circular_buffers[(1, 1)][0].addr == cb_data_base(tiny) + 1024
    assert main(["fw", "build", "-o", str(out), "--tile", "1,1", "--core", f"brisc={prod}", "--cb", "1,2"]) == 1
    assert "INDEX,PAGE_SIZE,NUM_PAGES" in capsys.readouterr().err


def test_fw_build_all_tiles(tmp_path, capsys, tensix):
    out = tmp_path / "all.fwimg"
    assert main(["fw", "build", "--preset", "tensix", "--all-tiles", "-o", str(out),
                 "--core", f"ncrisc={SUM}"]) == 0
    image = read_image(out)
    assert sorted((p.x, p.y) for p in image.programs) == sorted((n.x, n.y) for n in tensix.nodes_of("tensix"))
    assert image.config_name == "tensix"
    # Programs on many tiles share one copy of their segments: the image stays small.
    assert image.size < 2 * sum(len(s.data) for s in image.programs[0].segments) + 64 * 1024
