"""`tessera fw build` and `tessera fw inspect`."""

from __future__ import annotations

import json
import re

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
    assert [p.name for p in tmp_path.iterdir()] == ["sum.fwimg"], "intermediates beside the image"
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


# -- inspect: the table first, the JSON behind --json ----------------------------------------------

def test_fw_inspect_prints_the_table_and_local_use(tmp_path, capsys, tiny):
    from tessera.sw.toolchain import target_for

    out = tmp_path / "sum.fwimg"
    assert main(["fw", "build", "-o", str(out), "--tile", "1,0", "--core", f"brisc={SUM}",
                 "--core", f"trisc1={SUM}"]) == 0
    capsys.readouterr()
    assert main(["fw", "inspect", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["tile", "core", "entry", "L1", "used", "L1", "cap", "local", "used", "local",
                                "cap", "args", "name"]
    assert not any(line.lstrip().startswith(("{", "}", '"')) for line in lines), "JSON in the table output"
    image = read_image(out)
    for line, program in zip(lines[1:3], image.programs):
        target = target_for(program.core, tiny)
        local_used = sum(s.mem_size for s in program.segments if target.local.contains(s.addr, s.mem_size))
        l1_used = sum(s.mem_size for s in program.segments if target.program.contains(s.addr, s.mem_size))
        assert line.split()[1:8] == [program.core, f"{program.entry:#x}", str(l1_used), str(target.program.size),
                                     str(local_used), str(target.local.size), "0"]


# -- fw build: runtime arguments that disagree --------------------------------------------------------

ELTWISE = str(KERNELS_DIR / "tile_eltwise_add.c")
MATMUL = str(KERNELS_DIR / "tile_matmul.c")


def _codes():
    from tessera.hw.engine.commands import Fidelity, Format
    return ({m.name.lower(): m.value for m in Format}, {m.name.lower(): m.value for m in Fidelity})


def _two_operand_args(cfg, tiles, fmt_in, fmt_out, own, in_bytes=None):
    formats, _ = _codes()
    in_bytes = cfg.engine.tile_bytes(fmt_in) if in_bytes is None else in_bytes
    a = cfg.l1_data_base
    return [tiles, a, a + tiles * in_bytes, a + 2 * tiles * in_bytes, formats[fmt_in], formats[fmt_out],
            in_bytes, own]


def _build(tmp_path, kernel, args, core="trisc0"):
    return main(["fw", "build", "-o", str(tmp_path / "k.fwimg"), "--tile", "1,0", "--core", f"{core}={kernel}",
                 "--args", f"{core}=" + ",".join(str(v) for v in args)])


def test_fw_build_warns_when_a_tile_size_is_not_its_formats(tmp_path, capsys, tiny):
    sizes = {f: tiny.engine.tile_bytes(f) for f in tiny.engine.formats}
    wrong = sizes["float16_b"]
    assert wrong != sizes["bfp8_b"]
    args = _two_operand_args(tiny, 2, "bfp8_b", "float16_b", sizes["float16_b"], in_bytes=wrong)
    assert _build(tmp_path, ELTWISE, args) == 0  # a warning, not a refusal: the image is written
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "warning: trisc0: tile_eltwise_add: argument 6 (in_bytes) = %d but argument 4 (fmt_in) = %d is " \
           "bfp8_b, whose tiles are %d bytes" % (wrong, args[4], sizes["bfp8_b"]) in err
    assert read_image(tmp_path / "k.fwimg").programs[0].runtime_args == tuple(args)


def test_fw_build_is_quiet_when_the_arguments_agree(tmp_path, capsys, tiny):
    _, fidelities = _codes()
    for fmt_in, fmt_out in [("float16_b", "float16_b"), ("bfp8_b", "float32"), ("float32", "bfp8_b")]:
        assert _build(tmp_path, ELTWISE, _two_operand_args(tiny, 2, fmt_in, fmt_out,
                                                            tiny.engine.tile_bytes(fmt_out))) == 0
        assert _build(tmp_path, MATMUL, _two_operand_args(tiny, 3, fmt_in, fmt_out, fidelities["lofi"])) == 0
    assert "warning" not in capsys.readouterr().err


def test_fw_build_warns_about_bad_codes_short_lists_and_buffers_outside_l1(tmp_path, capsys, tiny):
    formats, fidelities = _codes()
    bad_format = max(formats.values()) + 1
    bad_fidelity = max(fidelities.values()) + 1
    args = _two_operand_args(tiny, 1, "float32", "float32", bad_fidelity)
    args[5] = bad_format
    assert _build(tmp_path, MATMUL, args, core="trisc1") == 0
    err = capsys.readouterr().err
    assert f"argument 5 (fmt_out) = {bad_format} is not a format code (0 float32, 1 float16_b, 2 bfp8_b)" in err
    assert f"argument 7 (fidelity) = {bad_fidelity} is not a fidelity code" in err
    assert _build(tmp_path, MATMUL, args[:7], core="trisc1") == 0
    assert "tile_matmul reads 8 runtime arguments, 7 given: fidelity will read as 0" in capsys.readouterr().err
    l1_end = tiny.l1.base + tiny.l1.size_bytes
    many = (l1_end - tiny.l1_data_base) // tiny.engine.tile_bytes("float32")
    assert _build(tmp_path, ELTWISE, _two_operand_args(tiny, many, "float32", "float32", 4096)) == 0
    err = capsys.readouterr().err
    assert "argument 2 (b)" in err and "outside L1" in err and f"{l1_end:#x}" in err


def test_kernel_argument_table_matches_the_kernel_header(tiny, tensix):
    """The checker's argument names are the fields of tile_kernel_args_t, in order; the eighth is the
    kernel's own (`own` in C), named for what each kernel reads it as."""
    from tessera.sw.toolchain.kernel_args import KERNEL_ARGS, check_kernel_args

    header = (KERNELS_DIR / "tile_kernel.h").read_text()
    fields = re.findall(r"uint32_t (\w+);\s*/\*\*< (\d+):", header)
    assert [int(i) for _, i in fields] == list(range(len(fields)))
    for kernel, signature in KERNEL_ARGS.items():
        assert (KERNELS_DIR / f"{kernel}.c").exists()
        assert signature.names[:-1] == tuple(name for name, _ in fields[:-1])
        assert len(signature.names) == len(fields)
    for cfg in (tiny, tensix):
        for fmt in cfg.engine.formats:
            args = _two_operand_args(cfg, 1, fmt, fmt, cfg.engine.tile_bytes(fmt))
            assert check_kernel_args("tile_eltwise_add", args, cfg) == []
    assert check_kernel_args("tile_args_sum", [1, 2, 3], tiny) == []


# -- refusals of fw build / fw inspect / run-elf: one line ----------------------------------------------

def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_fw_spec_and_option_errors_are_one_line(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    out = str(tmp_path / "x.fwimg")
    for text, message in [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"programs": {"core": "brisc"}}', "field 'programs' must be a list"),
        ('{"programs": [{"tiles": [[1, 0]], "sources": ["k.c"]}]}', "programs[0]: field 'core' is missing"),
        ('{"programs": [{"core": "brisc", "tiles": [[1, 0]], "sources": "k.c"}]}', "field 'sources' must be a list"),
        ('{"programs": [{"core": "brisc", "tiles": [[1, 0]], "sources": []}]}', "non-empty list of file names"),
        ('{"programs": [{"core": "brisc", "tiles": [[1, null]], "sources": ["k.c"]}]}', "tile must be two integers"),
        ('{"programs": [], "circular_buffers": [{"tile": [1, 0], "index": 0}]}',
         "circular_buffers[0]: field 'page_size' is missing"),
    ]:
        spec.write_text(text)
        assert main(["fw", "build", "--spec", str(spec), "-o", out]) == 1, text
        assert message in _one_line(capsys.readouterr().err), text
    assert main(["fw", "build", "-o", out, "--tile", "1,0", "--core", f"brisc={SUM}", "--args", "brisc"]) == 1
    assert "--args expects CORE=V1,V2,..., got 'brisc'" in _one_line(capsys.readouterr().err)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["fw", "build", "-o", str(blocker / "x.fwimg"), "--tile", "1,0", "--core", f"brisc={SUM}"]) == 1
    assert "cannot write" in _one_line(capsys.readouterr().err)
    assert main(["fw", "inspect", str(tmp_path)]) == 1
    assert f"cannot read firmware image {tmp_path}" in _one_line(capsys.readouterr().err)


def _symtab_retyped(elf: bytes) -> bytes:
    """The ELF with its .symtab section header saying PROGBITS (the fuzz's first crash)."""
    import struct

    shoff, = struct.unpack_from("<I", elf, 32)
    shnum, shstrndx = struct.unpack_from("<HH", elf, 48)
    names = struct.unpack_from("<I", elf, shoff + 40 * shstrndx + 16)[0]
    out = bytearray(elf)
    for i in range(shnum):
        name, = struct.unpack_from("<I", elf, shoff + 40 * i)
        if elf[names + name:names + name + 8] == b".symtab\0":
            struct.pack_into("<I", out, shoff + 40 * i + 4, 1)
    return bytes(out)


def test_malformed_elf_is_one_line_for_fw_build_and_run_elf(tmp_path, capsys, built):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(_symtab_retyped(built["sum_brisc"].read_bytes()))
    assert main(["fw", "build", "-o", str(tmp_path / "x.fwimg"), "--tile", "1,0", "--core", f"brisc={bad}"]) == 1
    assert re.search(r"bad\.elf: section \d+ \(\.symtab\) has type 1", _one_line(capsys.readouterr().err))
    bad.write_bytes(_symtab_retyped(built["hello_runelf"].read_bytes()))
    assert main(["run-elf", str(bad)]) == 2  # refused while loading: no simulation starts
    assert ".symtab) has type 1; the symbol table must be a SHT_SYMTAB" in _one_line(capsys.readouterr().err)
