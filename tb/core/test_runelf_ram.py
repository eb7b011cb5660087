"""The run-elf system's RAM is flat: every word of ``cfg.runelf.ram_bytes`` works.

A program stores to the last word, a word 3 MiB in, byte lanes near the top
and 100 distinct 1 KiB pages (more than the 64 pages the old sparse pool
held), then reads everything back and checks that unwritten words read 0.
It exits with 0 when all matched, otherwise with the number of the failed
check, so a failure says which region is wrong.
"""

from __future__ import annotations

import pytest

from tessera.hw.config import preset
from tessera.sim.runelf.driver import run_elf
from tb.core.asm_link import link_asm

CFG = preset("tiny")
PAGES = 100
PAGE = 1024


def _program() -> str:
    base, size = CFG.runelf.ram_base, CFG.runelf.ram_bytes
    top = base + size - 4
    three_mib = base + (3 << 20)
    pages = base + (1 << 20)
    assert size >= 4 << 20, "the test addresses assume at least 4 MiB of RAM"
    return f"""
    .option norelax
    .section .text.init, "ax"
    .globl _start
_start:
    li s0, {top:#x}
    li t1, 0xa5a5f00d
    sw t1, 0(s0)
    li s1, {three_mib:#x}
    li t1, 0x3c3c1234
    sw t1, 0(s1)
    li s2, {top - 8:#x}
    li t1, 0x11
    sb t1, 0(s2)
    li t1, 0x22
    sb t1, 1(s2)
    li t1, 0x4433
    sh t1, 2(s2)
    # {PAGES} pages: first and last word of each, value = address ^ key.
    li s3, {pages:#x}
    li s4, {PAGES}
    li s5, 0x5a5a5a5a
1:  xor t1, s3, s5
    sw t1, 0(s3)
    not t1, t1
    sw t1, {PAGE - 4}(s3)
    addi s3, s3, {PAGE}
    addi s4, s4, -1
    bnez s4, 1b
    # Read back.
    li a0, 2
    lw t1, 0(s0)
    li t2, 0xa5a5f00d
    bne t1, t2, fail
    li a0, 3
    lw t1, 0(s1)
    li t2, 0x3c3c1234
    bne t1, t2, fail
    li a0, 4
    lw t1, 0(s2)
    li t2, 0x44332211
    bne t1, t2, fail
    li a0, 5
    lw t1, 4(s2)
    bnez t1, fail
    lw t1, -4(s1)
    bnez t1, fail
    li a0, 6
    li s3, {pages:#x}
    li s4, {PAGES}
2:  lw t1, 0(s3)
    xor t2, s3, s5
    bne t1, t2, fail
    lw t1, {PAGE - 4}(s3)
    not t2, t2
    bne t1, t2, fail
    lw t1, 4(s3)
    bnez t1, fail
    addi s3, s3, {PAGE}
    addi s4, s4, -1
    bnez s4, 2b
    li a0, 0
fail:
    slli a0, a0, 1
    ori a0, a0, 1
    la t0, tohost
    sw a0, 0(t0)
3:  j 3b
    .section .tohost, "aw", @progbits
    .balign 8
    .globl tohost
tohost: .dword 0
"""


@pytest.mark.parametrize("stall", [0, 96])
def test_whole_ram_is_usable(tmp_path, stall):
    src = tmp_path / "flat_ram.S"
    src.write_text(_program())
    elf = link_asm(src, tmp_path / "flat_ram.elf", CFG)
    result = run_elf(elf, CFG, max_cycles=200_000, stall=stall)
    assert result.done, f"no exit; last PC {result.last_pc:#010x}"
    assert result.exit_code == 0, f"check {result.exit_code} failed (stall {stall})"
    assert result.instret > 1000
