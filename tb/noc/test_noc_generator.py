"""The multicast share of the NoC testbench's HDL traffic generators (Amaranth simulator).

A 2x2 mesh runs the generators with a multicast share and a rectangle size
table; the test watches the network's own local ports and checks, from the
headers it sees, that the multicasts are requests to rectangles of the
table's sizes that fit the grid, that their share is near the one asked for,
and that every copy reached exactly the rectangle's nodes other than the
sender.  The testbench's counters (expected deliveries, received copies)
must agree with that independent count, with no checker error.
"""

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.noc.layout import NocFormat
from tessera.hw.noc.testbench import KINDS, MC_SIZES, NocTestbench

SIZES = ((2, 1), (1, 2), (2, 2), (3, 3))   # 3x3 is clipped to the 2x2 grid
MC_SHARE = 96                              # /256 of the request packets
RUN_CYCLES = 1500


@pytest.mark.parametrize("vcs_per_class", [1, 2])   # 2: two VC sets, multicasts may overtake
def test_generators_send_a_seeded_share_of_multicasts_and_every_copy_arrives(vcs_per_class):
    seed = random.randrange(1 << 16)
    cfg = preset("tiny", noc={"width": 2, "height": 2, "vcs_per_class": vcs_per_class})
    noc = cfg.noc
    fmt = NocFormat(noc)
    dut = NocTestbench(noc)
    net = dut.network
    nodes, classes, fw = noc.width * noc.height, noc.num_classes, noc.flit_width
    clipped = {(min(w, noc.width), min(h, noc.height)) for w, h in SIZES}
    injected = {}     # (node, cls) -> flits of the packet being injected
    ejected = {}
    sent_mc = {}      # (src, seq) -> set of expected destinations
    got_mc = {}       # (src, seq) -> list of destinations that received a copy
    requests = {"unicast": 0, "multicast": 0}
    result = {}
    # Packets are keyed by (source, sequence number): the generators put the
    # number in the top half of the header's address (addr = seq << 16 | created).

    def watch(ctx, port, store, key):
        """Flits of ``port`` handshaken this cycle; returns the header of a completed packet."""
        if not (ctx.get(port.valid) and ctx.get(port.ready)):
            return None
        word = ctx.get(port.payload)
        store.setdefault(key, []).append(word & ((1 << fw) - 1))
        if not word >> (fw + 1) & 1:        # not the tail
            return None
        header, _ = fmt.parse(store.pop(key))
        return header

    async def bench(ctx):
        for i, (w, h) in enumerate(SIZES):
            ctx.set(dut.mc_w[i], w)
            ctx.set(dut.mc_h[i], h)
        ctx.set(dut.mc_share, MC_SHARE)
        ctx.set(dut.rate, 65536 // 12)
        ctx.set(dut.len_max, 2)
        ctx.set(dut.lat_bound, 0xFFFF)
        ctx.set(dut.queue_limit, 16)
        ctx.set(dut.seed, seed)
        ctx.set(dut.seed_load, 1)
        await ctx.tick()
        ctx.set(dut.seed_load, 0)
        ctx.set(dut.enable, 1)
        for cycle in range(RUN_CYCLES + 3000):
            if cycle == RUN_CYCLES:
                ctx.set(dut.enable, 0)
            for n in range(nodes):
                for c in range(classes):
                    hdr = watch(ctx, net.inject[n][c], injected, (n, c))
                    if hdr is not None and c == 0:
                        requests["multicast" if hdr["mcast"] else "unicast"] += 1
                    if hdr is not None and hdr["mcast"]:
                        assert c == 0 and hdr["cls"] == 0 and hdr["exclude_self"], (seed, hdr)
                        size = (hdr["dst_x1"] - hdr["dst_x"] + 1, hdr["dst_y1"] - hdr["dst_y"] + 1)
                        assert size in clipped, (seed, hdr)
                        assert hdr["dst_x1"] < noc.width and hdr["dst_y1"] < noc.height, (seed, hdr)
                        src = hdr["src_y"] * noc.width + hdr["src_x"]
                        assert src == n, (seed, hdr)
                        sent_mc[(src, hdr["addr"] >> 16)] = {
                            y * noc.width + x for x in range(hdr["dst_x"], hdr["dst_x1"] + 1)
                            for y in range(hdr["dst_y"], hdr["dst_y1"] + 1)} - {src}
                    hdr = watch(ctx, net.eject[n][c], ejected, (n, c))
                    if hdr is not None and hdr["mcast"]:
                        src = hdr["src_y"] * noc.width + hdr["src_x"]
                        got_mc.setdefault((src, hdr["addr"] >> 16), []).append(n)
            await ctx.tick()
            if cycle > RUN_CYCLES and ctx.get(dut.busy_nodes) == 0 \
                    and ctx.get(dut.expected_deliveries) == ctx.get(dut.recv_packets):
                break
        for name in ("err_count", "errors", "expected_deliveries", "recv_packets", "mc_sent",
                     "sent_packets", "busy_nodes"):
            result[name] = ctx.get(getattr(dut, name))
        result["kind_packets"] = [ctx.get(dut.kind_packets[k]) for k in range(len(KINDS))]

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()

    assert result["err_count"] == 0 and result["errors"] == 0, (seed, result)
    assert result["busy_nodes"] == 0, f"network did not drain (seed {seed}): {result}"
    # Independent scoreboard: each multicast reached exactly its rectangle minus the sender.
    assert sent_mc, f"no multicast was sent (seed {seed})"
    assert {k: sorted(v) for k, v in got_mc.items()} == \
        {k: sorted(v) for k, v in sent_mc.items()}, f"multicast copies differ (seed {seed})"
    copies = sum(len(v) for v in sent_mc.values())
    assert result["mc_sent"] == len(sent_mc), (seed, result)
    assert result["kind_packets"][2] == copies, (seed, result, copies)
    assert result["expected_deliveries"] == result["recv_packets"] == \
        result["sent_packets"] - len(sent_mc) + copies, (seed, result)
    # The share of multicasts among requests: binomial, 4 standard deviations.
    total = requests["unicast"] + requests["multicast"]
    p = MC_SHARE / 256
    assert abs(requests["multicast"] - p * total) <= 4 * (total * p * (1 - p)) ** 0.5 + 1, \
        (seed, requests)
    assert MC_SIZES == len(SIZES)
