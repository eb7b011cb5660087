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
import random

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from hw.noc.layout import Command, NocFormat
from hw.noc.testbench import ERROR_BITS
from sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from sim.noc.model import hops, multicast_destinations

CHUNK = 2000


# ---------------------------------------------------------------------------
# HDL traffic
# ---------------------------------------------------------------------------

async def setup(dut, ext_mode: int):
    start_clock(dut)
    dut.enable.value = 0
    dut.ext_mode.value = ext_mode
    dut.seed_load.value = 0
    dut.rate.value = 0
    dut.stall.value = 0
    dut.gap.value = 0
    dut.pattern.value = 0
    dut.len_max.value = 0
    dut.len_fixed.value = 0
    dut.lat_bound.value = 0xFFFF
    cfg = load_config()
    nodes = cfg.noc.width * cfg.noc.height
    for n in range(nodes):
        for c in range(cfg.noc.num_classes):
            getattr(dut, f"ext_inject__{n}__{c}__valid").value = 0
            getattr(dut, f"ext_eject__{n}__{c}__ready").value = 0
    await reset(dut)
    return cfg


def counters(dut) -> dict:
    names = ("sent_packets", "sent_flits", "recv_packets", "recv_flits", "lat_sum", "lat_max",
             "hops_sum", "gen_dropped", "errors", "err_count", "err_node", "bad_packets",
             "link_flits", "busy_nodes")
    return {n: int(getattr(dut, n).value) for n in names}


def describe_errors(c: dict) -> str:
    bits = [name for b, name in enumerate(ERROR_BITS) if c["errors"] >> b & 1]
    return f"errors {bits} count {c['err_count']} first at checker {c['err_node']} (node*2+class)"


async def run_phase(dut, *, seed, rate, pattern=0, len_max=4, len_fixed=0, stall=0, gap=0,
                    cycles=20000, lat_bound=4000, drain_limit=20000, log=True) -> dict:
    """Run generators for ``cycles``, then drain; watchdog on progress; returns counter deltas."""
    await FallingEdge(dut.clk)
    dut.seed.value = seed & 0xFFFF
    dut.seed_load.value = 1
    dut.rate.value = rate
    dut.pattern.value = pattern
    dut.len_max.value = len_max
    dut.len_fixed.value = len_fixed
    dut.stall.value = stall
    dut.gap.value = gap
    dut.lat_bound.value = lat_bound
    await FallingEdge(dut.clk)
    dut.seed_load.value = 0
    await ReadOnly()
    before = counters(dut)
    await FallingEdge(dut.clk)
    dut.enable.value = 1
    elapsed = 0
    last_recv = before["recv_packets"]
    while elapsed < cycles:
        step = min(CHUNK, cycles - elapsed)
        await ClockCycles(dut.clk, step)
        elapsed += step
        await ReadOnly()
        c = counters(dut)
        assert c["err_count"] == 0, describe_errors(c)
        outstanding = c["sent_packets"] - c["recv_packets"]
        assert c["recv_packets"] > last_recv or outstanding == 0 and c["busy_nodes"] == 0, \
            f"watchdog: no packet delivered in {step} cycles with {outstanding} outstanding (seed {seed})"
        last_recv = c["recv_packets"]
        await FallingEdge(dut.clk)
    dut.enable.value = 0
    # Drain: every generated packet must arrive.
    waited = 0
    while True:
        await ClockCycles(dut.clk, 200)
        waited += 200
        await ReadOnly()
        c = counters(dut)
        if c["busy_nodes"] == 0 and c["sent_packets"] == c["recv_packets"]:
            break
        assert waited < drain_limit, (
            f"watchdog: network did not drain in {drain_limit} cycles: sent {c['sent_packets']} "
            f"received {c['recv_packets']} busy nodes {c['busy_nodes']} (seed {seed})")
    await FallingEdge(dut.clk)
    c = counters(dut)
    assert c["err_count"] == 0 and c["errors"] == 0, describe_errors(c)
    delta = {k: c[k] - before[k] for k in c if k not in ("lat_max", "errors", "err_node", "busy_nodes")}
    delta["lat_max"] = c["lat_max"]
    delta["cycles"] = cycles
    if log:
        dut._log.info("seed %d pattern %d rate %d len %d%s stall %d gap %d: %d packets, %d flits, "
                      "mean latency %.1f", seed, pattern, rate, len_max, " fixed" if len_fixed else "",
                      stall, gap, delta["recv_packets"], delta["recv_flits"],
                      delta["lat_sum"] / max(1, delta["recv_packets"]))
    return delta


@cocotb.test()
async def hdl_random_traffic(dut):
    """Random traffic, stalls and injection timing on every node, checked in HDL; >= NOC_PACKETS."""
    cfg = await setup(dut, ext_mode=0)
    rng = seeded_rng(dut, "hdl-traffic")
    target = int(os.environ.get("NOC_PACKETS", "20000"))
    nodes = cfg.noc.width * cfg.noc.height
    total = 0
    phase = 0
    max_len = min(cfg.noc.max_payload_flits, 8)
    while total < target:
        pattern = phase % 4
        heavy = phase % 3 == 0
        d = await run_phase(
            dut, seed=rng.getrandbits(16), pattern=pattern,
            rate=rng.choice([1500, 4000, 9000, 20000]) if not heavy else 40000,
            len_max=rng.randint(0, max_len), len_fixed=rng.random() < 0.3,
            stall=rng.choice([0, 30, 128, 200]), gap=rng.choice([0, 20, 100]),
            cycles=rng.choice([3000, 6000]), lat_bound=6000, drain_limit=30000)
        assert d["recv_packets"] == d["sent_packets"] > 0
        assert d["bad_packets"] == 0
        total += d["recv_packets"]
        phase += 1
    dut._log.info("HDL-checked packets: %d over %d phases on %d nodes", total, phase, nodes)


# ---------------------------------------------------------------------------
# Python scoreboard on the local ports
# ---------------------------------------------------------------------------

class LocalPorts:
    """Drives every injection stream and watches every ejection stream, one loop for all."""

    def __init__(self, dut, cfg, rng, idle_prob=0.0, stall_prob=0.0):
        self.dut, self.cfg, self.rng = dut, cfg, rng
        self.noc = cfg.noc
        self.fmt = NocFormat(cfg.noc)
        self.nodes = cfg.noc.width * cfg.noc.height
        C = cfg.noc.num_classes
        self.keys = [(n, c) for n in range(self.nodes) for c in range(C)]
        self.inj = {k: (getattr(dut, f"ext_inject__{k[0]}__{k[1]}__valid"),
                        getattr(dut, f"ext_inject__{k[0]}__{k[1]}__ready"),
                        getattr(dut, f"ext_inject__{k[0]}__{k[1]}__payload")) for k in self.keys}
        self.ej = {k: (getattr(dut, f"ext_eject__{k[0]}__{k[1]}__valid"),
                       getattr(dut, f"ext_eject__{k[0]}__{k[1]}__ready"),
                       getattr(dut, f"ext_eject__{k[0]}__{k[1]}__payload")) for k in self.keys}
        self.queues = {k: [] for k in self.keys}      # flits waiting to inject
        self.partial = {k: [] for k in self.keys}     # flits of the packet being ejected
        self.received = []                            # (node, class, cycle, flits)
        self.inject_done = []                         # (node, class, cycle) of each tail sent
        self.idle_prob, self.stall_prob = idle_prob, stall_prob
        self.cycle = 0

    def send(self, node, cls, flits):
        self.queues[(node, cls)].extend(flits)

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())

    @staticmethod
    def word(flit):
        data, head, tail = flit
        return data | head << len_data_bits[0] | tail << (len_data_bits[0] + 1)

    async def run(self, until, limit=200000):
        """Clock until ``until()`` is true; fails after ``limit`` cycles (watchdog)."""
        fw = self.noc.flit_width
        start = self.cycle
        while not until():
            assert self.cycle - start < limit, f"watchdog: no completion in {limit} cycles"
            await FallingEdge(self.dut.clk)
            offered = {}
            for k in self.keys:
                valid, _, payload = self.inj[k]
                q = self.queues[k]
                if q and not (self.idle_prob and self.rng.random() < self.idle_prob):
                    data, head, tail = q[0]
                    payload.value = data | head << fw | tail << (fw + 1)
                    valid.value = 1
                    offered[k] = True
                else:
                    valid.value = 0
                r = 0 if (self.stall_prob and self.rng.random() < self.stall_prob) else 1
                self.ej[k][1].value = r
            await ReadOnly()
            for k in offered:
                if int(self.inj[k][1].value):
                    flit = self.queues[k].pop(0)
                    if flit[2]:
                        self.inject_done.append((k[0], k[1], self.cycle))
            for k in self.keys:
                valid, ready, payload = self.ej[k]
                if int(valid.value) and int(ready.value):
                    word = int(payload.value)
                    data, tail = word & ((1 << fw) - 1), word >> (fw + 1) & 1
                    self.partial[k].append(data)
                    if tail:
                        self.received.append((k[0], k[1], self.cycle, self.partial[k]))
                        self.partial[k] = []
            self.cycle += 1
        await FallingEdge(self.dut.clk)
        for k in self.keys:
            self.inj[k][0].value = 0
            self.ej[k][1].value = 0


len_data_bits = [0]


class Scoreboard:
    """Expected deliveries of every packet; checks exactly-once, integrity, per-flow order."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.noc = cfg.noc
        self.fmt = NocFormat(cfg.noc)
        self.expected = {}    # uid -> set of nodes still to receive
        self.payloads = {}
        self.flow_order = {}  # (src, dst, cls) -> list of uids in send order
        self.next_uid = 1

    def node_xy(self, n):
        return n % self.noc.width, n // self.noc.width

    def make(self, src, cls, *, dst=None, rect=None, exclude_self=False, length=None, rng=None):
        uid = self.next_uid
        self.next_uid += 1
        sx, sy = self.node_xy(src)
        maxlen = self.noc.max_payload_bytes if rect is None else self.fmt.max_multicast_length()
        if length is None:
            length = rng.randint(0, maxlen)
        payload = bytes(rng.getrandbits(8) for _ in range(length))
        header = dict(cls=cls, src_x=sx, src_y=sy, addr=uid, txn=uid & 0xF,
                      cmd=Command.WRITE_POSTED if cls == 0 else Command.READ_RESP)
        if rect is None:
            header.update(dst_x=dst[0], dst_y=dst[1])
            targets = {tuple(dst)}
        else:
            header.update(mcast=1, exclude_self=int(exclude_self), dst_x=rect[0], dst_y=rect[1],
                          dst_x1=rect[2], dst_y1=rect[3])
            targets = multicast_destinations(self.noc, (sx, sy), rect, exclude_self)
        self.expected[uid] = set(targets)
        self.payloads[uid] = payload
        for t in targets:
            self.flow_order.setdefault(self.flow_key(header, t), []).append(uid)
        return self.fmt.packet(payload, **header)

    @staticmethod
    def flow_key(header, dst):
        """Ordering holds per (source, destination, class) among unicasts, and among
        multicasts to the same rectangle (a torus may route the two kinds differently)."""
        kind = ((header.get("dst_x", 0), header.get("dst_y", 0), header.get("dst_x1", 0),
                 header.get("dst_y1", 0)) if header.get("mcast") else "unicast")
        return ((header["src_x"], header["src_y"]), tuple(dst), header["cls"], kind)

    def check(self, received):
        seen_order = {}
        for node, cls, cycle, flits in received:
            where = self.node_xy(node)
            header, payload = self.fmt.parse(flits)
            uid = header["addr"]
            assert uid in self.expected, f"unknown packet {header} at {where}"
            assert where in self.expected[uid], \
                f"packet {uid} {header} delivered to {where}: not a destination or a duplicate"
            self.expected[uid].discard(where)
            assert header["cls"] == cls, f"packet {uid} of class {header['cls']} ejected as {cls}"
            assert payload == self.payloads[uid], f"packet {uid} payload corrupted at {where}"
            assert len(flits) == self.fmt.packet_flits(header["length"]), \
                f"packet {uid}: {len(flits)} flits for length {header['length']}"
            seen_order.setdefault(self.flow_key(header, where), []).append(uid)
        missing = {uid: nodes for uid, nodes in self.expected.items() if nodes}
        assert not missing, f"{len(missing)} packets not delivered everywhere: {list(missing.items())[:5]}"
        for key, uids in seen_order.items():
            assert uids == self.flow_order[key], f"flow {key} out of order: {uids[:10]}..."


async def ext_setup(dut):
    cfg = await setup(dut, ext_mode=1)
    len_data_bits[0] = cfg.noc.flit_width
    return cfg


@cocotb.test()
async def unicast_all_pairs(dut):
    """Every source to every destination on both classes, random stalls and injection gaps."""
    cfg = await ext_setup(dut)
    rng = seeded_rng(dut, "all-pairs")
    ports = LocalPorts(dut, cfg, rng, idle_prob=0.3, stall_prob=0.4)
    sb = Scoreboard(cfg)
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


def rectangles(cfg, rng, count):
    noc = cfg.noc
    torus = noc.topology == "torus"
    out = [(0, 0, noc.width - 1, noc.height - 1)]  # broadcast
    while len(out) < count:
        x0, x1 = rng.randrange(noc.width), rng.randrange(noc.width)
        y0, y1 = rng.randrange(noc.height), rng.randrange(noc.height)
        if not torus:
            x0, x1 = sorted((x0, x1))
            y0, y1 = sorted((y0, y1))
        out.append((x0, y0, x1, y1))
    return out


@cocotb.test()
async def multicast_rectangles(dut):
    """Rectangles (wrapping on a torus), with and without the sender, mixed with unicast."""
    cfg = await ext_setup(dut)
    rng = seeded_rng(dut, "multicast")
    ports = LocalPorts(dut, cfg, rng, idle_prob=0.2, stall_prob=0.3)
    sb = Scoreboard(cfg)
    nodes = ports.nodes
    wrapped = 0
    for rect in rectangles(cfg, rng, 60):
        wrapped += rect[0] > rect[2] or rect[1] > rect[3]
        for _ in range(2):
            src = rng.randrange(nodes)
            cls = rng.randrange(cfg.noc.num_classes)
            ports.send(src, cls, sb.make(src, cls, rect=rect, exclude_self=rng.random() < 0.5, rng=rng))
            # Unicast traffic in between, sharing the links.
            s2 = rng.randrange(nodes)
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
    from sim.noc.model import multicast_links
    cfg = await ext_setup(dut)
    rng = seeded_rng(dut, "mc-links")
    ports = LocalPorts(dut, cfg, rng)
    sb = Scoreboard(cfg)
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
    cfg = await ext_setup(dut)
    rng = seeded_rng(dut, "latency")
    ports = LocalPorts(dut, cfg, rng)
    sb = Scoreboard(cfg)
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
    """Destinations off the grid and malformed multicasts are consumed and counted; no hang."""
    cfg = await ext_setup(dut)
    noc = cfg.noc
    rng = seeded_rng(dut, "bad")
    ports = LocalPorts(dut, cfg, rng, stall_prob=0.2)
    sb = Scoreboard(cfg)
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
    before = int(dut.bad_packets.value)
    for i, fields in enumerate(bad):
        length = fields.pop("length", 8)
        header = dict(cls=0, src_x=0, src_y=0, addr=0xBAD0 + i, cmd=Command.WRITE_POSTED)
        header.update(fields)
        payload = bytes(rng.getrandbits(8) for _ in range(min(length, noc.max_payload_bytes)))
        flits = fmt.packet(payload, **{**header, "length": length})
        ports.send(0, 0, flits)
        # A good packet right behind it must still be delivered.
        ports.send(0, 0, sb.make(0, 0, dst=sb.node_xy(ports.nodes - 1), rng=rng, length=16))
    good = len(sb.expected)
    await ports.run(lambda: len(ports.received) == good and ports.pending() == 0, limit=20000)
    await ClockCycles(dut.clk, 10)
    sb.check(ports.received)
    refused = int(dut.bad_packets.value) - before
    assert refused == len(bad), f"{refused} packets refused, expected {len(bad)}"
    dut._log.info("%d bad packets refused and counted; %d good packets behind them delivered",
                  len(bad), good)
