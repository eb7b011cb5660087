"""Self-checking NoC test wrapper: the network plus HDL traffic generators and checkers.

High-volume tests and the benchmark run traffic entirely in hardware: the
Python side only programs the controls, waits in large chunks and reads the
counters.

Per node:

* a generator: a Bernoulli process (``rate``/65536 packets per cycle) picks
  a random class for each packet and pushes its creation time into that
  class's source queue, which holds up to ``queue_limit`` entries (at most
  ``SOURCE_QUEUE`` = 1024; a packet created when it is full is counted in
  ``gen_dropped`` and never sent).  A small limit (the tests use 16) throttles
  the sources past saturation, a closed loop; the benchmark uses the whole
  depth so that below saturation nothing is dropped and the load is really
  offered (open loop);
  one sender per class (like an NIU's separate request and response queues:
  a blocked class never stalls the other) turns queued entries into packets
  back to back, with a destination from ``pattern`` (0 uniform, 1 transpose,
  2 bit complement, 3 hotspot: 1/8 of packets to the centre node, the rest
  uniform), ``len_max`` data flits (or a random number 0..``len_max`` unless
  ``len_fixed``) and random one-cycle bubbles between flits (``gap``/256 per
  flit).  The header carries ``addr = seq << 16 | created`` where ``seq``
  counts packets per (destination, class); every data flit is a hash of
  (source, seq, flit index).
* one checker per class at the ejection port, with random stalls
  (``stall``/256 of cycles not ready).  It checks the framing, that the packet
  is for this node and class, that ``seq`` is exactly the next one of its
  (source, class) flow (so a lost, duplicated or reordered packet is caught),
  every data flit against the hash, the length, and that the latency is below
  ``lat_bound``.  Errors set sticky bits in ``errors`` and count in
  ``err_count``; the first one latches ``err_node``.

Multicasts: with ``mc_share`` > 0, that share (/256) of the request-class
packets are multicasts (requests only, like the NIU's).  Each picks one of
the ``MC_SIZES`` entries of the rectangle size table (``mc_w``/``mc_h``,
columns x rows, clipped to the grid) uniformly, and a position where the
rectangle fits uniformly; the sender is excluded from its own rectangle.
The size table must give rectangles of at least two nodes, so every
multicast has a destination.  Multicasts are numbered per source in their
own sequence and carry the same payload hash.  A destination sees only the
multicasts whose rectangle covers it, so its checker requires the numbers of
a source to increase, per VC set (the set comes from the rectangle, and
multicasts in different sets may overtake each other): a duplicate or a
reordering is caught.  On a torus the way round depends on the rectangle, so
the order is not checked there.  The sender counts
the copies each multicast must deliver in ``expected_deliveries`` (unicast
packets count 1); every checker counts what it receives in
``recv_packets``.  A run that drains with the two equal and no checker
error delivered every copy exactly once on a mesh: no copy is duplicated or
misrouted (checked at each destination) and none is missing (the totals
agree).
Deliveries are also counted by kind (0 unicast request, 1 unicast
response, 2 multicast copy) in ``kind_packets`` / ``kind_flits`` /
``kind_lat_sum``.

Error bits: 0 sequence, 1 payload, 2 misrouted (destination, class, source,
a multicast outside its rectangle or to its excluded sender), 3 framing/length, 4 latency above ``lat_bound``.

With ``ext_mode`` set the generators and checkers are bypassed and the
network's local ports are driven from ``ext_inject`` / ``ext_eject`` (a
Python scoreboard test drives them).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.noc.layout import Command, NocFormat, flit_layout, header_layout, local_stream_signature
from tessera.hw.noc.network import Network, popcount
from tessera.hw.noc.vc_buffer import VcBuffer
from tessera.hw.noc.vc_plan import VirtualChannelPlan

__all__ = ["NocTestbench", "build_noc_testbench", "payload_word", "ERROR_BITS", "MC_SIZES", "KINDS"]

ERROR_BITS = ("sequence", "payload", "misrouted", "framing", "latency")
#: Physical depth of each source queue; ``queue_limit`` sets how much of it is used.
SOURCE_QUEUE = 1024
#: Entries of the multicast rectangle size table.
MC_SIZES = 4
#: Delivery kinds counted separately: unicast request, unicast response, multicast copy.
KINDS = ("request", "response", "multicast")


def _xorshift(m, state, seed_load, seed_value):
    """Advance a 32-bit xorshift generator every cycle; returns the state."""
    a = state ^ (state << 13)[:32]
    b = a ^ (a >> 17)
    c = b ^ (b << 5)[:32]
    with m.If(seed_load):
        m.d.sync += state.eq(seed_value)
    with m.Else():
        m.d.sync += state.eq(c)
    return state


def payload_word(src, seq, index, width: int):
    """Data flit ``index`` of packet ``seq`` from node ``src`` (HDL expression)."""
    v = (seq[:16] << 16) | (src[:8] << 8) | index[:8]  # zero-extends narrow fields
    chunks = []
    for c in range(-(-width // 32)):
        chunks.append(((v ^ ((0x9E3779B9 * (c + 1)) & 0xFFFFFFFF)) * 0x85EBCA6B)[:32])
    return Cat(*chunks)[:width]


def _max_tree(values):
    values = list(values)
    while len(values) > 1:
        values = [Mux(values[i] > values[i + 1], values[i], values[i + 1]) if i + 1 < len(values)
                  else values[i] for i in range(0, len(values), 2)]
    return values[0]


class NocTestbench(wiring.Component):
    def __init__(self, noc):
        self.noc = noc
        self.fmt = NocFormat(noc)
        nodes = noc.width * noc.height
        if nodes > 256:
            raise ValueError(f"the NoC testbench supports at most 256 nodes, got {nodes!r}")
        self.nodes = nodes
        super().__init__({
            "enable": In(1),
            "rate": In(16),
            "pattern": In(2),
            "len_max": In(8),
            "len_fixed": In(1),
            "stall": In(8),
            "gap": In(8),
            "seed": In(16),
            "seed_load": In(1),
            "lat_bound": In(16),
            "queue_limit": In(range(SOURCE_QUEUE + 1)),
            "mc_share": In(8),
            "mc_w": In(8).array(MC_SIZES),
            "mc_h": In(8).array(MC_SIZES),
            "ext_mode": In(1),
            "ext_inject": In(local_stream_signature(noc)).array(nodes, noc.num_classes),
            "ext_eject": Out(local_stream_signature(noc)).array(nodes, noc.num_classes),
            "sent_packets": Out(32),
            "sent_flits": Out(32),
            "recv_packets": Out(32),
            "recv_flits": Out(32),
            "lat_sum": Out(48),
            "lat_max": Out(16),
            "hops_sum": Out(48),
            "gen_dropped": Out(32),
            "errors": Out(len(ERROR_BITS)),
            "err_count": Out(32),
            "err_node": Out(16),
            "bad_packets": Out(32),
            "link_flits": Out(32),
            "busy_nodes": Out(range(nodes + 1)),
            "expected_deliveries": Out(32),
            "mc_sent": Out(32),
            "kind_packets": Out(32).array(len(KINDS)),
            "kind_flits": Out(32).array(len(KINDS)),
            "kind_lat_sum": Out(48).array(len(KINDS)),
        })
        #: The network itself (a submodule), so simulations can watch its local ports.
        self.network = Network(noc)

    def elaborate(self, platform):
        m = Module()
        noc, fmt = self.noc, self.fmt
        Wd, Ht = noc.width, noc.height
        torus = noc.topology == "torus"
        C = noc.num_classes
        FW, FB, HF = noc.flit_width, noc.flit_bytes, fmt.header_flits
        hl = header_layout(noc)
        m.submodules.net = net = self.network
        now = Signal(16)
        m.d.sync += now.eq(now + 1)

        sent_pulses, sent_flit_pulses, drop_pulses, busy = [], [], [], []
        recv_pulses, recv_flit_pulses, lats, hops, err_pulses, maxes = [], [], [], [], [], []
        err_bits = [[] for _ in ERROR_BITS]
        expected_incs, mc_sent_pulses = [], []
        kind_pulses = [[] for _ in KINDS]
        kind_flit_pulses = [[] for _ in KINDS]
        kind_lats = [[] for _ in KINDS]
        first_err_nodes = []

        for n in range(self.nodes):
            x, y = n % Wd, n // Wd
            # ---------------- generator ----------------
            # One Bernoulli process per node creates packets and picks their
            # class; each class has its own source queue and sender, like an
            # NIU with separate request and response queues, so a class that
            # is blocked at injection never holds up the other.
            rng_ev = Signal(32, init=0x1234567 + n * 7919, name=f"g{n}_rng_ev")
            _xorshift(m, rng_ev, self.seed_load, Cat(self.seed, Const(n, 8), Const(0x5A, 8)))
            event = self.enable & ~self.ext_mode & (rng_ev[:16] < self.rate)
            ev_cls = rng_ev[16] if C > 1 else Const(0)
            # Multicast choice of the request sender: its own generator, so
            # the unicast streams are the same whatever the share.
            rng_m = Signal(32, init=0x13579BD + n * 2654435, name=f"g{n}_rng_m")
            _xorshift(m, rng_m, self.seed_load, Cat(self.seed, Const(n, 8), Const(0xA5, 8)))
            mc_pick = rng_m[0:8] < self.mc_share
            size_idx = rng_m[8:10]
            mc_w = Signal(8, name=f"g{n}_mcw")
            mc_h = Signal(8, name=f"g{n}_mch")
            with m.Switch(size_idx):
                for i in range(MC_SIZES):
                    with m.Case(i):
                        m.d.comb += [mc_w.eq(self.mc_w[i]), mc_h.eq(self.mc_h[i])]
            w_eff = Signal(range(Wd + 1), name=f"g{n}_mcwe")
            h_eff = Signal(range(Ht + 1), name=f"g{n}_mche")
            m.d.comb += [w_eff.eq(Mux(mc_w > Wd, Wd, Mux(mc_w == 0, 1, mc_w))),
                         h_eff.eq(Mux(mc_h > Ht, Ht, Mux(mc_h == 0, 1, mc_h)))]
            mc_x0 = Signal(range(Wd), name=f"g{n}_mcx0")
            mc_y0 = Signal(range(Ht), name=f"g{n}_mcy0")
            m.d.comb += [mc_x0.eq((rng_m[10:18] * (Wd + 1 - w_eff)) >> 8),
                         mc_y0.eq((rng_m[18:26] * (Ht + 1 - h_eff)) >> 8)]
            mc_x1 = (mc_x0 + w_eff - 1)[:len(mc_x0)]
            mc_y1 = (mc_y0 + h_eff - 1)[:len(mc_y0)]
            self_inside = (mc_x0 <= x) & (x <= mc_x1) & (mc_y0 <= y) & (y <= mc_y1)
            mc_copies = Signal(range(self.nodes + 1), name=f"g{n}_mccopies")
            m.d.comb += mc_copies.eq(w_eff * h_eff - self_inside)
            mc_seq = Signal(16, name=f"g{n}_mcseq")
            for c in range(C):
                g = f"g{n}_{c}"
                rng_d = Signal(32, init=0x7654321 + n * 104729 + c * 65537, name=f"{g}_rng_d")
                rng_g = Signal(32, init=0x0BADF00 + n * 15485863 + c * 257, name=f"{g}_rng_g")
                _xorshift(m, rng_d, self.seed_load, Cat(self.seed, Const(n, 8), Const(0xC3 + c, 8)))
                _xorshift(m, rng_g, self.seed_load, Cat(self.seed, Const(n, 8), Const(0x3C + c, 8)))
                queue = VcBuffer(16, SOURCE_QUEUE)
                m.submodules[f"srcq_{n}_{c}"] = queue
                mine_event = event & (ev_cls == c)
                room = queue.count < self.queue_limit
                m.d.comb += [queue.push.eq(mine_event & room), queue.push_data.eq(now)]
                drop_pulses.append(mine_event & ~room)

                seq_mem = Memory(shape=16, depth=self.nodes, init=[])
                m.submodules[f"gseq_{n}_{c}"] = seq_mem
                seq_rd = seq_mem.read_port(domain="comb")
                seq_wr = seq_mem.write_port()

                # Destination of the next packet.
                ux = ((rng_d[0:8] * Wd) >> 8)[:max(1, noc.x_bits)]
                uy = ((rng_d[8:16] * Ht) >> 8)[:max(1, noc.y_bits)]
                dst_x = Signal(range(Wd), name=f"{g}_dx")
                dst_y = Signal(range(Ht), name=f"{g}_dy")
                hot = rng_d[16:19] == 0
                with m.Switch(self.pattern):
                    with m.Case(1):
                        if Wd == Ht:
                            m.d.comb += [dst_x.eq(y), dst_y.eq(x)]
                        else:
                            m.d.comb += [dst_x.eq(ux), dst_y.eq(uy)]
                    with m.Case(2):
                        m.d.comb += [dst_x.eq(Wd - 1 - x), dst_y.eq(Ht - 1 - y)]
                    with m.Case(3):
                        m.d.comb += [dst_x.eq(Mux(hot, Wd // 2, ux)), dst_y.eq(Mux(hot, Ht // 2, uy))]
                    with m.Default():
                        m.d.comb += [dst_x.eq(ux), dst_y.eq(uy)]
                rand_len = ((rng_d[20:28] * (self.len_max + 1)) >> 8)[:8]
                n_data = Mux(self.len_fixed, self.len_max, rand_len)
                n_data_c = Signal(8, name=f"{g}_ndata")
                m.d.comb += n_data_c.eq(Mux(n_data > noc.max_payload_flits, noc.max_payload_flits, n_data))
                m.d.comb += seq_rd.addr.eq(dst_y * Wd + dst_x)

                hdr = Signal(hl, name=f"{g}_hdr")
                seq = Signal(16, name=f"{g}_seq")
                last = Signal(9, name=f"{g}_last")
                k = Signal(9, name=f"{g}_k")
                sending = Signal(name=f"{g}_sending")
                bubble = rng_g[0:8] < self.gap
                inj = net.inject[n][c]
                ext = self.ext_inject[n][c]
                handshake = Signal(name=f"{g}_hs")
                m.d.comb += handshake.eq(~self.ext_mode & sending & ~bubble & inj.ready)
                done = handshake & (k == last)
                # The next packet starts in the cycle the previous tail goes,
                # so a sender can fill its injection port back to back.  Its
                # sequence number is taken (and the flow's counter advanced)
                # at the start.
                start = Signal(name=f"{g}_start")
                m.d.comb += start.eq((~sending | done) & (queue.count != 0) & ~self.ext_mode)
                with m.If(handshake):
                    m.d.sync += k.eq(k + 1)
                with m.If(done):
                    m.d.sync += sending.eq(0)
                # A multicast must fit one input buffer (see NocFormat.max_multicast_length).
                mc_data = min(noc.max_payload_flits, noc.buffer_depth - HF)
                is_mc = Signal(name=f"{g}_is_mc")
                copies = Signal(range(self.nodes + 1), name=f"{g}_copies")
                go_mc = (mc_pick if c == 0 else Const(0)) & start
                n_mc = Mux(n_data_c > mc_data, mc_data, n_data_c)
                with m.If(start):
                    m.d.sync += [
                        sending.eq(1), k.eq(0), last.eq(HF - 1 + n_data_c), seq.eq(seq_rd.data),
                        hdr.mcast.eq(0), hdr.exclude_self.eq(0), hdr.cls.eq(c),
                        hdr.length.eq(n_data_c * FB), hdr.dst_x.eq(dst_x), hdr.dst_y.eq(dst_y),
                        hdr.dst_x1.eq(0), hdr.dst_y1.eq(0), hdr.src_x.eq(x), hdr.src_y.eq(y),
                        hdr.cmd.eq(Command.READ_RESP if c else Command.WRITE_POSTED),
                        hdr.txn.eq(seq_rd.data), hdr.addr.eq(Cat(queue.data, seq_rd.data)),
                        is_mc.eq(0), copies.eq(1),
                    ]
                    with m.If(go_mc):
                        m.d.sync += [
                            last.eq(HF - 1 + n_mc), seq.eq(mc_seq), hdr.mcast.eq(1),
                            hdr.exclude_self.eq(1), hdr.length.eq(n_mc * FB),
                            hdr.dst_x.eq(mc_x0), hdr.dst_y.eq(mc_y0), hdr.dst_x1.eq(mc_x1),
                            hdr.dst_y1.eq(mc_y1), hdr.txn.eq(mc_seq),
                            hdr.addr.eq(Cat(queue.data, mc_seq)), is_mc.eq(1),
                            copies.eq(mc_copies), mc_seq.eq(mc_seq + 1),
                        ]
                m.d.comb += [queue.pop.eq(start), seq_wr.addr.eq(seq_rd.addr),
                             seq_wr.data.eq(seq_rd.data + 1), seq_wr.en.eq(start & ~go_mc)]
                hdr_bits = hdr.as_value()
                hdr_flit = Signal(FW, name=f"{g}_hdr_flit")
                with m.Switch(k):
                    for h in range(HF):
                        with m.Case(h):
                            m.d.comb += hdr_flit.eq(hdr_bits[h * FW:(h + 1) * FW])
                flit_data = Mux(k < HF, hdr_flit, payload_word(Const(n, 8), seq, (k - HF)[:8], FW))
                with m.If(self.ext_mode):
                    m.d.comb += [inj.valid.eq(ext.valid), inj.payload.eq(ext.payload),
                                 ext.ready.eq(inj.ready)]
                with m.Else():
                    inj_flit = data.View(flit_layout(noc), inj.payload)
                    m.d.comb += [inj.valid.eq(sending & ~bubble), inj_flit.data.eq(flit_data),
                                 inj_flit.head.eq(k == 0), inj_flit.tail.eq(k == last)]
                sent_pulses.append(done)
                expected_incs.append(Mux(done, copies, 0))
                mc_sent_pulses.append(done & is_mc)
                sent_flit_pulses.append(handshake)
                busy.append(sending | (queue.count != 0))

            # ---------------- checkers ----------------
            for c in range(C):
                ej = net.eject[n][c]
                ext = self.ext_eject[n][c]
                rng = Signal(32, init=0x2468ACE + n * 31337 + c * 17, name=f"c{n}_{c}_rng")
                _xorshift(m, rng, self.seed_load, Cat(self.seed, Const(n, 8), Const(0x71 + c, 8)))
                ready = Signal(name=f"c{n}_{c}_ready")
                m.d.comb += ready.eq(rng[:8] >= self.stall)
                with m.If(self.ext_mode):
                    m.d.comb += [ext.valid.eq(ej.valid), ext.payload.eq(ej.payload),
                                 ej.ready.eq(ext.ready)]
                with m.Else():
                    m.d.comb += ej.ready.eq(ready)
                hs = Signal(name=f"c{n}_{c}_hs")
                m.d.comb += hs.eq(~self.ext_mode & ej.valid & ready)
                f = data.View(flit_layout(noc), ej.payload)
                ck = Signal(9, name=f"c{n}_{c}_k")
                hbuf = Signal(HF * FW, name=f"c{n}_{c}_hbuf")
                with m.If(hs):
                    m.d.sync += ck.eq(Mux(f.tail, 0, ck + 1))
                    for h in range(HF):
                        with m.If(ck == h):
                            m.d.sync += hbuf[h * FW:(h + 1) * FW].eq(f.data)
                rh = data.View(hl, hbuf[:hl.size])
                src_id = Signal(range(self.nodes), name=f"c{n}_{c}_src")
                m.d.comb += src_id.eq(rh.src_y * Wd + rh.src_x)
                r_seq = rh.addr[16:32]
                r_ts = rh.addr[0:16]

                hdr_check = Signal(name=f"c{n}_{c}_hcheck")
                tail_pend = Signal(name=f"c{n}_{c}_tpend")
                tail_time = Signal(16, name=f"c{n}_{c}_ttime")
                got = Signal(9, name=f"c{n}_{c}_got")
                m.d.sync += [hdr_check.eq(hs & (ck == HF - 1)), tail_pend.eq(hs & f.tail)]
                with m.If(hs & f.tail):
                    m.d.sync += [tail_time.eq(now), got.eq(ck + 1)]

                exp_mem = Memory(shape=16, depth=self.nodes, init=[])
                m.submodules[f"cexp_{n}_{c}"] = exp_mem
                exp_rd = exp_mem.read_port(domain="comb")
                exp_wr = exp_mem.write_port()
                m.d.comb += [exp_rd.addr.eq(src_id), exp_wr.addr.eq(src_id),
                             exp_wr.data.eq(r_seq + 1), exp_wr.en.eq(hdr_check & ~rh.mcast)]
                # Multicasts: per (source, VC set), the next number expected at
                # the least.  The set comes from the rectangle, so multicasts of
                # one source in different sets may overtake each other; within a
                # set they follow the XY path on the same VCs, in order, on a
                # mesh.  On a torus the way round depends on the rectangle, so
                # there the order is not checked (the totals still are).
                sets = VirtualChannelPlan(noc, x, y).sets
                mexp_mem = Memory(shape=16, depth=self.nodes * sets, init=[])
                m.submodules[f"cmexp_{n}_{c}"] = mexp_mem
                mexp_rd = mexp_mem.read_port(domain="comb")
                mexp_wr = mexp_mem.write_port()
                mc_set = (rh.dst_x ^ rh.dst_y)[:sets.bit_length() - 1] if sets > 1 else Const(0, 1)
                mc_flow = Signal(range(self.nodes * sets), name=f"c{n}_{c}_mcflow")
                m.d.comb += mc_flow.eq(src_id * sets + mc_set)
                m.d.comb += [mexp_rd.addr.eq(mc_flow), mexp_wr.addr.eq(mc_flow),
                             mexp_wr.data.eq(r_seq + 1), mexp_wr.en.eq(hdr_check & rh.mcast)]
                # modulo 2**16: r_seq < expected
                behind = (r_seq - mexp_rd.data)[15] if not torus else Const(0, 1)
                bad_seq = hdr_check & Mux(rh.mcast, behind, r_seq != exp_rd.data)
                in_rect = (rh.dst_x <= x) & (x <= rh.dst_x1) & (rh.dst_y <= y) & (y <= rh.dst_y1)
                from_self = (rh.src_x == x) & (rh.src_y == y)
                uc_wrong = (rh.dst_x != x) | (rh.dst_y != y)
                mc_wrong = ~in_rect | (rh.exclude_self & from_self) | (rh.cls != 0)
                misroute = hdr_check & (Mux(rh.mcast, mc_wrong, uc_wrong) | (rh.cls != c) |
                                        (rh.src_x >= Wd) | (rh.src_y >= Ht))
                in_data = hs & (ck >= HF)
                bad_data = in_data & (f.data != payload_word(src_id, r_seq, (ck - HF)[:8], FW))
                want_flits = HF + ((rh.length + FB - 1) >> (FB.bit_length() - 1))
                bad_frame = (hs & (f.head != (ck == 0))) | (tail_pend & (got != want_flits))
                lat = Signal(16, name=f"c{n}_{c}_lat")
                m.d.comb += lat.eq(tail_time - r_ts)
                too_old = tail_pend & (lat > self.lat_bound)
                for b, cond in enumerate((bad_seq, bad_data, misroute, bad_frame, too_old)):
                    err_bits[b].append(cond)
                any_err = Signal(name=f"c{n}_{c}_err")
                m.d.comb += any_err.eq(bad_seq | bad_data | misroute | bad_frame | too_old)
                err_pulses.append(any_err)
                first_err_nodes.append((any_err, n * C + c))

                # Hop count of this flow, for latency per hop.
                def ring(a, b_const, size):
                    d = Mux(a >= b_const, a - b_const, b_const - a)
                    return Mux(d * 2 > size, size - d, d) if torus else d
                h = Signal(16, name=f"c{n}_{c}_hops")
                m.d.comb += h.eq(ring(rh.src_x, x, Wd) + ring(rh.src_y, y, Ht))
                recv_pulses.append(tail_pend)
                kinds = (0, 2) if c == 0 else (1,)
                for kind in kinds:
                    mine = (rh.mcast if kind == 2 else ~rh.mcast) if c == 0 else Const(1)
                    kind_pulses[kind].append(tail_pend & mine)
                    kind_flit_pulses[kind].append(Mux(tail_pend & mine, got, 0))
                    kind_lats[kind].append(Mux(tail_pend & mine, lat, 0))
                recv_flit_pulses.append(hs)
                lats.append(Mux(tail_pend, lat, 0))
                hops.append(Mux(tail_pend, h, 0))
                cmax = Signal(16, name=f"c{n}_{c}_max")
                with m.If(tail_pend & (lat > cmax)):
                    m.d.sync += cmax.eq(lat)
                maxes.append(cmax)

        def add_tree(values):
            values = list(values)
            if not values:
                return 0
            while len(values) > 1:
                values = [values[i] + values[i + 1] if i + 1 < len(values) else values[i]
                          for i in range(0, len(values), 2)]
            return values[0]

        counters = [
            (self.sent_packets, popcount(sent_pulses)), (self.sent_flits, popcount(sent_flit_pulses)),
            (self.recv_packets, popcount(recv_pulses)), (self.recv_flits, popcount(recv_flit_pulses)),
            (self.lat_sum, add_tree(lats)), (self.hops_sum, add_tree(hops)),
            (self.gen_dropped, popcount(drop_pulses)), (self.err_count, popcount(err_pulses)),
            (self.expected_deliveries, add_tree(expected_incs)), (self.mc_sent, popcount(mc_sent_pulses)),
        ]
        for kind in range(len(KINDS)):
            counters += [(self.kind_packets[kind], popcount(kind_pulses[kind])),
                         (self.kind_flits[kind], add_tree(kind_flit_pulses[kind])),
                         (self.kind_lat_sum[kind], add_tree(kind_lats[kind]))]
        for out, inc in counters:
            reg = Signal(len(out), name=f"count_{out.name}")
            m.d.sync += reg.eq(reg + inc)
            m.d.comb += out.eq(reg)
        errors = Signal(len(ERROR_BITS))
        m.d.sync += errors.eq(errors | Cat(*[Cat(*bits).any() for bits in err_bits]))
        err_node = Signal(16, init=0xFFFF)
        with m.If(err_node == 0xFFFF):
            for cond, idx in reversed(first_err_nodes):
                with m.If(cond):
                    m.d.sync += err_node.eq(idx)
        m.d.comb += [self.errors.eq(errors), self.err_node.eq(err_node),
                     self.lat_max.eq(_max_tree(maxes)), self.bad_packets.eq(net.bad_packets),
                     self.link_flits.eq(net.link_flits), self.busy_nodes.eq(popcount(busy))]
        return m


def build_noc_testbench(cfg):
    """Block factory: network of ``cfg.noc`` with per-node generators and checkers."""
    return NocTestbench(cfg.noc)
