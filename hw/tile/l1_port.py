"""The requester port of the tile's L1 SRAM, and the address arithmetic of its banking.

Everything here is derived from :class:`hw.config.L1Config`; no width or size is
restated.  The port is seen from the requester's side: the requester drives
``req`` (a ``lib.stream`` valid/ready stream of :func:`l1_request_layout`) and
receives ``resp`` (valid + read data, no ready: a requester must always take a
response, which is what makes the L1's latency fixed).

Protocol (see docs/l1.md for the timing diagram):

* A request is accepted on a rising clock edge where ``req.valid`` and
  ``req.ready`` are both high.  ``req.ready`` is the bank arbiter's grant,
  recomputed every cycle (it depends on ``req.valid`` and ``req.payload``),
  so a requester may change or withdraw a request not yet accepted; one that
  keeps asking for the same bank is granted within ``num_ports - 1`` cycles.
* Exactly one response per accepted request, in acceptance order, exactly
  :data:`L1_LATENCY` cycle after acceptance: ``resp.valid`` is high for one
  cycle with ``resp.rdata`` = the whole bank word *as it was before* the
  request took effect (for reads: the data; for atomic increments: the old
  value, in the addressed 32-bit lane; for writes: the overwritten word).
* Accesses take effect in acceptance order; requests accepted in the same cycle
  hit different banks, so their order does not matter.
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, enum, stream
from amaranth.lib.wiring import In, Out

from tessera.hw.config import L1Config
from tessera.hw.signature import ValueSignature

__all__ = ["L1Op", "L1_LATENCY", "l1_request_layout", "L1ResponseSignature", "L1PortSignature",
           "L1AddressMap"]

#: Cycles from the accepting clock edge to the edge where ``resp.valid`` is sampled high.
L1_LATENCY = 1


class L1Op(enum.Enum, shape=2):
    """What a request does to the addressed bank word."""

    #: Return the bank word.
    READ = 0
    #: Write the bytes selected by ``mask`` from ``wdata``; return the old word.
    WRITE = 1
    #: Add the 32-bit lane of ``wdata`` selected by ``addr`` to the same lane of
    #: the bank word (modulo 2**32); return the old word.  ``mask`` is ignored.
    ATOMIC_INC = 2


def _check_l1(l1) -> L1Config:
    if not isinstance(l1, L1Config):
        raise TypeError(f"expected an L1Config (cfg.l1), got {l1!r}")
    return l1


def l1_request_layout(l1: L1Config) -> data.StructLayout:
    """Payload of ``req``: byte address, operation, byte mask and write data."""
    _check_l1(l1)
    return data.StructLayout({
        # Byte address inside L1.  Bits below the bank word select the 32-bit
        # lane of an atomic; bits 1:0 are ignored.
        "addr": unsigned(l1.address_bits),
        "op": L1Op,
        # One bit per byte of the bank word; used by WRITE only.
        "mask": unsigned(l1.bank_bytes),
        "wdata": unsigned(l1.bank_width),
    })


class L1ResponseSignature(ValueSignature):
    """Response of one requester port (driven by the L1): valid for one cycle, no ready.

    ``rdata`` is one bank word (``l1.bank_width`` bits)."""

    def __init__(self, l1: L1Config):
        self.l1 = _check_l1(l1)
        super().__init__({"valid": Out(1), "rdata": Out(l1.bank_width)})

    def parameters(self) -> dict:
        return {"l1": self.l1}


class L1PortSignature(ValueSignature):
    """One L1 requester port, from the requester's side.

    ``req`` is an outgoing ``lib.stream`` of :func:`l1_request_layout`;
    ``resp`` an incoming :class:`L1ResponseSignature`.  The L1 component holds
    these flipped (``In(L1PortSignature(l1))``).
    """

    def __init__(self, l1: L1Config):
        self.l1 = _check_l1(l1)
        super().__init__({
            "req": Out(stream.Signature(l1_request_layout(l1))),
            "resp": In(L1ResponseSignature(l1)),
        })

    def parameters(self) -> dict:
        return {"l1": self.l1}


class L1AddressMap:
    """Where a byte address lives: bank, row in the bank, byte in the bank word.

    Interleave: consecutive bank words go to consecutive banks (bank = the low
    bits of the bank-word address), so a sequential stream visits every bank
    in turn.  Python helpers for testbenches, firmware layout and the HDL.
    """

    def __init__(self, l1: L1Config):
        self.l1 = _check_l1(l1)
        #: Bits of the byte offset inside a bank word.
        self.offset_bits = (l1.bank_bytes - 1).bit_length()
        self.bank_bits = (l1.banks - 1).bit_length()
        self.row_bits = max(1, (l1.words_per_bank - 1).bit_length())
        #: 32-bit lanes per bank word.
        self.lanes = l1.bank_width // 32
        self.lane_bits = (self.lanes - 1).bit_length()

    def bank(self, addr: int) -> int:
        return (addr >> self.offset_bits) & (self.l1.banks - 1)

    def row(self, addr: int) -> int:
        return (addr >> (self.offset_bits + self.bank_bits)) & (self.l1.words_per_bank - 1)

    def lane(self, addr: int) -> int:
        return (addr >> 2) & (self.lanes - 1)

    def word_base(self, addr: int) -> int:
        """Byte address of the first byte of the bank word holding ``addr``."""
        return addr & ~(self.l1.bank_bytes - 1) & (self.l1.size_bytes - 1)

    def address(self, bank: int, row: int, byte: int = 0) -> int:
        """Inverse of :meth:`bank` / :meth:`row`."""
        if not (0 <= bank < self.l1.banks and 0 <= row < self.l1.words_per_bank
                and 0 <= byte < self.l1.bank_bytes):
            raise ValueError(f"bank {bank!r} / row {row!r} / byte {byte!r} outside L1 "
                             f"({self.l1.banks} banks x {self.l1.words_per_bank} rows x "
                             f"{self.l1.bank_bytes} bytes)")
        return (((row << self.bank_bits) | bank) << self.offset_bits) | byte
