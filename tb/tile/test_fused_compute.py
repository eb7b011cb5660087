"""One fused compute core (role "compute") runs the compute kernels written for three TRISCs.

The configuration is tb/tile/fused_config.py's three-core tile (brisc, ncrisc, one compute
core ``trisc``), derived from tiny.

Fast checks (no Verilator): the compute core's generated target header defines every part; the
compute kernels of the tree build warning-free for it unchanged; the raw three-TRISC kernels
refuse it; run alone in unicorn, the fused core pushes each call's UNPACKs, then its math
commands, then its PACKs, and each of its three command streams is exactly the stream the
corresponding TRISC of tiny pushes for the same kernel; the runtime builds a compute kernel once,
for the one core.

On the tile model of the fused configuration (Verilator; bench tb/tile/cocotb_compute.py, the
same cases and seeds as tb/tile/test_compute_api.py): whole programs — reader core -> CBs -> the
compute core -> CB -> writer core — bit-exact against sim/golden.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera import metal as ttm
from tessera.hw.config import preset
from tessera.hw.engine.commands import encode_math, encode_pack, encode_unpack
from tessera.sim.harness import run_cocotb
from tessera.sw.toolchain import CompileError, compile_elf, read_elf
from tessera.sw.toolchain.build import KERNELS_DIR
from tessera.sw.toolchain.gen import target_header
from tessera.sw.toolchain.layout import target_for
from tb.tile.fused_config import COMPUTE_CORE, fused_tiny
from tb.tile.test_compute_api import API_TOUR, COMPUTE_KERNELS, STREAMS, _gcc_strict, run_compute_cores

FUSED = fused_tiny()
TINY = preset("tiny")
TILE = (1, 0)
REPO = Path(__file__).resolve().parents[2]

#: Compute kernels of examples/ and sw/ttnn/kernels/ with the defines their hosts give them.
OTHER_COMPUTE_KERNELS = [
    ("examples/eltwise_binary/kernels/add.c", {}),
    ("examples/eltwise_sfpu/kernels/exp.c", {}),
    ("examples/matmul_single_core/kernels/matmul.c", {}),
    ("examples/matmul_reuse/kernels/matmul_block.c", {}),
    ("sw/ttnn/kernels/eltwise_binary.c", {"TT_BINARY_OP": "2"}),
    ("sw/ttnn/kernels/eltwise_unary.c", {"TT_UNARY_OP": "7"}),
    ("sw/ttnn/kernels/mm_compute.c", {}),
    ("sw/ttnn/kernels/norm_softmax.c", {}),
    ("sw/ttnn/kernels/norm_layer.c", {}),
    ("sw/ttnn/kernels/norm_rms.c", {}),
    ("sw/ttnn/kernels/norm_silu.c", {}),
]


# ---------------------------------------------------------------------------
# Toolchain
# ---------------------------------------------------------------------------

def test_compute_core_target_header_defines_every_part():
    fused = target_header(target_for(COMPUTE_CORE, FUSED), FUSED)
    assert '#define TESSERA_TARGET_ROLE "compute"' in fused
    for macro in ("COMPUTE", "UNPACK", "MATH", "PACK"):
        assert f"#define TESSERA_TARGET_ROLE_{macro} 1" in fused
    math_only = target_header(target_for("trisc1", TINY), TINY)
    assert "#define TESSERA_TARGET_ROLE_MATH 1" in math_only
    assert "ROLE_UNPACK" not in math_only and "ROLE_PACK" not in math_only and "ROLE_COMPUTE" not in math_only


@pytest.mark.parametrize("source", ["tour"] + COMPUTE_KERNELS + [path for path, _ in OTHER_COMPUTE_KERNELS])
def test_compute_kernels_compile_unchanged_for_the_compute_core(tmp_path, source):
    """-Werror -Wall -Wextra -pedantic -std=c11, as the TRISC builds of test_compute_api.py."""
    defines = dict(OTHER_COMPUTE_KERNELS).get(source, {})
    if source == "tour":
        src = tmp_path / "tour.c"
        src.write_text(API_TOUR)
    elif source in COMPUTE_KERNELS:
        src = KERNELS_DIR / f"{source}.c"
    else:
        src = REPO / source
        if defines:   # the host's defines, at the top of a wrapper source (_gcc_strict takes no -D)
            src = tmp_path / "wrapped.c"
            src.write_text("".join(f"#define {k} {v}\n" for k, v in defines.items())
                           + f'#include "{REPO / source}"\n')
    proc = _gcc_strict(tmp_path, src, COMPUTE_CORE, FUSED)
    assert proc.returncode == 0, f"{source} for the compute core:\n{proc.stderr}"


@pytest.mark.parametrize("kernel,message", [
    ("tile_eltwise_add", "on a fused compute core run compute_eltwise_binary.c"),
    ("tile_matmul", "on a fused compute core run compute_matmul.c"),
    ("tile_hang", "it has no fused compute form"),
])
def test_three_trisc_raw_kernels_refuse_the_compute_core(tmp_path, kernel, message):
    """These push each part as one loop (the unpack core runs ahead of math by up to the whole
    stream): fused, the unpack loop would fill both Src slots and the unpack command FIFO and
    stall before the first math command, so they refuse to build instead."""
    with pytest.raises(CompileError, match=message):
        compile_elf([KERNELS_DIR / f"{kernel}.c"], COMPUTE_CORE, FUSED, tmp_path / "k.elf")


# ---------------------------------------------------------------------------
# Command streams in unicorn (STATUS reads 0: the engine looks idle, so no wait blocks)
# ---------------------------------------------------------------------------

def _run_cores(tmp_path, cfg, source, cores, args, buffers, defines=None):
    """run_compute_cores with room for the fused core, which runs all three roles' code alone."""
    return run_compute_cores(tmp_path, cfg, source, cores, args, buffers, defines, max_instructions=400_000)


def _page(cb, i):
    return cb.addr + i * cb.page_size


def test_fused_core_pushes_each_call_unpack_then_math_then_pack(tmp_path):
    """compute_eltwise_binary.c, 3 tiles: per tile UNPACK A, UNPACK B (push), ADD (pop), COMMIT,
    then the PACK with release — one core, the kernel's program order."""
    tiles = 3
    cmds, runs, cbs, _ = _run_cores(tmp_path, FUSED, "compute_eltwise_binary", [COMPUTE_CORE], [tiles, 0],
                                    [(0, "float16_b", tiles), (1, "bfp8_b", tiles), (16, "float32", tiles)])
    assert runs[COMPUTE_CORE].exit_code == 0, runs[COMPUTE_CORE].console
    assert cmds[COMPUTE_CORE] == [c for i in range(tiles) for c in (
        ("unpack", encode_unpack(_page(cbs[0], i), "float16_b", "a")),
        ("unpack", encode_unpack(_page(cbs[1], i), "bfp8_b", "b", push=True)),
        ("math", encode_math("add", fidelity="hifi4", pop=True)),
        ("math", encode_math("commit", fidelity="lofi")),
        ("pack", encode_pack(_page(cbs[16], i), "float32", release=True)))]


def _zero_tile_addr(elf) -> int:
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        return ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("tessera_zero_tile")[0]["st_value"]


#: (kernel, runtime arguments, circular buffers, defines)
STREAM_CASES = [
    ("compute_eltwise_binary", [3, 2], [(0, "float16_b", 3), (1, "float16_b", 3), (16, "float16_b", 3)], None),
    ("compute_matmul", [2, 3], [(0, "float16_b", 6), (1, "float16_b", 6), (16, "float32", 2)],
     {"MATH_FIDELITY": "1"}),
    ("compute_sfpu", [2, 3], [(0, "float16_b", 2), (16, "float16_b", 2)], None),
    ("compute_reduce", [2, 2, 1, 1], [(0, "bfp8_b", 4), (16, "float16_b", 2)], None),
]


@pytest.mark.parametrize("kernel,args,buffers,defines", STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
def test_each_fused_stream_is_the_trisc_stream(tmp_path, kernel, args, buffers, defines):
    """The unpack, math and pack commands the compute core pushes are, stream by stream, the ones
    trisc0, trisc1 and trisc2 of tiny push for the same kernel (the same L1 layout: the same CB
    pages; copy_tile's zero tile lives in each unpacking core's own .bss)."""
    fused, fused_runs, _, fused_elfs = _run_cores(tmp_path, FUSED, kernel, [COMPUTE_CORE], args, buffers, defines)
    split, split_runs, _, split_elfs = _run_cores(tmp_path, TINY, kernel, TINY.compute_cores, args, buffers, defines)
    assert fused_runs[COMPUTE_CORE].exit_code == 0, fused_runs[COMPUTE_CORE].console
    assert all(run.exit_code == 0 for run in split_runs.values())
    for stream, core in zip(STREAMS, TINY.compute_cores):
        want = [word for s, word in split[core]]
        assert all(s == stream for s, _ in split[core])
        if kernel == "compute_sfpu" and stream == "unpack":
            moved = {encode_unpack(_zero_tile_addr(split_elfs[core]), "bfp8_b", "b", push=True):
                     encode_unpack(_zero_tile_addr(fused_elfs[COMPUTE_CORE]), "bfp8_b", "b", push=True)}
            want = [moved.get(word, word) for word in want]
        got = [word for s, word in fused[COMPUTE_CORE] if s == stream]
        assert got == want, f"{kernel}: the fused {stream} stream differs from {core}'s"
        assert got, f"{kernel}: no {stream} commands"


@pytest.mark.parametrize("call,message", [
    ("tile_regs_acquire(); add_tiles(0, 1, 0, 0, TESSERA_DST_TILES_PER_HALF);", "add_tiles: Dst index"),
    ("tile_regs_wait(); tile_regs_release();", "tile_regs_release: no pack_tile since tile_regs_wait"),
    ("mm_init(0, 1, 16, 1);", "mm_init: transpose != 0"),
])
def test_fused_core_refusals_name_the_call_and_exit_99(tmp_path, call, message):
    source = '#include "compute_kernel_api.h"\nint main(void) {\n    %s\n    return 0;\n}\n' % call
    _, runs, _, _ = _run_cores(tmp_path, FUSED, source, [COMPUTE_CORE], [],
                               [(0, "float16_b", 1), (1, "float16_b", 1), (16, "float16_b", 1)])
    assert runs[COMPUTE_CORE].exit_code == 99, (runs[COMPUTE_CORE].exit_code, runs[COMPUTE_CORE].console)
    assert f"compute: {message}" in runs[COMPUTE_CORE].console


# ---------------------------------------------------------------------------
# Host runtime
# ---------------------------------------------------------------------------

def test_runtime_builds_a_compute_kernel_once_for_the_compute_core():
    from tb.host.fake_chip import FakeChip, FakeTransport
    assert ttm.ComputeConfig().targets(FUSED) == [COMPUTE_CORE]
    assert ttm.ComputeConfig().targets(TINY) == ["trisc0", "trisc1", "trisc2"]
    device = ttm.CreateDevice(0, config=FUSED, transport=FakeTransport(FakeChip(FUSED)), print_console=False)
    program = ttm.CreateProgram()
    cores = ttm.CoreRange((0, 0), (1, 0))
    kernel = ttm.CreateKernel(program, KERNELS_DIR / "compute_eltwise_binary.c", cores,
                              ttm.ComputeConfig(math_fidelity=ttm.MathFidelity.HiFi2))
    ttm.SetRuntimeArgs(program, kernel, cores, [1, 0])
    ttm.CompileProgram(device, program)
    elfs = program.kernel(kernel).elfs
    assert list(elfs) == [COMPUTE_CORE]
    assert read_elf(elfs[COMPUTE_CORE]).entry == FUSED.core(COMPUTE_CORE).reset_pc


# ---------------------------------------------------------------------------
# On the tile model of the fused configuration (Verilator)
# ---------------------------------------------------------------------------

MODULE = "tb.tile.cocotb_compute"


def _run_on_tile(seed: int, tests: list) -> None:
    result = run_cocotb("tile", MODULE, config=FUSED, seed=seed, testcase=tests)
    assert result.tests == len(tests), f"{result.tests} cocotb tests ran, expected {tests}"


def test_fused_compute_streams_on_the_tile():
    """The cases and seed of test_compute_api.py's test_compute_api_streams_on_the_tile, on the
    three-core tile: eltwise add and mul, copy_tile + exp_tile (SFPU), matmul K=2 at HiFi2;
    bit-exact against the same goldens.  Cycles: build/bench/tile/compute_fused_*.json."""
    _run_on_tile(21, ["compute_eltwise/op=add/fmt_in=float16_b/fmt_out=float16_b/tiles=4/cb_pages=2",
                      "compute_eltwise/op=mul/fmt_in=bfp8_b/fmt_out=float32/tiles=3/cb_pages=1",
                      "compute_sfpu/op=exp/tiles=5/cb_pages=1",
                      "compute_matmul/out_tiles=3/k_tiles=2/fidelity=hifi2/fmt_out=float16_b"])


def test_fused_compute_reductions_on_the_tile():
    """reduce_tile on the three-core tile: row sum over 2 tiles (x3), column max, scalar sum."""
    _run_on_tile(22, ["compute_reduce/dim=row/kind=sum/w_tiles=2/out_tiles=3",
                      "compute_reduce/dim=col/kind=max/w_tiles=2/out_tiles=1",
                      "compute_reduce/dim=scalar/kind=sum/w_tiles=1/out_tiles=1"])


# The fused compute core on a whole chip: the ulx3s preset (one compute core per tile) runs every
# example of examples/ and the tensor ops bit-exact, tb/examples/test_ulx3s_preset.py.
