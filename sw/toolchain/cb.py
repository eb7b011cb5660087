"""Circular buffers: the L1 table that the host fills and the kernels' cb_* API uses.

A circular buffer (tt-metal's ``CreateCircularBuffer``) is a FIFO of equal
pages in a tile's L1 between one producer core and one consumer core of that
tile.  Its state is two counters in L1, each written by one side only, so no
atomic operation is needed:

* ``pages_received`` — written by the producer (``cb_push_back``);
* ``pages_acked`` — written by the consumer (``cb_pop_front``).

Both count modulo ``2 * num_pages``: the difference (mod ``2 * num_pages``)
is the number of filled pages, from 0 to ``num_pages`` inclusive, and each
counter modulo ``num_pages`` is the page its side uses next.

The table sits at the start of the tile's L1 data area
(``cfg.l1_data_base``, the first byte after every core's firmware region):
:data:`NUM_CBS` entries of :data:`CB_ENTRY_BYTES` bytes, little-endian
32-bit words::

    +0  fifo_addr       L1 address of page 0
    +4  fifo_size       page_size * num_pages
    +8  page_size       bytes, a multiple of 4
    +12 num_pages       >= 1
    +16 pages_received  producer counter, loaded as 0
    +20 pages_acked     consumer counter, loaded as 0
    +24 data_format     engine format code of the pages + 1 (0: not given); what the
                        compute API (tessera_compute.h) unpacks and packs them as
    +28 reserved (0)

FIFOs go above the table (``cb_data_base(cfg)`` .. end of L1).  The loader
writes the whole table of a tile that has circular buffers (unused entries
zero) before it releases the cores.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tessera.hw.config import TesseraConfig

from .errors import CapacityError, FirmwareError, LayoutError

__all__ = ["NUM_CBS", "CB_ENTRY_BYTES", "CB_FIELDS", "CircularBuffer", "cb_table_base", "cb_data_base",
           "cb_table_bytes", "check_circular_buffers", "cb_table_image", "cb_header_lines",
           "allocate_circular_buffers"]

#: Circular buffers per tile (tt-metal: NUM_CIRCULAR_BUFFERS = 32).
NUM_CBS = 32
CB_ENTRY_BYTES = 32
CB_FIELDS = {"fifo_addr": 0, "fifo_size": 4, "page_size": 8, "num_pages": 12,
             "pages_received": 16, "pages_acked": 20, "data_format": 24}


def _format_codes() -> dict:
    """``{"float16_b": 1, ...}``: the engine's tile formats (hw/engine/commands.py)."""
    from tessera.hw.engine.commands import FORMAT_BY_NAME
    return FORMAT_BY_NAME


def cb_table_base(cfg: TesseraConfig) -> int:
    return cfg.l1.base + cfg.l1_data_base


def cb_table_bytes() -> int:
    return NUM_CBS * CB_ENTRY_BYTES


def cb_data_base(cfg: TesseraConfig) -> int:
    """First L1 byte a circular buffer's FIFO may use."""
    return cb_table_base(cfg) + cb_table_bytes()


@dataclass(frozen=True)
class CircularBuffer:
    """One circular buffer of a tile: ``index`` in the table, FIFO at ``addr``.

    ``data_format`` (optional): the engine format of its pages (``"float32"``,
    ``"float16_b"``, ``"bfp8_b"``), which compute kernels unpack and pack them as.
    """

    index: int
    addr: int
    page_size: int
    num_pages: int
    data_format: str | None = None

    @property
    def size(self) -> int:
        return self.page_size * self.num_pages

    @property
    def end(self) -> int:
        return self.addr + self.size

    def to_dict(self) -> dict:
        d = {"index": self.index, "addr": self.addr, "page_size": self.page_size, "num_pages": self.num_pages}
        if self.data_format is not None:
            d["data_format"] = self.data_format
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CircularBuffer":
        return cls(d["index"], d["addr"], d["page_size"], d["num_pages"], d.get("data_format"))

    @property
    def data_format_word(self) -> int:
        """The table's ``data_format`` word: format code + 1, or 0 when no format is given."""
        return 0 if self.data_format is None else _format_codes()[self.data_format] + 1


def check_circular_buffers(cbs, cfg: TesseraConfig, where: str) -> list:
    """Refuse bad indices, sizes, FIFOs outside the L1 data area, and overlaps."""
    cbs = [cb if isinstance(cb, CircularBuffer) else CircularBuffer(**cb) for cb in cbs]
    lo, hi = cb_data_base(cfg), cfg.l1.base + cfg.l1.size_bytes
    seen = {}
    for cb in cbs:
        for name in ("index", "addr", "page_size", "num_pages"):
            value = getattr(cb, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise FirmwareError(f"{where}: circular buffer {name} must be a non-negative integer, got {value!r}")
        if cb.data_format is not None and cb.data_format not in _format_codes():
            raise FirmwareError(f"{where}: circular buffer {cb.index}: data_format {cb.data_format!r} is not one of "
                                f"{sorted(_format_codes())}")
        if cb.index >= NUM_CBS:
            raise FirmwareError(f"{where}: circular buffer index {cb.index} is not in 0..{NUM_CBS - 1}")
        if cb.index in seen:
            raise FirmwareError(f"{where}: circular buffer {cb.index} defined twice")
        if cb.page_size < 4 or cb.page_size % 4 or cb.addr % 4:
            raise FirmwareError(f"{where}: circular buffer {cb.index}: page_size {cb.page_size} and addr "
                                f"{cb.addr:#x} must be multiples of 4 (page_size at least 4)")
        if cb.num_pages < 1 or cb.num_pages >= 1 << 30:
            raise FirmwareError(f"{where}: circular buffer {cb.index}: num_pages {cb.num_pages} is not in 1..2^30-1")
        if cb.end > hi:
            raise CapacityError(f"{where}: circular buffer {cb.index} ({cb.addr:#x}..{cb.end:#x}) runs past the "
                                f"end of L1 ({hi:#x})")
        if cb.addr < lo:
            raise LayoutError(f"{where}: circular buffer {cb.index} at {cb.addr:#x} lies below the L1 data area "
                              f"for FIFOs ({lo:#x}..{hi:#x}: firmware and the circular-buffer table come first)")
        seen[cb.index] = cb
    ordered = sorted(cbs, key=lambda c: c.addr)
    for a, b in zip(ordered, ordered[1:]):
        if b.addr < a.end:
            raise LayoutError(f"{where}: circular buffers {a.index} ({a.addr:#x}..{a.end:#x}) and {b.index} "
                              f"({b.addr:#x}..{b.end:#x}) overlap")
    return sorted(cbs, key=lambda c: c.index)


def cb_table_image(cbs) -> bytes:
    """The table's bytes: one entry per buffer, counters 0, unused entries zero."""
    table = bytearray(cb_table_bytes())
    for cb in cbs:
        struct.pack_into("<8I", table, cb.index * CB_ENTRY_BYTES, cb.addr, cb.size, cb.page_size, cb.num_pages,
                         0, 0, cb.data_format_word, 0)
    return bytes(table)


def cb_header_lines(cfg: TesseraConfig) -> list:
    lines = ["", "/* Circular-buffer table (sw/toolchain/cb.py) */",
             f"#define TESSERA_CB_TABLE_BASE {cb_table_base(cfg):#010x}u",
             f"#define TESSERA_NUM_CBS {NUM_CBS}u",
             f"#define TESSERA_CB_ENTRY_BYTES {CB_ENTRY_BYTES}u",
             f"#define TESSERA_CB_DATA_BASE {cb_data_base(cfg):#010x}u"]
    lines += [f"#define TESSERA_CB_{name.upper()}_OFFSET {offset}u" for name, offset in CB_FIELDS.items()]
    return lines


def allocate_circular_buffers(cfg: TesseraConfig, requests) -> list:
    """Place buffers ``(index, page_size, num_pages)`` (or ``(index, page_size, num_pages,
    data_format)``) one after another from :func:`cb_data_base`.

    Each FIFO starts on an L1 bank-word boundary (``cfg.l1.bank_bytes``), so
    the engine's unpack and pack ports see whole words.
    """
    align = cfg.l1.bank_bytes
    addr = cb_data_base(cfg)
    placed = []
    for index, page_size, num_pages, *data_format in requests:
        addr = (addr + align - 1) // align * align
        placed.append(CircularBuffer(index, addr, page_size, num_pages, *data_format))
        addr += page_size * num_pages
    return check_circular_buffers(placed, cfg, "allocated circular buffers")
