"""Every function of tessera.h / tessera_io.h compiles cleanly and does what its comment says (in unicorn)."""

from __future__ import annotations

import pytest

from tessera.sw.toolchain import FirmwareImage, ModelChip, ProgramSpec, build_image, compile_elf, load_plan
from tessera.sw.toolchain.gcc import find_gcc
from tb.fw.emulator import run_tile_core

API_KERNEL = r"""
#include "tessera.h"

int main(void) {
    /* identity: the emulator's tile_id word is x | y << 8 */
    uint32_t x = tessera_tile_x(), y = tessera_tile_y();
    if (tessera_tile_id() != (x | (y << 8))) return 1;
    /* mailboxes and scratch: write, read back */
    for (uint32_t i = 0; i < TESSERA_NUM_MAILBOXES; i++)
        tessera_mailbox_write(i, 0x100u + i);
    if (tessera_mailbox_read(TESSERA_NUM_MAILBOXES - 1) != 0x100u + TESSERA_NUM_MAILBOXES - 1) return 2;
    tessera_scratch_write(0xC0FFEEu);
    if (tessera_scratch_read() != 0xC0FFEEu) return 3;
    if (tessera_mailbox_wait_change(0, 0) != 0x100u) return 4;
    /* soft reset and reset PCs of the other cores */
    tessera_set_reset_pc(TESSERA_NUM_CORES - 1, 0x1234u);
    tessera_soft_reset_write(tessera_soft_reset_read() & ~1u);
    /* cycle counters: reading must not trap; values are the emulator's */
    (void)tessera_tile_cycles();
    (void)tessera_rdcycle();
    (void)tessera_rdinstret();
    /* runtime arguments */
    if (get_arg_addr(1) != TESSERA_TARGET_RTARGS_BASE + 4u) return 5;
    if (get_arg_val(0) != 77u || get_arg_val(1) != 0u) return 6;
    if (TESSERA_MAX_RUNTIME_ARGS * 4u != TESSERA_TARGET_RTARGS_BYTES) return 7;
    tessera_printf("ok %u %u core %u\n", (unsigned)x, (unsigned)y, (unsigned)TESSERA_MY_CORE_INDEX);
    tessera_exit(42);
}
"""


def test_tile_api_in_unicorn(tmp_path, tiny):
    src = tmp_path / "api.c"
    src.write_text(API_KERNEL)
    core = tiny.cores[-1].name
    elf = compile_elf([src], core, tiny, tmp_path / "api.elf", defines=["UNUSED=1"])
    image = build_image([ProgramSpec(core, [(2, 1)], elf, [77])], tiny)
    chip = ModelChip(tiny)
    chip.apply(load_plan(image, tiny))
    prog = FirmwareImage.from_bytes(image).programs[0]
    run = run_tile_core(chip, tiny, 2, 1, core, prog.exit_addr)
    assert run.exit_code == 42, run
    assert run.console == f"ok 2 1 core {tiny.core_index(core)}\n"
    ctrl = tiny.mmio.region("tile_ctrl")
    assert run.mmio_writes[ctrl.address("scratch")] == 0xC0FFEE
    assert run.mmio_writes[ctrl.address("reset_pc", len(tiny.cores) - 1)] == 0x1234
    mailboxes = next(r.count for r in ctrl.registers if r.name == "mailbox")
    assert [run.mmio_writes[ctrl.address("mailbox", i)] for i in range(mailboxes)] == \
        [0x100 + i for i in range(mailboxes)]


@pytest.mark.parametrize("cfg_name", ["tiny", "no_engine_cfg"])
def test_headers_compile_warning_free_for_every_target(tmp_path, cfg_name, request):
    """-Werror -Wall -Wextra -pedantic over the headers for each target (with and without engine registers)."""
    tiny = request.getfixturevalue(cfg_name)
    import subprocess

    from tessera.sw.toolchain.build import INCLUDE_DIR, compile_flags
    from tessera.sw.toolchain.gen import write_generated
    from tessera.sw.toolchain.layout import target_for, target_names
    for name in target_names(tiny):
        target = target_for(name, tiny)
        gen = tmp_path / name
        write_generated(gen, target, tiny)
        header = "tessera_runelf.h" if target.kind == "runelf" else "tessera.h"
        src = tmp_path / f"{name}.c"
        src.write_text(f'#include "{header}"\nint main(void) {{ return 0; }}\n')
        flags = compile_flags(target, gen, "-O2", [])
        proc = subprocess.run([str(find_gcc()), *flags, "-Werror", "-pedantic", "-std=c11", "-c", str(src),
                               "-o", str(tmp_path / f"{name}.o")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert INCLUDE_DIR.is_dir()
