"""The RISC-V cross compiler: where it is and the flags every build uses.

The cores are RV32IMC with the Zicsr extension in machine mode.  Debian's
``riscv64-unknown-elf-gcc`` 12 has no rv32imc multilib, and with a ``_zicsr``
suffix in ``-march`` its multilib selection falls back to the rv64 default, so
libgcc is never left to the driver: we ask for the rv32im/ilp32 multilib
explicitly (``-print-libgcc-file-name``) and link that archive by path.  Its
code is plain RV32IM, which an RV32IMC core runs.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import CompilerMissingError

__all__ = ["GCC_NAME", "MARCH", "MABI", "LIBGCC_MARCH", "find_gcc", "find_tool", "libgcc_path",
           "gcc_version", "INSTALL_HINT", "Picolibc", "find_picolibc", "PICOLIBC_INSTALL_HINT"]

GCC_NAME = "riscv64-unknown-elf-gcc"
#: ISA of every compiled object: the core's RV32IMC plus Zicsr for CSR access.
MARCH = "rv32imc_zicsr"
MABI = "ilp32"
#: Multilib whose libgcc we link (no rv32imc multilib exists in Debian's GCC).
LIBGCC_MARCH = "rv32im"

INSTALL_HINT = ("install it with `sudo apt-get install gcc-riscv64-unknown-elf` "
                "(Debian/Ubuntu; `make` runs sim/setup.sh which does this), or set "
                "TESSERA_RISCV_GCC to the full path of a riscv*-elf-gcc")


def find_gcc() -> Path:
    """The cross compiler: ``$TESSERA_RISCV_GCC`` if set, else ``riscv64-unknown-elf-gcc`` on PATH."""
    override = os.environ.get("TESSERA_RISCV_GCC")
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        found = shutil.which(override)
        if found:
            return Path(found)
        raise CompilerMissingError(
            f"RISC-V compiler not found: TESSERA_RISCV_GCC={override!r} is not an executable; "
            + INSTALL_HINT)
    found = shutil.which(GCC_NAME)
    if not found:
        raise CompilerMissingError(f"RISC-V compiler not found: {GCC_NAME} is not on PATH; " + INSTALL_HINT)
    return Path(found)


def find_tool(gcc: Path, tool: str) -> Path:
    """A binutils program (``objdump``, ``readelf``) next to ``gcc``."""
    prefix = gcc.name[: -len("gcc")] if gcc.name.endswith("gcc") else "riscv64-unknown-elf-"
    candidate = gcc.parent / f"{prefix}{tool}"
    if candidate.exists():
        return candidate
    found = shutil.which(f"{prefix}{tool}")
    if not found:
        raise CompilerMissingError(f"{prefix}{tool} not found beside {gcc}; " + INSTALL_HINT)
    return Path(found)


@functools.lru_cache(maxsize=8)
def _libgcc_cached(gcc: str) -> Path:
    out = subprocess.run([gcc, f"-march={LIBGCC_MARCH}", f"-mabi={MABI}", "-print-libgcc-file-name"],
                         capture_output=True, text=True, check=False)
    path = Path(out.stdout.strip())
    if out.returncode != 0 or not path.is_file():
        raise CompilerMissingError(
            f"{gcc} has no {LIBGCC_MARCH}/{MABI} libgcc (asked with -print-libgcc-file-name, got "
            f"{out.stdout.strip() or out.stderr.strip()!r}); a multilib RISC-V GCC is needed: " + INSTALL_HINT)
    return path


def libgcc_path(gcc: Path) -> Path:
    """Path of the rv32im/ilp32 ``libgcc.a`` of ``gcc``."""
    return _libgcc_cached(str(gcc))


@functools.lru_cache(maxsize=8)
def _version_cached(gcc: str) -> str:
    out = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def gcc_version(gcc: Path) -> str:
    return _version_cached(str(gcc))


PICOLIBC_INSTALL_HINT = ("install it with `sudo apt-get install picolibc-riscv64-unknown-elf` (Debian/Ubuntu), "
                         "or set TESSERA_PICOLIBC to its directory (the one holding include/ and lib/)")


@dataclass(frozen=True)
class Picolibc:
    """picolibc for the cores: headers and the rv32im/ilp32 ``libc.a`` (pure RV32IM, no atomics)."""

    root: Path
    include: Path
    libc: Path


def find_picolibc(gcc: Path) -> Picolibc:
    """picolibc of ``gcc``'s target: ``$TESSERA_PICOLIBC`` or ``/usr/lib/picolibc/<triple>``."""
    override = os.environ.get("TESSERA_PICOLIBC")
    if override:
        root = Path(override)
    else:
        triple = subprocess.run([str(gcc), "-dumpmachine"], capture_output=True, text=True,
                                check=False).stdout.strip() or "riscv64-unknown-elf"
        root = Path("/usr/lib/picolibc") / triple
    include = root / "include"
    # The multilib of libgcc: rv32im (picolibc's rv32imac build may contain AMOs the core lacks).
    candidates = [root / "lib" / "release" / LIBGCC_MARCH / MABI / "libc.a",
                  root / "lib" / LIBGCC_MARCH / MABI / "libc.a"]
    libc = next((c for c in candidates if c.is_file()), None)
    if not include.is_dir() or libc is None:
        raise CompilerMissingError(f"picolibc not found (looked in {root} for include/ and "
                                   f"lib/[release/]{LIBGCC_MARCH}/{MABI}/libc.a); " + PICOLIBC_INSTALL_HINT)
    return Picolibc(root, include, libc)
