"""Memory layout of each build target, generated from the configuration.

Two kinds of target:

``runelf``
    The single-core system of ``tessera run-elf``: one flat RAM at
    ``cfg.runelf.ram_base`` of ``cfg.runelf.ram_bytes``.  Code, data, bss,
    the ``tohost`` word and the stack (at the top of RAM) all live there.

``<core name>`` (``brisc``, ``ncrisc``, ``trisc0``, ...)
    One core of a Tensix tile.  Its *firmware region* is the part of L1 the
    configuration reserves for it: ``core.reset_pc`` .. ``+ core.code_bytes``.
    Code, read-only data, ``.data``, ``tohost`` and ``.bss`` are linked into
    that region; its last :data:`RUNTIME_ARGS_BYTES` are the runtime-argument
    area.  Only the stack lives in the core's private local memory
    (``cfg.local_mem_base`` .. ``+ core.local_mem_bytes``, stack pointer at its
    top), because private memory cannot be written over the NoC: everything
    with initial contents must be in L1, where the loader can put it.

Nothing here restates an address: every number comes from ``cfg``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera.hw.config import TesseraConfig

from .errors import TargetError

__all__ = ["RUNTIME_ARGS_BYTES", "RUNELF", "MemoryRegion", "Target", "target_for", "target_names"]

#: Bytes at the end of each core's firmware region holding its runtime
#: arguments (32-bit words, read with ``get_arg_val(i)``): 64 arguments.
RUNTIME_ARGS_BYTES = 256

#: Name of the single-core run-elf target.
RUNELF = "runelf"


@dataclass(frozen=True)
class MemoryRegion:
    """A named address range: ``kind`` is ``l1``, ``local`` or ``ram``."""

    name: str
    kind: str
    base: int
    size: int

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, addr: int, size: int) -> bool:
        return self.base <= addr and addr + size <= self.end


@dataclass(frozen=True)
class Target:
    """Where a program for one build target goes."""

    name: str
    #: ``runelf`` or ``core``
    kind: str
    #: Code, data and bss (L1 firmware region or run-elf RAM), without the args area.
    program: MemoryRegion
    #: The core's private memory (stack); ``None`` for run-elf, whose stack is in RAM.
    local: MemoryRegion | None
    #: Runtime-argument area (``None`` for run-elf).
    runtime_args: MemoryRegion | None
    stack_top: int
    #: Index of the core in its tile (soft-reset bit, reset_pc register), ``None`` for run-elf.
    core_index: int | None
    #: Where the core starts when it leaves reset, if fixed by hardware (its default reset PC).
    reset_pc: int

    @property
    def loadable(self) -> tuple:
        """Regions a loaded segment (one with file contents) may occupy."""
        return (self.program,)

    @property
    def regions(self) -> tuple:
        return tuple(r for r in (self.program, self.runtime_args, self.local) if r is not None)

    def region_of(self, addr: int, size: int) -> MemoryRegion | None:
        for region in self.regions:
            if region.contains(addr, max(size, 1)):
                return region
        return None


def target_names(cfg: TesseraConfig) -> list:
    return [RUNELF] + [c.name for c in cfg.cores]


def target_for(name: str, cfg: TesseraConfig) -> Target:
    """The :class:`Target` called ``name`` (``runelf`` or a core name) in ``cfg``."""
    if name == RUNELF:
        ram = MemoryRegion("ram", "ram", cfg.runelf.ram_base, cfg.runelf.ram_bytes)
        return Target(RUNELF, "runelf", ram, None, None, ram.end, None, ram.base)
    try:
        core = cfg.core(name)
    except KeyError:
        raise TargetError(f"unknown build target {name!r}; configuration {cfg.name!r} has targets "
                          f"{target_names(cfg)}") from None
    if core.code_bytes <= RUNTIME_ARGS_BYTES:
        raise TargetError(f"core {name}: code_bytes {core.code_bytes:#x} leaves no room beside the "
                          f"{RUNTIME_ARGS_BYTES}-byte runtime-argument area")
    program = MemoryRegion(f"{name}_fw", "l1", cfg.l1.base + core.reset_pc,
                           core.code_bytes - RUNTIME_ARGS_BYTES)
    args = MemoryRegion(f"{name}_args", "l1", program.end, RUNTIME_ARGS_BYTES)
    local = MemoryRegion(f"{name}_local", "local", cfg.local_mem_base, core.local_mem_bytes)
    return Target(name, "core", program, local, args, local.end, cfg.core_index(name), core.reset_pc)
