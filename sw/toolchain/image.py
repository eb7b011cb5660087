"""The Tessera firmware image: one file with the programs of one or many tiles and cores.

Byte layout (all integers little-endian; see docs/firmware.md)::

    offset  size  field
         0     8  magic b"\\x7fTESSFW\\n"
         8     2  format_version (1)
        10     2  header_bytes (64)
        12     4  flags (0)
        16     4  manifest_offset (64)
        20     4  manifest_bytes
        24     4  payload_offset (manifest end rounded up to 16, zero padding)
        28     4  payload_bytes
        32     4  total_bytes (the whole file, trailer included)
        36     4  header_crc32 (CRC-32 of bytes 0..35)
        40    24  reserved, zero
        64     .  manifest: UTF-8 JSON
             ...  payload: segment contents, each at a 4-byte aligned offset
    total-32  32  SHA-256 of bytes 0 .. total_bytes-33

The manifest lists one entry per (tile, core) with the core's entry point,
``tohost`` address, runtime-argument area and values, and its segments
(address, sizes, memory, offset into the payload, CRC-32).  Programs loaded
on several tiles share one copy of their segment contents.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tessera.hw.config import TesseraConfig

from .cb import CircularBuffer, check_circular_buffers
from .elf import ElfProgram, Segment, check_program, flags_from_text, read_elf
from .errors import CapacityError, ConfigMismatchError, FirmwareError, ImageError, TargetError
from .layout import target_for

__all__ = ["MAGIC", "FORMAT_VERSION", "HEADER_BYTES", "TRAILER_BYTES", "ProgramSpec", "ImageProgram",
           "ImageSegment", "FirmwareImage", "build_image", "write_image", "read_image", "parse_tile"]

MAGIC = b"\x7fTESSFW\n"
FORMAT_VERSION = 1
HEADER_BYTES = 64
TRAILER_BYTES = 32
_HEADER = struct.Struct("<8sHHIIIIIII")  # through header_crc32: 40 bytes
_CRC_SPAN = 36
FORMAT_NAME = "tessera-firmware"


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to


def parse_tile(text) -> tuple:
    """``"1,0"`` or ``(1, 0)`` -> ``(1, 0)``."""
    if isinstance(text, (tuple, list)) and len(text) == 2:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in text):
            return int(text[0]), int(text[1])
        raise TargetError(f"tile must be two integers X,Y, got {list(text)!r}")
    try:
        x, y = str(text).split(",")
        return int(x), int(y)
    except ValueError:
        raise TargetError(f"tile must be given as X,Y, got {text!r}") from None


def _check_tile(tile: tuple, cfg: TesseraConfig) -> tuple:
    x, y = parse_tile(tile)
    try:
        node = cfg.node_at(x, y)
    except KeyError:
        raise TargetError(f"unknown tile ({x}, {y}): the {cfg.noc.width}x{cfg.noc.height} grid of "
                          f"configuration {cfg.name!r} has no node there") from None
    if node.kind != "tensix":
        tiles = [(n.x, n.y) for n in cfg.nodes_of("tensix")]
        raise TargetError(f"tile ({x}, {y}) is a {node.kind} node, not a Tensix tile; "
                          f"Tensix tiles of {cfg.name!r}: {tiles}")
    return x, y


@dataclass
class ProgramSpec:
    """Input of :func:`build_image`: one ELF for one core on one or more tiles.

    ``runtime_args`` is a list of 32-bit words for every tile, or a dict
    ``{(x, y): [words]}`` for per-tile arguments.
    """

    core: str
    tiles: list
    elf: object  # path, bytes or ElfProgram
    runtime_args: object = ()
    name: str = ""


@dataclass(frozen=True)
class ImageSegment(Segment):
    """A segment of a parsed image: an ELF :class:`~.elf.Segment` and the memory kind it lies in."""

    memory: str = ""


@dataclass(frozen=True)
class ImageProgram:
    """One (tile, core) entry of a parsed image."""

    x: int
    y: int
    core: str
    core_index: int
    name: str
    entry: int
    exit_addr: int | None
    args_addr: int
    args_size: int
    runtime_args: tuple
    segments: tuple
    #: Bytes of segments per memory kind (``l1``, ``local``).
    memory_use: dict = field(default_factory=dict)
    #: Bytes available per memory kind: the firmware region (without the args area), local memory.
    capacity: dict = field(default_factory=dict)


def _check_args(values, where: str, capacity: int) -> list:
    values = list(values or ())
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < (1 << 32):
            raise FirmwareError(f"{where}: runtime argument {v!r} is not a 32-bit unsigned integer")
    if 4 * len(values) > capacity:
        raise CapacityError(f"{where}: {len(values)} runtime arguments need {4 * len(values)} bytes; "
                            f"the runtime-argument area holds {capacity} bytes ({capacity // 4} arguments)")
    return values


def _memory_use(program: ElfProgram, target) -> dict:
    use = {"l1": 0, "local": 0}
    for seg in program.segments:
        region = target.region_of(seg.addr, seg.mem_size)
        use[region.kind] = use.get(region.kind, 0) + seg.mem_size
    return use


def build_image(programs, cfg: TesseraConfig, circular_buffers=None) -> bytes:
    """Bundle ``programs`` (a list of :class:`ProgramSpec`) into image bytes for ``cfg``.

    ``circular_buffers`` maps a tile ``(x, y)`` to its list of
    :class:`~sw.toolchain.cb.CircularBuffer` (or dicts with the same fields).
    """
    from .gcc import MABI, MARCH

    programs = list(programs)
    if not programs:
        raise FirmwareError("an image needs at least one program")
    payload = bytearray()
    blob_offsets = {}  # (crc, data) -> payload offset
    entries = []
    seen = {}
    for spec in programs:
        target = target_for(spec.core, cfg)
        if target.kind != "core":
            raise TargetError(f"target {spec.core!r} is not a tile core: images hold programs for the "
                              f"cores {[c.name for c in cfg.cores]}")
        elf = spec.elf if isinstance(spec.elf, ElfProgram) else read_elf(spec.elf)
        check_program(elf, target)
        name = spec.name or elf.name
        raw_tiles = spec.tiles or []
        if isinstance(raw_tiles, (tuple, list)) and len(raw_tiles) == 2 and all(isinstance(v, int) for v in raw_tiles):
            raw_tiles = [raw_tiles]  # one tile given as (x, y)
        tiles = [_check_tile(t, cfg) for t in raw_tiles]
        if not tiles:
            raise TargetError(f"program {name} for core {spec.core} names no tile")
        if isinstance(spec.runtime_args, dict):
            per_tile = {parse_tile(k): v for k, v in spec.runtime_args.items()}
            unknown = sorted(set(per_tile) - set(tiles))
            if unknown:
                raise TargetError(f"program {name}: runtime arguments for tiles {unknown} that the "
                                  f"program is not loaded on {tiles}")
        else:
            per_tile = {t: spec.runtime_args for t in tiles}
        segments = []
        for seg in elf.segments:
            key = (seg.crc32, seg.data)
            if seg.data and key not in blob_offsets:
                payload.extend(b"\0" * (_align(len(payload), 4) - len(payload)))
                blob_offsets[key] = len(payload)
                payload.extend(seg.data)
            region = target.region_of(seg.addr, seg.mem_size)
            segments.append({
                "addr": seg.addr, "size": len(seg.data), "mem_size": seg.mem_size,
                "memory": region.kind, "flags": seg.flag_text,
                "payload_offset": blob_offsets[key] if seg.data else 0, "crc32": seg.crc32,
            })
        for tile in tiles:
            if (tile, spec.core) in seen:
                raise TargetError(f"two programs for core {spec.core} on tile {tile}: "
                                  f"{seen[(tile, spec.core)]} and {name}")
            seen[(tile, spec.core)] = name
            args = _check_args(per_tile.get(tile, ()), f"{name} on tile {tile}", target.runtime_args.size)
            entries.append({
                "tile": {"x": tile[0], "y": tile[1]},
                "core": spec.core,
                "core_index": target.core_index,
                "name": name,
                "entry": elf.entry,
                "exit_addr": elf.symbol("tohost"),
                "runtime_args": {"addr": target.runtime_args.base, "size": target.runtime_args.size,
                                 "values": args},
                "segments": segments,
                "memory_use": _memory_use(elf, target),
                "capacity": {"l1": target.program.size, "local": target.local.size},
            })
    entries.sort(key=lambda e: (e["tile"]["y"], e["tile"]["x"], e["core_index"]))
    cb_entries = []
    program_tiles = {tile for tile, _core in seen}
    for tile, cbs in (circular_buffers or {}).items():
        tile = _check_tile(tile, cfg)
        if tile not in program_tiles:
            raise TargetError(f"circular buffers for tile {tile}, which has no program")
        checked = check_circular_buffers(cbs, cfg, f"tile {tile}")
        if checked:
            cb_entries.append({"tile": {"x": tile[0], "y": tile[1]}, "buffers": [cb.to_dict() for cb in checked]})
    cb_entries.sort(key=lambda e: (e["tile"]["y"], e["tile"]["x"]))
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": {"name": cfg.name, "fingerprint": cfg.fingerprint()},
        "toolchain": {"march": MARCH, "mabi": MABI},
        "programs": entries,
        "circular_buffers": cb_entries,
    }
    return _pack(manifest, bytes(payload))


def _pack(manifest: dict, payload: bytes) -> bytes:
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    manifest_offset = HEADER_BYTES
    payload_offset = _align(manifest_offset + len(manifest_bytes), 16)
    total = payload_offset + len(payload) + TRAILER_BYTES
    head = _HEADER.pack(MAGIC, FORMAT_VERSION, HEADER_BYTES, 0, manifest_offset, len(manifest_bytes),
                        payload_offset, len(payload), total, 0)
    crc = zlib.crc32(head[:_CRC_SPAN])
    head = head[:_CRC_SPAN] + struct.pack("<I", crc)
    body = bytearray(head + b"\0" * (HEADER_BYTES - len(head)))
    body += manifest_bytes
    body += b"\0" * (payload_offset - len(body))
    body += payload
    body += hashlib.sha256(body).digest()
    assert len(body) == total
    return bytes(body)


def write_image(path, programs, cfg: TesseraConfig, circular_buffers=None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build_image(programs, cfg, circular_buffers)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class FirmwareImage:
    """A parsed, verified image."""

    manifest: dict
    programs: tuple
    size: int
    #: ``{(x, y): [CircularBuffer, ...]}``
    circular_buffers: dict = field(default_factory=dict)

    @property
    def config_name(self) -> str:
        return self.manifest["config"]["name"]

    @property
    def config_fingerprint(self) -> str:
        return self.manifest["config"]["fingerprint"]

    def check_config(self, cfg: TesseraConfig) -> None:
        """Refuse to use the image with a configuration other than the one it was built for."""
        if cfg.fingerprint() != self.config_fingerprint:
            raise ConfigMismatchError(
                f"image was built for configuration {self.config_name!r} (fingerprint "
                f"{self.config_fingerprint[:16]}) but the target is {cfg.name!r} (fingerprint "
                f"{cfg.fingerprint()[:16]}); rebuild the firmware for this configuration")

    def manifest_json(self) -> str:
        return json.dumps(self.manifest, indent=2, sort_keys=True)

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "image") -> "FirmwareImage":
        return _parse(bytes(data), name)

    @classmethod
    def read(cls, path) -> "FirmwareImage":
        return read_image(path)


def read_image(path) -> FirmwareImage:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"firmware image not found: {path}") from None
    except OSError as exc:  # a folder, no permission
        raise ImageError(f"cannot read firmware image {path}: {exc.strerror}") from None
    return _parse(data, str(path))


def _parse(data: bytes, name: str) -> FirmwareImage:
    if len(data) < HEADER_BYTES:
        if not MAGIC.startswith(data[:len(MAGIC)]):
            raise ImageError(f"{name}: not a Tessera firmware image (magic {data[:8]!r})")
        raise ImageError(f"{name}: truncated image: {len(data)} bytes, shorter than the "
                         f"{HEADER_BYTES}-byte header")
    (magic, version, header_bytes, flags, m_off, m_len, p_off, p_len, total, crc) = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ImageError(f"{name}: not a Tessera firmware image (magic {magic!r}, expected {MAGIC!r})")
    if zlib.crc32(data[:_CRC_SPAN]) != crc:
        raise ImageError(f"{name}: bad header checksum (CRC-32 {zlib.crc32(data[:_CRC_SPAN]):#010x}, "
                         f"header says {crc:#010x}): the image is corrupt")
    if version != FORMAT_VERSION:
        raise ImageError(f"{name}: image format version {version}; this toolchain reads version "
                         f"{FORMAT_VERSION}")
    if header_bytes != HEADER_BYTES or flags != 0 or any(data[40:HEADER_BYTES]):
        raise ImageError(f"{name}: unsupported header (header_bytes {header_bytes}, flags {flags:#x})")
    if len(data) < total:
        raise ImageError(f"{name}: truncated image: the header says {total} bytes, the file has "
                         f"{len(data)}")
    if len(data) > total:
        raise ImageError(f"{name}: {len(data) - total} unexpected bytes after the end of the image "
                         f"({total} bytes)")
    if not (m_off == HEADER_BYTES and m_off + m_len <= p_off and p_off + p_len + TRAILER_BYTES == total):
        raise ImageError(f"{name}: inconsistent section offsets (manifest {m_off}+{m_len}, payload "
                         f"{p_off}+{p_len}, total {total})")
    digest = hashlib.sha256(data[:total - TRAILER_BYTES]).digest()
    if digest != data[total - TRAILER_BYTES:total]:
        raise ImageError(f"{name}: bad checksum: SHA-256 of the contents is {digest.hex()[:16]}..., the "
                         f"image says {data[total - TRAILER_BYTES:total].hex()[:16]}...; the image is corrupt")
    try:
        manifest = json.loads(data[m_off:m_off + m_len].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImageError(f"{name}: manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ImageError(f"{name}: manifest is a JSON {type(manifest).__name__}, not an object")
    payload = data[p_off:p_off + p_len]
    programs = _programs(manifest, payload, name)
    return FirmwareImage(manifest, programs, total, _circular_buffers(manifest, name))


def _where(what: str) -> str:
    return f"manifest {what}" if what else "manifest"


def _field(d, key: str, what: str):
    if not isinstance(d, dict):
        raise ImageError(f"{_where(what)}: expected an object with field {key!r}, got {d!r}")
    if key not in d:
        raise ImageError(f"{_where(what)}: field {key!r} is missing")
    return d[key]


def _int(d: dict, key: str, what: str, optional: bool = False, limit: int = 1 << 32):
    """Field ``key`` of ``d``: an integer in 0..limit-1 (32-bit addresses and sizes by default)."""
    value = _field(d, key, what)
    if optional and value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ImageError(f"{_where(what)}: field {key!r} must be a non-negative integer, got {value!r}")
    if value >= limit:
        raise ImageError(f"{_where(what)}: field {key!r} must be below {limit:#x}, got {value:#x}")
    return value


def _str(d: dict, key: str, what: str) -> str:
    value = _field(d, key, what)
    if not isinstance(value, str):
        raise ImageError(f"{_where(what)}: field {key!r} must be a string, got {value!r}")
    return value


def _list(d: dict, key: str, what: str) -> list:
    value = _field(d, key, what)
    if not isinstance(value, list):
        raise ImageError(f"{_where(what)}: field {key!r} must be a list, got {value!r}")
    return value


def _bytes_per_memory(d: dict, key: str, what: str) -> dict:
    """``memory_use`` / ``capacity``: optional ``{memory kind: bytes}``."""
    value = d.get(key, {})
    if not isinstance(value, dict):
        raise ImageError(f"{_where(what)}: field {key!r} must be an object of byte counts, got {value!r}")
    return {kind: _int(value, kind, f"{what} {key}") for kind in value}


def _tile(d: dict, what: str) -> tuple:
    tile = _field(d, "tile", what)
    return _int(tile, "x", what, limit=1 << 16), _int(tile, "y", what, limit=1 << 16)


def _data_format(buffer, what: str):
    """A buffer's optional ``data_format`` (a format name; checked with the rest by the loader)."""
    value = buffer.get("data_format") if isinstance(buffer, dict) else None
    if value is not None and not isinstance(value, str):
        raise ImageError(f"manifest: {what}: data_format must be a format name, got {value!r}")
    return value


def _circular_buffers(manifest: dict, name: str) -> dict:
    """``{(x, y): [CircularBuffer]}`` of the manifest; their placement is checked by the loader."""
    cbs = {}
    try:
        for entry in _list(manifest, "circular_buffers", "") if "circular_buffers" in manifest else ():
            tile = _tile(entry, "circular_buffers")
            what = f"circular buffer of tile {tile}"
            if tile in cbs:
                raise ImageError(f"manifest: two circular_buffers entries for tile {tile}")
            cbs[tile] = [CircularBuffer(*(_int(b, key, what) for key in ("index", "addr", "page_size", "num_pages")),
                                        _data_format(b, what))
                         for b in _list(entry, "buffers", what)]
    except ImageError as exc:
        raise ImageError(f"{name}: {exc}") from None
    return cbs


def _programs(manifest: dict, payload: bytes, name: str) -> tuple:
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        raise ImageError(f"{name}: manifest format {manifest.get('format')!r} version "
                         f"{manifest.get('format_version')!r} is not {FORMAT_NAME!r} {FORMAT_VERSION}")
    programs = []
    try:
        config = _field(manifest, "config", "")
        _str(config, "name", "config")
        _str(config, "fingerprint", "config")
        for entry in _list(manifest, "programs", ""):
            core = _str(entry, "core", "program")
            what = f"program of {core}"
            x, y = _tile(entry, what)
            segments = []
            for seg in _list(entry, "segments", what):
                addr = _int(seg, "addr", what)
                start, size = _int(seg, "payload_offset", what), _int(seg, "size", what)
                mem_size = _int(seg, "mem_size", what)
                if start + size > len(payload):
                    raise ImageError(f"segment {addr:#x} of {core} points outside the payload")
                if mem_size < size:
                    raise ImageError(f"segment {addr:#x} of {core}: mem_size {mem_size} < size {size}")
                blob = payload[start:start + size]
                if zlib.crc32(blob) != _int(seg, "crc32", what):
                    raise ImageError(f"bad checksum of segment {addr:#x} of {core}")
                flags = flags_from_text(_str(seg, "flags", what))
                if flags is None:
                    raise ImageError(f"manifest {what}: segment {addr:#x} flags {seg['flags']!r} are not "
                                     f"one of r, rw, rx, rwx")
                segments.append(ImageSegment(addr, blob, mem_size, flags, _str(seg, "memory", what)))
            args = _field(entry, "runtime_args", what)
            values = _list(args, "values", f"{what} runtime_args")
            for v in values:
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 32:
                    raise ImageError(f"manifest {what}: runtime argument {v!r} is not a 32-bit unsigned integer")
            programs.append(ImageProgram(
                x, y, core, _int(entry, "core_index", what, limit=32), _str(entry, "name", what),
                _int(entry, "entry", what), _int(entry, "exit_addr", what, optional=True),
                _int(args, "addr", what), _int(args, "size", what), tuple(values), tuple(segments),
                _bytes_per_memory(entry, "memory_use", what), _bytes_per_memory(entry, "capacity", what)))
    except ImageError as exc:
        raise ImageError(f"{name}: {exc}") from None
    return tuple(programs)
