"""The compute kernel API (sw/include/tessera_compute.h): one source, three TRISC roles.

Fast checks (no Verilator): the header compiles warning-free for each role and refuses
other cores; each role of each sw/kernels/compute_*.c kernel, run alone in unicorn, pushes
exactly the engine commands the API promises (against the engine's own Python encoders).

On the tile model (Verilator, the tile tests' cached model; bench tb/tile/cocotb_compute.py):
whole programs — reader core -> CBs -> three TRISCs -> CB -> writer core — bit-exact
against sim/golden.
"""

from __future__ import annotations

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

MODULE = "tb.tile.cocotb_compute"


def _run(seed: int, tests: list) -> None:
    result = run_cocotb("tile", MODULE, config=preset("tiny"), seed=seed, testcase=tests)
    assert result.tests == len(tests), f"{result.tests} cocotb tests ran, expected {tests}"


def test_compute_api_streams_on_the_tile():
    """eltwise add (4 bf16 tiles through 2-page CBs), mul (Bfp8_b in, fp32 out, 1-page CBs),
    exp (copy_tile + exp_tile, 5 tiles through 1-page CBs), matmul (3 output tiles, K=2, HiFi2
    from the define)."""
    _run(21, ["compute_eltwise/op=add/fmt_in=float16_b/fmt_out=float16_b/tiles=4/cb_pages=2",
              "compute_eltwise/op=mul/fmt_in=bfp8_b/fmt_out=float32/tiles=3/cb_pages=1",
              "compute_sfpu/op=exp/tiles=5/cb_pages=1",
              "compute_matmul/out_tiles=3/k_tiles=2/fidelity=hifi2/fmt_out=float16_b"])


def test_compute_api_reductions_on_the_tile():
    """reduce_tile: row sum over 2 tiles (x3), column max over 2 tiles, scalar sum."""
    _run(22, ["compute_reduce/dim=row/kind=sum/w_tiles=2/out_tiles=3",
              "compute_reduce/dim=col/kind=max/w_tiles=2/out_tiles=1",
              "compute_reduce/dim=scalar/kind=sum/w_tiles=1/out_tiles=1"])


# ---------------------------------------------------------------------------
# Without Verilator: compilation, and each role's command stream in unicorn
# ---------------------------------------------------------------------------

import struct  # noqa: E402
import subprocess  # noqa: E402

from tessera.hw.engine.commands import encode_math, encode_pack, encode_unpack  # noqa: E402
from tessera.sw.toolchain import (CompileError, FirmwareError, FirmwareImage, ModelChip, ProgramSpec,  # noqa: E402
                                  build_image, compile_elf, load_plan, read_image)
from tessera.sw.toolchain.build import KERNELS_DIR  # noqa: E402
from tessera.sw.toolchain.cb import (CB_ENTRY_BYTES, CB_FIELDS, CircularBuffer,  # noqa: E402
                                     allocate_circular_buffers, cb_table_base, cb_table_image)

TILE = (1, 0)
ROLES = {"unpack": "trisc0", "math": "trisc1", "pack": "trisc2"}
STREAMS = ("unpack", "math", "pack")
COMPUTE_KERNELS = ["compute_eltwise_binary", "compute_sfpu", "compute_matmul", "compute_reduce"]

#: Every call of the API once, tt-metal's optional-argument forms included.
API_TOUR = r"""
#include "compute_kernel_api.h"

int main(void) {
    binary_op_init_common(0, 1, 16);
    unary_op_init_common(0, 16);
    init_sfpu(0, 16);
    add_tiles_init(0, 1);
    add_tiles_init(0, 1, 1);
    sub_tiles_init(0, 1);
    mul_tiles_init(0, 1);
    mm_init(0, 1, 16);
    mm_init(0, 1, 16, 0);
    copy_tile_init(0);
    copy_tile_to_dst_init_short(0);
    exp_tile_init(); recip_tile_init(); sqrt_tile_init(); gelu_tile_init(); relu_tile_init();
    binop_with_scalar_tile_init();
    reduce_init(POOL_MAX, REDUCE_COL, 0, 16);
    reconfig_data_format(0, 1);
    pack_reconfig_data_format(16);
    cb_wait_front(0, 1);
    cb_wait_front(1, 1);
    acquire_dst();
    tile_regs_acquire();
    matmul_tiles(0, 1, 0, 0, 0, 0);
    add_tiles(0, 1, 0, 0, 0);
    sub_tiles(0, 1, 0, 0, 0);
    mul_tiles(0, 1, 0, 0, 0);
    copy_tile(0, 0, 0);
    reduce_tile(POOL_SUM, REDUCE_ROW, 0, 0, 0);
    exp_tile(0); recip_tile(0); sqrt_tile(0); gelu_tile(0); relu_tile(0);
    add_unary_tile(0, 0x3f800000u); sub_unary_tile(0, 0x3f800000u); mul_unary_tile(0, 0x40000000u);
    tile_regs_commit();
    cb_pop_front(0, 1);
    cb_pop_front(1, 1);
    cb_reserve_back(16, 1);
    tile_regs_wait();
    pack_tile(0, 16);
    pack_tile(0, 16, 0);
    tile_regs_release();
    cb_push_back(16, 1);
    release_dst();
    reduce_uninit();
    return (int)(get_read_ptr(0) + get_write_ptr(16) + get_tile_size(1) + TESSERA_DST_TILES_PER_HALF);
}
"""


def _gcc_strict(tmp_path, src, core: str, cfg):
    """Compile the C file ``src`` for ``core`` with -Werror -pedantic -std=c11; returns the process."""
    from tessera.sw.toolchain.build import compile_flags
    from tessera.sw.toolchain.gcc import find_gcc
    from tessera.sw.toolchain.gen import write_generated
    from tessera.sw.toolchain.layout import target_for
    gen = tmp_path / f"gen_{core}"
    write_generated(gen, target_for(core, cfg), cfg)
    flags = compile_flags(target_for(core, cfg), gen, "-O2", [])
    return subprocess.run([str(find_gcc()), *flags, "-Werror", "-pedantic", "-std=c11", "-c", str(src),
                           "-o", str(tmp_path / f"{core}.o")], capture_output=True, text=True)


@pytest.mark.parametrize("preset_name", ["tiny", "tensix"])
@pytest.mark.parametrize("source", ["tour"] + COMPUTE_KERNELS)
def test_compute_sources_compile_warning_free_for_each_role(tmp_path, source, preset_name):
    cfg = preset(preset_name)
    if source == "tour":
        src = tmp_path / "tour.c"
        src.write_text(API_TOUR)
    else:
        src = KERNELS_DIR / f"{source}.c"
    for core in ROLES.values():
        proc = _gcc_strict(tmp_path, src, core, cfg)
        assert proc.returncode == 0, f"{source} for {core}:\n{proc.stderr}"


def test_compute_header_refuses_other_cores_and_a_late_include(tmp_path):
    cfg = preset("tiny")
    src = tmp_path / "k.c"
    src.write_text('#include "compute_kernel_api.h"\nint main(void) { return 0; }\n')
    with pytest.raises(CompileError, match="a compute kernel runs on the unpack, math and pack cores"):
        compile_elf([src], "brisc", cfg, tmp_path / "k.elf")
    src.write_text('#include "tessera.h"\n#include "compute_kernel_api.h"\nint main(void) { return 0; }\n')
    with pytest.raises(CompileError, match="before tessera.h"):
        compile_elf([src], "trisc1", cfg, tmp_path / "k.elf")


def run_compute_cores(tmp_path, cfg, source, cores, args, buffers, defines=None, max_instructions=200_000):
    """Load the compute kernel ``source`` (a kernel name or C text) for ``cores`` of ``cfg``, with
    circular buffers ``buffers`` = [(index, format, pages)] placed by the allocator, every input CB
    full (pages_received = num_pages); run each core alone in unicorn (engine STATUS reads 0: idle,
    so no wait blocks), for at most ``max_instructions``.
    Returns ({core: [(stream, command word)] in push order}, {core: run}, {index: CircularBuffer},
    {core: elf})."""
    if source in COMPUTE_KERNELS:
        path = KERNELS_DIR / f"{source}.c"
    else:
        path = tmp_path / "kernel.c"
        path.write_text(source)
    out = tmp_path / cfg.name   # one directory per configuration: a test may load two side by side
    out.mkdir(exist_ok=True)
    elfs = {core: compile_elf([path], core, cfg, out / f"{core}.elf", defines=defines) for core in cores}
    cbs = allocate_circular_buffers(cfg, [(i, cfg.engine.tile_bytes(fmt), pages, fmt) for i, fmt, pages in buffers])
    image = build_image([ProgramSpec(core, [TILE], elfs[core], runtime_args=list(args)) for core in cores],
                        cfg, {TILE: cbs})
    chip = ModelChip(cfg)
    chip.apply(load_plan(image, cfg))
    for cb in cbs:
        if cb.index < 16:   # inputs: full
            at = cb_table_base(cfg) - cfg.l1.base + cb.index * CB_ENTRY_BYTES + CB_FIELDS["pages_received"]
            chip.l1[TILE][at:at + 4] = struct.pack("<I", cb.num_pages)
    from tb.fw.emulator import run_tile_core
    engine = cfg.mmio.region("engine")
    hi = {engine.address(f"{s}_cmd_hi"): s for s in STREAMS}
    lo = {engine.address(f"{s}_cmd_lo"): s for s in STREAMS}
    exits = {p.core: p.exit_addr for p in FirmwareImage.from_bytes(image).programs}
    commands, runs = {}, {}
    for core in cores:
        runs[core] = run = run_tile_core(chip, cfg, *TILE, core, exits[core], max_instructions=max_instructions)
        pending, commands[core] = {}, []
        for addr, value, _size in run.mmio_log:
            if addr in hi:
                commands[core].append((hi[addr], (value << 32) | pending.pop(hi[addr])))
            elif addr in lo:
                pending[lo[addr]] = value
    return commands, runs, {cb.index: cb for cb in cbs}, elfs


def _run_roles(tmp_path, source, args, buffers, defines=None, roles=ROLES):
    """run_compute_cores on tiny for the cores of ``roles``; everything returned is keyed by role."""
    commands, runs, cbs, elfs = run_compute_cores(tmp_path, preset("tiny"), source, list(roles.values()), args,
                                                  buffers, defines)

    def by_role(per_core):
        return {role: per_core[core] for role, core in roles.items()}
    return by_role(commands), by_role(runs), cbs, by_role(elfs)


def _page(cb, i):
    return cb.addr + i * cb.page_size


def test_eltwise_roles_push_their_commands(tmp_path):
    """add_tiles: unpack core A (CB 0, bf16) and B (CB 1, Bfp8_b: formats from the CB table) with
    push; math ADD (pop) + COMMIT; pack core one PACK with release per tile at successive pages."""
    tiles = 3
    cmds, runs, cbs, _ = _run_roles(tmp_path, "compute_eltwise_binary", [tiles, 0],
                                    [(0, "float16_b", tiles), (1, "bfp8_b", tiles), (16, "float32", tiles)])
    assert all(run.exit_code == 0 for run in runs.values()), {r: run.console for r, run in runs.items()}
    assert cmds["unpack"] == [c for i in range(tiles) for c in (
        ("unpack", encode_unpack(_page(cbs[0], i), "float16_b", "a")),
        ("unpack", encode_unpack(_page(cbs[1], i), "bfp8_b", "b", push=True)))]
    assert cmds["math"] == [c for _ in range(tiles) for c in (
        ("math", encode_math("add", fidelity="hifi4", pop=True)), ("math", encode_math("commit", fidelity="lofi")))]
    assert cmds["pack"] == [("pack", encode_pack(_page(cbs[16], i), "float32", release=True)) for i in range(tiles)]


@pytest.mark.parametrize("defines,fidelity", [({"TESSERA_MATH_FIDELITY": "TESSERA_ENG_FIDELITY_HIFI3"}, "hifi3"),
                                              ({"MATH_FIDELITY": "1"}, "hifi2"), (None, "hifi4")])
def test_matmul_math_accumulates_over_k_and_restarts_per_output_tile(tmp_path, defines, fidelity):
    """matmul_tiles in a K loop: acc off for k = 0, on after; COMMIT; fidelity from
    TESSERA_MATH_FIDELITY, else the runtime's MATH_FIDELITY, else HiFi4."""
    out_tiles, k_tiles = 2, 3
    steps = out_tiles * k_tiles
    cmds, runs, cbs, _ = _run_roles(tmp_path, "compute_matmul", [out_tiles, k_tiles],
                                    [(0, "float16_b", steps), (1, "float16_b", steps), (16, "float16_b", out_tiles)],
                                    defines=defines)
    assert all(run.exit_code == 0 for run in runs.values())
    assert cmds["unpack"] == [c for s in range(steps) for c in (
        ("unpack", encode_unpack(_page(cbs[0], s), "float16_b", "a")),
        ("unpack", encode_unpack(_page(cbs[1], s), "float16_b", "b", push=True)))]
    assert cmds["math"] == [c for _ in range(out_tiles) for c in (
        [("math", encode_math("matmul", fidelity=fidelity, acc=k > 0, pop=True)) for k in range(k_tiles)]
        + [("math", encode_math("commit", fidelity="lofi"))])]
    assert cmds["pack"] == [("pack", encode_pack(_page(cbs[16], t), "float16_b", release=True))
                            for t in range(out_tiles)]


@pytest.mark.parametrize("dim,kind", [("row", "max"), ("col", "sum")])
def test_reduce_zeroes_then_accumulates(tmp_path, dim, kind):
    """reduce_tile: ZERO the fresh Dst tile, first REDUCE from +0 / -inf (acc off), then acc on;
    column reductions unpack into SrcB."""
    w_tiles = 2
    cmds, runs, cbs, _ = _run_roles(tmp_path, "compute_reduce", [1, w_tiles, ["sum", "max"].index(kind),
                                                                 ["row", "col", "scalar"].index(dim)],
                                    [(0, "bfp8_b", w_tiles), (16, "float16_b", 1)])
    assert all(run.exit_code == 0 for run in runs.values())
    operand = "b" if dim == "col" else "a"
    assert cmds["unpack"] == [("unpack", encode_unpack(_page(cbs[0], w), "bfp8_b", operand, push=True))
                              for w in range(w_tiles)]
    assert cmds["math"] == [("math", encode_math("zero", fidelity="lofi"))] + [
        ("math", encode_math("reduce", fidelity="lofi", acc=w > 0, pop=True, dim=dim, kind=kind))
        for w in range(w_tiles)] + [("math", encode_math("commit", fidelity="lofi"))]


@pytest.mark.parametrize("op", ["exp", "recip", "sqrt", "gelu", "relu"])
def test_copy_tile_adds_a_zero_tile_and_sfpu_runs_in_place(tmp_path, op):
    """copy_tile: the tile into SrcA, the unpack core's zero tile (Bfp8_b, in its .bss) into SrcB,
    ADD; the SFPU op (exp_tile, recip_tile, ...) on the written tile needs no ZERO."""
    from elftools.elf.elffile import ELFFile
    op_arg = ["exp", "recip", "sqrt", "gelu", "relu"].index(op)   # compute_sfpu.c's argument 1
    cmds, runs, cbs, elfs = _run_roles(tmp_path, "compute_sfpu", [1, op_arg],
                                       [(0, "float16_b", 1), (16, "float16_b", 1)])
    assert all(run.exit_code == 0 for run in runs.values())
    with open(elfs["unpack"], "rb") as f:
        symbol = ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("tessera_zero_tile")[0]
    cfg = preset("tiny")
    assert symbol["st_size"] == cfg.engine.tile_bytes("bfp8_b") and symbol["st_value"] % cfg.l1.bank_bytes == 0
    assert cmds["unpack"] == [("unpack", encode_unpack(_page(cbs[0], 0), "float16_b", "a")),
                              ("unpack", encode_unpack(symbol["st_value"], "bfp8_b", "b", push=True))]
    assert cmds["math"] == [("math", encode_math("add", fidelity="hifi4", pop=True)),
                            ("math", encode_math("sfpu", fidelity="lofi", sfpu=op)),
                            ("math", encode_math("commit", fidelity="lofi"))]


MATH_EXTRAS = r"""
#include "compute_kernel_api.h"
int main(void) {
    tile_regs_acquire();
    add_tiles_init(0, 1, 1);          /* accumulate into Dst */
    add_tiles(0, 1, 0, 0, 0);         /* unwritten tile: no acc */
    add_tiles(0, 1, 0, 0, 0);         /* acc */
    mul_tiles_init(0, 1);             /* overwrite again */
    mul_tiles(0, 1, 0, 0, 0);
    sub_unary_tile(0, 0x3f800000u);   /* adds -1.0 */
    mul_unary_tile(0, 0x40000000u);
    add_unary_tile(0, 0x3f000000u);
    tile_regs_commit();
    return 0;
}
"""


def test_binary_accumulation_and_scalar_ops(tmp_path):
    cmds, runs, _, _ = _run_roles(tmp_path, MATH_EXTRAS, [], [(16, "float16_b", 1)], roles={"math": "trisc1"},
                                  defines={"MATH_FIDELITY": "2"})
    assert runs["math"].exit_code == 0
    assert cmds["math"] == [("math", encode_math("add", fidelity="hifi3", pop=True)),
                            ("math", encode_math("add", fidelity="hifi3", acc=True, pop=True)),
                            ("math", encode_math("mul", fidelity="hifi3", pop=True)),
                            ("math", encode_math("sfpu", fidelity="lofi", sfpu="adds", scalar=0xBF800000)),
                            ("math", encode_math("sfpu", fidelity="lofi", sfpu="muls", scalar=0x40000000)),
                            ("math", encode_math("sfpu", fidelity="lofi", sfpu="adds", scalar=0x3F000000)),
                            ("math", encode_math("commit", fidelity="lofi"))]


PACK_ORDER = r"""
#include "compute_kernel_api.h"
int main(void) {
    tile_regs_acquire();
    exp_tile(0);                /* an unwritten tile: ZERO first */
    tile_regs_commit();
    tile_regs_commit();         /* nothing written: tile 0 zeroed, then COMMIT */
    cb_reserve_back(16, 2);
    tile_regs_wait();
    pack_tile(0, 16, 1);        /* tile 1 of the reservation */
    pack_tile(0, 16);           /* the next tile: 0 */
    cb_push_back(16, 2);        /* before the release: pushes the held PACK without release */
    tile_regs_release();        /* so the last PACK is pushed again, with release */
    cb_reserve_back(16, 1);
    tile_regs_wait();
    pack_tile(0, 16);           /* first tile of the new reservation: page 2 */
    tile_regs_release();
    cb_push_back(16, 1);
    return 0;
}
"""


def test_pack_holds_back_the_last_pack_for_the_release(tmp_path):
    cmds, runs, cbs, _ = _run_roles(tmp_path, PACK_ORDER, [], [(16, "bfp8_b", 4)],
                                    roles={"math": "trisc1", "pack": "trisc2"})
    assert all(run.exit_code == 0 for run in runs.values())
    assert cmds["math"] == [("math", encode_math("zero", fidelity="lofi")),
                            ("math", encode_math("sfpu", fidelity="lofi", sfpu="exp")),
                            ("math", encode_math("commit", fidelity="lofi")),
                            ("math", encode_math("zero", fidelity="lofi")),
                            ("math", encode_math("commit", fidelity="lofi"))]
    out = cbs[16]
    assert cmds["pack"] == [("pack", encode_pack(_page(out, 1), "bfp8_b")),
                            ("pack", encode_pack(_page(out, 0), "bfp8_b")),
                            ("pack", encode_pack(_page(out, 0), "bfp8_b", release=True)),
                            ("pack", encode_pack(_page(out, 2), "bfp8_b", release=True))]


@pytest.mark.parametrize("call,role,message", [
    ("matmul_tiles(0, 1, 0, 0, 0, 1);", "math", "matmul_tiles: transpose != 0"),
    ("mm_init(0, 1, 16, 1);", "unpack", "mm_init: transpose != 0"),
    ("tile_regs_acquire(); add_tiles(0, 1, 0, 0, TESSERA_DST_TILES_PER_HALF);", "math", "add_tiles: Dst index"),
    ("tile_regs_wait(); pack_tile(TESSERA_DST_TILES_PER_HALF, 16);", "pack", "pack_tile: Dst index"),
    ("tile_regs_wait(); tile_regs_release();", "pack", "tile_regs_release: no pack_tile since tile_regs_wait"),
    ("reduce_init((tessera_pool_type_t)2, REDUCE_ROW, 0, 16);", "unpack", "reduce_init: pool"),
])
def test_refused_calls_name_themselves_and_exit_99(tmp_path, call, role, message):
    source = '#include "compute_kernel_api.h"\nint main(void) {\n    %s\n    return 0;\n}\n' % call
    _, runs, _, _ = _run_roles(tmp_path, source, [], [(0, "float16_b", 1), (1, "float16_b", 1),
                                                      (16, "float16_b", 1)], roles={role: ROLES[role]})
    assert runs[role].exit_code == 99, (runs[role].exit_code, runs[role].console)
    assert f"compute: {message}" in runs[role].console


def test_cb_data_format_goes_from_the_manifest_to_the_table(tmp_path):
    """CircularBuffer.data_format: checked, kept in the image manifest, written to the table as
    code + 1 (0 when not given: the compute API's default, Float16_b)."""
    from tessera.hw.engine.commands import FORMAT_BY_NAME
    cfg = preset("tiny")
    cbs = allocate_circular_buffers(cfg, [(0, 1088, 2, "bfp8_b"), (3, 64, 2), (16, 4096, 1, "float32")])
    table = cb_table_image(cbs)
    word = lambda i: struct.unpack_from("<I", table, i * CB_ENTRY_BYTES + CB_FIELDS["data_format"])[0]  # noqa: E731
    assert (word(0), word(3), word(16)) == (FORMAT_BY_NAME["bfp8_b"] + 1, 0, FORMAT_BY_NAME["float32"] + 1)
    src = tmp_path / "k.c"
    src.write_text('#include "tessera.h"\nint main(void) { return 0; }\n')
    elf = compile_elf([src], "brisc", cfg, tmp_path / "k.elf")
    path = tmp_path / "k.fwimg"
    path.write_bytes(build_image([ProgramSpec("brisc", [TILE], elf)], cfg, {TILE: cbs}))
    assert read_image(path).circular_buffers[TILE] == cbs
    assert CircularBuffer(3, 0x6000, 64, 2).to_dict() == {"index": 3, "addr": 0x6000, "page_size": 64, "num_pages": 2}
    with pytest.raises(FirmwareError, match="data_format 'float16' is not one of"):
        allocate_circular_buffers(cfg, [(0, 2048, 2, "float16")])


def test_cli_cb_takes_a_data_format(tmp_path, capsys):
    """``tessera fw build --cb INDEX,PAGE_SIZE,NUM_PAGES,FORMAT`` and a spec's ``data_format``."""
    import json

    from tessera.sim.cli import main
    src = tmp_path / "k.c"
    src.write_text('#include "tessera.h"\nint main(void) { return 0; }\n')
    out = tmp_path / "a.fwimg"
    assert main(["fw", "build", "--preset", "tiny", "-o", str(out), "--tile", "1,0", "--core", f"brisc={src}",
                 "--cb", "0,1088,2,bfp8_b", "--cb", "16,2048,2"]) == 0
    assert [cb.data_format for cb in read_image(out).circular_buffers[TILE]] == ["bfp8_b", None]
    assert main(["fw", "build", "--preset", "tiny", "-o", str(out), "--tile", "1,0", "--core", f"brisc={src}",
                 "--cb", "0,1088,2,bfp4"]) == 1
    assert "data_format 'bfp4' is not one of" in capsys.readouterr().err
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"programs": [{"core": "brisc", "tiles": [[1, 0]], "sources": ["k.c"]}],
                                "circular_buffers": [
                                    {"tile": [1, 0], "index": 1, "page_size": 4096, "num_pages": 1,
                                     "data_format": "float32"},
                                    {"tile": [1, 0], "index": 2, "page_size": 64, "num_pages": 1, "addr": 0x8000,
                                     "data_format": "float16_b"}]}))
    assert main(["fw", "build", "--preset", "tiny", "--spec", str(spec), "-o", str(out)]) == 0
    assert [cb.data_format for cb in read_image(out).circular_buffers[TILE]] == ["float32", "float16_b"]
