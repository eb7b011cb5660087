"""MemToFlits and FlitsToMem (hw/chip/datapath.py) alone in the Amaranth simulator, byte-aligned and with
``noc.aligned_transfers`` (32-bit words), against a Python model of the memory (a bytearray).

Each test runs seeded random transfers: addresses anywhere in the memory (multiples of the alignment),
lengths of 1 byte to several flits, a memory that grants at random and a stream partner that stalls at
random.  A read must yield exactly the memory's bytes, zero past the length; a write must change exactly
the bytes of its range.  The refusal of unaligned transfers (the NIU's command error, the target's
ERROR_RESP, the host's and the C API's checks) is tested with the NIU in tb/chip/test_niu_aligned.py and
on the chip in tb/examples/test_aligned_transfers_ulx3s.py.
"""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.chip.datapath import FlitsToMem, MemToFlits, Realigner
from tessera.hw.config import L1Config
from tessera.hw.tile.l1_port import L1Op

MEMORY_BYTES = 4096
#: (memory word bytes, flit bytes): the tiny chip's L1 and DRAM (8, 8), 32-bit L1 banks (4, 8),
#: 32-bit flits on 64-bit banks (8, 4), wide banks (16, 8).
SHAPES = [(8, 8), (4, 8), (8, 4), (16, 8)]
TRANSFERS = 40


def _memory_config(word_bytes):
    return L1Config(size_bytes=MEMORY_BYTES, banks=1, bank_width=8 * word_bytes)


class MemoryModel:
    """The L1 requester protocol on a bytearray: random grants, the response one cycle after acceptance."""

    def __init__(self, port, word_bytes, rng, image):
        self.port, self.wb, self.rng = port, word_bytes, rng
        self.image = image
        self.pending = None

    def drive(self, ctx):
        """Present this cycle's grant and the response of the request accepted in the previous cycle."""
        ready = self.rng.random() < 0.7
        ctx.set(self.port.req.ready, ready)
        ctx.set(self.port.resp.valid, self.pending is not None)
        ctx.set(self.port.resp.rdata, self.pending or 0)
        return ready

    def sample(self, ctx, ready):
        """Take the request accepted at this clock edge (call before the tick)."""
        self.pending = None
        if ready and ctx.get(self.port.req.valid):
            addr = ctx.get(self.port.req.payload.addr) & ~(self.wb - 1)
            word = int.from_bytes(self.image[addr:addr + self.wb], "little")
            self.pending = word
            if ctx.get(self.port.req.payload.op) == L1Op.WRITE:
                mask = ctx.get(self.port.req.payload.mask)
                wdata = ctx.get(self.port.req.payload.wdata).to_bytes(self.wb, "little")
                for i in range(self.wb):
                    if (mask >> i) & 1:
                        self.image[addr + i] = wdata[i]


def _transfers(rng, alignment, flit_bytes, count=TRANSFERS):
    out = []
    for _ in range(count):
        length = rng.choice([1, 2, 3, 4, 5, 7, 8, flit_bytes, rng.randrange(1, 6 * flit_bytes)])
        addr = rng.randrange(0, MEMORY_BYTES - length + 1)
        out.append((addr - addr % alignment, length))
    return out


def _run(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("alignment", [1, 4])
@pytest.mark.parametrize("word_bytes, flit_bytes", SHAPES)
def test_mem_to_flits_yields_the_memory_bytes(word_bytes, flit_bytes, alignment):
    seed = 1000 * word_bytes + 10 * flit_bytes + alignment
    rng = random.Random(seed)
    image = bytearray(rng.randrange(256) for _ in range(MEMORY_BYTES))
    dut = MemToFlits(_memory_config(word_bytes), flit_bytes, alignment=alignment)
    memory = MemoryModel(dut.mem, word_bytes, rng, image)
    transfers = _transfers(rng, alignment, flit_bytes)

    async def bench(ctx):
        for addr, length in transfers:
            what = f"seed {seed}: read of {length} bytes at {addr:#x}"
            while not ctx.get(dut.idle):
                await ctx.tick()
            ctx.set(dut.start, 1)
            ctx.set(dut.addr, addr)
            ctx.set(dut.length, length)
            ready = memory.drive(ctx)
            memory.sample(ctx, ready)
            await ctx.tick()
            ctx.set(dut.start, 0)
            got = bytearray()
            for _ in range(50 * length + 100):
                ready = memory.drive(ctx)
                take = rng.random() < 0.75
                ctx.set(dut.out_ready, take)
                memory.sample(ctx, ready)
                if take and ctx.get(dut.out_valid):
                    got += ctx.get(dut.out_data).to_bytes(flit_bytes, "little")
                    if ctx.get(dut.out_last):
                        await ctx.tick()
                        break
                await ctx.tick()
            else:
                raise AssertionError(f"{what}: no last flit")
            ctx.set(dut.out_ready, 0)
            assert len(got) == -(-length // flit_bytes) * flit_bytes, what
            assert got[:length] == image[addr:addr + length], what
            assert not any(got[length:]), f"{what}: padding {got[length:].hex()} is not zero"

    _run(dut, bench)


@pytest.mark.parametrize("alignment", [1, 4])
@pytest.mark.parametrize("word_bytes, flit_bytes", SHAPES)
def test_flits_to_mem_writes_exactly_its_range(word_bytes, flit_bytes, alignment):
    seed = 2000 * word_bytes + 10 * flit_bytes + alignment
    rng = random.Random(seed)
    image = bytearray(rng.randrange(256) for _ in range(MEMORY_BYTES))
    want = bytearray(image)
    dut = FlitsToMem(_memory_config(word_bytes), flit_bytes, alignment=alignment)
    memory = MemoryModel(dut.mem, word_bytes, rng, image)
    transfers = _transfers(rng, alignment, flit_bytes)

    async def bench(ctx):
        for addr, length in transfers:
            what = f"seed {seed}: write of {length} bytes at {addr:#x}"
            data = bytes(rng.randrange(256) for _ in range(length))
            want[addr:addr + length] = data
            nflits = -(-length // flit_bytes)
            # The padding of the last flit is random: it must not reach memory.
            payload = data + bytes(rng.randrange(256) for _ in range(nflits * flit_bytes - length))
            while not ctx.get(dut.idle):
                await ctx.tick()
            ctx.set(dut.start, 1)
            ctx.set(dut.addr, addr)
            ctx.set(dut.length, length)
            ctx.set(dut.discard, 0)
            ready = memory.drive(ctx)
            memory.sample(ctx, ready)
            await ctx.tick()
            ctx.set(dut.start, 0)
            sent = 0
            for _ in range(50 * length + 100):
                ready = memory.drive(ctx)
                offer = sent < nflits and rng.random() < 0.75
                ctx.set(dut.in_valid, offer)
                if offer:
                    ctx.set(dut.in_data, int.from_bytes(payload[sent * flit_bytes:(sent + 1) * flit_bytes], "little"))
                    ctx.set(dut.in_last, sent == nflits - 1)
                memory.sample(ctx, ready)
                done = ctx.get(dut.done)
                if offer and ctx.get(dut.in_ready):
                    sent += 1
                await ctx.tick()
                if done:
                    break
            else:
                raise AssertionError(f"{what}: never done")
            ctx.set(dut.in_valid, 0)
            assert sent == nflits, f"{what}: done after {sent} of {nflits} flits"
            # The response of the last write lands in this cycle; nothing else is pending.
            memory.drive(ctx)
            assert image == want, f"{what}: bytes {[i for i in range(MEMORY_BYTES) if image[i] != want[i]][:8]} differ"

    _run(dut, bench)


def test_alignment_must_divide_both_words():
    with pytest.raises(ValueError, match="power of two dividing the 4-byte memory word and the 8-byte flit"):
        MemToFlits(_memory_config(4), 8, alignment=8)
    with pytest.raises(ValueError, match="power of two dividing"):
        FlitsToMem(_memory_config(8), 8, alignment=3)
    with pytest.raises(ValueError, match="power of two dividing"):
        Realigner(8, 4, 0)
