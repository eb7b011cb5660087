"""Reference model of L1 semantics and random request generation, for the L1 testbenches.

The reference is a flat byte array: it knows nothing of banks, so it checks
the HDL's interleave as well as its data path.  Requests take effect in
acceptance order and every response returns the bank word as it was before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tessera.hw.config import L1Config
from tessera.hw.tile.l1_port import L1AddressMap, L1Op, l1_request_layout

READ, WRITE, ATOMIC = L1Op.READ.value, L1Op.WRITE.value, L1Op.ATOMIC_INC.value


@dataclass
class Request:
    addr: int
    op: int
    mask: int
    wdata: int

    def pack(self, l1: L1Config) -> int:
        """The request as the integer value of the ``req.payload`` struct."""
        fields = dict(l1_request_layout(l1))
        value = 0
        for name in ("addr", "op", "mask", "wdata"):
            f = fields[name]
            value |= (getattr(self, name) & ((1 << f.width) - 1)) << f.offset
        return value


class ReferenceL1:
    def __init__(self, l1: L1Config):
        self.l1 = l1
        self.bytes = bytearray(l1.size_bytes)
        self.word = l1.bank_bytes

    def read_word(self, addr: int) -> int:
        base = addr & ~(self.word - 1)
        return int.from_bytes(self.bytes[base:base + self.word], "little")

    def apply(self, req: Request) -> int:
        """Perform ``req``; return the expected ``resp.rdata``."""
        base = req.addr & ~(self.word - 1)
        old = self.read_word(base)
        if req.op == WRITE:
            for i in range(self.word):
                if (req.mask >> i) & 1:
                    self.bytes[base + i] = (req.wdata >> (8 * i)) & 0xFF
        elif req.op == ATOMIC:
            lane_addr = req.addr & ~3
            lane = (lane_addr - base) // 4
            operand = (req.wdata >> (32 * lane)) & 0xFFFF_FFFF
            value = int.from_bytes(self.bytes[lane_addr:lane_addr + 4], "little")
            self.bytes[lane_addr:lane_addr + 4] = ((value + operand) & 0xFFFF_FFFF).to_bytes(4, "little")
        return old


class RequestGenerator:
    """Random requests: any op, any byte mask, addresses biased to bank conflicts and hot words."""

    def __init__(self, l1: L1Config, rng: random.Random, hot_words: list, *,
                 p_read=0.35, p_write=0.4, hot_prob=0.3, region_words=64):
        self.l1, self.rng, self.hot = l1, rng, hot_words
        self.amap = L1AddressMap(l1)
        self.p_read, self.p_write, self.hot_prob = p_read, p_write, hot_prob
        # A small window of rows keeps reads hitting recently written data.
        self.rows = min(region_words, l1.words_per_bank)

    def next(self) -> Request:
        rng, l1 = self.rng, self.l1
        r = rng.random()
        op = READ if r < self.p_read else WRITE if r < self.p_read + self.p_write else ATOMIC
        if op == ATOMIC or rng.random() < self.hot_prob:
            addr = rng.choice(self.hot) + rng.randrange(4)  # low two bits are ignored
        else:
            addr = self.amap.address(rng.randrange(l1.banks), rng.randrange(self.rows),
                                     rng.randrange(l1.bank_bytes))
        mask = rng.getrandbits(l1.bank_bytes)
        if op == ATOMIC:
            wdata = rng.getrandbits(l1.bank_width)
            if rng.random() < 0.5:  # small increments, and some wrap around
                lane = self.amap.lane(addr)
                wdata &= ~(0xFFFF_FFFF << (32 * lane))
                wdata |= rng.choice([1, 1, 2, 0xFFFF_FFFF, rng.randrange(1 << 32)]) << (32 * lane)
        else:
            wdata = rng.getrandbits(l1.bank_width)
        return Request(addr, op, mask, wdata)
