"""Refusals and failures of the host runtime.

Bad input (a core outside the grid, a buffer larger than the DRAM, too many
runtime arguments, overlapping circular buffers) raises a ``ValueError``
subclass naming the bad value; a kernel that does not compile raises the
toolchain's :class:`~tessera.sw.toolchain.errors.CompileError` with GCC's
message.  What goes wrong on the device raises a :class:`DeviceError`.
"""

from __future__ import annotations

__all__ = ["RuntimeInputError", "AllocationError", "DeviceError", "DeviceClosedError", "NocRequestError",
           "KernelError", "DeviceHang", "BoardError"]


class RuntimeInputError(ValueError):
    """A call of the host API was given a value it cannot use; the message names it."""


class AllocationError(RuntimeInputError):
    """A buffer or circular buffer does not fit the memory it asks for."""


class DeviceError(RuntimeError):
    """The device (its server, its transport) failed."""


class DeviceClosedError(DeviceError):
    """A call on a device that has been closed."""


class BoardError(DeviceError):
    """The serial link to a board failed: a frame rejected or unanswered after every resend, a
    corrupted or truncated frame from the board, lost packets, a board of another configuration.
    The message names the request, the frame and the port."""


class NocRequestError(DeviceError):
    """The chip refused a host request (an address outside the node's memory)."""


class KernelError(DeviceError):
    """A kernel exited with a non-zero code (or trapped)."""


class DeviceHang(DeviceError):
    """A program did not finish within its cycle budget; the message reports every core.

    ``cores`` holds the server's core states, ``report`` the text.
    """

    def __init__(self, message: str, cores=(), report: str = ""):
        super().__init__(message)
        self.cores = list(cores)
        self.report = report
