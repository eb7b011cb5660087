"""cocotb side of ``tessera noc-bench``: zero-load latency, load sweeps, multicast.

Runs on the ``noc_testbench`` block.  Reads its plan from ``NOC_BENCH_PLAN``
(JSON), writes results to ``NOC_BENCH_OUT`` and one line per measurement to
``NOC_BENCH_PROGRESS`` (the CLI echoes them while the simulation runs).

* Zero-load latency: one header-only packet at a time on an idle network
  (Python drives the local ports), from a corner and from the centre to every
  node; latency from the tail's injection handshake to its ejection,
  against the hop count of the route: a least-squares fit gives cycles per
  hop and the fixed overhead.
* Load sweeps: the HDL generators inject fixed-length packets (Bernoulli
  arrivals, open loop: 1024-entry source queues, so below saturation nothing
  is dropped; drops are counted; no ejection stalls) at fractions of the
  channel-load bound; throughput is counted over a window after a warm-up;
  latency runs from packet creation (source queueing included) to the tail's
  ejection.  Every packet is also checked by the HDL checkers.  After the
  plan's load points, ``refine`` more points bisect the interval between the
  highest stable point and the next one (:func:`stable`), so the
  saturation load is known to a fraction of the grid step.
* Multicast: a broadcast from the host node as one multicast against unicast
  copies: injections, link traversals (the network's ``link_flits``
  counter), cycles to the last delivery.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge

from tessera.hw.noc.layout import NocFormat
from tessera.sim.cocotb_util import seeded_rng
from tessera.sim.noc.model import PATTERNS, hops, multicast_destinations, multicast_links
from tessera.hw.noc.testbench import KINDS, SOURCE_QUEUE
from tessera.sim.noc.traffic import HdlTraffic, LocalPorts, Scoreboard, setup


class Progress:
    def __init__(self, label: str):
        self.label = label
        self.path = os.environ.get("NOC_BENCH_PROGRESS")
        self.start = time.monotonic()

    def __call__(self, text: str) -> None:
        line = f"[noc-bench] {self.label}: {text} ({time.monotonic() - self.start:.0f} s)"
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")


async def set_ext_mode(dut, on: bool) -> None:
    await FallingEdge(dut.clk)
    dut.ext_mode.value = int(on)
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)


def fit_line(points):
    """Least-squares ``y = slope * x + intercept`` over (x, y) pairs."""
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")
    return slope, my - slope * mx


async def zero_load(dut, cfg) -> dict:
    """Header-only packets one at a time from a corner and the centre to every node."""
    noc = cfg.noc
    rng = seeded_rng(dut, "zero-load")
    ports = LocalPorts(dut, cfg, rng)
    sb = Scoreboard(cfg)
    nodes = ports.nodes
    sources = sorted({0, (noc.height // 2) * noc.width + noc.width // 2})
    samples = []
    for src in sources:
        for dst in range(nodes):
            n0 = len(ports.received)
            ports.send(src, 1, sb.make(src, 1, dst=sb.node_xy(dst), length=0, rng=rng))
            await ports.run(lambda: len(ports.received) == n0 + 1, limit=10_000)
            latency = ports.received[-1][2] - ports.inject_done[-1][2]
            samples.append((hops(noc, sb.node_xy(src), sb.node_xy(dst)), latency))
    sb.check(ports.received)
    slope, intercept = fit_line(samples)
    return {"cycles_per_hop": slope, "intercept": intercept,
            "max_hops": max(h for h, _ in samples),
            "latency_at_max_hops": max(l for h, l in samples if h == max(h for h, _ in samples)),
            "samples": len(samples)}


async def multicast_vs_unicast(dut, cfg) -> dict:
    """Broadcast from the host node: one multicast against unicast copies, idle network."""
    noc = cfg.noc
    fmt = NocFormat(noc)
    rng = seeded_rng(dut, "mc-bench")
    ports = LocalPorts(dut, cfg, rng)
    sb = Scoreboard(cfg)
    src = 0
    sxy = sb.node_xy(src)
    rect = (0, 0, noc.width - 1, noc.height - 1)
    length = fmt.max_multicast_length()
    targets = sorted(multicast_destinations(noc, sxy, rect, True))
    out = {"payload_bytes": length, "packet_flits": fmt.packet_flits(length), "source": list(sxy),
           "destinations": len(targets), "tree_links_model": len(multicast_links(noc, sxy, rect))}
    for mode in ("multicast", "unicast_copies"):
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
        await ports.run(lambda: len(ports.received) == n0 + len(targets), limit=50_000)
        latency = ports.received[-1][2] - t0
        await ClockCycles(dut.clk, 5)
        links = int(dut.link_flits.value) - before_links
        out[mode] = {"injections": injections, "injected_flits": injections * fmt.packet_flits(length),
                     "link_flits": links,
                     "link_traversals_per_flit": links / fmt.packet_flits(length),
                     "latency_to_last": latency}
    sb.check(ports.received)
    return out


#: Saturation rule (BookSim's): a load point is stable if at least this share
#: of the offered load is accepted, no packet is dropped at its source, and
#: the mean latency of the window's second half is at most
#: ``LATENCY_GROWTH`` times that of the first (+ 2 cycles for noise); past
#: saturation the source queues grow and so does the latency.
ACCEPTED_SHARE = 0.97
LATENCY_GROWTH = 1.25


def _not_growing(halves) -> bool:
    first, second = halves
    return second <= LATENCY_GROWTH * first + 2


def stable(point: dict, kind: str | None = None) -> bool:
    """BookSim's rule on a load point.  With multicasts (``kinds`` in the point) the
    load compared with the offered one is the injected load (a multicast is
    injected once and delivered several times), and the latency of every
    delivery kind (or of ``kind`` alone) must not grow."""
    if "kinds" not in point:
        return (point["accepted"] >= ACCEPTED_SHARE * point["offered"]
                and point["dropped_at_source"] == 0 and _not_growing(point["latency_halves"]))
    kinds = [kind] if kind else [k for k, v in point["kinds"].items() if v["packets"]]
    return (point["injected"] >= ACCEPTED_SHARE * point["offered"]
            and point["dropped_at_source"] == 0
            and all(_not_growing(point["kinds"][k]["latency_halves"]) for k in kinds))


async def load_point(traffic: HdlTraffic, nodes: int, *, rate, pattern, data_flits, warmup,
                     window, seed, mc_share=0, mc_sizes=None) -> dict:
    """One load point: fixed-length packets, no stalls or gaps, open-loop sources; steady-state window.

    With ``mc_share`` that share (/256) of the requests are multicasts; the
    point then also carries the injected load and, per delivery kind, the
    deliveries, ejected load and latency (and its halves).  Every copy is
    scoreboarded: the drain after the window requires as many deliveries as
    the senders counted (multicast copies included) and no checker error."""
    extra = {"mc_share": mc_share, "mc_sizes": mc_sizes} if mc_share else {}
    d = await traffic.measure(seed=seed, warmup=warmup, window=window, rate=rate, pattern=pattern,
                              len_max=data_flits, len_fixed=True, queue_limit=SOURCE_QUEUE, **extra)
    packets = d["recv_packets"]
    mixed = {}
    if mc_share:
        mixed["injected"] = d["sent_flits"] / (window * nodes)
        mixed["multicasts_sent"] = d["mc_sent"]
        mixed["kinds"] = {
            name: {"packets": d[f"kind_packets__{k}"],
                   "accepted": d[f"kind_flits__{k}"] / (window * nodes),
                   "latency": d[f"kind_lat_sum__{k}"] / max(1, d[f"kind_packets__{k}"]),
                   "latency_halves": [h[f"kind_lat_sum__{k}"] / max(1, h[f"kind_packets__{k}"])
                                      for h in d["halves"]]}
            for k, name in enumerate(KINDS)}
    return {**mixed,
        "accepted": d["recv_flits"] / (window * nodes),
        "latency": d["lat_sum"] / max(1, packets),
        "latency_halves": [h["lat_sum"] / max(1, h["recv_packets"]) for h in d["halves"]],
        "hops": d["hops_sum"] / max(1, packets),
        "packets": packets,
        "dropped_at_source": d["gen_dropped"],
    }


def saturation_point(points: list) -> dict | None:
    """The stable point of highest offered load (None if no point is stable)."""
    good = [p for p in points if p["stable"]]
    return max(good, key=lambda p: p["offered"]) if good else None


def per_kind(points: list, sat: dict | None) -> dict:
    """Per delivery kind: its own saturation (the highest offered load at which its latency
    is stable and the network accepts the injected load) and its latency there, at
    the network's saturation point and at the lowest load."""
    out = {}
    for kind in KINDS:
        good = [p for p in points if stable(p, kind)]
        own = max(good, key=lambda p: p["offered"]) if good else None
        low = min(points, key=lambda p: p["offered"])
        out[kind] = {
            "saturation_offered": own["offered"] if own else 0.0,
            "accepted_at_own_saturation": own["kinds"][kind]["accepted"] if own else 0.0,
            "latency_at_own_saturation": own["kinds"][kind]["latency"] if own else None,
            "latency_at_saturation": sat["kinds"][kind]["latency"] if sat else None,
            "accepted_at_saturation": sat["kinds"][kind]["accepted"] if sat else None,
            "latency_lowest_load": low["kinds"][kind]["latency"],
        }
    return out


@cocotb.test()
async def bench(dut):
    plan = json.loads(os.environ["NOC_BENCH_PLAN"])
    out_path = os.environ["NOC_BENCH_OUT"]
    progress = Progress(plan["label"])
    cfg = await setup(dut, ext_mode=1)
    noc = cfg.noc
    nodes = noc.width * noc.height
    fmt = NocFormat(noc)
    rng = seeded_rng(dut, "bench")
    data_flits = plan["data_flits"]
    len_flits = fmt.header_flits + data_flits
    results = {"config": plan["label"], "header_flits": fmt.header_flits,
               "packet_flits": len_flits, "curves": {}}
    start = time.monotonic()

    results["zero_load"] = zl = await zero_load(dut, cfg)
    progress(f"zero-load {zl['cycles_per_hop']:.2f} cycles/hop + {zl['intercept']:.2f}")
    if plan.get("multicast"):
        results["multicast"] = mc = await multicast_vs_unicast(dut, cfg)
        progress(f"broadcast: multicast {mc['multicast']['link_flits']} link flits, "
                 f"{mc['multicast']['latency_to_last']} cycles; unicast copies "
                 f"{mc['unicast_copies']['link_flits']} link flits, "
                 f"{mc['unicast_copies']['latency_to_last']} cycles")

    await set_ext_mode(dut, False)
    traffic = HdlTraffic(dut)
    for pattern in plan["patterns"]:
        p = PATTERNS.index(pattern)
        bound = plan["bounds"][pattern]
        points = []

        async def measure(frac):
            rate = min(65535, max(1, round(65536 * frac * bound / len_flits)))
            r = await load_point(traffic, nodes, rate=rate, pattern=p, data_flits=data_flits,
                                 warmup=plan["warmup"], window=plan["window"],
                                 seed=rng.getrandbits(16), mc_share=plan.get("mc_share", 0),
                                 mc_sizes=plan.get("mc_sizes"))
            r["fraction"] = frac     # nominal; the rate's rounding moves ``offered`` slightly
            r["offered"] = rate / 65536 * len_flits
            r["offered_fraction_of_bound"] = r["offered"] / bound
            r["stable"] = stable(r)
            points.append(r)
            progress(f"{pattern:9s} offered {r['offered']:.3f} ({r['offered_fraction_of_bound']:.0%} "
                     f"of bound) accepted {r['accepted']:.3f} ({r['accepted'] / bound:.0%}) "
                     f"latency {r['latency']:.1f} (halves {r['latency_halves'][0]:.1f} / "
                     f"{r['latency_halves'][1]:.1f}), dropped {r['dropped_at_source']}: "
                     f"{'stable' if r['stable'] else 'saturated'}"
                     + ("".join(f"; {k} latency {v['latency']:.1f}" for k, v in r["kinds"].items())
                        if "kinds" in r else ""))
            return r

        for frac in plan["fractions"]:
            await measure(frac)
        # Bisect between the highest stable point and the next one up.
        fractions = sorted(plan["fractions"])
        best = saturation_point(points)
        low = best["fraction"] if best else 0.0
        above = [f for f in fractions if f > low + 1e-9]
        if above:
            high = above[0]
            for _ in range(plan.get("refine", 0)):
                middle = (low + high) / 2
                if (await measure(middle))["stable"]:
                    low = middle
                else:
                    high = middle
        points.sort(key=lambda pt: pt["offered"])
        sat = saturation_point(points)
        peak = max(pt["accepted"] for pt in points)
        # The lowest unstable load above it: saturation lies in between.
        above_sat = [pt["offered"] for pt in points if not pt["stable"]
                     and pt["offered"] > (sat["offered"] if sat else 0.0)]
        results["curves"][pattern] = {
            "bound": bound, "points": points,
            # BookSim's rule: the highest stable offered load.
            "saturation": sat["accepted"] if sat else 0.0,
            "saturation_offered": sat["offered"] if sat else 0.0,
            "fraction_of_bound": (sat["accepted"] if sat else 0.0) / bound,
            "latency_at_saturation": sat["latency"] if sat else None,
            "first_unstable_offered": min(above_sat) if above_sat else None,
            # Highest accepted load of any point, overload included (the
            # figure of earlier versions): not a saturation throughput.
            "peak_accepted": peak,
            "dropped_at_source": sum(pt["dropped_at_source"] for pt in points),
        }
        if plan.get("mc_share"):
            # Mixed traffic: saturation is an injection load (each multicast
            # counted once); the ejected load, copies included, is given too.
            curve = results["curves"][pattern]
            curve["saturation"] = sat["injected"] if sat else 0.0
            curve["fraction_of_bound"] = curve["saturation"] / bound
            curve["saturation_ejected"] = sat["accepted"] if sat else 0.0
            curve["kinds"] = per_kind(points, sat)
        # Written after every pattern, so a run stopped early keeps what it measured.
        results["sim_seconds"] = time.monotonic() - start
        results["complete"] = pattern == plan["patterns"][-1]
        with open(out_path, "w") as f:
            json.dump(results, f, indent=1)
    results["sim_seconds"] = time.monotonic() - start
    results["complete"] = True
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
