"""Turn a firmware image into the NoC writes that load and start it.

:func:`load_plan` returns the ordered list of :class:`NocWrite` for the host
runtime and the testbenches:

1. ``hold``: every tile with a program gets its ``tile_ctrl.soft_reset``
   register written with all core bits set (all its cores held in reset);
2. ``segment``: the file contents of every segment, split into NoC packets
   of at most ``cfg.noc.max_payload_bytes`` (bss is not written: crt0 clears it);
3. ``reset_pc``: ``tile_ctrl.reset_pc[core_index]`` = the program's entry point;
4. ``args``: the core's whole runtime-argument area: the argument words,
   then zeros (an argument the host did not set reads as 0); then, for a
   tile with circular buffers, the whole circular-buffer table (``cb.py``);
5. ``release``: ``soft_reset`` written with only the cores that have no
   program still held, so they stay quiet.

Every tile is loaded before any tile is released, so programs that talk to
each other all start from loaded memory.  Images are checked against the
configuration first (fingerprint, tiles, cores, segment placement).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tessera.hw.config import TesseraConfig

from .cb import cb_table_base, cb_table_image, check_circular_buffers
from .errors import FirmwareError, LayoutError, TargetError
from .image import FirmwareImage, _check_tile, read_image
from .layout import target_for

__all__ = ["NocWrite", "load_plan", "ModelChip", "load_image_async", "PHASES"]

PHASES = ("hold", "segment", "reset_pc", "args", "release")


@dataclass(frozen=True)
class NocWrite:
    """Write ``data`` at local address ``addr`` of the node at (``x``, ``y``)."""

    x: int
    y: int
    addr: int
    data: bytes
    #: One of :data:`PHASES`, for logs and tests.
    phase: str = "segment"


def _as_image(image) -> FirmwareImage:
    if isinstance(image, FirmwareImage):
        return image
    if isinstance(image, (bytes, bytearray)):
        return FirmwareImage.from_bytes(bytes(image))
    if isinstance(image, (str, Path)):
        return read_image(image)
    raise FirmwareError(f"load_plan expects a FirmwareImage, image bytes or a path, got {type(image).__name__}")


def _word(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")


def load_plan(image, cfg: TesseraConfig) -> list:
    """The ordered NoC writes that load ``image`` onto the chip of ``cfg`` and start it."""
    image = _as_image(image)
    image.check_config(cfg)
    ctrl = cfg.mmio.region("tile_ctrl")
    all_cores = (1 << len(cfg.cores)) - 1
    max_payload = cfg.noc.max_payload_bytes
    by_tile = {}
    for prog in image.programs:
        tile = _check_tile((prog.x, prog.y), cfg)
        target = target_for(prog.core, cfg)
        if target.kind != "core" or target.core_index != prog.core_index:
            raise TargetError(f"image names core {prog.core} with index {prog.core_index}, the configuration "
                              f"has it at index {target.core_index}")
        for seg in prog.segments:
            if seg.data and not target.program.contains(seg.addr, len(seg.data)):
                raise LayoutError(f"{prog.name}: segment {seg.addr:#x}..{seg.addr + len(seg.data):#x} lies "
                                  f"outside {target.program.name} of core {prog.core}")
        if (prog.args_addr, prog.args_size) != (target.runtime_args.base, target.runtime_args.size) \
                or 4 * len(prog.runtime_args) > prog.args_size:
            raise LayoutError(f"{prog.name}: runtime arguments at {prog.args_addr:#x} lie outside the "
                              f"argument area of core {prog.core}")
        by_tile.setdefault(tile, []).append(prog)

    cb_tables = {}
    for tile, cbs in image.circular_buffers.items():
        tile = _check_tile(tile, cfg)
        if tile not in by_tile:
            raise TargetError(f"image has circular buffers for tile {tile}, which has no program")
        cb_tables[tile] = cb_table_image(check_circular_buffers(cbs, cfg, f"tile {tile}"))

    tiles = sorted(by_tile, key=lambda t: (t[1], t[0]))
    soft_reset = ctrl.address("soft_reset")
    plan = [NocWrite(x, y, soft_reset, _word(all_cores), "hold") for x, y in tiles]
    for x, y in tiles:
        for prog in by_tile[(x, y)]:
            for seg in prog.segments:
                for offset in range(0, len(seg.data), max_payload):
                    plan.append(NocWrite(x, y, seg.addr + offset, seg.data[offset:offset + max_payload], "segment"))
    for x, y in tiles:
        for prog in by_tile[(x, y)]:
            plan.append(NocWrite(x, y, ctrl.address("reset_pc", prog.core_index), _word(prog.entry), "reset_pc"))
    for x, y in tiles:
        for prog in by_tile[(x, y)]:
            # The whole area: the values, then zeros, so unset arguments read as 0.
            args = b"".join(_word(v) for v in prog.runtime_args)
            args += bytes(prog.args_size - len(args))
            for offset in range(0, len(args), max_payload):
                plan.append(NocWrite(x, y, prog.args_addr + offset, args[offset:offset + max_payload], "args"))
        table = cb_tables.get((x, y))
        if table is not None:
            base = cb_table_base(cfg)
            for offset in range(0, len(table), max_payload):
                plan.append(NocWrite(x, y, base + offset, table[offset:offset + max_payload], "args"))
    for x, y in tiles:
        loaded = 0
        for prog in by_tile[(x, y)]:
            loaded |= 1 << prog.core_index
        plan.append(NocWrite(x, y, soft_reset, _word(all_cores & ~loaded), "release"))
    return plan


async def load_image_async(image, cfg: TesseraConfig, noc_write) -> list:
    """Issue the plan through ``await noc_write(x, y, addr, data)`` (a cocotb host driver); returns it."""
    plan = load_plan(image, cfg)
    for write in plan:
        await noc_write(write.x, write.y, write.addr, write.data)
    return plan


class ModelChip:
    """Memory model of the chip's Tensix tiles for testbenches: L1 bytes plus MMIO registers.

    ``apply(plan)`` performs NoC writes; a write that hits neither L1 nor a
    defined MMIO register raises, so a bad plan cannot pass silently.
    """

    def __init__(self, cfg: TesseraConfig, fill: int = 0):
        self.cfg = cfg
        self.l1 = {(n.x, n.y): bytearray([fill]) * cfg.l1.size_bytes for n in cfg.nodes_of("tensix")}
        self.mmio = {(n.x, n.y): {} for n in cfg.nodes_of("tensix")}
        self.log = []
        self._registers = {}
        for region in cfg.mmio.regions:
            for reg in region.registers:
                for i in range(reg.count):
                    self._registers[region.base + reg.offset + 4 * i] = f"{region.name}.{reg.name}[{i}]"

    def write(self, x: int, y: int, addr: int, data: bytes) -> None:
        if (x, y) not in self.l1:
            raise TargetError(f"NoC write to ({x}, {y}), which is not a Tensix tile")
        l1 = self.l1[(x, y)]
        base = self.cfg.l1.base
        if base <= addr and addr + len(data) <= base + len(l1):
            l1[addr - base:addr - base + len(data)] = data
        elif addr in self._registers and len(data) == 4:
            self.mmio[(x, y)][addr] = int.from_bytes(data, "little")
        else:
            raise LayoutError(f"NoC write of {len(data)} bytes at {addr:#x} on ({x}, {y}) hits neither L1 "
                              f"nor a 32-bit MMIO register")
        self.log.append((x, y, addr, bytes(data)))

    def apply(self, plan) -> None:
        for w in plan:
            if len(w.data) > self.cfg.noc.max_payload_bytes:
                raise LayoutError(f"NoC write of {len(w.data)} bytes exceeds max_payload_bytes")
            self.write(w.x, w.y, w.addr, w.data)

    def read(self, x: int, y: int, addr: int, size: int) -> bytes:
        return bytes(self.l1[(x, y)][addr - self.cfg.l1.base:addr - self.cfg.l1.base + size])

    def register(self, x: int, y: int, region: str, name: str, index: int = 0):
        return self.mmio[(x, y)].get(self.cfg.mmio.region(region).address(name, index))
