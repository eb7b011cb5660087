"""Firmware waypoints (tessera_waypoint.h): the stores each marked wait makes, in unicorn.

The NIU and engine pages of the emulated tile read 0 (idle, counters equal), so every barrier and
wait returns at once and the store sequence is the whole behaviour.  The chip run that turns these
stores into a timeline: tb/chip/cocotb_chip.py ``timeline``.
"""

from __future__ import annotations

import subprocess

import pytest

from tessera.hw.tile.waypoint import Waypoint
from tessera.sw.toolchain import FirmwareImage, ModelChip, ProgramSpec, build_image, compile_elf, load_plan
from tessera.sw.toolchain.waypoint_api import waypoint_address
from tb.fw.emulator import run_tile_core

KERNEL = r"""
#include "tessera.h"

int main(void) {
    volatile uint32_t *sem = (volatile uint32_t *)TESSERA_L1_DATA_BASE;
    TESSERA_WAYPOINT(CB_WAIT_FRONT);
    tessera_waypoint(TESSERA_WAYPOINT_RUNNING);
    noc_async_read(get_noc_addr(1, 0, 0x100), TESSERA_L1_DATA_BASE + 0x100, 4); /* buffer idle: no mark */
    noc_async_read_barrier();
    noc_async_write_barrier();
    noc_async_writes_flushed();
    noc_async_atomic_barrier();
    noc_semaphore_wait(sem, 0u);
    noc_semaphore_wait_min(sem, 0u);
    tessera_engine_wait_idle(TESSERA_ENG_STATUS_BUSY_MASK);
    return 3;
}
"""


@pytest.mark.parametrize("core", ["brisc", "trisc2"])
def test_every_marked_wait_stores_its_code_then_running_and_exit_stores_done(tmp_path, tiny, core):
    src = tmp_path / "wp.c"
    src.write_text(KERNEL)
    elf = compile_elf([src], core, tiny, tmp_path / f"wp_{core}.elf")
    image = build_image([ProgramSpec(core, [(2, 1)], elf, [])], tiny)
    chip = ModelChip(tiny)
    chip.apply(load_plan(image, tiny))
    prog = FirmwareImage.from_bytes(image).programs[0]
    run = run_tile_core(chip, tiny, 2, 1, core, prog.exit_addr)
    assert run.exit_code == 3, run
    index = tiny.core_index(core)
    mine = waypoint_address(tiny, index)
    others = {waypoint_address(tiny, i) for i in range(len(tiny.cores))} - {mine}
    codes = [Waypoint(value) for addr, value, size in run.mmio_log if addr == mine and size == 4]
    W = Waypoint
    assert codes == [W.CB_WAIT_FRONT, W.RUNNING,
                     W.NOC_READ_BARRIER, W.RUNNING, W.NOC_WRITE_BARRIER, W.RUNNING,
                     W.NOC_WRITES_FLUSHED, W.RUNNING, W.NOC_ATOMIC_BARRIER, W.RUNNING,
                     W.SEMAPHORE_WAIT, W.RUNNING, W.SEMAPHORE_WAIT, W.RUNNING,
                     W.ENGINE_WAIT, W.RUNNING, W.DONE], codes
    assert not [addr for addr, _, _ in run.mmio_log if addr in others], "stored another core's waypoint"


def test_waypoints_compile_to_nothing_on_runelf(tmp_path, tiny):
    """The run-elf system has no tile_ctrl: tessera_waypoint() makes no store (and the codes exist)."""
    from tessera.sw.toolchain.build import compile_flags
    from tessera.sw.toolchain.gcc import find_gcc
    from tessera.sw.toolchain.gen import write_generated
    from tessera.sw.toolchain.layout import target_for

    target = target_for("runelf", tiny)
    gen = tmp_path / "gen"
    write_generated(gen, target, tiny)
    src = tmp_path / "r.c"
    src.write_text('#include "tessera_runelf.h"\n#include "tessera_waypoint.h"\n'
                   "void mark(void) { TESSERA_WAYPOINT(SEMAPHORE_WAIT); tessera_waypoint(TESSERA_WAYPOINT_DONE); }\n")
    asm = tmp_path / "r.s"
    flags = compile_flags(target, gen, "-O2", [])
    proc = subprocess.run([str(find_gcc()), *flags, "-Werror", "-S", str(src), "-o", str(asm)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    body = asm.read_text().split("mark:", 1)[1].split(".size", 1)[0]
    assert not any(line.split()[0] in ("sw", "sb", "sh") for line in body.splitlines() if line.split()), body
