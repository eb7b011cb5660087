"""Kernel compilation with a cache: one ELF per (source, headers, defines, target, configuration).

:func:`compile_kernel` builds a kernel source for one core with
:func:`tessera.sw.toolchain.compile_elf` and keeps the ELF under
``<build root>/fw/kernels/``.  The cache key is a SHA-256 of:

* the source text and every header GCC may include from it: the ``.h``
  files of the source's folder, of ``sw/include`` and of the runtime;
* the defines (compile-time arguments, the runtime's ABI defines, the
  configuration's own), the optimisation level and the target core;
* the configuration's fingerprint and the compiler's version.

So a rebuild happens exactly when something the compiler sees changed
(conservatively: any header of those folders).  Builds of the same key in
parallel processes take a lock; a finished ELF is renamed into place, so a
reader never sees half of one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

from tessera.sw.toolchain.build import INCLUDE_DIR, RUNTIME_DIR, build_dir_for, compile_elf
from tessera.sw.toolchain.gcc import find_gcc, gcc_version

__all__ = ["compile_kernel", "kernel_cache_dir", "cache_key"]


def kernel_cache_dir() -> Path:
    """``$TESSERA_KERNEL_CACHE``, else ``fw/kernels`` of the toolchain's build root."""
    override = os.environ.get("TESSERA_KERNEL_CACHE")
    if override:
        return Path(override)
    # build_dir_for gives <build root>/fw/work/<name>: the toolchain owns where the build root is.
    return build_dir_for("kernel.elf").parent.parent / "kernels"


def _tree_texts(folder: Path, suffixes) -> list:
    return sorted((f"{folder.name}/{p.name}", p.read_bytes()) for p in folder.iterdir()
                  if p.is_file() and p.suffix in suffixes)


def cache_key(source: Path, target: str, cfg, defines: list, opt: str) -> str:
    source = Path(source)
    h = hashlib.sha256()
    parts = [("source", source.read_bytes())]
    parts += _tree_texts(source.parent, (".h",))
    parts += _tree_texts(INCLUDE_DIR, (".h",))
    parts += _tree_texts(RUNTIME_DIR, (".c", ".S", ".h"))
    parts.append(("meta", json.dumps({"target": target, "defines": list(defines), "opt": opt,
                                      "config": cfg.fingerprint(), "gcc": gcc_version(find_gcc())}).encode()))
    for label, blob in parts:
        h.update(label.encode() + b"\0" + blob + b"\0")
    return h.hexdigest()


def compile_kernel(source, target: str, cfg, defines=(), opt: str = "-O2") -> tuple:
    """``(elf_path, cached)``: the ELF of ``source`` for core ``target``, built unless cached."""
    source = Path(source).resolve()
    defines = list(defines)
    key = cache_key(source, target, cfg, defines, opt)
    folder = kernel_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    elf = folder / f"{source.stem}-{target}-{key[:20]}.elf"
    if elf.exists():
        return elf, True
    with open(folder / f".{elf.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if elf.exists():
            return elf, True
        partial = elf.with_name(elf.stem + ".partial.elf")
        compile_elf([source], target, cfg, partial, opt=opt, defines=defines)
        os.replace(partial, elf)
    return elf, False
