"""Device buffers: ``CreateBuffer`` with ``InterleavedBufferConfig``, in DRAM or in the L1s.

A buffer is ``size`` bytes cut into pages of ``page_size`` bytes, spread
round robin over *banks*: page ``i`` lives in bank ``i % banks`` at
``address + (i // banks) * page_stride``.  The banks are the DRAM nodes
(``BufferType.DRAM``) or the L1s of the Tensix tiles in logical-core order
(``BufferType.L1``); ``page_stride`` is ``page_size`` rounded up to
:data:`PAGE_ALIGN` bytes.  A buffer has the same address in every bank
(tt-metal's interleaved layout), so a kernel finds any page from the
address, the page size and the bank table (``tessera_program.h``:
``interleaved_get_noc_addr``).

Allocation is first-fit: DRAM buffers from the bottom of the DRAM, L1
buffers from the top of L1 down (circular buffers grow from the bottom of
the L1 data area up, and a program whose circular buffers reach an L1
buffer is refused).  :func:`DeallocateBuffer` frees the space.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import AllocationError, RuntimeInputError

__all__ = ["BufferType", "InterleavedBufferConfig", "Buffer", "CreateBuffer", "DeallocateBuffer", "Allocator",
           "PAGE_ALIGN"]

#: Pages of a bank start on this boundary (the NoC needs no alignment; 32 keeps pages on L1 bank words).
PAGE_ALIGN = 32


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to


class BufferType(enum.Enum):
    DRAM = "dram"
    L1 = "l1"


class Allocator:
    """First-fit allocator of the range ``base`` .. ``base + size`` (from the top when ``top_down``)."""

    def __init__(self, name: str, base: int, size: int, top_down: bool = False):
        self.name, self.base, self.size, self.top_down = name, base, size, top_down
        self.used = {}  # addr -> bytes

    def _holes(self) -> list:
        holes, pos = [], self.base
        for addr in sorted(self.used):
            if addr > pos:
                holes.append((pos, addr - pos))
            pos = max(pos, addr + self.used[addr])
        if pos < self.base + self.size:
            holes.append((pos, self.base + self.size - pos))
        return holes

    @property
    def free_bytes(self) -> int:
        return self.size - sum(self.used.values())

    @property
    def lowest(self) -> int:
        """Lowest allocated address (the end of the range if nothing is allocated)."""
        return min(self.used, default=self.base + self.size)

    def allocate(self, nbytes: int, align: int, what: str) -> int:
        holes = self._holes()
        for start, length in (reversed(holes) if self.top_down else holes):
            if self.top_down:
                addr = (start + length - nbytes) // align * align
                if addr >= start:
                    self.used[addr] = nbytes
                    return addr
            else:
                addr = _align(start, align)
                if addr + nbytes <= start + length:
                    self.used[addr] = nbytes
                    return addr
        largest = max((length for _, length in holes), default=0)
        raise AllocationError(f"{what} needs {nbytes} bytes of {self.name} per bank; {self.name} has "
                              f"{self.size} bytes for buffers ({self.base:#x}..{self.base + self.size:#x}), "
                              f"{self.free_bytes} free, the largest free block {largest} bytes")

    def free(self, addr: int) -> None:
        self.used.pop(addr, None)


@dataclass
class InterleavedBufferConfig:
    """tt-metal's ``InterleavedBufferConfig{device, size, page_size, buffer_type}``."""

    device: object
    size: int
    page_size: int
    buffer_type: BufferType = BufferType.DRAM


class Buffer:
    """An allocated device buffer (see the module docstring); create it with :func:`CreateBuffer`."""

    def __init__(self, device, size: int, page_size: int, buffer_type: BufferType):
        for name, value in (("size", size), ("page_size", page_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise RuntimeInputError(f"buffer {name} must be a positive integer, got {value!r}")
        if not isinstance(buffer_type, BufferType):
            raise RuntimeInputError(f"buffer_type must be BufferType.DRAM or BufferType.L1, got {buffer_type!r}")
        if size % page_size:
            raise RuntimeInputError(f"buffer size {size} is not a multiple of its page size {page_size}")
        self.device = device
        self.size, self.page_size, self.buffer_type = size, page_size, buffer_type
        self.num_pages = size // page_size
        self.page_stride = _align(page_size, PAGE_ALIGN)
        self.banks = device.banks(buffer_type)
        pages_per_bank = -(-self.num_pages // len(self.banks))
        self.bank_bytes = pages_per_bank * self.page_stride
        what = (f"{buffer_type.name} buffer of {size} bytes ({self.num_pages} pages of {page_size} bytes over "
                f"{len(self.banks)} bank{'s' if len(self.banks) != 1 else ''})")
        self._address = device.allocator(buffer_type).allocate(self.bank_bytes, PAGE_ALIGN, what)
        self.allocated = True

    def address(self) -> int:
        """The buffer's address in every bank (tt-metal ``buffer->address()``)."""
        return self._address

    def page_location(self, page: int) -> tuple:
        """NoC ``(x, y, addr)`` of page ``page``."""
        if not 0 <= page < self.num_pages:
            raise RuntimeInputError(f"page {page} of a buffer of {self.num_pages} pages")
        x, y = self.banks[page % len(self.banks)]
        return x, y, self._address + (page // len(self.banks)) * self.page_stride

    def bank_runs(self) -> list:
        """``[(x, y, addr, [pages])]``: per bank, its pages (consecutive page slots from ``addr``)."""
        runs = []
        for b, (x, y) in enumerate(self.banks):
            pages = list(range(b, self.num_pages, len(self.banks)))
            if pages:
                runs.append((x, y, self._address, pages))
        return runs

    def deallocate(self) -> None:
        if self.allocated:
            self.device.allocator(self.buffer_type).free(self._address)
            self.allocated = False

    def __repr__(self) -> str:
        return (f"Buffer({self.buffer_type.name}, {self.size} bytes, page {self.page_size}, "
                f"address {self._address:#x}, device {self.device.id})")


def CreateBuffer(config: InterleavedBufferConfig) -> Buffer:  # noqa: N802 - tt-metal's name
    """Allocate an interleaved buffer on ``config.device``."""
    if not isinstance(config, InterleavedBufferConfig):
        raise RuntimeInputError(f"CreateBuffer takes an InterleavedBufferConfig, got {config!r}")
    config.device.check_open()
    return Buffer(config.device, config.size, config.page_size, config.buffer_type)


def DeallocateBuffer(buffer: Buffer) -> None:  # noqa: N802
    buffer.deallocate()
