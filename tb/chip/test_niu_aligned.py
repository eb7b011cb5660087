"""The NIU and the DRAM node with ``noc.aligned_transfers`` in the Amaranth simulator (no cores).

The system of tb/chip/test_niu_amaranth.py on the tiny chip with word-aligned transfers: NIU reads and
writes between tiles and the DRAM at random 4-byte-aligned addresses with free lengths, checked
against a Python model of every memory; then the refusals: an unaligned command is refused by the NIU
(sticky error, nothing sent), an unaligned request that reaches a target (sent as raw packets, past
the host runtime's own check) is answered with ERROR_RESP naming the address and the command, and the
host runtime refuses unaligned requests before sending anything.
"""

from __future__ import annotations

import random

import pytest

from tessera.hw.chip.niu import NiuOp
from tessera.hw.config import preset
from tessera.hw.noc.layout import Command
from tessera.sim.chip.host import NocError
from tb.chip.niu_system import mmio_write
from tb.chip.test_niu_amaranth import run

CFG = preset("tiny", dram={"size_bytes": 65536, "latency_cycles": 8}, noc={"aligned_transfers": True})
ALIGN = CFG.noc.transfer_alignment


def test_random_aligned_niu_transfers_match_the_memory_model():
    seed = 57
    rng = random.Random(seed)

    async def bench(ctx, host, nius, tiles):
        dram = (CFG.nodes_of("dram")[0].x, CFG.nodes_of("dram")[0].y)
        nodes = [(t.x, t.y) for t in tiles] + [dram]
        sizes = {(t.x, t.y): CFG.l1.size_bytes for t in tiles} | {dram: CFG.dram.size_bytes}
        # Model and chip start from the same contents in the area the transfers use.
        area = (0x4000, 0x5000)
        model = {}
        for node in nodes:
            model[node] = bytearray(sizes[node])
            blob = bytes(rng.randrange(256) for _ in range(area[1] - area[0]))
            model[node][area[0]:area[1]] = blob
            await host.write(*node, area[0], blob)
        for k in range(12):
            t = rng.randrange(len(tiles))
            me, n = (tiles[t].x, tiles[t].y), nius[t]
            other = rng.choice([x for x in nodes if x != me])
            length = rng.choice([1, 3, 4, 6, 8, rng.randrange(1, 600)])
            local = rng.randrange(area[0], area[1] - length) // ALIGN * ALIGN
            remote = rng.randrange(area[0], area[1] - length) // ALIGN * ALIGN
            what = f"seed {seed} transfer {k}: {length} bytes, local {local:#x} of {me}, remote {remote:#x} of {other}"
            if rng.random() < 0.5:
                await n.issue(1, NiuOp.READ, *other, remote=remote, local=local, length=length)
                await n.barrier("read_resp_received", "read_req_sent")
                model[me][local:local + length] = model[other][remote:remote + length]
            else:
                await n.issue(0, NiuOp.WRITE, *other, remote=remote, local=local, length=length, acked=True)
                await n.barrier("write_acks_received", "write_acks_expected")
                model[other][remote:remote + length] = model[me][local:local + length]
            assert await n.read("error_count") == 0, what
        for node in nodes:
            got = await host.read(*node, area[0], area[1] - area[0])
            assert got == bytes(model[node][area[0]:area[1]]), f"seed {seed}: node {node} differs from the model"
        # Atomics and inline writes (4 bytes at 4-aligned addresses) keep working.
        await nius[0].issue(3, NiuOp.ATOMIC_INC, *dram, remote=0x2004, local=0x9004, data=5)
        await nius[0].barrier("atomic_resp_received", "atomic_sent")
        await nius[0].issue(0, NiuOp.WRITE, *dram, remote=0x2004, data=0xC0DE0004, inline=True)
        await nius[0].idle()
        assert await host.read(*dram, 0x2004, 4) == (0xC0DE0004).to_bytes(4, "little")

    run(bench, CFG)


def test_unaligned_commands_and_requests_are_refused():
    async def bench(ctx, host, nius, tiles):
        b = (tiles[1].x, tiles[1].y)
        dram = (CFG.nodes_of("dram")[0].x, CFG.nodes_of("dram")[0].y)
        n0 = nius[0]
        await host.write(*b, 0x7000, bytes(range(64)))
        # The NIU refuses unaligned remote and local addresses (the return address of an atomic too).
        bad = [dict(buf=1, op=NiuOp.READ, x=b[0], y=b[1], remote=0x7001, local=0x6000, length=8),
               dict(buf=1, op=NiuOp.READ, x=b[0], y=b[1], remote=0x7000, local=0x6002, length=8),
               dict(buf=0, op=NiuOp.WRITE, x=dram[0], y=dram[1], remote=0x1003, local=0x6000, length=16,
                    acked=True),
               dict(buf=0, op=NiuOp.WRITE, x=dram[0], y=dram[1], remote=0x1000, local=0x6001, length=16,
                    acked=True),
               dict(buf=2, op=NiuOp.WRITE, x=b[0], y=b[1], remote=0x7002, data=1, inline=True),
               dict(buf=3, op=NiuOp.ATOMIC_INC, x=dram[0], y=dram[1], remote=0x2000, local=0x9001, data=1)]
        for k, command in enumerate(bad):
            await n0.issue(**command)
            await n0.idle()
            status = await n0.read("error_status")
            assert status & 1, f"command {k} {command} was not refused"
            assert await n0.read("error_addr") == command["remote"], f"command {k}"
            await mmio_write(ctx, n0.bus, n0.reg("error_status"), 0)
        assert await n0.read("error_count") == len(bad)
        sent = [await n0.read(name) for name in ("read_req_sent", "nonposted_writes_sent", "posted_writes_sent",
                                                 "atomic_sent")]
        assert sent == [0, 0, 0, 0], f"refused commands were sent: {sent}"
        assert await host.read(*b, 0x7000, 64) == bytes(range(64))
        # A target answers an unaligned request with ERROR_RESP naming the address and the command
        # (raw packets: the host runtime would refuse them itself).
        for node, packet, cmd in (
                (b, host._packet(Command.WRITE_ACKED, *b, 0x7001, bytes(8)), Command.WRITE_ACKED),
                (dram, host._packet(Command.WRITE_POSTED, *dram, 0x1002, bytes(20)), Command.WRITE_POSTED),
                (dram, host._packet(Command.READ, *dram, 0x1006, (0).to_bytes(4, "little") + (8).to_bytes(4, "little")),
                 Command.READ)):
            await host._send_all([packet])
            with pytest.raises(NocError, match=f"refused {cmd.name} at address 0x0000{packet_addr(packet):04x}"):
                await host._collect(1)
        assert await host.read(*b, 0x7000, 64) == bytes(range(64)), "a refused write changed memory"
        # The host runtime refuses them before sending anything.
        sent_before = host.packets_sent
        with pytest.raises(ValueError, match=r"write of 3 bytes at address 0x00007001 of node .* multiple of 4"):
            await host.write(*b, 0x7001, b"abc")
        with pytest.raises(ValueError, match=r"read of 8 bytes at address 0x00001002 .* multiple of 4"):
            await host.read(*dram, 0x1002, 8)
        with pytest.raises(ValueError, match=r"atomic increment of 4 bytes at address 0x00002002"):
            await host.atomic_inc(*dram, 0x2002)
        assert host.packets_sent == sent_before
        # Everything aligned still passes afterwards.
        await n0.issue(1, NiuOp.READ, *b, remote=0x7004, local=0x6000, length=9)
        await n0.barrier("read_resp_received", "read_req_sent")
        assert await host.read(tiles[0].x, tiles[0].y, 0x6000, 9) == bytes(range(4, 13))

    run(bench, CFG)


def packet_addr(packet):
    """The header address of a packet built by ChipHost._packet."""
    from tessera.hw.noc.layout import NocFormat
    header, _ = NocFormat(CFG.noc).parse([d for d, _, _ in packet])
    return header["addr"]
