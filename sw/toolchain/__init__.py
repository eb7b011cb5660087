"""Tessera firmware toolchain: build kernels, bundle images, plan their loading.

* :func:`compile_elf` (``build``): C/assembly -> ELF for ``runelf`` or a tile core.
* :func:`build_image` / :func:`write_image` / :func:`read_image` (``image``): the
  firmware image container with a JSON manifest and checksums.
* :func:`load_plan` (``loader``): image -> ordered NoC writes.
* Refusals are :class:`FirmwareError` subclasses (``errors``).

See docs/firmware.md.
"""

from .build import compile_elf
from .cb import CircularBuffer
from .elf import check_elf, read_elf
from .errors import (CapacityError, CompileError, CompilerMissingError, ConfigMismatchError, ElfError,
                     FirmwareError, ImageError, LayoutError, TargetError)
from .image import FirmwareImage, ProgramSpec, build_image, read_image, write_image
from .layout import RUNELF, RUNTIME_ARGS_BYTES, target_for, target_names
from .loader import ModelChip, NocWrite, load_plan

__all__ = [
    "compile_elf", "check_elf", "read_elf", "CircularBuffer", "build_image", "write_image", "read_image", "FirmwareImage", "ProgramSpec",
    "load_plan", "NocWrite", "ModelChip", "target_for", "target_names", "RUNELF", "RUNTIME_ARGS_BYTES",
    "FirmwareError", "CompilerMissingError", "CompileError", "ElfError", "LayoutError", "CapacityError",
    "ImageError", "TargetError", "ConfigMismatchError",
]
