"""Refusals of the firmware toolchain.

Every problem the toolchain detects is raised as a :class:`FirmwareError`
subclass whose message names the problem, the file and the fix.  They all
derive from ``ValueError`` so callers that only want "bad input" can catch
one thing; the CLI prints the message and exits with status 1.
"""

from __future__ import annotations

__all__ = [
    "FirmwareError", "CompilerMissingError", "CompileError", "ElfError", "LayoutError",
    "CapacityError", "ImageError", "TargetError", "ConfigMismatchError",
]


class FirmwareError(ValueError):
    """Base class: a firmware input was refused."""


class CompilerMissingError(FirmwareError):
    """The RISC-V cross compiler is not installed (the message says how to install it)."""


class CompileError(FirmwareError):
    """GCC or the linker rejected a source; the message carries GCC's own output."""

    def __init__(self, message: str, source=None, output: str = ""):
        super().__init__(message)
        self.source = source
        self.output = output


class ElfError(FirmwareError):
    """An ELF file is not a program for this core: wrong class, machine or ISA, or malformed."""


class LayoutError(FirmwareError):
    """Segments overlap or lie outside the memories of the target core."""


class CapacityError(FirmwareError):
    """A program or an image does not fit the memory reserved for it."""


class ImageError(FirmwareError):
    """A firmware image is malformed: bad magic, version, checksum or truncated."""


class TargetError(FirmwareError):
    """An unknown tile, core or build target name."""


class ConfigMismatchError(FirmwareError):
    """An image built for one configuration is loaded with another."""
