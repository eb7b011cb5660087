"""cocotb tests of the NoC on the ``noc_testbench`` block (network + HDL traffic).

Two kinds of test share one Verilator model per configuration:

* HDL traffic (``ext_mode = 0``): per-node generators and checkers in the
  design carry the volume; Python programs them, waits in large chunks, runs a
  watchdog (progress and drain) and checks the counters.
* Python scoreboard (``ext_mode = 1``): the test drives every local port
  itself and checks each packet exactly: right node(s), intact, exactly once,
  per-flow order; unicast between all pairs, multicast rectangles, bad
  destinations, zero-load latency.

Environment knobs (set by the pytest wrapper): ``NOC_PACKETS`` minimum number
of HDL-checked packets.
"""

from __future__ import annotations

import os

import cocotb
from cocotb.triggers import ClockCycles

from tessera.hw.noc.layout import Command, NocFormat
from tessera.sim.cocotb_util import seeded_rng
from tessera.sim.noc.model import hops, multicast_links
from tessera.sim.noc.traffic import HdlTraffic, LocalPorts, Scoreboard, rectangles, setup

__all__ = ["Scoreboard", "rectangles"]  # also used by the Amaranth-simulator tests


# ---------------------------------------------------------------------------
# HDL traffic
# ---------------------------------------------------------------------------

@cocotb.test()
async def hdl_random_traffic(dut):
    """Random traffic, stalls and injection timing on every node, checked in HDL; >= NOC_PACKETS."""
    cfg = await setup(dut, ext_mode=0)
    rng = seeded_rng(dut, "hdl-traffic")
    target = int(os.environ.get("NOC_PACKETS", "20000"))
    nodes = cfg.noc.width * cfg.noc.height
    traffic = HdlTraffic(dut)
    total = 0
    phase = 0
    max_len = min(cfg.noc.max_payload_flits, 8)
    while total < target:
        pattern = phase % 4
        heavy = phase % 3 == 0
        seed = rng.getrandbits(16)
        controls = dict(pattern=pattern, rate=40000 if heavy else rng.choice([1500, 4000, 9000, 20000]),
                        len_max=rng.randint(0, max_len), len_fixed=rng.random() < 0.3,
                        stall=rng.choice([0, 30, 128, 200]), gap=rng.choice([0, 20, 100]))
        # The age watchdog: 6000 cycles, or 40000 in overload phases.  Far
        # past saturation (``heavy`` offers ~0.6 packets/cycle/node) every
        # source queue stays full and locally fair round-robin arbiters give
        # a far source only a small share of a congested node (the parking
        # lot effect), so packet age there measures the overload, not a
        # fault; the bound still catches a packet that is never served.
        d = await traffic.phase(seed=seed, cycles=rng.choice([3000, 6000]),
                                lat_bound=40000 if heavy else 6000, drain_limit=60000, **controls)
        assert d["recv_packets"] == d["sent_packets"] > 0, (seed, controls, d)
        assert d["bad_packets"] == 0, (seed, controls, d)
        dut._log.info("phase %d seed %d %s: %d packets, %d flits, mean latency %.1f, max %d",
                      phase, seed, controls, d["recv_packets"], d["recv_flits"],
                      d["lat_sum"] / max(1, d["recv_packets"]), d["lat_max"])
        total += d["recv_packets"]
        phase += 1
    dut._log.info("HDL-checked packets: %d over %d phases on %d nodes", total, phase, nodes)


# ---------------------------------------------------------------------------
# Python scoreboard on the local ports
# ---------------------------------------------------------------------------

async def scoreboard_setup(dut, rng_name: str, **port_options):
    """Reset with the local ports driven from Python; returns (config, the test's seeded
    random generator, the local ports with ``port_options``, an empty scoreboard)."""
    cfg = await setup(dut, ext_mode=1)
    rng = seeded_rng(dut, rng_name)
    return cfg, rng, LocalPorts(dut, cfg, rng, **port_options), Scoreboard(cfg)


@cocotb.test()
async def unicast_all_pairs(dut):
    """Every source to every destination on both classes, random stalls and injection gaps."""
    cfg, rng, ports, sb = await scoreboard_setup(dut, "all-pairs", idle_prob=0.3, stall_prob=0.4)
    nodes = ports.nodes
    for src in range(nodes):
        for d in range(nodes):
            for cls in range(cfg.noc.num_classes):
                ports.send(src, cls, sb.make(src, cls, dst=sb.node_xy(d), rng=rng,
                                             length=rng.choice([0, 1, 9, 40])))
    total = len(sb.expected)
    await ports.run(lambda: len(ports.received) == total and ports.pending() == 0)
    sb.check(ports.received)
    dut._log.info("all pairs: %d packets checked", total)


@cocotb.test()
async def multicast_rectangles(dut):
    """Rectangles (wrapping on a torus), with and without the sender, mixed with unicast."""
    cfg, rng, ports, sb = await scoreboard_setup(dut, "multicast", idle_prob=0.2, stall_prob=0.3)
    nodes = ports.nodes
    wrapped = 0
    for rect in rectangles(cfg, rng, 60):
        wrapped += rect[0] > rect[2] or rect[1] > rect[3]
        for _ in range(2):
            src = rng.randrange(nodes)   # multicasts are requests: class 0 only
            ports.send(src, 0, sb.make(src, 0, rect=rect, exclude_self=rng.random() < 0.5, rng=rng))
            # Unicast traffic of both classes in between, sharing the links.
            s2, cls = rng.randrange(nodes), rng.randrange(cfg.noc.num_classes)
            ports.send(s2, cls, sb.make(s2, cls, dst=sb.node_xy(rng.randrange(nodes)), rng=rng))
    total = len(sb.expected)
    deliveries = sum(len(v) for v in sb.expected.values())
    await ports.run(lambda: len(ports.received) == deliveries and ports.pending() == 0)
    sb.check(ports.received)
    assert int(dut.bad_packets.value) == 0
    dut._log.info("multicast: %d packets (%d wrapping rectangles), %d deliveries checked",
                  total, wrapped, deliveries)


@cocotb.test()
async def multicast_tree_link_count(dut):
    """A broadcast crosses each tree link once: link traversals match the XY-tree model."""
    cfg, rng, ports, sb = await scoreboard_setup(dut, "mc-links")
    noc = cfg.noc
    for src in (0, ports.nodes - 1, ports.nodes // 2):
        rect = (0, 0, noc.width - 1, noc.height - 1)
        pk = sb.make(src, 0, rect=rect, exclude_self=True, length=0, rng=rng)
        before = int(dut.link_flits.value)
        want = len(ports.received) + len(sb.expected[sb.next_uid - 1])
        ports.send(src, 0, pk)
        await ports.run(lambda: len(ports.received) == want)
        await ClockCycles(dut.clk, 5)
        used = int(dut.link_flits.value) - before
        model = len(multicast_links(noc, sb.node_xy(src), rect)) * sb.fmt.packet_flits(0)
        assert used == model, f"broadcast from {src}: {used} link flits, model {model}"
    sb.check(ports.received)


@cocotb.test()
async def zero_load_latency(dut):
    """Idle network: a one-flit packet takes hops + 2 cycles (one per hop, one in, one out)."""
    cfg, rng, ports, sb = await scoreboard_setup(dut, "latency")
    for src in range(ports.nodes):
        for dst in range(ports.nodes):
            pk = sb.make(src, 1, dst=sb.node_xy(dst), length=0, rng=rng)
            n0 = len(ports.received)
            ports.send(src, 1, pk)
            await ports.run(lambda: len(ports.received) == n0 + 1)
            sent = ports.inject_done[-1][2]
            got = ports.received[-1][2]
            h = hops(cfg.noc, sb.node_xy(src), sb.node_xy(dst))
            assert got - sent == h + 2, f"{src}->{dst}: {got - sent} cycles for {h} hops"
    sb.check(ports.received)


@cocotb.test()
async def bad_packets_are_refused(dut):
    """Destinations off the grid, malformed multicasts, multicasts on the response class, wrong
    source/class/length: each is consumed and counted, the good packet behind it delivered."""
    cfg, rng, ports, sb = await scoreboard_setup(dut, "bad", stall_prob=0.2)
    noc = cfg.noc
    fmt = NocFormat(noc)
    bad = []
    if (1 << noc.x_bits) > noc.width:
        bad.append(dict(dst_x=noc.width, dst_y=0))
    if (1 << noc.y_bits) > noc.height:
        bad.append(dict(dst_x=0, dst_y=noc.height))
    if noc.topology == "mesh" and noc.width > 1:
        bad.append(dict(mcast=1, dst_x=1, dst_x1=0, dst_y=0, dst_y1=0))      # x0 > x1 on a mesh
    bad.append(dict(mcast=1, dst_x=0, dst_x1=0, dst_y=0, dst_y1=0,
                    length=fmt.max_multicast_length() + 1))                     # longer than a buffer
    bad.append(dict(dst_x=0, dst_y=0, src_x=(1 if noc.width > 1 else 0),
                    src_y=(0 if noc.width > 1 else 1)))                          # wrong source
    bad.append(dict(dst_x=0, dst_y=0, length=noc.max_payload_bytes + 1))        # too long
    broadcast = dict(mcast=1, dst_x=0, dst_y=0, dst_x1=noc.width - 1, dst_y1=noc.height - 1)
    bad.append(dict(broadcast, cls=1, cmd=Command.READ_RESP, length=0))         # multicast response
    bad.append(dict(broadcast, cls=1, cmd=Command.READ_RESP, exclude_self=1))   # ... with data
    bad.append(dict(dst_x=0, dst_y=0, cls=0, inject_cls=1))                     # class 0 on stream 1
    bad.append(dict(dst_x=0, dst_y=0, cls=1, inject_cls=0))                     # class 1 on stream 0
    before = int(dut.bad_packets.value)
    for i, fields in enumerate(bad):
        length = fields.pop("length", 8)
        header = dict(cls=0, src_x=0, src_y=0, addr=0xBAD0 + i, cmd=Command.WRITE_POSTED)
        header.update(fields)
        stream = header.pop("inject_cls", header["cls"])
        payload = bytes(rng.getrandbits(8) for _ in range(min(length, noc.max_payload_bytes)))
        flits = fmt.packet(payload, **{**header, "length": length})
        ports.send(0, stream, flits)
        # A good packet right behind it on the same stream must still be delivered.
        ports.send(0, stream, sb.make(0, stream, dst=sb.node_xy(ports.nodes - 1), rng=rng, length=16))
    good = len(sb.expected)
    await ports.run(lambda: len(ports.received) == good and ports.pending() == 0, limit=20000)
    await ClockCycles(dut.clk, 10)
    sb.check(ports.received)
    refused = int(dut.bad_packets.value) - before
    assert refused == len(bad), f"{refused} packets refused, expected {len(bad)}"
    dut._log.info("%d bad packets refused and counted; %d good packets behind them delivered",
                  len(bad), good)


@cocotb.test()
async def lying_lengths_are_cut(dut):
    """Packets longer or shorter than their headers say (unicast of both classes, multicast)
    among well-formed ones: each lying packet is cut or padded to its declared length and
    counted, every packet delivered as the scoreboard expects, nothing hangs."""
    cfg, rng, ports, sb = await scoreboard_setup(dut, "lying", idle_prob=0.2, stall_prob=0.3)
    noc = cfg.noc
    fmt = NocFormat(noc)
    nodes = ports.nodes
    rects = rectangles(cfg, rng, 8)
    before = int(dut.bad_packets.value)
    lies = 0
    for _ in range(200):
        src = rng.randrange(nodes)
        if rng.random() < 0.3:
            cls, dest = 0, dict(rect=rng.choice(rects), exclude_self=rng.random() < 0.5,
                                length=rng.randint(0, fmt.max_multicast_length()))
        else:
            cls = rng.randrange(noc.num_classes)
            dest = dict(dst=sb.node_xy(rng.randrange(nodes)), length=rng.choice([0, 5, 8, 40]))
        if rng.random() < 0.35:
            declared = fmt.data_flits(dest["length"])
            carried = rng.choice([c for c in range(noc.max_payload_flits + 4) if c != declared])
            ports.send(src, cls, sb.make_lying(src, cls, carried=carried, rng=rng, **dest))
            lies += 1
        else:
            ports.send(src, cls, sb.make(src, cls, rng=rng, **dest))
    deliveries = sum(len(v) for v in sb.expected.values())
    await ports.run(lambda: len(ports.received) == deliveries and ports.pending() == 0, limit=100_000)
    await ClockCycles(dut.clk, 10)
    sb.check(ports.received)
    reported = int(dut.bad_packets.value) - before
    assert reported == lies, f"{reported} packets reported, {lies} lied"
    dut._log.info("%d packets, %d lying, %d deliveries checked", len(sb.expected), lies, deliveries)
