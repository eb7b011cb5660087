"""Fast Amaranth-simulator tests of the L1 (no Verilator build)."""

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import L1Config, preset
from tessera.hw.tile.l1 import L1, build_l1
from tessera.hw.tile.l1_port import L1_LATENCY, L1AddressMap, L1Op, L1PortSignature
from tb.tile.l1_reference import ReferenceL1, RequestGenerator


def run_random(l1cfg: L1Config, ports: int, cycles: int, seed: int, idle: float = 0.2):
    """All ports issue random requests; every response is checked against the reference."""
    dut = L1(l1cfg, ports)
    rng = random.Random(seed)
    amap = L1AddressMap(l1cfg)
    hot = [amap.address(rng.randrange(l1cfg.banks), rng.randrange(4), 4 * rng.randrange(amap.lanes))
           for _ in range(3)]
    gens = [RequestGenerator(l1cfg, random.Random(f"{seed}:{p}"), hot, region_words=8) for p in range(ports)]
    ref = ReferenceL1(l1cfg)
    stats = {"accepted": 0, "responses": 0, "max_wait": 0}

    async def bench(ctx):
        current = [None] * ports
        waited = [0] * ports
        expected = [[] for _ in range(ports)]  # (due cycle, rdata)
        for cycle in range(cycles):
            for p, port in enumerate(dut.port):
                if current[p] is None and rng.random() >= idle and cycle < cycles - ports - 3:
                    current[p] = gens[p].next()
                req = current[p]
                ctx.set(port.req.valid, req is not None)
                if req is not None:
                    ctx.set(port.req.payload.addr, req.addr)
                    ctx.set(port.req.payload.op, L1Op(req.op))
                    ctx.set(port.req.payload.mask, req.mask)
                    ctx.set(port.req.payload.wdata, req.wdata)
            sigs = []
            for port in dut.port:
                sigs += [port.req.ready, port.resp.valid, port.resp.rdata]
            values = (await ctx.tick().sample(*sigs))[2:]
            # Responses present this cycle, then acceptances at this edge.
            for p in range(ports):
                ready, rvalid, rdata = values[3 * p:3 * p + 3]
                due = [e for e in expected[p] if e[0] == cycle]
                if rvalid:
                    assert due, f"port {p}: unexpected response at cycle {cycle}"
                    assert rdata == due[0][1], f"port {p} cycle {cycle}: rdata {rdata:#x} != {due[0][1]:#x}"
                    expected[p].remove(due[0])
                    stats["responses"] += 1
                else:
                    assert not due, f"port {p}: response due at cycle {cycle} missing"
            for p in range(ports):
                ready = values[3 * p]
                if current[p] is not None:
                    if ready:
                        expected[p].append((cycle + L1_LATENCY, ref.apply(current[p])))
                        current[p] = None
                        stats["accepted"] += 1
                        stats["max_wait"] = max(stats["max_wait"], waited[p])
                        waited[p] = 0
                    else:
                        waited[p] += 1
                else:
                    assert not ready, f"port {p}: ready without a request at cycle {cycle}"
        assert all(not e for e in expected) and all(c is None for c in current), "requests left over"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return stats


@pytest.mark.parametrize("banks,width,ports,cycles", [(2, 64, 3, 600), (4, 128, 5, 800), (1, 32, 2, 400),
                                                     (16, 256, 4, 400)])
def test_l1_random_against_reference(banks, width, ports, cycles):
    l1cfg = L1Config(size_bytes=max(4096, banks * width), banks=banks, bank_width=width)
    stats = run_random(l1cfg, ports, cycles, seed=banks * 100 + ports)
    assert stats["accepted"] > cycles // 2 and stats["responses"] == stats["accepted"]
    assert stats["max_wait"] <= ports - 1, stats


def test_l1_rejects_bad_parameters():
    l1cfg = preset("tiny").l1
    for bad in (0, 33, 2.0, True):
        with pytest.raises(ValueError, match=repr(bad)):
            L1(l1cfg, bad)
    with pytest.raises(TypeError, match="L1Config"):
        L1(preset("tiny"), 2)


def test_l1_address_map_interleaves_sequential_words():
    l1cfg = preset("tiny").l1
    amap = L1AddressMap(l1cfg)
    seq = [amap.bank(i * l1cfg.bank_bytes) for i in range(2 * l1cfg.banks)]
    assert seq == list(range(l1cfg.banks)) * 2
    for addr in (0, 0x18, 0x1234, l1cfg.size_bytes - 1):
        assert amap.address(amap.bank(addr), amap.row(addr), addr % l1cfg.bank_bytes) == addr
    with pytest.raises(ValueError, match="bank 4"):
        amap.address(l1cfg.banks, 0)


def test_build_l1_signature_follows_config():
    cfg = preset("tensix")
    l1 = build_l1(cfg, ports=3)
    assert len(l1.port) == 3
    assert l1.signature.members["port"].dimensions == (3,)
    assert len(l1.port[0].req.payload.wdata) == cfg.l1.bank_width
    assert len(l1.port[0].req.payload.addr) == cfg.l1.address_bits
    assert L1PortSignature(cfg.l1) == L1PortSignature(cfg.l1)


def test_l1_back_to_back_hazards_directed():
    """Each request sees the one accepted the cycle before it on the same word: atomic chains from one
    port, a write then a read from another port, a masked write then an atomic on the other lane."""
    l1cfg = preset("tiny").l1
    amap = L1AddressMap(l1cfg)
    dut = L1(l1cfg, 2)
    word = amap.address(3, 7)
    other_lane = word + 4
    # (cycle, port, op, addr, mask, wdata) — one request per cycle, all to the same bank word.
    script = [
        (0, 0, L1Op.WRITE, word, 0xFF, 0x0000_0010_0000_0005),
        (1, 0, L1Op.ATOMIC_INC, word, 0, 3),                  # 5 -> 8
        (2, 0, L1Op.ATOMIC_INC, word, 0, 0xFFFF_FFFF),        # 8 -> 7
        (3, 1, L1Op.READ, word, 0, 0),
        (4, 1, L1Op.WRITE, word, 0x0F, 0xAAAA_AAAA_0000_0001),  # low lane := 1
        (5, 0, L1Op.ATOMIC_INC, other_lane, 0, 2 << 32),      # high lane 0x10 -> 0x12
        (6, 1, L1Op.ATOMIC_INC, word, 0, 1),                  # low lane 1 -> 2
        (7, 0, L1Op.READ, word, 0, 0),
    ]
    expected = {1: 0x10_0000_0005, 2: 0x10_0000_0008, 3: 0x10_0000_0007, 4: 0x10_0000_0007,
                5: 0x10_0000_0001, 6: 0x12_0000_0001, 7: 0x12_0000_0002}
    got = {}

    async def bench(ctx):
        for cycle in range(len(script) + 2):
            for port in dut.port:
                ctx.set(port.req.valid, 0)
            if cycle < len(script):
                _, p, op, addr, mask, wdata = script[cycle]
                port = dut.port[p]
                ctx.set(port.req.valid, 1)
                ctx.set(port.req.payload.addr, addr)
                ctx.set(port.req.payload.op, op)
                ctx.set(port.req.payload.mask, mask)
                ctx.set(port.req.payload.wdata, wdata)
            sampled = await ctx.tick().sample(*[s for port in dut.port
                                                for s in (port.req.ready, port.resp.valid, port.resp.rdata)])
            values = sampled[2:]
            if cycle < len(script):
                assert values[3 * script[cycle][1]], f"cycle {cycle}: uncontended request not accepted"
            for p in range(2):
                if values[3 * p + 1]:
                    issued = script[cycle - 1]
                    assert issued[1] == p, f"response on port {p} for a request of port {issued[1]}"
                    got[cycle - 1] = values[3 * p + 2]

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert {k: v for k, v in got.items() if k in expected} == expected, {k: hex(v) for k, v in got.items()}
