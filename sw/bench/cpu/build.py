"""Build the CPU benchmark programs for the run-elf system with the firmware toolchain.

Each program is one C file of this directory, compiled by
``tessera.sw.toolchain.compile_elf(..., target="runelf")``: the project's crt0,
runtime and generated linker script, console address from ``cfg.runelf``.
"""

from __future__ import annotations

from pathlib import Path

from tessera.sw.toolchain import compile_elf
from tessera.sw.toolchain.build import package_folder

__all__ = ["PROGRAMS", "SRC_DIR", "OPT", "compile_program", "build_all"]

SRC_DIR = package_folder("tessera.sw.bench.cpu")
#: The benchmark programs (``hello`` is built too, by the tests, but not timed).
PROGRAMS = ["sort", "crc", "matmul", "strings", "divide"]
OPT = "-O2"


def compile_program(name: str, out, cfg) -> Path:
    """Build ``sw/bench/cpu/<name>.c`` (its directory on the include path for bench.h) into ``out``."""
    if name not in PROGRAMS + ["hello"]:
        raise ValueError(f"unknown benchmark program {name!r}; known: {PROGRAMS + ['hello']}")
    return compile_elf([SRC_DIR / f"{name}.c"], "runelf", cfg, out, opt=OPT)


def build_all(cfg, out_dir, names=None) -> dict:
    names = list(names or PROGRAMS)
    unknown = [n for n in names if n not in PROGRAMS + ["hello"]]
    if unknown:
        raise ValueError(f"unknown benchmark programs {unknown}; known: {PROGRAMS}")
    return {name: compile_program(name, Path(out_dir) / f"{name}.elf", cfg) for name in names}
