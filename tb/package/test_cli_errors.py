"""Bad input to every ``tessera`` subcommand: one line naming the option, the value and what is
allowed, a non-zero status (2 for usage errors), never a traceback; real bugs keep theirs.

Every case is refused before any export, Verilator build or tool run, so these tests are fast.
(The firmware commands' own refusals are in tb/fw/test_cli.py.)
"""

from __future__ import annotations

import pytest

from tessera.sim import cli
from tessera.sim.cli import main

from tb.cli_runner import run_cli


def run(argv, capsys):
    """(exit status, stderr) of ``tessera argv``."""
    status, _out, err = run_cli(argv, capsys)
    return status, err


def assert_one_line(err: str, *parts: str) -> None:
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line:\n{err}"
    assert "Traceback" not in err
    for part in parts:
        assert part in err, f"{part!r} not in {err!r}"


CASES = [
    # The four of the issue.
    (["verilog", "--block", "stream_fifo", "--param", "width=abc"], 2,
     ("tessera verilog:", "--param width=abc", "must be an integer", "'abc'")),
    (["verilog", "--block", "stream_fifo", "--param", "bogus=3"], 2,
     ("--param bogus=3", "unknown parameter 'bogus'", "width (default 64), depth (default 16)")),
    (["verilog", "--block", "stream_fifo", "--param", "depth=0"], 2,
     ("--param depth=0", "stream_fifo", "power of two of at least 2, got 0")),
    (["fpga", "--block", "stream_fifo", "--device", "xc7"], 2,
     ("tessera fpga:", "--device", "'xc7'", "ecp5-85f", "ecp5-25f")),
    # verilog
    (["verilog", "--block", "stream_fifo", "--param", "width"], 2, ("--param expects name=value, got 'width'",)),
    (["verilog", "--param", "depth=4"], 2, ("--param depth=4", "apply to one block", "--block all")),
    (["verilog", "--block", "nope"], 2, ("--block", "unknown block 'nope'", "stream_fifo")),
    (["verilog", "--block", "core", "--param", "x=1"], 2, ("--param x=1", "unknown parameter 'x'", "block core takes core")),
    (["verilog", "--block", "core", "--param", "core=nope"], 2, ("--param core=nope", "no core 'nope'", "brisc")),
    (["verilog", "--block", "noc_router", "--param", "x=7"], 2, ("--param x=7", "router x must be in 0..2, got 7")),
    (["verilog", "--block", "stream_fifo", "--param", "depth=8", "--param", "depth=4"], 2,
     ("--param depth is given twice", "'8'", "'4'")),
    (["verilog", "--preset", "huge"], 2, ("--preset", "'huge'", "tiny", "tensix")),
    # fpga
    (["fpga", "--block", "stream_fifo", "--freq", "0"], 2, ("--freq", "positive", "'0'")),
    (["fpga", "--block", "stream_fifo", "--freq", "fast"], 2, ("--freq", "expected a number", "'fast'")),
    (["fpga", "--block", "stream_fifo", "--seed", "-1"], 2, ("--seed", "at least 0", "-1")),
    (["fpga", "--block", "stream_fifo", "--param", "depth=3"], 2, ("--param depth=3", "power of two")),
    (["fpga", "--block", "stream_fifo", "--mapper", "vpr"], 2, ("--mapper", "'vpr'", "abc9")),
    (["fpga"], 2, ("--block",)),
    # config, harness-bench, sim-summary
    (["config", "--preset", "x"], 2, ("tessera config:", "--preset", "'x'")),
    (["sim-summary", "--all"], 2, ("unrecognized arguments: --all",)),
    (["chip-bench", "--bytes", "0"], 2, ("--bytes", "at least 1", "got 0")),
    (["chip-bench", "--bytes", "abc"], 2, ("--bytes", "expected an integer", "'abc'")),
    (["verilog", "--block", "niu", "--param", "x=0", "--param", "y=0"], 2, ("niu", "not a Tensix tile")),
    # noc-bench
    (["noc-bench", "--param", "buffer_depth=0"], 2, ("--param buffer_depth=0", "noc.buffer_depth", "got 0")),
    (["noc-bench", "--param", "colour=1"], 2, ("--param", "buffer_depth, vcs_per_class, flit_width", "'colour=1'")),
    (["noc-bench", "--param", "buffer_depth=deep"], 2, ("--param buffer_depth=deep", "integer", "'deep'")),
    (["noc-bench", "--jobs", "0"], 2, ("--jobs", "at least 1", "0")),
    (["noc-bench", "--data-flits", "-1"], 2, ("--data-flits", "at least 0", "-1")),
    (["noc-bench", "--network", "4x4-mesh", "--data-flits", "100"], 2,
     ("--data-flits 100", "4x4-mesh", "at most 32 data flits")),
    (["noc-bench", "--network", "9x9-ring"], 2, ("--network", "'9x9-ring'", "4x4-mesh")),
    (["noc-bench", "--multicast-share", "1.5"], 2, ("--multicast-share 1.5", "in [0, 1]", "got 1.5")),
    (["noc-bench", "--multicast-share", "x"], 2, ("--multicast-share", "invalid float value", "'x'")),
    (["noc-bench", "--multicast-sizes", "0x2"], 2, ("--multicast-sizes 0x2", "at least two nodes")),
    (["noc-bench", "--multicast-sizes", "abc"], 2, ("--multicast-sizes", "COLUMNSxROWS", "'abc'")),
    # run-elf, cpu-bench
    (["run-elf", "x.elf", "--max-cycles", "0"], 2, ("--max-cycles", "at least 1", "0")),
    (["run-elf", "x.elf", "--stall", "300"], 2, ("--stall", "0..255", "300")),
    (["run-elf", "x.elf", "--preset", "q"], 2, ("--preset", "'q'", "tiny")),
    (["run-elf", "/nonexistent/prog.elf"], 2, ("/nonexistent/prog.elf", "cannot open")),
    (["cpu-bench", "quicksort"], 2, ("unknown program(s) 'quicksort'", "sort, crc")),
    (["cpu-bench", "--stall", "-1"], 2, ("--stall", "0..255", "-1")),
    # engine-bench
    (["engine-bench", "--shape", "a,b,c"], 2, ("--shape", "three positive integers", "'a,b,c'")),
    (["engine-bench", "--shape", "2,0,1"], 2, ("--shape", "'2,0,1'")),
    (["engine-bench", "--fidelity", "lofi,max"], 2, ("--fidelity", "'max'", "hifi4")),
    (["engine-bench", "--formats", "float32:int8"], 2, ("--formats", "'float32:int8'", "bfp8_b")),
    (["engine-bench", "--seed", "-2"], 2, ("--seed", "-2")),
    # the command line itself
    (["bogus-command"], 2, ("tessera:", "'bogus-command'")),
    (["fw", "build", "--tile"], 2, ("tessera fw build:", "--tile", "expected one argument")),
    (["fw", "inspect"], 2, ("tessera fw inspect:", "image")),
]


@pytest.mark.parametrize("argv, status, parts", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line(argv, status, parts, capsys):
    got, err = run(argv, capsys)
    assert got == status, err
    assert_one_line(err, *parts)


def test_output_paths_under_a_file_are_refused_before_work(tmp_path, capsys):
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    for argv, option in [
        (["config", "-o", str(blocker / "cfg.json")], "--output"),
        (["verilog", "--block", "stream_fifo", "-o", str(blocker / "v")], "--output"),
        (["fpga", "--block", "stream_fifo", "--json", str(blocker / "r.json")], "--json"),
        (["harness-bench", "-o", str(blocker / "h.json")], "--output"),
        (["run-elf", "x.elf", "--signature", str(blocker / "sig")], "--signature"),
    ]:
        status, err = run(argv, capsys)
        assert status == 2, (argv, err)
        assert_one_line(err, option, str(blocker))


def test_refusal_types_map_to_statuses():
    from tessera.hw.config import ConfigError
    from tessera.sim.fpga import FpgaToolError
    from tessera.sim.runelf.elf import ElfImageError
    from tessera.sw.toolchain.errors import ElfError, ImageError

    assert cli.refusal_status(cli.UsageError("x")) == 2
    assert cli.refusal_status(ConfigError("x")) == 2
    assert cli.refusal_status(ElfImageError("x")) == 2
    assert cli.refusal_status(ElfError("x")) == 1
    assert cli.refusal_status(ImageError("x")) == 1
    assert cli.refusal_status(FpgaToolError("x")) == 1
    for bug in (ValueError("x"), TypeError("x"), AttributeError("x"), KeyError("x")):
        assert cli.refusal_status(bug) is None


@pytest.mark.parametrize("bug", [AttributeError("'Section' object has no attribute 'iter_symbols'"),
                                 ValueError("internal"), KeyError("internal")])
def test_internal_bugs_keep_their_traceback(monkeypatch, capsys, bug):
    """An exception that is not a refusal propagates from main (Python prints its traceback)."""
    import tessera.sim.commands as commands

    def broken(args):
        raise bug

    monkeypatch.setattr(commands, "cmd_sim_summary", broken)
    with pytest.raises(type(bug)):
        main(["sim-summary"])


def test_a_refusal_raised_deep_in_a_command_is_one_line(monkeypatch, capsys):
    """A project error from inside a command (not from its own checks) gets the same one line."""
    import tessera.sim.commands as commands
    from tessera.sw.toolchain.errors import ImageError

    def refuses(args):
        raise ImageError("image.fwimg: bad checksum")

    monkeypatch.setattr(commands, "cmd_sim_summary", refuses)
    status, err = run(["sim-summary"], capsys)
    assert status == 1
    assert_one_line(err, "tessera sim-summary: image.fwimg: bad checksum")
