"""The one configuration object of Tessera.

Everything that has a width, a size or an address takes it from a
:class:`TesseraConfig`: the HDL generators, the generated C headers and linker
scripts, the host runtime's address map and the golden models.  Nothing else in
the tree restates one of these numbers by hand.

A configuration is a tree of frozen dataclasses.  It is validated when it is
built (``__post_init__``) and every error quotes the offending value, so a bad
override fails at once with a message that says what to fix.  It serialises to
canonical JSON (``to_json``/``from_json``), and its :meth:`fingerprint` keys
the Verilator build cache.

Presets live at the bottom of this module: ``tiny`` (full chip fits an
ECP5-85F and simulates fast) and ``tensix`` (the reference proportions).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ConfigError", "NocConfig", "Node", "L1Config", "CoreConfig", "CORE_ROLES", "COMPUTE_PARTS",
    "FUSED_COMPUTE_ROLE", "EngineConfig",
    "DramConfig", "RunElfConfig", "HostLinkConfig", "MIN_CLOCKS_PER_BIT", "Register", "MmioRegion", "MmioMap", "TesseraConfig",
    "PRESETS", "preset", "preset_names",
]


class ConfigError(ValueError):
    """A configuration value is out of range or inconsistent."""


def _is_pow2(value: int) -> bool:
    return isinstance(value, int) and value > 0 and (value & (value - 1)) == 0


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _require_int_in(name: str, value, low: int, high: int) -> None:
    """``value`` (the field ``name``) is an integer in ``low..high``."""
    _require(isinstance(value, int) and low <= value <= high,
             f"{name} must be an integer in {low}..{high}, got {value!r}")


def _bits_for(max_value: int) -> int:
    """Bits needed to hold every integer in ``0..max_value``."""
    return max(1, int(max_value).bit_length())


# ---------------------------------------------------------------------------
# Network-on-chip
# ---------------------------------------------------------------------------

TOPOLOGIES = ("mesh", "torus")
#: Alignment of NoC transfers with ``noc.aligned_transfers``: the 32-bit word,
#: which every L1 bank word and every flit holds a whole number of.
ALIGNED_TRANSFER_BYTES = 4
NODE_KINDS = ("tensix", "dram", "host")


@dataclass(frozen=True)
class NocConfig:
    """Shape and link parameters of the on-chip network."""

    width: int = 3
    height: int = 2
    topology: str = "mesh"
    #: Bits per flit, and so per link per cycle.
    flit_width: int = 64
    #: Virtual channels per lane.  The lanes are: one per message class
    #: (request, response) for unicast, plus one multicast lane (multicasts are
    #: requests).  A torus needs two per lane so the dateline can break the
    #: ring's cyclic dependency.
    vcs_per_class: int = 1
    #: Input buffer depth per virtual channel, in flits.
    buffer_depth: int = 4
    #: Largest data payload of one packet, in bytes (Tensix: 8 KiB).
    max_payload_bytes: int = 256
    #: Width of the node-local address carried in a header.
    address_width: int = 32
    #: Width of the transaction id carried in a header.
    txn_id_width: int = 4
    #: Command buffers of each tile's NoC interface unit (NIU), 1..8.
    niu_command_buffers: int = 4
    #: The NoC target (of every NIU and DRAM node) reads the data of the next
    #: read response while the current one is on the wire, with a second
    #: memory reader, so responses leave back to back.  False: one reader,
    #: each response's data is read only after the previous response has
    #: left (3 idle cycles per 256-byte response on the tiny preset; 700 to
    #: 1,300 LUT4 less per NIU or DRAM node).
    target_read_prefetch: bool = True
    #: NoC transfers move whole 32-bit words: every memory address a transfer
    #: reads or writes (local and remote, return addresses too) is a multiple
    #: of ``transfer_alignment`` (4) bytes; lengths stay free (the last word
    #: is written with a byte mask).  The NIU and DRAM datapaths then shift
    #: words, not bytes, and refuse unaligned commands and requests.
    #: False: any byte address (a byte realigner in every datapath).
    aligned_transfers: bool = False

    def __post_init__(self):
        _require_int_in("noc.width", self.width, 1, 64)
        _require_int_in("noc.height", self.height, 1, 64)
        _require(self.topology in TOPOLOGIES,
                 f"noc.topology must be one of {TOPOLOGIES}, got {self.topology!r}")
        _require(self.flit_width in (32, 64, 128, 256, 512),
                 f"noc.flit_width must be one of 32, 64, 128, 256, 512, got {self.flit_width!r}")
        _require_int_in("noc.vcs_per_class", self.vcs_per_class, 1, 4)
        _require(self.topology != "torus" or self.vcs_per_class >= 2,
                 f"noc.vcs_per_class must be at least 2 on a torus (dateline), got {self.vcs_per_class!r}")
        _require_int_in("noc.buffer_depth", self.buffer_depth, 2, 64)
        _require(_is_pow2(self.max_payload_bytes) and self.max_payload_bytes >= self.flit_bytes,
                 f"noc.max_payload_bytes must be a power of two of at least one flit "
                 f"({self.flit_bytes} bytes), got {self.max_payload_bytes!r}")
        _require(self.address_width in (32,),
                 f"noc.address_width must be 32, got {self.address_width!r}")
        _require_int_in("noc.txn_id_width", self.txn_id_width, 1, 8)
        _require_int_in("noc.niu_command_buffers", self.niu_command_buffers, 1, 8)
        _require(isinstance(self.aligned_transfers, bool),
                 f"noc.aligned_transfers must be true or false, got {self.aligned_transfers!r}")
        _require(self.niu_command_buffers <= 1 << self.txn_id_width,
                 f"noc.niu_command_buffers {self.niu_command_buffers!r} needs more transaction ids "
                 f"than noc.txn_id_width {self.txn_id_width!r} bits give")
        _require(isinstance(self.target_read_prefetch, bool),
                 f"noc.target_read_prefetch must be true or false, got {self.target_read_prefetch!r}")

    @property
    def flit_bytes(self) -> int:
        return self.flit_width // 8

    @property
    def transfer_alignment(self) -> int:
        """Bytes every NoC transfer address is a multiple of (1: any byte address)."""
        return ALIGNED_TRANSFER_BYTES if self.aligned_transfers else 1

    @property
    def x_bits(self) -> int:
        return _bits_for(self.width - 1)

    @property
    def y_bits(self) -> int:
        return _bits_for(self.height - 1)

    @property
    def num_classes(self) -> int:
        return 2  # request, response

    @property
    def num_lanes(self) -> int:
        """Unicast lanes (one per class) plus the multicast lane."""
        return self.num_classes + 1

    @property
    def mcast_lane(self) -> int:
        """Lane of multicast packets (all of class 0, requests): the last one."""
        return self.num_classes

    @property
    def num_vcs(self) -> int:
        """VC ``lane * vcs_per_class + d``; ``d`` is the torus dateline bit."""
        return self.num_lanes * self.vcs_per_class

    @property
    def max_payload_flits(self) -> int:
        return self.max_payload_bytes // self.flit_bytes

    @property
    def length_width(self) -> int:
        """Bits of the header's payload-length field (bytes, 0..max)."""
        return _bits_for(self.max_payload_bytes)


@dataclass(frozen=True)
class Node:
    """One NoC endpoint: what sits at grid position (x, y)."""

    x: int
    y: int
    kind: str

    def __post_init__(self):
        _require(self.kind in NODE_KINDS,
                 f"node kind must be one of {NODE_KINDS}, got {self.kind!r} at ({self.x}, {self.y})")


# ---------------------------------------------------------------------------
# Tile memories, cores and engine
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class L1Config:
    """The tile's banked SRAM, shared by the NIU, the cores and the engine."""

    size_bytes: int = 64 * 1024
    banks: int = 4
    #: Width of one bank access, in bits.
    bank_width: int = 64
    #: Base of L1 in the core and NoC local address space.
    base: int = 0x0000_0000

    def __post_init__(self):
        _require(_is_pow2(self.size_bytes) and self.size_bytes >= 4096,
                 f"l1.size_bytes must be a power of two of at least 4096, got {self.size_bytes!r}")
        _require(_is_pow2(self.banks) and self.banks <= 64,
                 f"l1.banks must be a power of two up to 64, got {self.banks!r}")
        _require(self.bank_width in (32, 64, 128, 256),
                 f"l1.bank_width must be one of 32, 64, 128, 256, got {self.bank_width!r}")
        _require(self.size_bytes % (self.banks * self.bank_width // 8) == 0,
                 f"l1.size_bytes {self.size_bytes!r} does not divide into {self.banks} banks "
                 f"of {self.bank_width}-bit words")
        _require(self.base == 0, f"l1.base must be 0, got {self.base!r}")

    @property
    def bank_bytes(self) -> int:
        return self.bank_width // 8

    @property
    def words_per_bank(self) -> int:
        return self.size_bytes // (self.banks * self.bank_bytes)

    @property
    def address_bits(self) -> int:
        return (self.size_bytes - 1).bit_length()


#: The parts of a compute kernel, in the order one fused core runs them (docs/compute.md).
COMPUTE_PARTS = ("unpack", "math", "pack")
#: The role of a core that runs all of :data:`COMPUTE_PARTS` of a compute kernel in one program.
FUSED_COMPUTE_ROLE = "compute"
CORE_ROLES = ("dm",) + COMPUTE_PARTS + (FUSED_COMPUTE_ROLE,)


#: Field metadata key: the field is left out of the JSON while it holds its default (_to_plain).
OMITTED_AT_DEFAULT = "omitted_at_default"


@dataclass(frozen=True)
class CoreConfig:
    """One RV32IMC control core of a tile."""

    name: str
    #: What the core is for: ``dm`` moves data; ``unpack``, ``math`` and ``pack`` are the three
    #: threads of a compute kernel on three cores (the TRISCs); ``compute`` runs all three parts
    #: of a compute kernel on one core, for tiles too small for five cores (an FPGA).  A tile has
    #: either one ``compute`` core or one core of each of ``unpack``, ``math`` and ``pack``
    #: (checked by :class:`TesseraConfig`).
    role: str
    #: First instruction fetched when the core leaves soft reset (in L1).
    reset_pc: int
    #: Bytes of L1 starting at ``reset_pc`` reserved for the core's firmware.
    code_bytes: int
    #: Bytes of core-private data RAM (stack, locals) at ``TesseraConfig.local_mem_base``.
    local_mem_bytes: int
    #: The DIV/DIVU/REM/REMU unit.  ``fast`` takes two quotient bits a cycle and skips the
    #: quotient's leading zeros (2 to 18 cycles); ``compact`` takes one bit a cycle on a single
    #: subtractor (always 33 cycles), for an FPGA where the core's area counts more than the
    #: speed of division.  Both give the results the ISA defines.
    divider: str = field(default="fast", metadata={OMITTED_AT_DEFAULT: True})
    #: Width of the mcycle and minstret counters.  64 is the ISA's; 32 keeps the low words
    #: (what the firmware's tessera_rdcycle/tessera_rdinstret read) and saves two 32-bit
    #: incrementers: mcycleh, minstreth, cycleh and instreth then read 0 and ignore writes, so
    #: a count wraps after 2^32 (86 s at 50 MHz).
    counter_bits: int = field(default=64, metadata={OMITTED_AT_DEFAULT: True})

    #: The choices of ``divider`` and ``counter_bits`` (class constants, not fields).
    DIVIDERS = ("fast", "compact")
    COUNTER_BITS = (64, 32)

    def __post_init__(self):
        _require(isinstance(self.name, str) and self.name.isidentifier() and self.name.islower(),
                 f"core name must be a lower-case identifier, got {self.name!r}")
        _require(self.role in CORE_ROLES,
                 f"core {self.name}: role must be one of {CORE_ROLES}, got {self.role!r}")
        _require(isinstance(self.reset_pc, int) and self.reset_pc % 4 == 0 and self.reset_pc >= 0,
                 f"core {self.name}: reset_pc must be a non-negative multiple of 4, got {self.reset_pc!r}")
        _require(isinstance(self.code_bytes, int) and self.code_bytes >= 256 and self.code_bytes % 256 == 0,
                 f"core {self.name}: code_bytes must be a multiple of 256 of at least 256, got {self.code_bytes!r}")
        _require(_is_pow2(self.local_mem_bytes) and self.local_mem_bytes >= 256,
                 f"core {self.name}: local_mem_bytes must be a power of two of at least 256, "
                 f"got {self.local_mem_bytes!r}")
        _require(self.divider in self.DIVIDERS,
                 f"core {self.name}: divider must be one of {self.DIVIDERS}, got {self.divider!r}")
        _require(type(self.counter_bits) is int and self.counter_bits in self.COUNTER_BITS,
                 f"core {self.name}: counter_bits must be one of {self.COUNTER_BITS}, "
                 f"got {self.counter_bits!r}")


FORMATS = ("float32", "float16_b", "bfp8_b")


@dataclass(frozen=True)
class EngineConfig:
    """The FPU tile engine: tile shape, matmul primitive, register files."""

    tile_rows: int = 32
    tile_cols: int = 32
    face_rows: int = 16
    face_cols: int = 16
    #: Per-cycle matmul primitive: (mm_rows x mm_inner) @ (mm_inner x mm_cols).
    mm_rows: int = 4
    mm_inner: int = 4
    mm_cols: int = 4
    #: Dst register file capacity in fp32 tiles (two halves when double-buffered).
    dst_tiles: int = 2
    #: SFPU lanes (32-bit each).
    sfpu_lanes: int = 8
    formats: tuple = FORMATS
    #: Values that share one exponent in a block-float format.
    bfp_block: int = 16

    def __post_init__(self):
        for name in ("tile_rows", "tile_cols", "face_rows", "face_cols",
                     "mm_rows", "mm_inner", "mm_cols", "dst_tiles", "sfpu_lanes", "bfp_block"):
            value = getattr(self, name)
            _require(_is_pow2(value), f"engine.{name} must be a power of two, got {value!r}")
        _require(self.tile_rows % self.face_rows == 0 and self.tile_cols % self.face_cols == 0,
                 f"engine tile {self.tile_rows}x{self.tile_cols} is not made of "
                 f"{self.face_rows}x{self.face_cols} faces")
        _require(self.mm_rows <= self.face_rows and self.mm_inner <= self.face_cols
                 and self.mm_cols <= self.face_cols,
                 f"engine matmul primitive {self.mm_rows}x{self.mm_inner}@{self.mm_inner}x{self.mm_cols} "
                 f"exceeds a {self.face_rows}x{self.face_cols} face")
        _require(self.dst_tiles >= 2, f"engine.dst_tiles must be at least 2 (double-buffered), got {self.dst_tiles!r}")
        bad = [f for f in self.formats if f not in FORMATS]
        _require(not bad and len(self.formats) > 0,
                 f"engine.formats must be a non-empty subset of {FORMATS}, got {self.formats!r}")
        _require(self.face_cols % self.bfp_block == 0 or self.bfp_block % self.face_cols == 0,
                 f"engine.bfp_block {self.bfp_block!r} does not tile a {self.face_cols}-wide face row")

    @property
    def tile_elems(self) -> int:
        return self.tile_rows * self.tile_cols

    @property
    def faces_per_tile(self) -> int:
        return (self.tile_rows // self.face_rows) * (self.tile_cols // self.face_cols)

    @property
    def macs_per_cycle(self) -> int:
        return self.mm_rows * self.mm_inner * self.mm_cols

    def tile_bytes(self, fmt: str) -> int:
        """Bytes one tile occupies in L1 in format ``fmt``."""
        if fmt == "float32":
            return self.tile_elems * 4
        if fmt == "float16_b":
            return self.tile_elems * 2
        if fmt == "bfp8_b":
            # One byte per value plus one shared exponent byte per block.
            return self.tile_elems + self.tile_elems // self.bfp_block
        raise ConfigError(f"unknown tile format {fmt!r}; known: {FORMATS}")


@dataclass(frozen=True)
class DramConfig:
    """A DRAM node: a large memory served over the NoC."""

    size_bytes: int = 1 << 20
    #: Cycles from a request's arrival to its response leaving the node at the earliest.
    latency_cycles: int = 20
    #: Memory bandwidth: bytes the node reads or writes per cycle (a token bucket).
    bytes_per_cycle: int = 8

    def __post_init__(self):
        _require(_is_pow2(self.size_bytes) and self.size_bytes >= 4096,
                 f"dram.size_bytes must be a power of two of at least 4096, got {self.size_bytes!r}")
        _require(isinstance(self.latency_cycles, int) and 0 <= self.latency_cycles <= 4095,
                 f"dram.latency_cycles must be an integer in 0..4095, got {self.latency_cycles!r}")
        _require(isinstance(self.bytes_per_cycle, int) and 1 <= self.bytes_per_cycle <= 256,
                 f"dram.bytes_per_cycle must be an integer in 1..256, got {self.bytes_per_cycle!r}")


#: Fewest clock cycles per UART bit: the receiver samples the middle of a bit.
MIN_CLOCKS_PER_BIT = 4


@dataclass(frozen=True)
class HostLinkConfig:
    """The serial link between a host computer and a board's host bridge (docs/fpga.md).

    The bridge at the host node speaks framed packets over a UART: 8 data
    bits, no parity, one stop bit, ``baud`` bits per second at the chip's
    ``clock_mhz``.  Simulations use a fast link (a few clocks per bit) with
    the same frames.
    """

    baud: int = 115_200
    #: A frame whose next byte does not arrive within this many byte times is
    #: dropped as truncated (the host is told, nothing of it reaches the chip).
    frame_timeout_bytes: int = 64

    def __post_init__(self):
        _require(isinstance(self.baud, int) and 1200 <= self.baud <= 50_000_000,
                 f"host_link.baud must be an integer in 1200..50000000, got {self.baud!r}")
        _require(isinstance(self.frame_timeout_bytes, int) and 2 <= self.frame_timeout_bytes <= 65535,
                 f"host_link.frame_timeout_bytes must be an integer in 2..65535, "
                 f"got {self.frame_timeout_bytes!r}")

    def clocks_per_bit(self, clock_mhz: float) -> int:
        """Clock cycles per UART bit at ``clock_mhz``; at least :data:`MIN_CLOCKS_PER_BIT`."""
        clocks = round(clock_mhz * 1e6 / self.baud)
        _require(clocks >= MIN_CLOCKS_PER_BIT, f"host_link.baud {self.baud!r} is too fast for a {clock_mhz} MHz clock "
                              f"({clock_mhz * 1e6 / self.baud:.2f} clocks per bit; at least {MIN_CLOCKS_PER_BIT} needed)")
        return clocks


@dataclass(frozen=True)
class RunElfConfig:
    """The single-core system of ``tessera run-elf`` (riscv-tests layout).

    One core, a flat RAM where riscv-tests and riscv-arch-test link their
    programs, and a console register.  Program exit is a store to the ELF
    symbol ``tohost``, wherever the program placed it.
    """

    ram_base: int = 0x8000_0000
    ram_bytes: int = 4 << 20
    #: A byte stored here is printed on the console.
    console_addr: int = 0x1000_0000

    def __post_init__(self):
        _require(_is_pow2(self.ram_bytes) and self.ram_base % self.ram_bytes == 0,
                 f"runelf.ram_bytes must be a power of two that aligns ram_base "
                 f"{self.ram_base:#x}, got {self.ram_bytes!r}")
        _require(not (self.ram_base <= self.console_addr < self.ram_base + self.ram_bytes),
                 f"runelf.console_addr {self.console_addr:#x} lies inside RAM")


# ---------------------------------------------------------------------------
# Memory-mapped registers
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    doc: str = ""
    #: Number of consecutive 32-bit registers (an array such as one per core).
    count: int = 1


@dataclass(frozen=True)
class MmioRegion:
    name: str
    base: int
    size: int
    doc: str
    registers: tuple = ()

    def __post_init__(self):
        _require(_is_pow2(self.size) and self.base % self.size == 0,
                 f"mmio region {self.name}: base {self.base:#x} must be aligned to its "
                 f"power-of-two size, got size {self.size!r}")
        seen = {}
        for reg in self.registers:
            _require(reg.offset % 4 == 0 and 0 <= reg.offset and reg.offset + 4 * reg.count <= self.size,
                     f"mmio register {self.name}.{reg.name}: offset {reg.offset:#x} is not a word "
                     f"inside the {self.size:#x}-byte region")
            for word in range(reg.count):
                addr = reg.offset + 4 * word
                _require(addr not in seen,
                         f"mmio register {self.name}.{reg.name} overlaps {self.name}.{seen.get(addr)} "
                         f"at offset {addr:#x}")
                seen[addr] = reg.name

    def offset(self, name: str) -> int:
        for reg in self.registers:
            if reg.name == name:
                return reg.offset
        raise KeyError(f"no register {name!r} in mmio region {self.name!r}")

    def address(self, name: str, index: int = 0) -> int:
        return self.base + self.offset(name) + 4 * index


#: NIU register arrays (one word per command buffer) and their offsets; an
#: array holds up to 8 buffers (stride 0x20 between arrays).
_NIU_BUFFER_FIELDS = (
    ("cmd_remote_addr", "Local address at the remote node: read source, write destination, atomic target"),
    ("cmd_remote_coord", "Remote node: x 7:0, y 15:8; multicast rectangle end x1 23:16, y1 31:24"),
    ("cmd_local_addr", "Local L1 address: read destination, write source, atomic return (outside L1: none)"),
    ("cmd_length", "Bytes to transfer (split into packets by the NIU)"),
    ("cmd_inline_data", "Inline write data / atomic increment"),
    ("cmd_ctrl", "Operation and flags: op 1:0 (0 read, 1 write, 2 atomic increment), acked 2, inline 3, mcast 4, include_src 5"),
    ("cmd_issue", "Write 1 to issue; reads non-zero while the buffer is busy"),
)
_NIU_COUNTERS = (
    ("read_resp_received", "Read responses received (32-bit, wrapping)"),
    ("write_acks_received", "Write acks received (one per destination of a multicast)"),
    ("nonposted_writes_sent", "Acknowledged write requests sent"),
    ("posted_writes_sent", "Posted write requests sent"),
    ("atomic_resp_received", "Atomic responses received"),
    ("read_req_sent", "Read requests sent"),
    ("write_acks_expected", "Write acks expected: destinations of every acknowledged write sent"),
    ("atomic_sent", "Atomic requests sent"),
    ("error_status", "Sticky error: set 0, cmd 6:4, x 15:8, y 23:16 (node, request command); write to clear"),
    ("error_addr", "Address of the first failed request since the last clear"),
    ("error_count", "Failed requests (32-bit, wrapping)"),
    ("busy", "Read-only: bit b set while command buffer b is busy"),
)


def _niu_registers(command_buffers: int) -> tuple:
    regs = [Register(name, 0x20 * i, doc, count=command_buffers)
            for i, (name, doc) in enumerate(_NIU_BUFFER_FIELDS)]
    regs += [Register(name, 0x100 + 4 * i, doc) for i, (name, doc) in enumerate(_NIU_COUNTERS)]
    return tuple(regs)


def _default_mmio(num_cores: int, mailboxes: int = 8, command_buffers: int = 4) -> tuple:
    return (
        MmioRegion(
            "tile_ctrl", 0xFFB1_0000, 0x1000,
            "Tile control: identity, soft reset, reset PCs, cycle counter, console, mailboxes, waypoints",
            registers=(
                Register("tile_id", 0x000, "Read-only: x in bits 7:0, y in bits 15:8"),
                Register("soft_reset", 0x004, "One bit per core (core index order); 1 holds the core in reset"),
                Register("cycle_lo", 0x008, "Free-running cycle counter, low word (reading it latches cycle_hi)"),
                Register("cycle_hi", 0x00C, "Free-running cycle counter, high word latched by reading cycle_lo"),
                Register("console", 0x010, "Write a byte to the simulation console"),
                Register("scratch", 0x014, "Host-visible scratch word"),
                Register("reset_pc", 0x040, "Per-core reset PC (core index order)", count=num_cores),
                Register("mailbox", 0x080, "Mailboxes between cores and host", count=mailboxes),
                Register("waypoint", 0x0C0, "Per-core firmware waypoint code (hw/tile/waypoint.py), core index "
                                            "order; 0 while the core is held", count=num_cores),
            ),
        ),
        MmioRegion("niu", 0xFFB2_0000, 0x1000,
                   "NoC interface unit: command buffers and transaction counters",
                   registers=_niu_registers(command_buffers)),
        MmioRegion(
            "engine", 0xFFB3_0000, 0x1000,
            "FPU tile engine: unpack, math and pack command queues and status (hw/engine/mmio.py)",
            registers=(
                Register("unpack_cmd_lo", 0x00, "Write-only: bits 31..0 of the next unpack command"),
                Register("unpack_cmd_hi", 0x04, "Write-only: bits 63..32; pushes the unpack command (stalls while full)"),
                Register("math_cmd_lo", 0x08, "Write-only: bits 31..0 of the next math command"),
                Register("math_cmd_hi", 0x0C, "Write-only: bits 63..32; pushes the math command (stalls while full)"),
                Register("pack_cmd_lo", 0x10, "Write-only: bits 31..0 of the next pack command"),
                Register("pack_cmd_hi", 0x14, "Write-only: bits 63..32; pushes the pack command (stalls while full)"),
                Register("status", 0x18, "Read-only: 2..0 busy (unpack, math, pack), 4..3 Src slots valid, "
                                         "6..5 Dst halves full, 9..7 command stream ready (unpack, math, pack)"),
            ),
        ),
    )


@dataclass(frozen=True)
class MmioMap:
    regions: tuple = ()

    def region(self, name: str) -> MmioRegion:
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(f"no mmio region {name!r}; known: {[r.name for r in self.regions]}")


# ---------------------------------------------------------------------------
# The whole chip
# ---------------------------------------------------------------------------

def default_placement(width: int, height: int) -> tuple:
    """Host at (0, 0), DRAM down the rest of column 0, Tensix tiles elsewhere.

    A single-column grid keeps the host at (0, 0) and makes every other node
    Tensix except (0, 1), which becomes DRAM.
    """
    nodes = []
    for y in range(height):
        for x in range(width):
            if (x, y) == (0, 0):
                kind = "host"
            elif x == 0 and (width > 1 or y == 1):
                kind = "dram"
            else:
                kind = "tensix"
            nodes.append(Node(x, y, kind))
    return tuple(nodes)


@dataclass(frozen=True)
class TesseraConfig:
    name: str
    noc: NocConfig
    nodes: tuple
    l1: L1Config
    cores: tuple
    engine: EngineConfig
    dram: DramConfig
    #: Base of the core-private data RAM in every core's address space.
    local_mem_base: int = 0xFFB0_0000
    mmio: MmioMap = field(default=None)
    runelf: RunElfConfig = field(default_factory=RunElfConfig)
    host_link: HostLinkConfig = field(default_factory=HostLinkConfig)
    #: Nominal clock for reports (cycles are what the model measures).
    clock_mhz: float = 100.0

    def __post_init__(self):
        if self.mmio is None:
            object.__setattr__(self, "mmio", MmioMap(_default_mmio(
                len(self.cores), command_buffers=self.noc.niu_command_buffers)))
        noc = self.noc
        _require(isinstance(self.name, str) and self.name,
                 f"config name must be a non-empty string, got {self.name!r}")
        # Placement: every grid position holds exactly one node.
        positions = {}
        for node in self.nodes:
            _require(0 <= node.x < noc.width and 0 <= node.y < noc.height,
                     f"node {node.kind} at ({node.x}, {node.y}) lies outside the "
                     f"{noc.width}x{noc.height} grid")
            _require((node.x, node.y) not in positions,
                     f"two nodes placed at ({node.x}, {node.y}): "
                     f"{positions.get((node.x, node.y))} and {node.kind}")
            positions[(node.x, node.y)] = node.kind
        missing = [(x, y) for y in range(noc.height) for x in range(noc.width) if (x, y) not in positions]
        _require(not missing, f"grid positions without a node: {missing}")
        kinds = [n.kind for n in self.nodes]
        _require(kinds.count("host") == 1, f"exactly one host node is required, got {kinds.count('host')}")
        _require(kinds.count("tensix") >= 1, "at least one tensix node is required, got 0")
        # Cores: unique names, firmware regions inside L1 and disjoint.
        _require(len(self.cores) >= 1, "at least one core per tile is required, got 0")
        names = [c.name for c in self.cores]
        _require(len(set(names)) == len(names), f"core names must be unique, got {names}")
        self._check_compute_roles()
        regions = sorted((c.reset_pc, c.reset_pc + c.code_bytes, c.name) for c in self.cores)
        for start, end, name in regions:
            _require(end <= self.l1.size_bytes,
                     f"core {name}: firmware region {start:#x}..{end:#x} exceeds L1 "
                     f"({self.l1.size_bytes:#x} bytes)")
        for (s0, e0, n0), (s1, e1, n1) in zip(regions, regions[1:]):
            _require(e0 <= s1, f"core {n0} firmware region {s0:#x}..{e0:#x} overlaps core {n1} at {s1:#x}")
        _require(self.firmware_end < self.l1.size_bytes,
                 f"core firmware regions end at {self.firmware_end:#x} and leave no L1 for data "
                 f"({self.l1.size_bytes:#x} bytes)")
        max_local = max(c.local_mem_bytes for c in self.cores)
        _require(self.local_mem_base % max_local == 0 and self.local_mem_base >= self.l1.size_bytes,
                 f"local_mem_base {self.local_mem_base:#x} must lie above L1 and be aligned to the "
                 f"largest local memory ({max_local:#x})")
        for region in self.mmio.regions:
            _require(region.base >= self.local_mem_base + max_local,
                     f"mmio region {region.name} at {region.base:#x} overlaps core local memory")
        _require(self.noc.max_payload_bytes <= self.l1.size_bytes,
                 f"noc.max_payload_bytes {self.noc.max_payload_bytes!r} exceeds L1 size")

    def _check_compute_roles(self) -> None:
        """One ``compute`` core, or exactly one core of each of unpack, math and pack."""
        by_role = {role: [c.name for c in self.cores if c.role == role]
                   for role in COMPUTE_PARTS + (FUSED_COMPUTE_ROLE,)}
        fused = by_role[FUSED_COMPUTE_ROLE]
        split = {role: by_role[role] for role in COMPUTE_PARTS}
        rule = (f"a tile has either one {FUSED_COMPUTE_ROLE!r} core or one core of each of "
                f"{', '.join(map(repr, COMPUTE_PARTS))}")
        fused_cores = ", ".join(f"{name} {FUSED_COMPUTE_ROLE!r}" for name in fused)
        split_cores = ", ".join(f"{name} {role!r}" for role, names in split.items() for name in names)
        _require(not (fused and split_cores),
                 f"cores mix the fused and the split compute roles ({fused_cores}; {split_cores}): {rule}")
        _require(len(fused) <= 1, f"cores {' and '.join(fused)} share role {FUSED_COMPUTE_ROLE!r}: {rule}")
        if fused:
            return
        for role, names in split.items():
            _require(len(names) <= 1, f"cores {' and '.join(names)} share role {role!r}: {rule}")
        missing = [role for role, names in split.items() if not names]
        present = ", ".join(f"{role} {names[0]}" for role, names in split.items() if names)
        _require(not missing,
                 f"no core has role {' or '.join(map(repr, missing))}"
                 f"{f' (the tile has {present})' if present else ''}: {rule}")

    # -- derived views -----------------------------------------------------

    @property
    def fused_compute(self) -> bool:
        """Whether one ``compute`` core runs the unpack, math and pack parts of compute kernels."""
        return any(c.role == FUSED_COMPUTE_ROLE for c in self.cores)

    @property
    def compute_cores(self) -> list:
        """Names of the cores a compute kernel is built for: the ``compute`` core, or the
        unpack, math and pack cores in that order."""
        if self.fused_compute:
            return [c.name for c in self.cores if c.role == FUSED_COMPUTE_ROLE]
        return [next(c.name for c in self.cores if c.role == role) for role in COMPUTE_PARTS]

    @property
    def firmware_end(self) -> int:
        return max(c.reset_pc + c.code_bytes for c in self.cores)

    @property
    def l1_data_base(self) -> int:
        """First L1 byte not reserved for firmware: circular buffers and data."""
        return self.firmware_end

    def core(self, name: str) -> CoreConfig:
        for core in self.cores:
            if core.name == name:
                return core
        raise KeyError(f"unknown core {name!r}; this configuration has {[c.name for c in self.cores]}")

    def core_index(self, name: str) -> int:
        return [c.name for c in self.cores].index(self.core(name).name)

    def nodes_of(self, kind: str) -> list:
        if kind not in NODE_KINDS:
            raise ConfigError(f"unknown node kind {kind!r}; known: {NODE_KINDS}")
        return [n for n in self.nodes if n.kind == kind]

    def node_at(self, x: int, y: int) -> Node:
        for node in self.nodes:
            if (node.x, node.y) == (x, y):
                return node
        raise KeyError(f"no node at ({x}, {y}) in the {self.noc.width}x{self.noc.height} grid")

    @property
    def host(self) -> Node:
        return self.nodes_of("host")[0]

    # -- serialisation -----------------------------------------------------

    def to_dict(self) -> dict:
        return _to_plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> "TesseraConfig":
        data = dict(data)
        return cls(
            name=data["name"],
            noc=NocConfig(**data["noc"]),
            nodes=tuple(Node(**n) for n in data["nodes"]),
            l1=L1Config(**data["l1"]),
            cores=tuple(CoreConfig(**c) for c in data["cores"]),
            engine=EngineConfig(**{**data["engine"], "formats": tuple(data["engine"]["formats"])}),
            dram=DramConfig(**data["dram"]),
            local_mem_base=data["local_mem_base"],
            mmio=MmioMap(tuple(
                MmioRegion(**{**r, "registers": tuple(Register(**g) for g in r["registers"])})
                for r in data["mmio"]["regions"])),
            clock_mhz=data["clock_mhz"],
            runelf=RunElfConfig(**data["runelf"]),
            host_link=HostLinkConfig(**data.get("host_link", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> "TesseraConfig":
        return cls.from_dict(json.loads(text))

    def fingerprint(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def derive(self, **changes: Any) -> "TesseraConfig":
        """A copy with some sections changed.

        Sections are given as dicts of field overrides, for example
        ``cfg.derive(noc={"width": 4, "height": 4, "topology": "torus", "vcs_per_class": 2})``.
        When the grid changes and no ``nodes`` are given, the default placement
        is regenerated for the new grid.
        """
        kwargs = {}
        for key, value in changes.items():
            if not hasattr(self, key):
                raise ConfigError(f"unknown configuration section {key!r}")
            current = getattr(self, key)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                value = dataclasses.replace(current, **value)
            kwargs[key] = value
        noc = kwargs.get("noc", self.noc)
        if "nodes" not in kwargs and (noc.width, noc.height) != (self.noc.width, self.noc.height):
            kwargs["nodes"] = default_placement(noc.width, noc.height)
        if ("cores" in kwargs or "noc" in kwargs) and "mmio" not in kwargs:
            kwargs["mmio"] = None
        return dataclasses.replace(self, **kwargs)


def _to_plain(value):
    if dataclasses.is_dataclass(value):
        # A field marked OMITTED_AT_DEFAULT is left out while it holds its default, so such an
        # option leaves the JSON (and the fingerprint keying the build cache) of every
        # configuration that does not use it as it was; from_dict fills the default back in.
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not (f.metadata.get(OMITTED_AT_DEFAULT) and getattr(value, f.name) == f.default)}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------

def _tiny() -> TesseraConfig:
    # 3x2 mesh: host (0,0), DRAM (0,1) and a 2x2 compute grid.  Small
    # memories and a 1x4@4x4 matmul primitive keep the chip inside an ECP5-85F.
    return TesseraConfig(
        name="tiny",
        noc=NocConfig(width=3, height=2, topology="mesh", flit_width=64, vcs_per_class=1,
                      buffer_depth=4, max_payload_bytes=256),
        nodes=default_placement(3, 2),
        l1=L1Config(size_bytes=64 * 1024, banks=4, bank_width=64),
        cores=(
            CoreConfig("brisc", "dm", 0x0000, 0x1000, 2048),
            CoreConfig("ncrisc", "dm", 0x1000, 0x1000, 2048),
            CoreConfig("trisc0", "unpack", 0x2000, 0x1000, 1024),
            CoreConfig("trisc1", "math", 0x3000, 0x1000, 1024),
            CoreConfig("trisc2", "pack", 0x4000, 0x1000, 1024),
        ),
        # 1x4@4x4 (16 MACs/cycle, 4 lanes): a lane (a 5-term fused fp32 sum with
        # slice multipliers) costs ~2K LUT4, and four tiles of engines must share
        # the ECP5-85F with 20 cores and the NoC (docs/engine.md, FPGA report).
        engine=EngineConfig(mm_rows=1, mm_inner=4, mm_cols=4, dst_tiles=2, sfpu_lanes=8),
        dram=DramConfig(size_bytes=1 << 20),
        clock_mhz=50.0,
    )


def _tensix() -> TesseraConfig:
    # Reference proportions: 9x8 torus with a host and a column of DRAM
    # nodes beside 8x8 Tensix tiles; 1 MiB L1 in 16 banks of 128 bits; the
    # Tensix reset PCs and private-memory sizes; an 8x16@16x16 engine.
    return TesseraConfig(
        name="tensix",
        noc=NocConfig(width=9, height=8, topology="torus", flit_width=256, vcs_per_class=2,
                      buffer_depth=4, max_payload_bytes=8192),
        nodes=default_placement(9, 8),
        l1=L1Config(size_bytes=1 << 20, banks=16, bank_width=128),
        cores=(
            CoreConfig("brisc", "dm", 0x00000, 0x6000, 4096),
            CoreConfig("ncrisc", "dm", 0x12000, 0x4000, 4096),
            CoreConfig("trisc0", "unpack", 0x06000, 0x4000, 2048),
            CoreConfig("trisc1", "math", 0x0A000, 0x4000, 2048),
            CoreConfig("trisc2", "pack", 0x0E000, 0x4000, 2048),
        ),
        engine=EngineConfig(mm_rows=8, mm_inner=16, mm_cols=16, dst_tiles=8, sfpu_lanes=32),
        dram=DramConfig(size_bytes=1 << 30),
        clock_mhz=1000.0,
    )


def _ulx3s() -> TesseraConfig:
    # What a ULX3S-85F (ECP5-85F, docs/fpga.md) holds today: a 1x3 column of the host, a DRAM
    # node of 128 KiB in block RAM and one Tensix tile.  The tile is made small where the FPGA
    # asks: three cores (two data-movement cores and one core that runs all three parts of a
    # compute kernel) with the compact divider and 32-bit counters, a 1x2@2x2 engine on 32-bit
    # L1 banks (4 MACs a cycle), an NIU of two command buffers, NoC transfers on 32-bit word
    # addresses (no byte realigners), NoC targets with one memory reader, two-flit router
    # buffers (flip-flops, not LUT RAM).  The clock is what the whole chip closes on the board
    # with margin (docs/fpga.md §6: the cores' fetch path from an L1 bank through the decoder).
    small_core = {"divider": "compact", "counter_bits": 32}
    return TesseraConfig(
        name="ulx3s",
        noc=NocConfig(width=1, height=3, topology="mesh", flit_width=64, vcs_per_class=1,
                      buffer_depth=2, max_payload_bytes=256, niu_command_buffers=2,
                      target_read_prefetch=False, aligned_transfers=True),
        nodes=default_placement(1, 3),
        l1=L1Config(size_bytes=64 * 1024, banks=4, bank_width=32),
        cores=(
            CoreConfig("brisc", "dm", 0x0000, 0x1000, 2048, **small_core),
            CoreConfig("ncrisc", "dm", 0x1000, 0x1000, 2048, **small_core),
            CoreConfig("trisc", "compute", 0x2000, 0x3000, 2048, **small_core),
        ),
        engine=EngineConfig(mm_rows=1, mm_inner=2, mm_cols=2, dst_tiles=2, sfpu_lanes=4),
        dram=DramConfig(size_bytes=128 * 1024),
        clock_mhz=15.0,
    )


PRESETS = {"tiny": _tiny, "tensix": _tensix, "ulx3s": _ulx3s}


def preset_names() -> list:
    return list(PRESETS)


def preset(name: str, **overrides: Any) -> TesseraConfig:
    """The named preset, optionally with section overrides (see :meth:`TesseraConfig.derive`)."""
    try:
        factory = PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
    cfg = factory()
    return cfg.derive(**overrides) if overrides else cfg

