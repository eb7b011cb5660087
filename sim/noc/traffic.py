"""cocotb helpers for the ``noc_testbench`` block, shared by the tests and the benchmark.

Two ways to drive the network, one Verilator model:

* :class:`HdlTraffic` programs the HDL generators and checkers
  (``ext_mode = 0``): it loads a seed and the traffic controls, runs the
  generators for a number of cycles in large chunks (a progress watchdog
  between chunks), drains the network, reads the counters and fails on any
  checker error.  The tests (:mod:`tb.noc.cocotb_noc`) use it for volume, the
  benchmark (:mod:`sim.noc.cocotb_bench`) for load sweeps.
* :class:`LocalPorts` + :class:`Scoreboard` drive every local port from
  Python (``ext_mode = 1``) and check each delivery exactly.  One coroutine
  serves all ``2 * nodes`` injection and ejection streams per cycle: much
  cheaper than one :class:`sim.cocotb_util.StreamDriver` /
  :class:`~sim.cocotb_util.StreamMonitor` per stream on a 16- or 64-node
  network, and it records the cycle of every injection and delivery for the
  latency checks.
"""

from __future__ import annotations

from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from tessera.hw.noc.layout import Command, NocFormat
from tessera.hw.noc.testbench import ERROR_BITS, KINDS, MC_SIZES, SOURCE_QUEUE
from tessera.sim.cocotb_util import load_config, reset, start_clock
from tessera.sim.noc.model import multicast_destinations

__all__ = ["COUNTERS", "setup", "counters", "describe_errors", "HdlTraffic", "LocalPorts",
           "Scoreboard", "rectangles"]

#: Counter outputs of ``noc_testbench`` (cumulative since reset).
COUNTERS = ("sent_packets", "sent_flits", "recv_packets", "recv_flits", "lat_sum", "lat_max",
            "hops_sum", "gen_dropped", "errors", "err_count", "err_node", "bad_packets",
            "link_flits", "busy_nodes", "expected_deliveries", "mc_sent") + tuple(
    f"kind_{what}__{k}" for k in range(len(KINDS)) for what in ("packets", "flits", "lat_sum"))
#: Counters that are levels or sticky values, not sums (no meaningful delta).
_LEVELS = ("lat_max", "errors", "err_node", "busy_nodes")

#: Source-queue entries the tests use: past saturation the sources are
#: throttled (closed loop).  The benchmark uses the whole queue (open loop).
TEST_QUEUE_LIMIT = 16

#: Traffic controls and their idle values.
_CONTROLS = {"enable": 0, "seed_load": 0, "rate": 0, "stall": 0, "gap": 0, "pattern": 0,
             "len_max": 0, "len_fixed": 0, "lat_bound": 0xFFFF, "queue_limit": TEST_QUEUE_LIMIT,
             "mc_share": 0, **{f"mc_{d}__{i}": 2 for d in "wh" for i in range(MC_SIZES)}}
#: Default multicast rectangle sizes (columns, rows): one per entry of the size table.
MC_RECTANGLES = ((2, 1), (1, 2), (2, 2), (4, 4))


def check_mc_sizes(sizes, noc=None) -> tuple:
    """``sizes`` as a tuple of ``MC_SIZES`` (columns, rows) pairs (fewer are repeated
    cyclically); each must cover at least two nodes so every multicast has a destination."""
    sizes = tuple(tuple(int(v) for v in s) for s in sizes)
    if not sizes or len(sizes) > MC_SIZES or any(len(s) != 2 for s in sizes):
        raise ValueError(f"multicast sizes must be 1..{MC_SIZES} (columns, rows) pairs, got {sizes!r}")
    for w, h in sizes:
        cols, rows = (noc.width, noc.height) if noc is not None else (255, 255)
        if not (1 <= w <= 255 and 1 <= h <= 255) or min(w, cols) * min(h, rows) < 2:
            raise ValueError(f"multicast rectangle {w}x{h} must cover at least two nodes"
                             + (f" of the {cols}x{rows} grid" if noc is not None else ""))
    return tuple(sizes[i % len(sizes)] for i in range(MC_SIZES))


def _stream(dut, kind: str, node: int, cls: int, field: str):
    return getattr(dut, f"{kind}__{node}__{cls}__{field}")


async def setup(dut, ext_mode: int):
    """Start the clock, idle every control and local port, reset; returns the configuration."""
    start_clock(dut)
    cfg = load_config()
    for name, value in _CONTROLS.items():
        getattr(dut, name).value = value
    dut.ext_mode.value = ext_mode
    for n in range(cfg.noc.width * cfg.noc.height):
        for c in range(cfg.noc.num_classes):
            _stream(dut, "ext_inject", n, c, "valid").value = 0
            _stream(dut, "ext_eject", n, c, "ready").value = 0
    await reset(dut)
    return cfg


def counters(dut) -> dict:
    return {n: int(getattr(dut, n).value) for n in COUNTERS}


def describe_errors(c: dict) -> str:
    bits = [name for b, name in enumerate(ERROR_BITS) if c["errors"] >> b & 1]
    return (f"checker errors {bits}, count {c['err_count']}, first at checker {c['err_node']} "
            f"(node * 2 + class)")


class HdlTraffic:
    """Programs the HDL generators/checkers and runs phases of traffic on them.

    Call after ``await setup(dut, ext_mode=0)``.  Every method fails with the
    seed in the message on a checker error, a stall (no delivery during a
    chunk while packets are outstanding) or a network that does not drain.
    """

    def __init__(self, dut, chunk: int = 2000):
        self.dut = dut
        self.chunk = chunk

    async def program(self, *, seed: int, rate: int, pattern: int = 0, len_max: int = 4,
                      len_fixed: bool = False, stall: int = 0, gap: int = 0,
                      lat_bound: int = 0xFFFF, queue_limit: int = TEST_QUEUE_LIMIT,
                      mc_share: int = 0, mc_sizes=MC_RECTANGLES) -> None:
        """Load the generator seed and the traffic controls (generators stay disabled).

        ``mc_share``/256 of the request packets are multicasts to rectangles of
        ``mc_sizes`` (see :func:`check_mc_sizes`)."""
        for name, value, width in (("rate", rate, 16), ("pattern", pattern, 2),
                                   ("len_max", len_max, 8), ("stall", stall, 8), ("gap", gap, 8),
                                   ("lat_bound", lat_bound, 16), ("mc_share", mc_share, 8)):
            if not 0 <= int(value) < 1 << width:
                raise ValueError(f"noc_testbench {name} must fit in {width} bits, got {value!r}")
        if not 1 <= int(queue_limit) <= SOURCE_QUEUE:
            raise ValueError(f"noc_testbench queue_limit must be in 1..{SOURCE_QUEUE}, "
                             f"got {queue_limit!r}")
        sizes = check_mc_sizes(mc_sizes)
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.mc_share.value = mc_share
        for i, (w, h) in enumerate(sizes):
            getattr(dut, f"mc_w__{i}").value = w
            getattr(dut, f"mc_h__{i}").value = h
        dut.seed.value = seed & 0xFFFF
        dut.seed_load.value = 1
        dut.rate.value = rate
        dut.pattern.value = pattern
        dut.len_max.value = len_max
        dut.len_fixed.value = int(bool(len_fixed))
        dut.stall.value = stall
        dut.gap.value = gap
        dut.lat_bound.value = lat_bound
        dut.queue_limit.value = queue_limit
        await FallingEdge(dut.clk)
        dut.seed_load.value = 0

    async def sample(self) -> dict:
        """Counters read in the read-only phase; returns at the next falling edge."""
        await ReadOnly()
        c = counters(self.dut)
        await FallingEdge(self.dut.clk)
        return c

    async def run(self, cycles: int, *, seed: int, watchdog: bool = True) -> dict:
        """Generators on for ``cycles`` (chunked; checks errors and progress); returns counters."""
        dut = self.dut
        c = await self.sample()
        dut.enable.value = 1
        elapsed = 0
        last_recv = c["recv_packets"]
        while elapsed < cycles:
            step = min(self.chunk, cycles - elapsed)
            await ClockCycles(dut.clk, step)
            elapsed += step
            c = await self.sample()
            assert c["err_count"] == 0, f"{describe_errors(c)} (seed {seed})"
            outstanding = c["expected_deliveries"] - c["recv_packets"]
            if watchdog:
                assert c["recv_packets"] > last_recv or (outstanding == 0 and c["busy_nodes"] == 0), \
                    (f"watchdog: no packet delivered in {step} cycles with {outstanding} "
                     f"outstanding (seed {seed})")
            last_recv = c["recv_packets"]
        return c

    async def drain(self, *, seed: int, limit: int = 20000, step: int = 200) -> dict:
        """Generators off; waits until every generated packet has been delivered."""
        dut = self.dut
        dut.enable.value = 0
        waited = 0
        while True:
            await ClockCycles(dut.clk, step)
            waited += step
            c = await self.sample()
            if c["busy_nodes"] == 0 and c["expected_deliveries"] == c["recv_packets"]:
                break
            assert waited < limit, (
                f"watchdog: network did not drain in {limit} cycles: sent {c['sent_packets']} "
                f"({c['expected_deliveries']} deliveries expected, multicast copies included), "
                f"received {c['recv_packets']} busy nodes {c['busy_nodes']} (seed {seed})")
        assert c["err_count"] == 0 and c["errors"] == 0, f"{describe_errors(c)} (seed {seed})"
        return c

    async def phase(self, *, seed: int, cycles: int, drain_limit: int = 20000, **controls) -> dict:
        """program + run + drain; returns counter deltas over the phase plus ``cycles``."""
        await self.program(seed=seed, **controls)
        before = await self.sample()
        await self.run(cycles, seed=seed)
        after = await self.drain(seed=seed, limit=drain_limit)
        delta = {k: after[k] - before[k] for k in COUNTERS if k not in _LEVELS}
        delta["lat_max"] = after["lat_max"]
        delta["cycles"] = cycles
        return delta

    async def measure(self, *, seed: int, warmup: int, window: int, drain_limit: int = 200_000,
                      **controls) -> dict:
        """Steady-state measurement: warm up, count over ``window`` cycles, then drain.

        Returns the counter deltas over the window, with those of its two
        halves under ``halves`` (for a stability check: a network past
        saturation delivers with a latency that keeps growing)."""
        await self.program(seed=seed, **controls)
        await self.run(warmup, seed=seed)
        c0 = await self.sample()
        c1 = await self.run(window // 2, seed=seed)
        c2 = await self.run(window - window // 2, seed=seed)
        await self.drain(seed=seed, limit=drain_limit, step=100)
        delta = {k: c2[k] - c0[k] for k in COUNTERS if k not in _LEVELS}
        delta["halves"] = [{k: end[k] - begin[k] for k in COUNTERS if k not in _LEVELS}
                           for begin, end in ((c0, c1), (c1, c2))]
        return delta


# ---------------------------------------------------------------------------
# Python-driven local ports and the scoreboard
# ---------------------------------------------------------------------------

class LocalPorts:
    """Drives every injection stream and watches every ejection stream, one loop for all.

    Inputs change on the falling edge; handshakes are sampled in the
    read-only phase before the rising edge that commits them.  ``idle_prob``
    inserts random injection bubbles, ``stall_prob`` random ejection stalls.
    """

    def __init__(self, dut, cfg, rng, idle_prob: float = 0.0, stall_prob: float = 0.0):
        for name, p in (("idle_prob", idle_prob), ("stall_prob", stall_prob)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")
        self.dut, self.cfg, self.rng = dut, cfg, rng
        self.noc = cfg.noc
        self.fmt = NocFormat(cfg.noc)
        self.nodes = cfg.noc.width * cfg.noc.height
        self.keys = [(n, c) for n in range(self.nodes) for c in range(cfg.noc.num_classes)]
        self.inj = {k: tuple(_stream(dut, "ext_inject", *k, f) for f in ("valid", "ready", "payload"))
                    for k in self.keys}
        self.ej = {k: tuple(_stream(dut, "ext_eject", *k, f) for f in ("valid", "ready", "payload"))
                   for k in self.keys}
        self.queues = {k: [] for k in self.keys}      # flits waiting to inject
        self.partial = {k: [] for k in self.keys}     # flits of the packet being ejected
        self.received = []                            # (node, class, cycle, flits)
        self.inject_done = []                         # (node, class, cycle) of each tail sent
        self.idle_prob, self.stall_prob = idle_prob, stall_prob
        self.cycle = 0

    def send(self, node: int, cls: int, flits) -> None:
        self.queues[(node, cls)].extend(flits)

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())

    async def run(self, until, limit: int = 200_000) -> None:
        """Clock until ``until()`` is true; fails after ``limit`` cycles (watchdog)."""
        fw = self.noc.flit_width
        data_mask = (1 << fw) - 1
        rng = self.rng
        start = self.cycle
        while not until():
            assert self.cycle - start < limit, \
                f"watchdog: no completion in {limit} cycles ({self.pending()} flits not injected, " \
                f"{len(self.received)} packets delivered)"
            await FallingEdge(self.dut.clk)
            offered = []
            for k in self.keys:
                valid, _, payload = self.inj[k]
                q = self.queues[k]
                if q and not (self.idle_prob and rng.random() < self.idle_prob):
                    data, head, tail = q[0]
                    payload.value = data | head << fw | tail << (fw + 1)
                    valid.value = 1
                    offered.append(k)
                else:
                    valid.value = 0
                self.ej[k][1].value = 0 if (self.stall_prob and rng.random() < self.stall_prob) else 1
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
                    self.partial[k].append(word & data_mask)
                    if word >> (fw + 1) & 1:
                        self.received.append((k[0], k[1], self.cycle, self.partial[k]))
                        self.partial[k] = []
            self.cycle += 1
        await FallingEdge(self.dut.clk)
        for k in self.keys:
            self.inj[k][0].value = 0
            self.ej[k][1].value = 0


class Scoreboard:
    """Expected deliveries of every packet; checks exactly-once, integrity, per-flow order.

    Packets carry a unique id in ``addr``; multicast destinations come from
    the reference model :func:`sim.noc.model.multicast_destinations`.
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.noc = cfg.noc
        self.fmt = NocFormat(cfg.noc)
        self.expected = {}    # uid -> set of nodes still to receive
        self.payloads = {}
        self.flow_order = {}  # flow key -> list of uids in send order
        self.next_uid = 1

    def node_xy(self, n):
        return n % self.noc.width, n // self.noc.width

    def make(self, src, cls, *, dst=None, rect=None, exclude_self=False, length=None, rng=None):
        """Flits of a new packet from node ``src`` (unicast to ``dst`` or multicast to ``rect``)."""
        if rect is not None and cls != 0:
            raise ValueError(f"multicasts are requests (class 0), got class {cls!r}")
        uid = self.next_uid
        self.next_uid += 1
        sx, sy = self.node_xy(src)
        maxlen = self.noc.max_payload_bytes if rect is None else self.fmt.max_multicast_length()
        if length is None:
            length = rng.randint(0, maxlen)
        payload = bytes(rng.getrandbits(8) for _ in range(length))
        header = dict(cls=cls, src_x=sx, src_y=sy, addr=uid, txn=uid & ((1 << self.noc.txn_id_width) - 1),
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

    def make_lying(self, src, cls, *, carried, rng, **destination):
        """Flits of a packet whose header declares ``length`` bytes (a keyword of
        ``destination``, with ``dst`` or ``rect``) but which carries ``carried``
        data flits instead; the scoreboard expects what the injecting router
        delivers: the declared number of data flits, the carried ones cut, or
        followed by padding flits whose data is not checked."""
        flits = self.make(src, cls, rng=rng, **destination)
        fmt, fb = self.fmt, self.noc.flit_bytes
        uid = self.next_uid - 1
        length = len(self.payloads[uid])
        declared = fmt.data_flits(length)
        if carried == declared:
            raise ValueError(f"a lying packet must carry other than its {declared} declared "
                             f"data flits, got carried={carried!r}")
        words = [d for d, _, _ in flits[:fmt.header_flits + min(carried, declared)]]
        words += [rng.getrandbits(self.noc.flit_width) for _ in range(carried - declared)]
        carried_bytes = b"".join(w.to_bytes(fb, "little") for w in words[fmt.header_flits:])
        # A padded packet: only the carried bytes are checked.
        self.payloads[uid] = carried_bytes[:length]
        return [(d, int(i == 0), int(i == len(words) - 1)) for i, d in enumerate(words)]

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
            want = self.payloads[uid]     # shorter than the length for a padded lying packet
            assert payload[:len(want)] == want, f"packet {uid} payload corrupted at {where}"
            assert len(flits) == self.fmt.packet_flits(header["length"]), \
                f"packet {uid}: {len(flits)} flits for length {header['length']}"
            seen_order.setdefault(self.flow_key(header, where), []).append(uid)
        missing = {uid: nodes for uid, nodes in self.expected.items() if nodes}
        assert not missing, f"{len(missing)} packets not delivered everywhere: {list(missing.items())[:5]}"
        for key, uids in seen_order.items():
            assert uids == self.flow_order[key], f"flow {key} out of order: {uids[:10]}..."


def rectangles(cfg, rng, count):
    """``count`` multicast rectangles: a broadcast, then random ones (wrapping on a torus)."""
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
