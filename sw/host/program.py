"""Programs, tt-metal style: kernels, circular buffers, semaphores and runtime arguments.

A :class:`Program` is built without a device (``CreateProgram``,
``CreateKernel``, ``CreateCircularBuffer``, ``CreateSemaphore``,
``SetRuntimeArgs``) and placed on one when it is enqueued
(``EnqueueProgram``, or ``CompileProgram`` to compile only): then every core
is checked against the device's compute grid, circular buffers are laid out
in each tile's L1, and the kernels are compiled (cached: kernels.py).

Kernels:

* ``DataMovementConfig(processor=RISCV_0 | RISCV_1)``: one build for brisc
  (RISCV_0) or ncrisc (RISCV_1).
* ``ComputeConfig(math_fidelity=...)``: one source built three times, for
  the unpack, math and pack TRISCs (trisc0..2); each build sees
  ``TESSERA_TARGET_ROLE_UNPACK`` / ``_MATH`` / ``_PACK`` (from the generated
  ``tessera_target.h``) and ``MATH_FIDELITY`` (the engine's fidelity code).
  The three get the same runtime arguments.  On a configuration with one
  fused ``compute`` core instead (``cfg.compute_cores``), the source is built
  once, for that core, with all three role macros.

Every kernel build also sees the runtime's defines (``tessera_program.h``):
``TESSERA_COMPILE_TIME_ARGS`` (``get_compile_time_arg_val(i)``), the
semaphore area (``get_semaphore(id)``) and the bank tables of interleaved
buffers (``interleaved_get_noc_addr``).

L1 of a tile, as the runtime lays it out: the cores' firmware regions, the
circular-buffer table, :data:`NUM_SEMAPHORES` semaphore words
(:data:`SEMAPHORE_STRIDE` bytes apart), the program's circular buffers from
there up (in creation order, each on an L1 bank word), and L1 buffers from
the top of L1 down.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from tessera.sw.toolchain.cb import NUM_CBS, CircularBuffer, cb_data_base
from tessera.sw.toolchain.layout import RUNTIME_ARGS_BYTES

from .core import as_core_set, CoreCoord
from .errors import AllocationError, RuntimeInputError

__all__ = ["DataMovementProcessor", "NOC", "MathFidelity", "DataFormat", "DataMovementConfig", "ComputeConfig",
           "CircularBufferConfig", "Program", "Kernel", "CreateProgram", "CreateKernel", "CreateCircularBuffer",
           "CreateSemaphore", "SetRuntimeArgs", "GetRuntimeArgs", "NUM_SEMAPHORES", "SEMAPHORE_STRIDE",
           "MAX_RUNTIME_ARGS", "semaphore_base", "cb_fifo_base"]

#: Semaphores per tile (tt-metal: NUM_SEMAPHORES = 8) and the bytes between two.
NUM_SEMAPHORES = 8
SEMAPHORE_STRIDE = 16
#: Runtime arguments of one kernel on one core: the argument area in 32-bit words.
MAX_RUNTIME_ARGS = RUNTIME_ARGS_BYTES // 4


def semaphore_base(cfg) -> int:
    """L1 address of semaphore 0 (just above the circular-buffer table)."""
    return cb_data_base(cfg)


def cb_fifo_base(cfg) -> int:
    """First L1 byte of the circular buffers' FIFOs (above the semaphores)."""
    align = cfg.l1.bank_bytes
    end = semaphore_base(cfg) + NUM_SEMAPHORES * SEMAPHORE_STRIDE
    return (end + align - 1) // align * align


class DataMovementProcessor(enum.Enum):
    RISCV_0 = "brisc"
    RISCV_1 = "ncrisc"


class NOC(enum.Enum):
    """Accepted for tt-metal compatibility; a Tessera tile has one NIU, which both processors share."""

    RISCV_0_default = 0
    RISCV_1_default = 1
    NOC_0 = 0
    NOC_1 = 1


class MathFidelity(enum.Enum):
    """The engine's fidelity codes (hw/engine/commands.py ``Fidelity``)."""

    LoFi = 0
    HiFi2 = 1
    HiFi3 = 2
    HiFi4 = 3


class DataFormat(enum.Enum):
    """Tile formats of the engine (``cfg.engine.formats``); the value is the configuration's name."""

    Float32 = "float32"
    Float16_b = "float16_b"
    Bfp8_b = "bfp8_b"


def _int_list(values, what: str) -> list:
    out = []
    for v in values or ():
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 32:
            raise RuntimeInputError(f"{what}: {v!r} is not a 32-bit unsigned integer")
        out.append(v)
    return out


def _defines(defines, what: str) -> dict:
    if defines is None:
        return {}
    if not isinstance(defines, dict):
        raise RuntimeInputError(f"{what}: defines must be a dict {{name: value}}, got {defines!r}")
    return {str(k): (None if v is None else str(v)) for k, v in defines.items()}


@dataclass
class DataMovementConfig:
    """A data-movement kernel on brisc (``RISCV_0``) or ncrisc (``RISCV_1``)."""

    processor: DataMovementProcessor = DataMovementProcessor.RISCV_0
    noc: NOC | None = None
    compile_args: list = field(default_factory=list)
    defines: dict | None = None
    opt: str = "-O2"

    def targets(self, cfg) -> list:
        if not isinstance(self.processor, DataMovementProcessor):
            raise RuntimeInputError(f"DataMovementConfig processor must be DataMovementProcessor.RISCV_0 or "
                                    f"RISCV_1, got {self.processor!r}")
        return [self.processor.value]

    def extra_defines(self) -> dict:
        return {}


@dataclass
class ComputeConfig:
    """A compute kernel: one source built for the unpack, math and pack TRISCs, or for the one
    fused compute core of a configuration that has one."""

    math_fidelity: MathFidelity = MathFidelity.HiFi4
    fp32_dest_acc_en: bool = False
    math_approx_mode: bool = False
    compile_args: list = field(default_factory=list)
    defines: dict | None = None
    opt: str = "-O2"

    def targets(self, cfg) -> list:
        # The configuration guarantees one compute core or one core of each part (hw/config.py).
        return cfg.compute_cores

    def extra_defines(self) -> dict:
        if not isinstance(self.math_fidelity, MathFidelity):
            raise RuntimeInputError(f"ComputeConfig math_fidelity must be a MathFidelity, got {self.math_fidelity!r}")
        return {"MATH_FIDELITY": str(self.math_fidelity.value),
                "FP32_DEST_ACC_EN": "1" if self.fp32_dest_acc_en else "0",
                "MATH_APPROX_MODE": "1" if self.math_approx_mode else "0"}


class CircularBufferConfig:
    """tt-metal's ``CircularBufferConfig(total_size, {index: data_format}).set_page_size(index, page_size)``."""

    def __init__(self, total_size: int, data_formats: dict):
        if not isinstance(total_size, int) or isinstance(total_size, bool) or total_size <= 0:
            raise RuntimeInputError(f"CircularBufferConfig total_size must be a positive integer, got {total_size!r}")
        if not isinstance(data_formats, dict) or not data_formats:
            raise RuntimeInputError(f"CircularBufferConfig needs {{index: DataFormat}}, got {data_formats!r}")
        for index, fmt in data_formats.items():
            _cb_index(index)
            if not isinstance(fmt, DataFormat):
                raise RuntimeInputError(f"circular buffer {index}: data format must be a DataFormat, got {fmt!r}")
        self.total_size = total_size
        self.data_formats = dict(data_formats)
        self.page_sizes = {}

    def set_page_size(self, index: int, page_size: int) -> "CircularBufferConfig":
        if index not in self.data_formats:
            raise RuntimeInputError(f"set_page_size({index}): the config has no circular buffer {index} "
                                    f"(indices {sorted(self.data_formats)})")
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 4 or page_size % 4:
            raise RuntimeInputError(f"circular buffer {index}: page size must be a multiple of 4 bytes, at least 4, "
                                    f"got {page_size!r}")
        if self.total_size % page_size:
            raise RuntimeInputError(f"circular buffer {index}: total size {self.total_size} is not a multiple of "
                                    f"the page size {page_size}")
        self.page_sizes[index] = page_size
        return self


def _cb_index(index) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < NUM_CBS:
        raise RuntimeInputError(f"circular buffer index must be in 0..{NUM_CBS - 1}, got {index!r}")
    return index


@dataclass
class Kernel:
    id: int
    source: Path
    cores: list
    config: object
    runtime_args: dict = field(default_factory=dict)   # CoreCoord -> [words]
    #: After compilation: {target core name: ELF path}.
    elfs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.source.stem


@dataclass
class _CircularBuffers:
    id: int
    cores: list
    config: CircularBufferConfig


@dataclass
class _Semaphore:
    id: int
    cores: list
    initial_value: int


class Program:
    """Kernels, circular buffers and semaphores to run together (``CreateProgram()``)."""

    def __init__(self):
        self.kernels = []
        self.circular_buffers = []
        self.semaphores = []
        #: Set by the device when the program was compiled for it.
        self.compiled_for = None
        #: ``{"cycles": ..., "codes": [...]}`` of the last run (EnqueueProgram).
        self.last_run = None

    def kernel(self, kernel_id) -> Kernel:
        if isinstance(kernel_id, Kernel):
            kernel_id = kernel_id.id
        for k in self.kernels:
            if k.id == kernel_id:
                return k
        raise RuntimeInputError(f"program has no kernel {kernel_id!r} (kernels {[k.id for k in self.kernels]})")

    def cb_layout(self, cfg, core: CoreCoord) -> list:
        """The circular buffers of ``core`` laid out in L1: ``[CircularBuffer]`` (toolchain's type)."""
        align = cfg.l1.bank_bytes
        addr = cb_fifo_base(cfg)
        placed = []
        for cbs in self.circular_buffers:
            if core not in cbs.cores:
                continue
            for index in sorted(cbs.config.data_formats):
                page = cbs.config.page_sizes[index]
                addr = (addr + align - 1) // align * align
                placed.append(CircularBuffer(index, addr, page, cbs.config.total_size // page,
                                             data_format=cbs.config.data_formats[index].value))
                addr += cbs.config.total_size
        return placed

    def check_cb_space(self, cfg, core: CoreCoord, noc_xy, l1_floor: int) -> list:
        """The layout of :meth:`cb_layout`, refused if it runs past L1 or into an L1 buffer."""
        placed = self.cb_layout(cfg, core)
        if not placed:
            return placed
        end = max(cb.end for cb in placed)
        l1_end = cfg.l1.base + cfg.l1.size_bytes
        total = end - cb_fifo_base(cfg)
        if end > l1_end:
            raise AllocationError(f"circular buffers of core {core} (NoC {noc_xy}) need {total} bytes from "
                                  f"{cb_fifo_base(cfg):#x} to {end:#x}, past the end of L1 ({l1_end:#x}; "
                                  f"{l1_end - cb_fifo_base(cfg)} bytes for circular buffers)")
        if end > l1_floor:
            raise AllocationError(f"circular buffers of core {core} (NoC {noc_xy}) end at {end:#x} and overlap "
                                  f"the L1 buffers from {l1_floor:#x} (CreateBuffer with BufferType.L1); "
                                  f"{l1_floor - cb_fifo_base(cfg)} bytes are left for circular buffers")
        return placed


def CreateProgram() -> Program:  # noqa: N802 - tt-metal's names
    return Program()


def CreateKernel(program: Program, file_path, core_spec, config) -> int:  # noqa: N802
    """Add a kernel (a C source) on ``core_spec``; returns its id.  Compiled when the program is enqueued."""
    if not isinstance(program, Program):
        raise RuntimeInputError(f"CreateKernel: expected a Program, got {program!r}")
    if not isinstance(config, (DataMovementConfig, ComputeConfig)):
        raise RuntimeInputError(f"CreateKernel: config must be a DataMovementConfig or ComputeConfig, got {config!r}")
    source = Path(file_path)
    if not source.is_file():
        raise RuntimeInputError(f"CreateKernel: kernel source not found: {source}")
    if source.suffix not in (".c", ".S"):
        raise RuntimeInputError(f"CreateKernel: kernel source {source} must be C (.c) or assembly (.S)")
    cores = as_core_set(core_spec)
    config.compile_args = _int_list(config.compile_args, f"kernel {source.name} compile_args")
    _defines(config.defines, f"kernel {source.name}")
    kind = "compute" if isinstance(config, ComputeConfig) else config.processor
    for other in program.kernels:
        other_kind = "compute" if isinstance(other.config, ComputeConfig) else other.config.processor
        clash = sorted(set(cores) & set(other.cores))
        if clash and other_kind == kind:
            raise RuntimeInputError(f"CreateKernel {source.name}: core {clash[0]} already runs kernel "
                                    f"{other.name} on the same processor ({getattr(kind, 'name', kind)})")
    kernel = Kernel(len(program.kernels), source.resolve(), cores, config)
    program.kernels.append(kernel)
    program.compiled_for = None
    return kernel.id


def CreateCircularBuffer(program: Program, core_spec, config: CircularBufferConfig) -> int:  # noqa: N802
    """Add circular buffers on ``core_spec``; returns a handle.  Laid out in L1 when the program is enqueued."""
    if not isinstance(config, CircularBufferConfig):
        raise RuntimeInputError(f"CreateCircularBuffer: expected a CircularBufferConfig, got {config!r}")
    missing = sorted(set(config.data_formats) - set(config.page_sizes))
    if missing:
        raise RuntimeInputError(f"CreateCircularBuffer: circular buffer {missing[0]} has no page size "
                                f"(CircularBufferConfig.set_page_size)")
    cores = as_core_set(core_spec)
    for other in program.circular_buffers:
        for core in set(cores) & set(other.cores):
            both = sorted(set(other.config.data_formats) & set(config.data_formats))
            if both:
                raise RuntimeInputError(f"CreateCircularBuffer: circular buffer {both[0]} is already defined on "
                                        f"core {core}")
    handle = len(program.circular_buffers)
    program.circular_buffers.append(_CircularBuffers(handle, cores, config))
    return handle


def CreateSemaphore(program: Program, core_spec, initial_value: int = 0) -> int:  # noqa: N802
    """A semaphore word on every core of ``core_spec``, set to ``initial_value`` when the program starts.

    Returns its id; a kernel gets its L1 address with ``get_semaphore(id)``.
    """
    cores = as_core_set(core_spec)
    _int_list([initial_value], "CreateSemaphore initial_value")
    used = {s.id for s in program.semaphores if set(s.cores) & set(cores)}
    free = [i for i in range(NUM_SEMAPHORES) if i not in used]
    if not free:
        raise AllocationError(f"CreateSemaphore: all {NUM_SEMAPHORES} semaphores of core "
                              f"{sorted(set(cores))[0]} are taken")
    program.semaphores.append(_Semaphore(free[0], cores, initial_value))
    return free[0]


def SetRuntimeArgs(program: Program, kernel_id, core_spec, runtime_args) -> None:  # noqa: N802
    """Runtime arguments of kernel ``kernel_id`` on each core of ``core_spec`` (``get_arg_val(i)``)."""
    kernel = program.kernel(kernel_id)
    args = _int_list(runtime_args, f"SetRuntimeArgs of kernel {kernel.name}")
    if len(args) > MAX_RUNTIME_ARGS:
        raise RuntimeInputError(f"SetRuntimeArgs of kernel {kernel.name}: {len(args)} runtime arguments; the "
                                f"argument area holds {MAX_RUNTIME_ARGS} ({RUNTIME_ARGS_BYTES} bytes)")
    for core in as_core_set(core_spec):
        if core not in kernel.cores:
            raise RuntimeInputError(f"SetRuntimeArgs: kernel {kernel.name} does not run on core {core} "
                                    f"(its cores: {', '.join(str(c) for c in kernel.cores)})")
        kernel.runtime_args[core] = list(args)


def GetRuntimeArgs(program: Program, kernel_id, core) -> list:  # noqa: N802
    kernel = program.kernel(kernel_id)
    core, = as_core_set(core)
    return list(kernel.runtime_args.get(core, []))
