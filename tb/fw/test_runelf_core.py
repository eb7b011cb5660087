"""A C program built by the toolchain runs on the single-core run-elf system.

The program prints through the console and exits with a code the test checks.
It always runs in unicorn with the run-elf memory map (RAM, console register,
tohost) — an independent proof that the program is right — and on the real
core through ``tessera run-elf``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tessera.sw.toolchain import compile_elf
from tessera.sw.toolchain.build import KERNELS_DIR
from tb.fw.emulator import run_runelf

REPO = Path(__file__).resolve().parents[2]


def _fib(n):
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def expected_hello():
    """Console text and exit code of sw/kernels/hello_runelf.c, computed in Python."""
    table = [3, 1, 4, 1, 5, 9, 2, 6]
    total = sum(v * (i + 1) for i, v in enumerate(table))
    big = 0x12345678 * 0x9ABCDEF
    q = (big // 1000003) & 0xFFFFFFFF
    quot = -(1234567 // 7)
    checksum = (total + _fib(15) + q) & 0xFFFFFFFF
    text = (f"hello from tessera\nsum={total} fib(15)={_fib(15)}\n"
            f"big={big:x} q={q} neg/7={quot} rem={-1234567 - quot * 7}\nchecksum={checksum:08x}\n")
    return text, checksum & 0x7F


@pytest.fixture(scope="module")
def hello_elf(tmp_path_factory, tiny):
    return compile_elf([KERNELS_DIR / "hello_runelf.c"], "runelf", tiny,
                       tmp_path_factory.mktemp("runelf") / "hello_runelf.elf")


def test_hello_in_unicorn(hello_elf, tiny):
    text, code = expected_hello()
    result = run_runelf(hello_elf, tiny)
    assert (result.console, result.exit_code) == (text, code)
    assert code != 0, "the exit code must be distinguishable from success"


@pytest.mark.slow
def test_hello_on_the_core(hello_elf):
    """`tessera run-elf ELF` prints the console and exits with the program's code."""
    text, code = expected_hello()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "tessera.sim.cli", "run-elf", str(hello_elf)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert text in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == code, proc.stdout + proc.stderr


TRAP_PROGRAM = r"""#include "tessera_runelf.h"
int main(void) {
    uint32_t c0 = tessera_rdcycle(), i0 = tessera_rdinstret();
    uint64_t c64 = tessera_rdcycle64();
    tessera_printf("counters %s %s %s\n", c0 > 0 ? "ok" : "zero", i0 > 0 ? "ok" : "zero",
                   c64 >= c0 ? "ok" : "bad");
    __asm__ volatile("ebreak");
    tessera_puts("not reached\n");
    return 0;
}
"""


@pytest.mark.slow
def test_trap_handler_on_the_core(tmp_path, tiny):
    """crt0's trap handler on real hardware: ebreak (mcause 3) exits with 128 + 3; CSR counters count."""
    src = tmp_path / "trap.c"
    src.write_text(TRAP_PROGRAM)
    elf = compile_elf([src], "runelf", tiny, tmp_path / "trap.elf")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "tessera.sim.cli", "run-elf", str(elf)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.stdout.startswith("counters ok ok ok\n"), proc.stdout + proc.stderr
    assert "not reached" not in proc.stdout
    assert proc.returncode == 131, proc.stdout + proc.stderr
