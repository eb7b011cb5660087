"""Pipelined host batches (sim/chip/host.py ``write_batch`` / ``read_batch``) in the Amaranth simulator,
and the protocol handing a ``write`` request to a backend's ``write_batch`` whole.

The system is tb/chip/niu_system.py (the tiny chip's network, an NIU on a bare L1 and tile_ctrl at
every Tensix node, the real DRAM node); every memory is checked against a Python model.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.sim.chip.host import ChipHost, NocError
from tessera.sw.host.protocol import recv_message, serve_connection
from tessera.sw.host.transport import SocketTransport
from tb.chip.niu_system import AmaranthHostPort, NiuSystem
from tb.host.fake_chip import AsyncFakeBackend, FakeChip

CFG = preset("tiny", dram={"size_bytes": 65536, "latency_cycles": 8})


def simulate(bench):
    dut = NiuSystem(CFG)
    port = AmaranthHostPort(dut, CFG)
    host = ChipHost(CFG, port)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(port.receiver)

    async def testbench(ctx):
        port.ctx = ctx
        await bench(ctx, host)

    sim.add_testbench(testbench)
    sim.run()


def test_a_write_batch_lands_like_one_write_after_the_other():
    """Random writes to every node (runs of adjacent ones, overlapping ones, posted ones, node changes)
    as one batch, then one read batch of every node's touched range, against a model that applies
    the writes one by one.  Adjacent writes to one node go out merged: fewer packets than writes."""
    seed = 1729
    rng = random.Random(seed)
    nodes = [(n.x, n.y, CFG.l1.size_bytes) for n in CFG.nodes_of("tensix")] + \
            [(n.x, n.y, CFG.dram.size_bytes) for n in CFG.nodes_of("dram")]
    model = {(x, y): bytearray(size) for x, y, size in nodes}
    writes, spans = [], {}
    for _ in range(8):
        x, y, size = rng.choice(nodes)
        addr = rng.randrange(0x5000, 0x5400)
        for _ in range(rng.randrange(1, 5)):   # a run: adjacent, sometimes overlapping the last write
            n = rng.choice([1, 3, 4, 8, 56, 256, 300])
            data = bytes(rng.randrange(256) for _ in range(n))
            writes.append((x, y, addr, data, rng.random() < 0.8))
            model[(x, y)][addr:addr + n] = data
            low, high = spans.get((x, y), (addr, addr + n))
            spans[(x, y)] = (min(low, addr), max(high, addr + n))
            addr += n - (rng.randrange(1, n + 1) if rng.random() < 0.2 else 0)
    reads = [(x, y, low, high - low) for (x, y), (low, high) in spans.items()]

    async def bench(ctx, host):
        await host.write_batch(writes)
        assert host.packets_sent < sum(-(-len(w[3]) // CFG.noc.max_payload_bytes) for w in writes), \
            f"seed {seed}: no write was merged"
        got = await host.read_batch(reads)
        for (x, y, addr, n), data in zip(reads, got):
            assert data == bytes(model[(x, y)][addr:addr + n]), f"seed {seed}: node ({x}, {y}) differs"

    simulate(bench)


def test_a_refused_write_in_a_batch_is_named_and_mmio_writes_are_not_merged():
    """tile_ctrl takes one aligned word per request: two adjacent MMIO words in a batch stay two
    writes (merged, they would be refused).  A write past the memory's end is refused by the target;
    the batch raises NocError naming it, and a batch after it works."""
    tile = CFG.nodes_of("tensix")[0]
    ctrl = CFG.mmio.region("tile_ctrl")
    scratch, pc0 = ctrl.address("scratch"), ctrl.address("reset_pc", 0)
    words = sorted([(scratch, 0x12345678), (pc0, 0x1000), (pc0 + 4, 0x2000)])

    async def bench(ctx, host):
        await host.write_batch([(tile.x, tile.y, addr, value.to_bytes(4, "little"), True)
                                for addr, value in words])
        for addr, value in words:
            assert await host.read(tile.x, tile.y, addr, 4) == value.to_bytes(4, "little"), hex(addr)
        dram = CFG.nodes_of("dram")[0]
        with pytest.raises(NocError, match="refused WRITE_ACKED"):
            await host.write_batch([(dram.x, dram.y, 0x100, b"ok", True),
                                    (dram.x, dram.y, CFG.dram.size_bytes - 2, bytes(4), True)])
        await host.write_batch([(dram.x, dram.y, 0x200, b"after", True)])
        assert await host.read_batch([(dram.x, dram.y, 0x100, 2), (dram.x, dram.y, 0x200, 5)]) == [b"ok", b"after"]

    simulate(bench)


class BatchingBackend(AsyncFakeBackend):
    """The fake chip with ``write_batch``: records each batch it is handed."""

    def __init__(self, chip):
        super().__init__(chip)
        self.batches = []

    async def write_batch(self, writes):
        self.batches.append(list(writes))
        for entry in writes:
            await self.write(*entry)


def test_the_protocol_hands_a_write_request_to_write_batch_whole():
    cfg = preset("tiny")
    backend = BatchingBackend(FakeChip(cfg))
    client, server = socket.socketpair()
    thread = threading.Thread(target=lambda: asyncio.run(
        serve_connection(server, backend, {"token": "t", "config": cfg.name})), daemon=True)
    thread.start()
    transport = SocketTransport(client, recv_message(client)[0])
    tile = cfg.nodes_of("tensix")[0]
    writes = [(tile.x, tile.y, 0x100, b"abc"), (tile.x, tile.y, 0x103, b"de", False), (tile.x, tile.y, 0x200, b"f")]
    transport.writes(writes)
    assert backend.batches == [[(tile.x, tile.y, 0x100, b"abc", True), (tile.x, tile.y, 0x103, b"de", False),
                                (tile.x, tile.y, 0x200, b"f", True)]]
    assert transport.read(tile.x, tile.y, 0x100, 5) == b"abcde"
    transport.close()
    thread.join(5)
    server.close()
