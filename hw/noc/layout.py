"""NoC packet, flit and link layouts, derived from ``NocConfig``.

A packet is one or more header flits followed by data flits.  The header is
one ``amaranth.lib.data`` struct (:func:`header_layout`); it is cut into
``flit_width``-bit slices, least significant bits first, so flit 0 carries
header bits ``[0, flit_width)``.  The fields a router needs (class, multicast
flag, destination, source, length) come first, so every routing decision is
made on flit 0 alone; :class:`NocFormat` refuses a configuration where they
do not fit in one flit.

The Python helpers here (:class:`NocFormat`) pack and unpack headers and
packets for testbenches and golden models, from the same field list the HDL
uses, so no width is restated anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from amaranth.hdl import unsigned
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from tessera.hw.config import NocConfig
from tessera.hw.signature import ValueSignature

__all__ = ["Command", "MessageClass", "Port", "PORT_NAMES", "NocFormat", "header_layout",
           "flit_layout", "LinkSignature", "HEADER_ROUTING_FIELDS"]


class Command(IntEnum):
    """Header ``cmd`` encodings (3 bits)."""
    READ = 0            # request: read ``length`` bytes at ``addr``; reply READ_RESP
    READ_RESP = 1       # response: data of a READ
    WRITE_POSTED = 2    # request: write, no reply
    WRITE_ACKED = 3     # request: write, reply WRITE_ACK
    WRITE_ACK = 4       # response: acknowledges a WRITE_ACKED
    ATOMIC_INC = 5      # request: 32-bit increment at ``addr`` by the data word
    ATOMIC_INC_RESP = 6  # response: the value before the increment
    ERROR_RESP = 7      # response: the request could not be served


class MessageClass(IntEnum):
    REQUEST = 0
    RESPONSE = 1


class Port(IntEnum):
    """Router port numbers.  North is y - 1, south is y + 1 (host at (0, 0) top left)."""
    NORTH = 0
    EAST = 1
    SOUTH = 2
    WEST = 3
    LOCAL = 4


PORT_NAMES = ("north", "east", "south", "west", "local")

#: Header fields a router reads; they lead the header so they sit in flit 0.
HEADER_ROUTING_FIELDS = ("mcast", "exclude_self", "cls", "length", "dst_x", "dst_y",
                         "dst_x1", "dst_y1", "src_x", "src_y")


def _header_fields(noc) -> list:
    return [
        ("mcast", 1),               # 0 unicast to (dst_x, dst_y); 1 multicast rectangle
        ("exclude_self", 1),        # multicast: do not deliver to the sender
        ("cls", 1),                 # MessageClass
        ("length", noc.length_width),  # payload bytes, 0..max_payload_bytes
        ("dst_x", noc.x_bits),      # unicast x, or multicast x0 (west edge of the span)
        ("dst_y", noc.y_bits),      # unicast y, or multicast y0 (north edge)
        ("dst_x1", noc.x_bits),     # multicast x1 (east edge); unused for unicast
        ("dst_y1", noc.y_bits),     # multicast y1 (south edge)
        ("src_x", noc.x_bits),
        ("src_y", noc.y_bits),
        ("cmd", 3),                 # Command
        ("txn", noc.txn_id_width),  # transaction id, echoed in the response
        ("addr", noc.address_width),  # local address at the destination
    ]


def header_layout(noc) -> data.StructLayout:
    return data.StructLayout(dict(_header_fields(noc)))


def flit_layout(noc) -> data.StructLayout:
    """One flit on a link or a local port: data plus packet framing."""
    return data.StructLayout({"data": noc.flit_width, "head": 1, "tail": 1})


class LinkSignature(ValueSignature):
    """A router-to-router link as seen by the sender.

    ``valid``/``vc``/``flit`` go downstream; ``credit`` comes back with one
    bit per virtual channel, pulsed for one cycle each time the receiver
    frees a slot of that channel's input buffer.  The sender starts with
    ``buffer_depth`` credits per channel and never sends without one, so no
    flit is ever dropped.  Widths come from ``noc`` (a :class:`~hw.config.NocConfig`):
    ``vc`` counts ``noc.num_vcs`` channels, ``flit`` is ``flit_layout(noc)`` wide.
    """

    def __init__(self, noc: NocConfig):
        if not isinstance(noc, NocConfig):
            raise TypeError(f"LinkSignature needs a NocConfig (cfg.noc), got {noc!r}")
        self.noc = noc
        super().__init__({
            "valid": Out(1),
            "vc": Out(range(noc.num_vcs)),
            # flit_layout(noc) as plain bits: exported ports must be plain values.
            "flit": Out(flit_layout(noc).size),
            "credit": In(noc.num_vcs),
        })

    def parameters(self) -> dict:
        return {"noc": self.noc}


def local_stream_signature(noc) -> stream.Signature:
    """Local inject/eject stream; the payload holds ``flit_layout(noc)`` as plain bits."""
    return stream.Signature(unsigned(flit_layout(noc).size))


@dataclass(frozen=True)
class NocFormat:
    """Header/packet encoding for one ``NocConfig`` (Python side)."""

    noc: object

    def __post_init__(self):
        routing_bits = sum(w for name, w in self.fields if name in HEADER_ROUTING_FIELDS)
        if routing_bits > self.noc.flit_width:
            raise ValueError(f"routing fields need {routing_bits} bits but a flit has "
                             f"{self.noc.flit_width!r}; widen noc.flit_width")

    @property
    def fields(self) -> list:
        return _header_fields(self.noc)

    @property
    def header_bits(self) -> int:
        return sum(w for _, w in self.fields)

    @property
    def header_flits(self) -> int:
        return -(-self.header_bits // self.noc.flit_width)

    def offsets(self) -> dict:
        out, pos = {}, 0
        for name, width in self.fields:
            out[name] = (pos, width)
            pos += width
        return out

    def pack_header(self, **values) -> int:
        word = 0
        for name, (pos, width) in self.offsets().items():
            v = int(values.get(name, 0))
            if v < 0 or v >> width:
                raise ValueError(f"header field {name}={v!r} does not fit in {width} bits")
            word |= v << pos
        return word

    def unpack_header(self, word: int) -> dict:
        return {name: (word >> pos) & ((1 << width) - 1)
                for name, (pos, width) in self.offsets().items()}

    def data_flits(self, length: int) -> int:
        return -(-length // self.noc.flit_bytes)

    def packet_flits(self, length: int) -> int:
        return self.header_flits + self.data_flits(length)

    def packet(self, payload: bytes = b"", **header) -> list:
        """Flits of a packet as (data, head, tail) tuples; ``length`` defaults to the payload."""
        header.setdefault("length", len(payload))
        word = self.pack_header(**header)
        fw = self.noc.flit_width
        flits = [(word >> (k * fw)) & ((1 << fw) - 1) for k in range(self.header_flits)]
        fb = self.noc.flit_bytes
        for k in range(self.data_flits(len(payload))):
            flits.append(int.from_bytes(payload[k * fb:(k + 1) * fb].ljust(fb, b"\0"), "little"))
        return [(d, int(i == 0), int(i == len(flits) - 1)) for i, d in enumerate(flits)]

    def parse(self, flits: list) -> tuple:
        """(header dict, payload bytes) from a list of flit data words."""
        fw = self.noc.flit_width
        word = 0
        for k in range(self.header_flits):
            word |= flits[k] << (k * fw)
        header = self.unpack_header(word)
        payload = b"".join(f.to_bytes(self.noc.flit_bytes, "little")
                           for f in flits[self.header_flits:])
        return header, payload[:header["length"]]

    def max_multicast_length(self) -> int:
        """Largest multicast payload in bytes: the packet must fit one input buffer."""
        return (self.noc.buffer_depth - self.header_flits) * self.noc.flit_bytes
