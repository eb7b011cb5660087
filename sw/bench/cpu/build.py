"""Build the CPU benchmark programs for the run-elf system.

The linker script and the console address are generated from
``cfg.runelf`` (nothing is restated by hand).  Until the firmware toolchain
(sw/toolchain) offers ``compile_elf(..., target="runelf")`` this small
crt0 + generated linker script does the job.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["PROGRAMS", "SRC_DIR", "linker_script", "compile_program", "build_all", "GCC", "CFLAGS"]

SRC_DIR = Path(__file__).resolve().parent
PROGRAMS = ["sort", "crc", "matmul", "strings", "divide"]
GCC = "riscv64-unknown-elf-gcc"
CFLAGS = ["-march=rv32imc_zicsr_zifencei", "-mabi=ilp32", "-O2", "-ffreestanding", "-nostdlib",
          "-nostartfiles", "-static", "-fno-builtin", "-Wall", "-Werror"]


def linker_script(cfg) -> str:
    re = cfg.runelf
    return f"""/* Generated from configuration {cfg.name!r} (cfg.runelf). Do not edit. */
OUTPUT_ARCH(riscv)
ENTRY(_start)
MEMORY {{ RAM (rwx) : ORIGIN = {re.ram_base:#x}, LENGTH = {re.ram_bytes:#x} }}
SECTIONS
{{
  .text : {{ *(.text.init) *(.text .text.*) }} > RAM
  .rodata : {{ *(.rodata .rodata.* .srodata .srodata.*) }} > RAM
  .data : ALIGN(16) {{ *(.data .data.*) *(.sdata .sdata.*) }} > RAM
  .tohost : ALIGN(64) {{ *(.tohost) }} > RAM
  .bss : ALIGN(16) {{ __bss_start = .; *(.sbss .sbss.* .bss .bss.* COMMON) . = ALIGN(4); __bss_end = .; }} > RAM
  __global_pointer$ = ADDR(.data) + 0x800;
  __stack_top = ORIGIN(RAM) + LENGTH(RAM);
}}
"""


def compile_program(sources, out: Path, cfg, extra_flags=(), crt0: bool = True) -> Path:
    """Compile C/assembly ``sources`` (with crt0 unless told not to) into the ELF ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ld = out.with_suffix(".ld")
    ld.write_text(linker_script(cfg))
    cmd = [GCC, *CFLAGS, *extra_flags, f"-DCONSOLE_ADDR={cfg.runelf.console_addr:#x}u",
           f"-I{SRC_DIR}", "-T", str(ld), *([str(SRC_DIR / "crt0.S")] if crt0 else []), *map(str, sources), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"compile failed: {' '.join(cmd)}\n{proc.stderr}")
    return out


def build_all(cfg, out_dir: Path, names=None) -> dict:
    names = names or PROGRAMS
    unknown = [n for n in names if n not in PROGRAMS + ["hello"]]
    if unknown:
        raise ValueError(f"unknown benchmark programs {unknown}; known: {PROGRAMS}")
    return {name: compile_program([SRC_DIR / f"{name}.c"], Path(out_dir) / f"{name}.elf", cfg)
            for name in names}
