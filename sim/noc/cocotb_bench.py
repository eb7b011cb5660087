"""cocotb side of ``tessera noc-bench``: load sweeps and multicast measurements.

Runs on the ``noc_testbench`` block (HDL generators and checkers, so every
benchmark packet is also checked).  Reads its plan from ``NOC_BENCH_PLAN``
(JSON) and writes results to ``NOC_BENCH_OUT``.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from hw.noc.layout import NocFormat
from sim.cocotb_util import seeded_rng
from sim.noc.model import PATTERNS, multicast_destinations, multicast_links
from tb.noc.cocotb_noc import LocalPorts, Scoreboard, counters, describe_errors, ext_setup, setup


async def measure(dut, nodes, *, rate, pattern, len_flits, warmup, window, seed):
    await FallingEdge(dut.clk)
    dut.seed.value = seed & 0xFFFF
    dut.seed_load.value = 1
    dut.rate.value = rate
    dut.pattern.value = pattern
    dut.len_max.value = len_flits
    dut.len_fixed.value = 1
    dut.stall.value = 0
    dut.gap.value = 0
    dut.lat_bound.value = 0xFFFF
    await FallingEdge(dut.clk)
    dut.seed_load.value = 0
    dut.enable.value = 1
    await ClockCycles(dut.clk, warmup)
    await ReadOnly()
    c0 = counters(dut)
    await ClockCycles(dut.clk, window)
    await ReadOnly()
    c1 = counters(dut)
    await FallingEdge(dut.clk)
    dut.enable.value = 0
    waited = 0
    while True:
        await ClockCycles(dut.clk, 100)
        waited += 100
        await ReadOnly()
        c = counters(dut)
        if c["busy_nodes"] == 0 and c["sent_packets"] == c["recv_packets"]:
            break
        assert waited < 200_000, f"network did not drain: {c}"
    assert c["err_count"] == 0, describe_errors(c)
    packets = c1["recv_packets"] - c0["recv_packets"]
    return {
        "accepted": (c1["recv_flits"] - c0["recv_flits"]) / (window * nodes),
        "latency": (c1["lat_sum"] - c0["lat_sum"]) / max(1, packets),
        "hops": (c1["hops_sum"] - c0["hops_sum"]) / max(1, packets),
        "packets": packets,
        "dropped_at_source": c1["gen_dropped"] - c0["gen_dropped"],
    }


@cocotb.test()
async def bench(dut):
    plan = json.loads(os.environ["NOC_BENCH_PLAN"])
    out_path = os.environ["NOC_BENCH_OUT"]
    cfg = await setup(dut, ext_mode=0)
    noc = cfg.noc
    nodes = noc.width * noc.height
    fmt = NocFormat(noc)
    rng = seeded_rng(dut, "bench")
    data_flits = plan["data_flits"]
    len_flits = fmt.header_flits + data_flits
    results = {"config": plan["label"], "header_flits": fmt.header_flits,
               "packet_flits": len_flits, "curves": {}, "zero_load": {}}
    start = time.monotonic()
    # Zero-load latency per hop: one-flit... header-only packets at a trickle.
    zl = []
    for p, pattern in enumerate(PATTERNS):
        r = await measure(dut, nodes, rate=max(1, int(65536 * 0.01 / fmt.header_flits)), pattern=p,
                          len_flits=0, warmup=200, window=plan["window"], seed=rng.getrandbits(16))
        zl.append((r["hops"], r["latency"]))
        results["zero_load"][pattern] = r
    n = len(zl)
    mx, my = sum(h for h, _ in zl) / n, sum(l for _, l in zl) / n
    sxx = sum((h - mx) ** 2 for h, _ in zl)
    slope = sum((h - mx) * (l - my) for h, l in zl) / sxx if sxx else float("nan")
    results["zero_load_fit"] = {"cycles_per_hop": slope, "intercept": my - slope * mx}
    for pattern in plan["patterns"]:
        p = PATTERNS.index(pattern)
        bound = plan["bounds"][pattern]
        points = []
        for frac in plan["fractions"]:
            offered = frac * bound
            rate = min(65535, max(1, round(65536 * offered / len_flits)))
            r = await measure(dut, nodes, rate=rate, pattern=p, len_flits=data_flits,
                              warmup=plan["warmup"], window=plan["window"], seed=rng.getrandbits(16))
            r["offered"] = rate / 65536 * len_flits
            r["offered_fraction_of_bound"] = r["offered"] / bound
            points.append(r)
            print(f"[noc-bench] {plan['label']} {pattern:9s} offered {r['offered']:.3f} "
                  f"accepted {r['accepted']:.3f} latency {r['latency']:.1f} "
                  f"({time.monotonic() - start:.0f} s)", flush=True)
        sat = max(pt["accepted"] for pt in points)
        results["curves"][pattern] = {"bound": bound, "points": points, "saturation": sat,
                                      "fraction_of_bound": sat / bound}
    if plan.get("multicast"):
        results["multicast"] = await multicast_vs_unicast(dut, cfg)
    results["sim_seconds"] = time.monotonic() - start
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)


async def multicast_vs_unicast(dut, cfg):
    """Broadcast from the host node: one multicast vs unicast copies (ext mode)."""
    await FallingEdge(dut.clk)
    dut.ext_mode.value = 1
    await ClockCycles(dut.clk, 5)
    noc = cfg.noc
    fmt = NocFormat(noc)
    rng = seeded_rng(dut, "mc-bench")
    ports = LocalPorts(dut, cfg, rng)
    sb = Scoreboard(cfg)
    src = 0
    sxy = sb.node_xy(src)
    rect = (0, 0, noc.width - 1, noc.height - 1)
    length = fmt.max_multicast_length()
    out = {"payload_bytes": length, "source": list(sxy)}
    for mode in ("multicast", "unicast_copies"):
        targets = sorted(multicast_destinations(noc, sxy, rect, True))
        before_links = int(dut.link_flits.value)
        n0 = len(ports.received)
        t0 = ports.cycle
        if mode == "multicast":
            ports.send(src, 0, sb.make(src, 0, rect=rect, exclude_self=True, length=length, rng=rng))
            injections = 1
        else:
            for t in targets:
                ports.send(src, 0, sb.make(src, 0, dst=t, length=length, rng=rng))
            injections = len(targets)
        await ports.run(lambda: len(ports.received) == n0 + len(targets))
        latency = ports.received[-1][2] - t0
        await ClockCycles(dut.clk, 5)
        links = int(dut.link_flits.value) - before_links
        out[mode] = {"injections": injections, "link_flits": links,
                     "link_traversals_per_flit": links / fmt.packet_flits(length),
                     "latency_to_last": latency, "destinations": len(targets)}
    out["tree_links_model"] = len(multicast_links(noc, sxy, rect))
    sb.check(ports.received)
    return out
