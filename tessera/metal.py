"""Tessera's host API with tt-metal's names: ``from tessera import metal as ttm`` (docs/runtime.md).

::

    device = ttm.CreateDevice(0)
    queue = device.command_queue()
    program = ttm.CreateProgram()
    kernel = ttm.CreateKernel(program, "kernels/copy.c", ttm.CoreCoord(0, 0),
                              ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0))
    ...
    ttm.EnqueueProgram(queue, program, blocking=False)
    ttm.Finish(queue)
    ttm.CloseDevice(device)
"""

from tessera.sw.host.buffer import (Buffer, BufferType, CreateBuffer, DeallocateBuffer,  # noqa: F401
                                    InterleavedBufferConfig)
from tessera.sw.host.core import CoreCoord, CoreRange, CoreRangeSet  # noqa: F401
from tessera.sw.host.device import (DEFAULT_CYCLE_BUDGET, CloseDevice, CommandQueue, CompileProgram,  # noqa: F401
                                    CreateDevice, Device, EnqueueProgram, EnqueueReadBuffer, EnqueueWriteBuffer,
                                    Finish, GetCommandQueue)
from tessera.sw.host.errors import (AllocationError, DeviceClosedError, DeviceError, DeviceHang,  # noqa: F401
                                    KernelError, NocRequestError, RuntimeInputError)
from tessera.sw.host.program import (NOC, ComputeConfig, CircularBufferConfig, CreateCircularBuffer,  # noqa: F401
                                     CreateKernel, CreateProgram, CreateSemaphore, DataFormat, DataMovementConfig,
                                     DataMovementProcessor, GetRuntimeArgs, MathFidelity, Program, SetRuntimeArgs)
from tessera.sw.host.tiles import from_bfloat16, tile_bytes, tilize, to_bfloat16, untilize  # noqa: F401
from tessera.sw.toolchain.errors import CompileError  # noqa: F401

__all__ = [
    "CreateDevice", "CloseDevice", "Device", "CommandQueue", "GetCommandQueue",
    "CreateProgram", "Program", "CreateKernel", "DataMovementConfig", "DataMovementProcessor", "NOC",
    "ComputeConfig", "MathFidelity", "DataFormat", "CircularBufferConfig", "CreateCircularBuffer",
    "CreateSemaphore", "SetRuntimeArgs", "GetRuntimeArgs", "CompileProgram",
    "BufferType", "InterleavedBufferConfig", "Buffer", "CreateBuffer", "DeallocateBuffer",
    "EnqueueWriteBuffer", "EnqueueReadBuffer", "EnqueueProgram", "Finish",
    "CoreCoord", "CoreRange", "CoreRangeSet",
    "tilize", "untilize", "to_bfloat16", "from_bfloat16", "tile_bytes", "DEFAULT_CYCLE_BUDGET",
    "RuntimeInputError", "AllocationError", "DeviceError", "DeviceClosedError", "DeviceHang", "KernelError",
    "NocRequestError", "CompileError",
]
