"""Compile C and assembly kernels into an ELF for one build target.

``compile_elf(sources, target, cfg, out)`` is the one entry point.  It writes
the generated headers and linker script into ``gen/`` of the ELF's build
folder (:func:`build_dir_for`, in the build tree, never beside the ELF),
compiles each source to its ``obj/``, links with the project's crt0 and
runtime and the rv32im libgcc, and checks the result (class, machine, ISA,
layout) before returning the path of the ELF.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import uuid
from importlib import resources
from pathlib import Path

from tessera.hw.config import TesseraConfig

from .errors import CapacityError, CompileError, FirmwareError
from .gcc import MABI, MARCH, find_gcc, find_picolibc, libgcc_path
from .gen import write_generated
from .layout import Target, target_for

__all__ = ["compile_elf", "build_dir_for", "SW_ROOT", "INCLUDE_DIR", "RUNTIME_DIR", "KERNELS_DIR",
           "SOURCE_SUFFIXES", "compile_flags"]



def package_folder(package: str, name: str = "") -> Path:
    """A folder of C sources shipped inside the package, as a real directory
    (GCC reads it by path; the package is installed unzipped)."""
    folder = resources.files(package)
    if name:
        folder = folder.joinpath(name)
    path = Path(str(folder))
    if not path.is_dir():
        raise FileNotFoundError(f"package data folder {package}/{name} is missing at {path}")
    return path


SW_ROOT = package_folder("tessera.sw")
#: Device C API headers, the runtime (crt0, tessera_rt.c) and the example kernels.
INCLUDE_DIR = package_folder("tessera.sw", "include")
RUNTIME_DIR = package_folder("tessera.sw", "runtime")
KERNELS_DIR = package_folder("tessera.sw", "kernels")
SOURCE_SUFFIXES = (".c", ".S", ".s")

_RUNTIME_SOURCES = ("crt0.S", "tessera_rt.c")
# Flags that keep the runtime's own memcpy/memset from being compiled into calls to themselves.
_RUNTIME_EXTRA = ("-fno-builtin", "-fno-tree-loop-distribute-patterns")


LIBCS = (None, "picolibc")


def compile_flags(target: Target, gen_dir: Path, opt: str, defines, picolibc=None) -> list:
    flags = [
        f"-march={MARCH}", f"-mabi={MABI}", opt, "-g",
        "-nostdlib", "-fno-common",
        "-ffunction-sections", "-fdata-sections",
        "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
        "-Wall", "-Wextra", "-Wno-unused-parameter",
        "-I", str(gen_dir), "-I", str(INCLUDE_DIR),
    ]
    if picolibc is None:
        flags.append("-ffreestanding")
    else:
        flags += ["-isystem", str(picolibc.include), "-DTESSERA_LIBC_PICOLIBC=1"]
    if target.kind == "core":
        # L1 starts at address 0: a pointer to address 0 is valid there, and
        # so is the first page (GCC 12 otherwise warns that an access to a
        # fixed address below 4 KiB is "outside array bounds").
        flags += ["-fno-delete-null-pointer-checks", "--param=min-pagesize=0"]
    for define in defines or ():
        flags.append(f"-D{define}")
    return flags


def _validate_opt(opt: str) -> str:
    if not re.fullmatch(r"-O[0-3sgz]?|-Ofast", opt or ""):
        raise FirmwareError(f"opt must be one of -O0 -O1 -O2 -O3 -Os -Og -Oz, got {opt!r}")
    if opt == "-Ofast":
        raise FirmwareError("opt -Ofast enables float shortcuts that make no sense without an FPU; "
                            "use -O2 or -O3")
    return opt


def _validate_defines(defines) -> list:
    if isinstance(defines, dict):
        defines = [k if v is None else f"{k}={v}" for k, v in defines.items()]
    result = []
    for define in defines or ():
        if isinstance(define, tuple) and len(define) == 2:
            define = f"{define[0]}={define[1]}"
        if not isinstance(define, str) or not re.fullmatch(r"[A-Za-z_]\w*(=.*)?", define, re.S):
            raise FirmwareError(f"define must look like NAME or NAME=VALUE, got {define!r}")
        result.append(define)
    return result


def _run(cmd: list, what: str, source, target: Target, log=None) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    output = (proc.stdout + proc.stderr).strip()
    if log is not None:
        log.append(" ".join(str(c) for c in cmd) + ("\n" + output if output else ""))
    if proc.returncode != 0:
        _raise_tool_error(output, what, source, target)
    return output


_OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")


def _raise_tool_error(output: str, what: str, source, target: Target) -> None:
    match = _OVERFLOW.search(output)
    if match:
        region = {"PROGRAM": target.program, "RTARGS": target.runtime_args, "LOCAL": target.local}.get(match.group(1))
        where = f" ({region.name} {region.base:#x}..{region.end:#x}, {region.size} bytes)" if region else ""
        raise CapacityError(
            f"{what} {source} for target {target.name}: the program does not fit: region "
            f"{match.group(1)}{where} overflowed by {match.group(2)} bytes\n{output}")
    raise CompileError(f"{what} failed for {source}:\n{output}", source=source, output=output)


def _object_name(index: int, source: Path) -> str:
    return f"{index:02d}_{source.stem}{source.suffix.replace('.', '_')}.o"


#: Build folders kept in ``fw/work``: each ELF path has its own, so without a
#: bound the folders of ELFs written to temporary paths (tests) pile up.
KEEP_BUILD_DIRS = 200


def _prune_build_dirs(work: Path, spare: Path, keep: int = KEEP_BUILD_DIRS) -> None:
    """Delete all but the ``keep`` most recently used build folders of ``work``, and never ``spare``.

    A build marks its folder used when it starts, so a build in progress is
    among the newest; a folder is renamed before it is deleted, so a build
    never sees half of one.
    """
    try:
        entries = [(e.stat().st_mtime, e.path) for e in os.scandir(work)
                   if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
                   and e.name != spare.name]
    except OSError:
        return
    for _mtime, path in sorted(entries, reverse=True)[keep:]:
        trash = work / f".trash-{uuid.uuid4().hex}"
        try:
            os.rename(path, trash)
        except OSError:
            continue  # deleted by another build meanwhile
        shutil.rmtree(trash, ignore_errors=True)


def build_dir_for(out) -> Path:
    """The build folder of the ELF ``out``: ``gen/``, ``obj/``, ``link.map``, ``build.log``.

    It lies in the build tree, ``<build root>/fw/work/<ELF name>-<12 hex digits
    of the ELF's absolute path>/`` (the build root of the Verilator models:
    ``$TESSERA_BUILD_DIR``, else ``build/`` of the source checkout, else
    ``~/.cache/tessera``), so a build leaves nothing but the ELF in the folder
    the caller chose, and two ELF paths never share a build folder.  Only the
    :data:`KEEP_BUILD_DIRS` most recently used build folders are kept.
    """
    from tessera.sim import harness  # late: only a build needs the build root

    out = Path(out).resolve()
    digest = hashlib.sha256(str(out).encode()).hexdigest()[:12]
    return Path(harness.BUILD_ROOT) / "fw" / "work" / f"{out.name}-{digest}"


def compile_elf(sources, target: str, cfg: TesseraConfig, out, opt: str = "-O2", defines=None,
                libc=None) -> Path:
    """Build ``sources`` (C and assembly) into an ELF for ``target`` and return its path.

    ``target`` is ``"runelf"`` (the single-core run-elf system) or the name
    of a core of ``cfg`` (``"brisc"``, ...).  ``defines`` is a list of
    ``NAME`` / ``NAME=VALUE`` strings or a dict.  ``libc="picolibc"`` links
    picolibc (``<stdio.h>`` printf goes to the console); the default is the
    project's freestanding runtime.  Raises a
    :class:`~sw.toolchain.errors.FirmwareError` subclass naming the problem.
    """
    from .elf import check_program, read_elf  # late: elf imports layout

    if isinstance(sources, (str, Path)):
        sources = [sources]
    sources = [Path(s) for s in sources]
    if not sources:
        raise FirmwareError("no source files given")
    for source in sources:
        if source.suffix not in SOURCE_SUFFIXES:
            raise FirmwareError(f"{source}: unknown source type {source.suffix!r}; "
                                f"expected one of {', '.join(SOURCE_SUFFIXES)}")
        if not source.is_file():
            raise FirmwareError(f"source file not found: {source}")
    opt = _validate_opt(opt)
    defines = _validate_defines(defines)
    if libc not in LIBCS:
        raise FirmwareError(f"libc must be one of {LIBCS}, got {libc!r}")
    tgt = target_for(target, cfg)
    gcc = find_gcc()
    libgcc = libgcc_path(gcc)
    picolibc = find_picolibc(gcc) if libc == "picolibc" else None

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)  # never leave an ELF of an earlier build behind a failed one
    build_dir = build_dir_for(out)
    _prune_build_dirs(build_dir.parent, spare=build_dir)
    gen_dir, obj_dir = build_dir / "gen", build_dir / "obj"
    obj_dir.mkdir(parents=True, exist_ok=True)
    os.utime(build_dir)  # in use: now the newest folder, which a parallel build keeps
    generated = write_generated(gen_dir, tgt, cfg)

    log = []  # every command and its output (warnings included), kept in build.log
    try:
        flags = compile_flags(tgt, gen_dir, opt, defines, picolibc)
        objects = []
        runtime = [RUNTIME_DIR / name for name in _RUNTIME_SOURCES]
        for index, source in enumerate(runtime + sources):
            obj = obj_dir / _object_name(index, source)
            extra = list(_RUNTIME_EXTRA) if source in runtime else []
            _run([gcc, *flags, *extra, "-c", source.resolve(), "-o", obj], "compiling", source, tgt, log)
            objects.append(obj)

        link = [gcc, f"-march={MARCH}", f"-mabi={MABI}", "-nostdlib", "-nostartfiles", "-static",
                "-T", generated["linker_script"], "-Wl,--gc-sections", "-Wl,--no-warn-rwx-segments",
                f"-Wl,-Map={build_dir / 'link.map'}", *objects,
                "-Wl,--start-group", *([picolibc.libc] if picolibc else []), libgcc, "-Wl,--end-group",
                "-o", out]
        _run(link, "linking", ", ".join(str(s) for s in sources), tgt, log)
        check_program(read_elf(out), tgt)
    except FirmwareError:
        out.unlink(missing_ok=True)
        raise
    finally:
        (build_dir / "build.log").write_text("\n\n".join(log) + "\n")
    return out
