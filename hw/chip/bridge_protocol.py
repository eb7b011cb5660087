"""The host bridge's serial protocol: frames between a host computer and a board over a UART.

One definition for the bridge's HDL (hw/chip/host_bridge.py), the host
runtime's board transport and the tests.  The bridge sits at the chip's host
node; it tunnels NoC packets (the host runtime builds and parses them, as it
does for the simulator) and adds the few services a board needs from its
own logic: reset, waiting for programs to finish, counters.

**Frame** (both directions, bytes on the wire in this order)::

    SOF     u8   0x5A
    op      u8   what the frame is (``Op``)
    seq     u8   sequence number (host -> bridge: chosen by the host;
                 bridge -> host: the request's for replies, the bridge's own
                 running count for ejected packets)
    length  u16  little-endian, bytes of body (at most ``max_body_bytes``)
    body    length bytes
    crc     u16  little-endian, CRC-16/CCITT-FALSE (polynomial 0x1021,
                 initial value 0xFFFF, no reflection, no final xor) of op,
                 seq, length and body: ``binascii.crc_hqx(bytes, 0xFFFF)``

A receiver hunts for SOF between frames (other bytes are counted as noise
and skipped).  A frame whose CRC does not match, whose length is too large,
whose op is unknown, whose body does not fit its op, or whose next byte does
not come within ``host_link.frame_timeout_bytes`` byte times, is rejected:
the bridge answers ``NAK`` with the frame's ``seq`` (0 when it never got that
far) and a ``Reject`` reason, and nothing of the frame reaches the chip.

**Host -> bridge requests** and the bridge's replies:

=============  =============================================  ==========================================
op             body                                           reply (same seq)
=============  =============================================  ==========================================
``HELLO``      --                                             ``HELLO_REPLY``: version u8, flit_bytes u8,
                                                              tiles u8, cores u8, classes u8,
                                                              clocks_per_bit u16, fingerprint 8 bytes
                                                              (the first 8 bytes of the configuration's
                                                              sha-256 fingerprint)
``PACKET``     class u8, then the packet's flits, each        ``ACK`` once every flit is injected into
               ``flit_bytes`` bytes little-endian (head on    the host node's ``class`` stream
               the first, tail on the last: implied)
``RESET``      --                                             ``ACK`` after the chip (not the bridge)
                                                              has been held in reset ``RESET_CYCLES``
``RUN``        budget u32 (cycles), then a mask of            ``RUN_REPLY``: done u8 (1: every masked
               ``tiles * cores`` bits, byte 0 bit 0 = tile    core reached DONE), cycles u32 (from the
               0 core 0, tile-major, ceil(bits / 8) bytes     request to the last DONE, or the budget:
                                                              the bridge's wait, not the program's run)
``COUNTERS``   --                                             ``COUNTERS_REPLY``: cycle u64, bad_packets
                                                              u32, frames_rejected u32, then per core
                                                              (tile-major) pc u32, retired u32,
                                                              flags u8 (bit 0 trapped, bit 1 held),
                                                              waypoint u8, released u32, done u32
=============  =============================================  ==========================================

``released`` and ``done`` are the low 32 bits of the cycle counter in the
first cycle the core was seen out of reset (its ``held`` bit fell) and at the
``DONE`` waypoint, latched at each such edge and kept until the next.  A
program's cycles are :func:`run_cycles` of them: the runtime releases the
cores with a ``PACKET`` (the load plan's last write), so over a slow UART
much of a run can be over before its ``RUN`` frame arrives, and the ``RUN``
reply's own count would miss that part.

A ``PACKET`` whose ``seq`` equals the previous accepted ``PACKET``'s is a
resend (its ``ACK`` was lost): the bridge acknowledges it again without
injecting it twice, so a host that resends after a ``NAK`` or a timeout
loses no write and duplicates none.  ``HELLO`` starts a session: the bridge
forgets the previous ``PACKET``'s ``seq``, so a new host's first ``PACKET``
is never taken for a resend of the last one of an earlier session.

**Bridge -> host, unsolicited:** ``EJECT`` frames, one per packet the chip
sends to the host node: body = class u8 and the flits as above; ``seq``
counts ejected packets modulo 256 so a lost frame is noticed.
"""

from __future__ import annotations

import binascii
import enum
import struct

__all__ = ["SOF", "VERSION", "RESET_CYCLES", "CRC_POLY", "COUNTERS_HEADER_BYTES", "CORE_RECORD_BYTES", "CORE_RECORD_FORMAT", "Op", "Reject", "FrameError", "crc16", "encode_frame",
           "FrameDecoder", "max_body_bytes", "packet_body", "parse_packet_body", "run_body",
           "hello_reply", "parse_hello_reply", "parse_run_reply", "parse_counters_reply",
           "counters_reply_bytes", "run_cycles"]

SOF = 0x5A
VERSION = 2
#: Cycles the bridge holds the chip in reset for a ``RESET`` request.
RESET_CYCLES = 16
#: The CRC's generator polynomial (CRC-16/CCITT-FALSE, most significant bit first, initial 0xFFFF).
CRC_POLY = 0x1021
#: Bytes of a ``COUNTERS_REPLY`` before the core records: cycle u64, bad_packets u32, frames_rejected u32.
COUNTERS_HEADER_BYTES = 16
#: Bytes of one core's record in a ``COUNTERS_REPLY``: pc u32, retired u32, flags u8, waypoint u8,
#: released u32, done u32.
CORE_RECORD_BYTES = 18
#: How a core's record is packed (``struct``).
CORE_RECORD_FORMAT = "<IIBBII"
#: Bytes of a frame around its body: SOF, op, seq, length (2), crc (2).
OVERHEAD_BYTES = 7


class Op(enum.IntEnum):
    HELLO = 0x01
    PACKET = 0x02
    RESET = 0x03
    RUN = 0x04
    COUNTERS = 0x05
    ACK = 0x80
    HELLO_REPLY = 0x81
    RUN_REPLY = 0x84
    COUNTERS_REPLY = 0x85
    EJECT = 0x90
    NAK = 0xE0


class Reject(enum.IntEnum):
    """Why the bridge refused a frame (the body of a ``NAK``)."""

    BAD_CRC = 1
    TRUNCATED = 2
    TOO_LONG = 3
    UNKNOWN_OP = 4
    BAD_BODY = 5


class FrameError(ValueError):
    """A frame that cannot be decoded; the message names what is wrong."""


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data``."""
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def max_body_bytes(cfg) -> int:
    """The largest body of any frame of ``cfg``: the longest packet (header flits + the largest
    payload) with its class byte, or the counters reply, whichever is longer."""
    from tessera.hw.noc.layout import NocFormat

    noc = cfg.noc
    fmt = NocFormat(noc)
    packet = 1 + (fmt.header_flits + noc.max_payload_bytes // noc.flit_bytes) * noc.flit_bytes
    return max(packet, counters_reply_bytes(cfg))


def counters_reply_bytes(cfg) -> int:
    tiles = len(cfg.nodes_of("tensix"))
    return COUNTERS_HEADER_BYTES + tiles * len(cfg.cores) * CORE_RECORD_BYTES


def encode_frame(op: int, seq: int, body: bytes = b"") -> bytes:
    body = bytes(body)
    if not 0 <= seq <= 255:
        raise FrameError(f"frame seq must be 0..255, got {seq!r}")
    if len(body) > 0xFFFF:
        raise FrameError(f"frame body of {len(body)} bytes exceeds the 16-bit length field")
    inner = struct.pack("<BBH", int(op), seq, len(body)) + body
    return bytes([SOF]) + inner + struct.pack("<H", crc16(inner))


class FrameDecoder:
    """Incremental decoder of a byte stream into ``(op, seq, body)`` frames.

    ``feed(data)`` returns the complete frames found; a frame with a bad CRC or
    an oversized length raises :class:`FrameError` (the bytes up to it are
    consumed, so decoding can go on).  Bytes before a SOF are counted in
    ``noise_bytes``."""

    def __init__(self, max_body: int = 0xFFFF):
        self.max_body = max_body
        self.buf = bytearray()
        self.noise_bytes = 0

    def pending(self) -> int:
        """Bytes of an incomplete frame held."""
        return len(self.buf)

    def feed(self, data: bytes) -> list:
        self.buf += data
        frames = []
        while True:
            start = self.buf.find(bytes([SOF]))
            if start < 0:
                self.noise_bytes += len(self.buf)
                self.buf.clear()
                return frames
            if start:
                self.noise_bytes += start
                del self.buf[:start]
            if len(self.buf) < 5:
                return frames
            op, seq, length = struct.unpack_from("<BBH", self.buf, 1)
            if length > self.max_body:
                del self.buf[:1]
                raise FrameError(f"frame op {op:#04x} seq {seq} announces a {length}-byte body; "
                                 f"at most {self.max_body} allowed")
            total = OVERHEAD_BYTES + length
            if len(self.buf) < total:
                return frames
            inner = bytes(self.buf[1:5 + length])
            (crc,) = struct.unpack_from("<H", self.buf, 5 + length)
            del self.buf[:total]
            if crc != crc16(inner):
                raise FrameError(f"frame op {op:#04x} seq {seq} ({length}-byte body): CRC {crc:#06x}, "
                                 f"computed {crc16(inner):#06x}")
            frames.append((op, seq, inner[4:]))


# -- bodies ---------------------------------------------------------------------

def packet_body(cls: int, flit_words, flit_bytes: int) -> bytes:
    """Body of a ``PACKET`` / ``EJECT`` frame: class, then each flit's data bits."""
    return bytes([cls]) + b"".join(int(w).to_bytes(flit_bytes, "little") for w in flit_words)


def parse_packet_body(body: bytes, flit_bytes: int) -> tuple:
    """``(class, [flit data words])`` of a ``PACKET`` / ``EJECT`` body."""
    if len(body) < 1 + flit_bytes or (len(body) - 1) % flit_bytes:
        raise FrameError(f"packet body of {len(body)} bytes is not a class byte and whole "
                         f"{flit_bytes}-byte flits")
    words = [int.from_bytes(body[i:i + flit_bytes], "little") for i in range(1, len(body), flit_bytes)]
    return body[0], words


def run_body(budget: int, cores, tiles: int, cores_per_tile: int) -> bytes:
    """Body of a ``RUN`` request: ``cores`` is an iterable of (tile index, core index)."""
    if not 0 < budget < 1 << 32:
        raise FrameError(f"run budget must be 1..2**32-1 cycles, got {budget!r}")
    bits = tiles * cores_per_tile
    mask = 0
    for t, c in cores:
        if not (0 <= t < tiles and 0 <= c < cores_per_tile):
            raise FrameError(f"core ({t}, {c}) is not one of {tiles} tiles x {cores_per_tile} cores")
        mask |= 1 << (t * cores_per_tile + c)
    return struct.pack("<I", budget) + mask.to_bytes((bits + 7) // 8, "little")


def hello_reply(cfg, clocks_per_bit: int | None = None) -> bytes:
    """The ``HELLO_REPLY`` body the bridge of ``cfg`` sends (``clocks_per_bit``: a bridge built with an
    explicit UART divisor reports that one instead of ``cfg.host_link``'s)."""
    tiles = len(cfg.nodes_of("tensix"))
    if clocks_per_bit is None:
        clocks_per_bit = cfg.host_link.clocks_per_bit(cfg.clock_mhz)
    if not 0 < clocks_per_bit <= 0xFFFF:
        raise FrameError(f"clocks_per_bit {clocks_per_bit!r} does not fit the 16-bit HELLO_REPLY field")
    return struct.pack("<BBBBBH", VERSION, cfg.noc.flit_bytes, tiles, len(cfg.cores), cfg.noc.num_classes,
                       clocks_per_bit) + bytes.fromhex(cfg.fingerprint()[:16])


def parse_hello_reply(body: bytes) -> dict:
    if len(body) != 15:
        raise FrameError(f"HELLO_REPLY body must be 15 bytes, got {len(body)}")
    version, flit_bytes, tiles, cores, classes, cpb = struct.unpack_from("<BBBBBH", body)
    return {"version": version, "flit_bytes": flit_bytes, "tiles": tiles, "cores": cores,
            "classes": classes, "clocks_per_bit": cpb, "fingerprint": body[7:].hex()}


def parse_run_reply(body: bytes) -> dict:
    if len(body) != 5:
        raise FrameError(f"RUN_REPLY body must be 5 bytes, got {len(body)}")
    done, cycles = struct.unpack("<BI", body)
    return {"done": bool(done), "cycles": cycles}


def parse_counters_reply(body: bytes, tiles: int, cores_per_tile: int) -> dict:
    want = COUNTERS_HEADER_BYTES + tiles * cores_per_tile * CORE_RECORD_BYTES
    if len(body) != want:
        raise FrameError(f"COUNTERS_REPLY body must be {want} bytes for {tiles} tiles x {cores_per_tile} "
                         f"cores, got {len(body)}")
    cycle, bad_packets, rejected = struct.unpack_from("<QII", body)
    cores = []
    for i in range(tiles * cores_per_tile):
        pc, retired, flags, waypoint, released, done = struct.unpack_from(
            CORE_RECORD_FORMAT, body, COUNTERS_HEADER_BYTES + CORE_RECORD_BYTES * i)
        cores.append({"tile": i // cores_per_tile, "core": i % cores_per_tile, "pc": pc, "retired": retired,
                      "trapped": bool(flags & 1), "held": bool(flags & 2), "waypoint": waypoint,
                      "released": released, "done": done})
    return {"cycle": cycle, "bad_packets": bad_packets, "frames_rejected": rejected, "cores": cores}


def run_cycles(cores) -> int:
    """Cycles of a finished run from the ``COUNTERS_REPLY`` records ``cores`` of its cores: from the
    earliest release to the last ``DONE``.  The stamps are 32-bit and wrap,
    so each is taken relative to one of them (runs of 2**31 cycles or more are misreported)."""
    cores = list(cores)
    if not cores:
        raise FrameError("run_cycles needs the records of at least one core")
    ref = cores[0]["done"]

    def offset(stamp):
        return (stamp - ref + (1 << 31)) % (1 << 32) - (1 << 31)
    return max(offset(c["done"]) for c in cores) - min(offset(c["released"]) for c in cores)
