"""cocotb tests of the L1 on Verilator: random concurrent requesters against a reference memory,
atomics under contention, starvation bound and full throughput.

One coroutine drives every port and checks every response: inputs change on
the falling edge, handshakes and responses are sampled in ReadOnly before the
rising edge.  A request accepted on edge t must answer on edge t + L1_LATENCY
with the bank word as the reference memory held it before the request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from tessera.hw.tile.l1_port import L1_LATENCY, L1AddressMap
from tessera.sim.cocotb_util import load_config, load_params, reset, seeded_rng, start_clock
from tb.tile.l1_reference import ATOMIC, READ, WRITE, ReferenceL1, Request, RequestGenerator


class Ports:
    """Handles of every requester port, and the per-cycle drive/check loop."""

    def __init__(self, dut, n):
        self.dut, self.n = dut, n
        self.valid = [getattr(dut, f"port__{p}__req__valid") for p in range(n)]
        self.ready = [getattr(dut, f"port__{p}__req__ready") for p in range(n)]
        self.payload = [getattr(dut, f"port__{p}__req__payload") for p in range(n)]
        self.rvalid = [getattr(dut, f"port__{p}__resp__valid") for p in range(n)]
        self.rdata = [getattr(dut, f"port__{p}__resp__rdata") for p in range(n)]
        for v in self.valid:
            v.value = 0

    async def run(self, cfg, ref, sources, *, max_cycles=200_000):
        """Drive ``sources[p](cycle) -> Request | None`` until all are exhausted (return ``StopIteration``
        sentinel ``False``) and every response has been checked.  Returns statistics."""
        n, l1 = self.n, cfg.l1
        current = [None] * n
        done = [False] * n
        waited = [0] * n
        pending = [[] for _ in range(n)]  # (due cycle, expected rdata, request)
        stats = {"accepted": [0] * n, "max_wait": [0] * n, "cycles": 0, "responses": 0,
                 "accept_cycles": [[] for _ in range(n)], "results": [[] for _ in range(n)]}
        for cycle in range(max_cycles):
            await FallingEdge(self.dut.clk)
            for p in range(n):
                if current[p] is None and not done[p]:
                    nxt = sources[p](cycle)
                    if nxt is False:
                        done[p] = True
                    else:
                        current[p] = nxt
                        if nxt is not None:
                            self.payload[p].value = nxt.pack(l1)
                self.valid[p].value = int(current[p] is not None)
            await ReadOnly()
            for p in range(n):
                if pending[p] and pending[p][0][0] == cycle:
                    due, want, req = pending[p].pop(0)
                    assert int(self.rvalid[p].value), \
                        f"port {p}: no response at cycle {cycle} for {req} accepted at {due - L1_LATENCY}"
                    got = int(self.rdata[p].value)
                    assert got == want, (f"port {p} cycle {cycle}: {req} returned {got:#x}, "
                                         f"reference {want:#x}")
                    stats["responses"] += 1
                    stats["results"][p].append((req, got))
                else:
                    assert not int(self.rvalid[p].value), f"port {p}: spurious response at cycle {cycle}"
                ready = int(self.ready[p].value)
                if current[p] is None:
                    assert not ready or not int(self.valid[p].value)
                    continue
                if ready:
                    pending[p].append((cycle + L1_LATENCY, ref.apply(current[p]), current[p]))
                    stats["accepted"][p] += 1
                    stats["accept_cycles"][p].append(cycle)
                    stats["max_wait"][p] = max(stats["max_wait"][p], waited[p])
                    waited[p] = 0
                    current[p] = None
                else:
                    waited[p] += 1
                    assert waited[p] < 1000, f"port {p} starved for {waited[p]} cycles at cycle {cycle}"
            if all(done) and not any(pending):
                stats["cycles"] = cycle + 1
                return stats
        raise AssertionError(f"traffic did not finish in {max_cycles} cycles")


_REFERENCE = {}


def reference(cfg) -> ReferenceL1:
    """The reference memory of this simulation: L1 keeps its contents from one test to the next."""
    if "ref" not in _REFERENCE:
        _REFERENCE["ref"] = ReferenceL1(cfg.l1)
    return _REFERENCE["ref"]


async def setup(dut, salt: str):
    """Clock, ports and reset; returns (config, number of ports, :class:`Ports`, the RNG seeded for
    ``salt``, the reference memory)."""
    cfg, params = load_config(), load_params()
    start_clock(dut)
    ports = Ports(dut, params["ports"])
    await reset(dut)
    return cfg, params["ports"], ports, seeded_rng(dut, salt), reference(cfg)


def on_first_port(requests, n):
    """Sources that issue ``requests`` from port 0 while the other ``n - 1`` ports stay idle."""
    return [from_list(requests)] + [from_list([])] * (n - 1)


def from_list(requests, rng=None, idle=0.0):
    """A source that yields ``requests`` with random idle cycles, then ends."""
    it = iter(requests)

    def source(cycle):
        if idle and rng.random() < idle:
            return None
        return next(it, False)
    return source


def record(name, values):
    """Write measured figures next to the run (picked up by docs/l1.md)."""
    run_dir = Path(os.environ.get("TESSERA_RUN_DIR", "."))
    (run_dir / f"l1_{name}.json").write_text(json.dumps(values, indent=1))


@cocotb.test()
async def random_concurrent_requesters(dut):
    """All ports: random reads, masked writes and atomics, conflicts and hot words; every response checked."""
    cfg, n, ports, rng, ref = await setup(dut, "l1-random")
    l1, amap = cfg.l1, L1AddressMap(cfg.l1)
    # Hot words: two lanes of one bank word, another row of the same bank, another bank.
    hot = [amap.address(1, 3, 0), amap.address(1, 3, 4 % l1.bank_bytes), amap.address(1, 9, 0),
           amap.address(2 % l1.banks, 3, 0)]
    per_port = 3000
    sources = []
    for p in range(n):
        gen = RequestGenerator(l1, rng, hot, region_words=16)
        sources.append(from_list([gen.next() for _ in range(per_port)], rng, idle=0.1 + 0.1 * (p % 3)))
    stats = await ports.run(cfg, ref, sources)
    assert stats["accepted"] == [per_port] * n
    assert max(stats["max_wait"]) <= n - 1, f"a request waited {stats['max_wait']} cycles (bound {n - 1})"
    # Sweep the touched rows of every bank: final contents equal the reference.
    sweep = [Request(amap.address(b, r), READ, 0, 0) for r in range(16) for b in range(l1.banks)]
    await ports.run(cfg, ref, on_first_port(sweep, n))
    dut._log.info("random: %d requests in %d cycles, max wait %s", n * per_port, stats["cycles"],
                  stats["max_wait"])
    record("random", {"ports": n, "requests": n * per_port, "cycles": stats["cycles"],
                      "max_wait": stats["max_wait"]})


@cocotb.test()
async def atomic_increments_are_exact_under_contention(dut):
    """Every port hammers two words (same bank, adjacent lanes) with atomic +1: no increment lost."""
    cfg, n, ports, rng, ref = await setup(dut, "l1-atomic")
    l1, amap = cfg.l1, L1AddressMap(cfg.l1)
    words = [amap.address(0, 5, 0), amap.address(0, 5, 4 % l1.bank_bytes), amap.address(0, 6, 0)]
    words = list(dict.fromkeys(words))
    per_port = 400
    ops = []
    for p in range(n):
        reqs = []
        for _ in range(per_port):
            addr = rng.choice(words)
            lane = amap.lane(addr)
            reqs.append(Request(addr, ATOMIC, rng.getrandbits(l1.bank_bytes), 1 << (32 * lane)))
        ops.append(reqs)
    start = {a: (ref.read_word(a) >> (32 * amap.lane(a))) & 0xFFFF_FFFF for a in words}
    stats = await ports.run(cfg, ref, [from_list(r) for r in ops])
    # Independent of the reference: the old values each word returned are start..start+count-1.
    for addr in words:
        lane = amap.lane(addr)
        olds = sorted((((got >> (32 * lane)) - start[addr]) & 0xFFFF_FFFF)
                      for p in range(n) for req, got in stats["results"][p] if req.addr == addr)
        assert olds == list(range(len(olds))), f"word {addr:#x}: increments lost or duplicated"
    final = await ports.run(cfg, ref, on_first_port([Request(a, READ, 0, 0) for a in words], n))
    for (req, got) in final["results"][0]:
        lane = amap.lane(req.addr)
        count = sum(r.addr == req.addr for reqs in ops for r in reqs)
        assert ((got >> (32 * lane)) - start[req.addr]) & 0xFFFF_FFFF == count, \
            f"{req.addr:#x}: final count wrong"
    dut._log.info("atomics: %d increments in %d cycles", n * per_port, stats["cycles"])


@cocotb.test()
async def no_starvation_under_full_contention(dut):
    """Every port requests the same bank every cycle: each waits at most ports-1 cycles, shares are equal."""
    cfg, n, ports, rng, ref = await setup(dut, "l1-starve")
    l1, amap = cfg.l1, L1AddressMap(cfg.l1)
    per_port = 300
    sources = [from_list([Request(amap.address(2 % l1.banks, rng.randrange(8)), rng.choice([READ, WRITE]),
                                  rng.getrandbits(l1.bank_bytes), rng.getrandbits(l1.bank_width))
                          for _ in range(per_port)]) for _ in range(n)]
    stats = await ports.run(cfg, ref, sources)
    assert max(stats["max_wait"]) <= n - 1, f"waits {stats['max_wait']}, bound {n - 1}"
    # One grant per cycle on the contended bank: n*per_port accesses in about as many cycles.
    assert stats["cycles"] <= n * per_port + L1_LATENCY + 2, stats["cycles"]
    # Round robin: while all contend, grants rotate, so every window of n cycles serves every port once.
    first_end = min(c[-1] for c in stats["accept_cycles"])
    for p in range(n):
        within = [c for c in stats["accept_cycles"][p] if c <= first_end]
        gaps = [b - a for a, b in zip(within, within[1:])]
        assert set(gaps) <= {n}, f"port {p}: grant gaps {sorted(set(gaps))} under full contention"
    dut._log.info("contention: %d ports, max wait %s, %d cycles", n, stats["max_wait"], stats["cycles"])
    record("contention", {"ports": n, "max_wait": stats["max_wait"], "cycles": stats["cycles"],
                          "accesses": n * per_port})


@cocotb.test()
async def full_throughput_on_conflict_free_streams(dut):
    """Sequential streams starting in different banks: every port is served every cycle."""
    cfg, n, ports, rng, ref = await setup(dut, "l1-stream")
    l1, amap = cfg.l1, L1AddressMap(cfg.l1)
    streams = min(n, l1.banks)
    words = 256
    region = l1.banks * ((words + l1.banks) // l1.banks + 1)  # bank words per stream region
    sources = []
    for p in range(n):
        if p >= streams:
            sources.append(from_list([]))
            continue
        base = (p * region + p) * l1.bank_bytes  # starts in bank p
        writes = [Request(base + k * l1.bank_bytes, WRITE, (1 << l1.bank_bytes) - 1,
                          rng.getrandbits(l1.bank_width)) for k in range(words)]
        reads = [Request(base + k * l1.bank_bytes, READ, 0, 0) for k in range(words)]
        sources.append(from_list(writes + reads))
    stats = await ports.run(cfg, ref, sources)
    total = streams * 2 * words
    for p in range(streams):
        acc = stats["accept_cycles"][p]
        assert acc[-1] - acc[0] == len(acc) - 1, f"port {p} stalled: {len(acc)} accesses over " \
            f"{acc[-1] - acc[0] + 1} cycles"
    span = max(c[-1] for c in stats["accept_cycles"][:streams]) - min(c[0] for c in stats["accept_cycles"][:streams]) + 1
    per_cycle = total / span
    assert per_cycle == streams, per_cycle
    dut._log.info("throughput: %d streams, %.2f accesses/cycle (%d bytes/cycle)", streams, per_cycle,
                  per_cycle * l1.bank_bytes)
    record("throughput", {"streams": streams, "accesses_per_cycle": per_cycle,
                          "bytes_per_cycle": per_cycle * l1.bank_bytes, "latency": L1_LATENCY})
