"""Five-port wormhole router with virtual channels, XY/dateline routing and XY-tree multicast.

Ports 0..3 are links to the north, east, south and west neighbours (credit
flow control, see :class:`~hw.noc.layout.LinkSignature`); port 4 is the local
node: one injection stream and one ejection stream per message class.

Pipeline: a flit written into an input buffer at the end of cycle t is routed,
arbitrated and sent across the crossbar in cycle t+1, landing in the next
router's input buffer at the end of that cycle: one cycle per hop.  Route
computation, allocation and switch traversal are one combinational stage fed
by the buffer heads; credit counters and ownership bits are registers, so no
combinational path crosses a link.

Virtual channels: VC ``lane * vcs_per_class + set * dl + d``; lanes are
unicast requests, unicast responses and multicasts (always requests).  ``d``
is the dateline bit of the current dimension on a torus (``dl`` = 2; on a
mesh ``dl`` = 1 and ``d`` = 0): a packet that will cross the wrap link of
the ring it enters starts on ``d`` = 0 and moves to 1 on the wrap link; one
that will not cross may use either and a flow hash picks which, so the two
dateline VCs share the ring's load.  VCs beyond what the dateline needs form
``sets``; the injecting router picks a unicast's set by the same flow hash
(a multicast's from its rectangle) and the packet keeps it.  Every choice is
a function of the flow, so each flow always uses the same VCs, in order.

Unicast allocation: an output VC is owned by one packet from head to tail
(wormhole); flits of different VCs interleave on a link.  Each output
channel (four links and one ejection FIFO per class, so a request and a
response can eject in the same cycle) has one round-robin arbiter over the
unicast input VCs; its priority moves
only when a flit actually leaves, so every requester is served within one
round.

Multicast is virtual cut-through on its own lane: a multicast packet is at
most one input buffer long (the injecting router discards longer ones as
bad), and its head takes its output VCs only when each is free *and* its
downstream buffer is empty, so once allocated it never waits for credits.
One multicast flit per router moves per cycle, chosen round robin among the
multicasts whose every branch can move now; it takes all its outputs at
once, overriding the unicast arbiters for that cycle.  No packet ever waits
for a router-wide turn, which is what keeps multicasts deadlock free (see
docs/noc.md section 5).

Bad packets at the local input (destination outside the grid, malformed
rectangle, multicast longer than a buffer or on the response class, wrong
source or class, length above ``max_payload_bytes``) are consumed whole and reported on
``bad_packet``; nothing enters the network, nothing hangs.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Shape, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.logic import or_all
from tessera.hw.noc.layout import (HEADER_ROUTING_FIELDS, LinkSignature, NocFormat, Port,
                           flit_layout, local_stream_signature)

__all__ = ["Router", "VcBuffer", "round_robin", "build_noc_router"]

N, E, S, W, L = (int(p) for p in Port)
DIRECTIONS = (N, E, S, W)
#: Output ports a packet arriving on each input port can take: X then Y then
#: local, never back the way it came, never from Y into X.
REACHABLE = {L: (N, E, S, W, L), W: (E, N, S, L), E: (W, N, S, L), N: (S, L), S: (N, L)}


class VcBuffer(Elaboratable):
    """FIFO with a combinational head (``data`` is valid while ``count != 0``).

    One cycle from ``push`` to visibility at the head; LUT-RAM friendly.
    """

    def __init__(self, shape, depth: int):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"buffer depth must be a positive integer, got {depth!r}")
        self.shape = shape
        self.depth = depth
        self.push = Signal()
        self.push_data = Signal(shape)
        self.pop = Signal()
        self.data = Signal(shape)
        self.count = Signal(range(depth + 1))

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=self.shape, depth=self.depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port(domain="comb")
        wp = Signal(range(self.depth))
        rp = Signal(range(self.depth))
        m.d.comb += [wr.addr.eq(wp), wr.data.eq(self.push_data), wr.en.eq(self.push),
                     rd.addr.eq(rp), self.data.eq(rd.data)]
        with m.If(self.push):
            m.d.sync += wp.eq(Mux(wp == self.depth - 1, 0, wp + 1))
        with m.If(self.pop):
            m.d.sync += rp.eq(Mux(rp == self.depth - 1, 0, rp + 1))
        m.d.sync += self.count.eq(self.count + self.push - self.pop)
        return m


def round_robin(m: Module, req, name: str, advance=None):
    """One-hot grant of the first request after the last served one.

    The priority moves only when ``advance`` (default: any grant) is high,
    so a requester that was granted but could not use the grant keeps its
    turn.
    """
    n = len(req)
    above = Signal(n, name=f"{name}_above", init=(1 << n) - 1)  # bits after the last served
    high = Signal(n, name=f"{name}_high")
    pick_from = Signal(n, name=f"{name}_from")
    grant = Signal(n, name=f"{name}_grant")
    served_and_below = Signal(n, name=f"{name}_le")
    m.d.comb += [
        high.eq(req & above),
        pick_from.eq(Mux(high.any(), high, req)),
        grant.eq(pick_from & (~pick_from + 1)),
        served_and_below.eq(grant | (grant - 1)),
    ]
    with m.If(grant.any() if advance is None else advance):
        m.d.sync += above.eq(~served_and_below)
    return grant


def _dist_forward(pos_const: int, target, size: int):
    """(target - pos) mod size, with ``pos`` a constant: hops going east/south on a ring."""
    return Mux(target >= pos_const, target - pos_const, target + (size - pos_const))


def _dist_backward(pos_const: int, target, size: int):
    """(pos - target) mod size: hops going west/north on a ring."""
    return Mux(target <= pos_const, pos_const - target, pos_const + size - target)


def _in_span(pos: int, lo, hi, torus: bool):
    """``pos`` in lo..hi; on a torus a span with lo > hi wraps around the ring."""
    inside = (lo <= pos) & (pos <= hi)
    if torus:
        return Mux(lo <= hi, inside, (pos >= lo) | (pos <= hi))
    return inside


class Router(wiring.Component):
    """Router at grid position (x, y) of the network described by ``noc``."""

    def __init__(self, noc, x: int, y: int):
        if not (isinstance(x, int) and 0 <= x < noc.width):
            raise ValueError(f"router x must be in 0..{noc.width - 1}, got {x!r}")
        if not (isinstance(y, int) and 0 <= y < noc.height):
            raise ValueError(f"router y must be in 0..{noc.height - 1}, got {y!r}")
        self.noc = noc
        self.fmt = NocFormat(noc)
        self.x, self.y = x, y
        super().__init__({
            "in_link": In(LinkSignature(noc)).array(4),
            "out_link": Out(LinkSignature(noc)).array(4),
            "inject": In(local_stream_signature(noc)).array(noc.num_classes),
            "eject": Out(local_stream_signature(noc)).array(noc.num_classes),
            # One bit per class: a bad packet's head was consumed this cycle.
            "bad_packet": Out(noc.num_classes),
        })

    # -- routing -------------------------------------------------------------

    def _route(self, m, hdr, port: int, name: str, cls: int = 0):
        """Output-port mask and the 'bad' flag for a head flit arriving on ``port``
        (for the local port: injected on class ``cls``)."""
        noc, x, y = self.noc, self.x, self.y
        Wd, Ht = noc.width, noc.height
        torus = noc.topology == "torus"
        go = [Signal(name=f"{name}_go_{d}") for d in range(5)]
        bad = Signal(name=f"{name}_bad")

        # Unicast: X then Y then local.
        if torus:
            de = _dist_forward(x, hdr.dst_x, Wd)
            east = (de * 2 < Wd) | ((de * 2 == Wd) & (x % 2 == 0))
            ds = _dist_forward(y, hdr.dst_y, Ht)
            south = (ds * 2 < Ht) | ((ds * 2 == Ht) & (y % 2 == 0))
        else:
            east = hdr.dst_x > x
            south = hdr.dst_y > y
        uni = [Signal(name=f"{name}_uni_{d}") for d in range(5)]
        with m.If(hdr.dst_x != x):
            m.d.comb += [uni[E].eq(east), uni[W].eq(~east)]
        with m.Elif(hdr.dst_y != y):
            m.d.comb += [uni[S].eq(south), uni[N].eq(~south)]
        with m.Else():
            m.d.comb += uni[L].eq(1)

        # Multicast: an XY tree over the rectangle x0..x1, y0..y1.
        x0, x1, y0, y1 = hdr.dst_x, hdr.dst_x1, hdr.dst_y, hdr.dst_y1
        in_x = _in_span(x, x0, x1, torus)
        in_y = _in_span(y, y0, y1, torus)
        is_src = (hdr.src_x == x) & (hdr.src_y == y)
        deliver = in_x & in_y & ~(hdr.exclude_self & is_src)
        mc = [Signal(name=f"{name}_mc_{d}") for d in range(5)]
        if port in (L, E, W):  # X phase: in the source row
            if port == L:
                if torus:
                    sweep_east = _dist_forward(x, x1, Wd) <= _dist_backward(x, x0, Wd)
                else:
                    sweep_east = x < x0
                m.d.comb += [mc[E].eq(Mux(in_x, x1 != x, sweep_east)),
                             mc[W].eq(Mux(in_x, x0 != x, ~sweep_east))]
            elif port == W:  # arrived from the west: sweeping east up to x1
                m.d.comb += mc[E].eq(x1 != x)
            else:
                m.d.comb += mc[W].eq(x0 != x)
            # Fork into Y at every column of the span.
            if torus:
                sweep_south = _dist_forward(y, y1, Ht) <= _dist_backward(y, y0, Ht)
            else:
                sweep_south = y < y0
            m.d.comb += [
                mc[S].eq(in_x & Mux(in_y, y1 != y, sweep_south)),
                mc[N].eq(in_x & Mux(in_y, y0 != y, ~sweep_south)),
                mc[L].eq(deliver),
            ]
        elif port == N:  # arrived from the north: sweeping south up to y1
            m.d.comb += [mc[S].eq(y1 != y), mc[L].eq(deliver)]
        else:  # port == S
            m.d.comb += [mc[N].eq(y0 != y), mc[L].eq(deliver)]

        if port == L:
            max_mc_len = self.fmt.max_multicast_length()
            checks = [hdr.src_x != x, hdr.src_y != y, hdr.length > noc.max_payload_bytes,
                      hdr.cls != cls]
            if cls != 0:
                checks.append(hdr.mcast)   # multicasts are requests (class 0)
            uni_bad = []
            if (1 << noc.x_bits) > Wd:
                uni_bad.append(hdr.dst_x >= Wd)
            if (1 << noc.y_bits) > Ht:
                uni_bad.append(hdr.dst_y >= Ht)
            mc_bad = [hdr.length > max_mc_len, x0 >= Wd, x1 >= Wd, y0 >= Ht, y1 >= Ht]
            if not torus:
                mc_bad += [x0 > x1, y0 > y1]
            any_of = lambda terms: Cat(*terms).any() if terms else Const(0)
            m.d.comb += bad.eq(any_of(checks) | Mux(hdr.mcast, any_of(mc_bad), any_of(uni_bad)))
        for d in range(5):
            m.d.comb += go[d].eq(~bad & Mux(hdr.mcast, mc[d], uni[d]))
        return Cat(*go), bad

    # -- elaboration ---------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        noc = self.noc
        V, vpc, D, C = noc.num_vcs, noc.vcs_per_class, noc.buffer_depth, noc.num_classes
        MC = noc.mcast_lane
        torus = noc.topology == "torus"
        # VC sets: a lane's VCs are ``sets`` copies of its ``dl`` dateline VCs
        # (dl = 2 on a torus, 1 on a mesh).  The injecting router picks a
        # packet's set from its destination, and the packet keeps it to the
        # end, so one flow always uses the same VCs (order is kept) while
        # different destinations spread over the sets (less head-of-line
        # blocking).  Each set is a separate copy of the lane's network.
        dl = 2 if torus else 1
        sets = max(1, vpc // dl)
        set_bits = (sets.bit_length() - 1)          # largest power of two <= sets
        sets = 1 << set_bits
        # A packet's VC selector is (set, entry dateline bit): on a torus a
        # packet that will not cross the dateline of the dimension it enters
        # may travel it on either dateline VC (the flow hash picks one), which
        # balances the two; one that will cross starts on VC 0.
        sel_bits = set_bits + (1 if torus else 0)
        n_sel = 1 << sel_bits

        def flow_hash(hdr):
            """Low bits of a per-flow hash: the set, then the entry dateline choice."""
            h = hdr.src_x ^ hdr.src_y ^ hdr.dst_x ^ hdr.dst_y
            width = max(noc.x_bits, noc.y_bits, 1)
            bits = [h[k % width] for k in range(sel_bits)]
            return Cat(*bits) if bits else Const(0, 1)

        def entry_dbit(hdr, route, port):
            """The flow's entry dateline bit for the dimension it enters here
            (0 if it will cross that dimension's dateline, or if it stays in
            its dimension, or on a mesh)."""
            if not torus:
                return Const(0, 1)
            crosses = {E: hdr.dst_x < self.x, W: hdr.dst_x > self.x,
                       S: hdr.dst_y < self.y, N: hdr.dst_y > self.y}
            entering = [o for o in DIRECTIONS
                        if port == L or (port in (E, W)) != (o in (E, W))]
            terms = [route[o] & ~crosses[o] for o in entering]
            hb = flow_hash(hdr)[sel_bits - 1]
            return (Cat(*terms).any() if terms else Const(0, 1)) & hb & ~hdr.mcast

        fl = flit_layout(noc)
        routing_layout = data.StructLayout({name: width for name, width in self.fmt.fields
                                            if name in HEADER_ROUTING_FIELDS})
        routing_bits = routing_layout.size

        def crosses_dateline(out_port):
            if not torus:
                return False
            return {E: self.x == noc.width - 1, W: self.x == 0,
                    S: self.y == noc.height - 1, N: self.y == 0}[out_port]

        # Output side state: credits and ownership per (output port, VC).  The
        # local output has one VC per class (its ejection buffer); multicasts
        # eject into class 0's.
        out_vcs = {o: list(range(V)) for o in DIRECTIONS}
        out_vcs[L] = [c * vpc for c in range(C)]
        credits = {(o, v): Signal(range(D + 1), init=D, name=f"credit_{o}_{v}")
                   for o in range(5) for v in out_vcs[o]}
        busy = {(o, v): Signal(name=f"busy_{o}_{v}") for o in range(5) for v in out_vcs[o]}

        # Ejection buffers: the local output port behaves like a link into them.
        eject_buf = {}
        for c in range(C):
            buf = VcBuffer(fl, D)
            m.submodules[f"eject_buf_{c}"] = buf
            m.d.comb += [self.eject[c].valid.eq(buf.count != 0),
                         self.eject[c].payload.eq(buf.data),
                         buf.pop.eq(self.eject[c].valid & self.eject[c].ready)]
            eject_buf[c] = buf

        # Input VCs.  The route of a head flit is computed once per input
        # port as the flit arrives and stored beside it in the buffer, so
        # the buffers of one port share one routing unit.
        entry = data.StructLayout({"flit": fl, "route": 5, "bad": 1, "mcast": 1,
                                   "vsel": max(1, sel_bits)})
        port_hdr = {p: data.View(routing_layout, data.View(fl, self.in_link[p].flit).data[:routing_bits])
                    for p in DIRECTIONS}
        routed = {p: self._route(m, port_hdr[p], p, f"port{p}") for p in DIRECTIONS}

        # inputs[i] = (port, vc); the local port has one input per class.
        inputs = [(p, v) for p in DIRECTIONS for v in range(V)] + [(L, c * vpc) for c in range(C)]
        n_in = len(inputs)
        # Which lanes an input can carry: a link VC belongs to one lane; the
        # local class-0 input carries unicast requests and multicasts.
        can_uni = [p == L or v // vpc != MC for p, v in inputs]
        can_mc = [(p == L and v == 0) or (p != L and v // vpc == MC) for p, v in inputs]

        def out_vc(p, v, o, lane, vset, entry_d):
            """Output VC for input (p, v) leaving on ``o`` in ``lane``, set
            ``vset``, entry dateline bit ``entry_d``."""
            if o == L:
                return 0 if lane == MC else lane * vpc
            same_dim = (p in (E, W) and o in (E, W)) or (p in (N, S) and o in (N, S))
            d_in = p != L and (v % vpc) % dl != 0
            d = (d_in if same_dim else entry_d) or crosses_dateline(o)
            return lane * vpc + vset * dl + (1 if d and dl > 1 else 0)

        def ovc_table(p, v, lane):
            """{output: [VC for selector 0, 1, ...]}: the packet's selector picks one.
            A link input keeps the set of its VC."""
            def sel_set(k):
                return ((v % vpc) // dl) % sets if p != L else k % sets
            return {o: [out_vc(p, v, o, lane, sel_set(k), bool(k >> set_bits)) for k in range(n_sel)]
                    for o in range(5)}

        want, mask, heads, fronts, is_mc, xfer, vsets, in_cls = [], [], [], [], [], [], [], []
        ovc_uni, ovc_mc = [], []
        bad_heads, input_state = [], []
        for i, (p, v) in enumerate(inputs):
            name = f"in{p}_{v}"
            cls = 0 if v // vpc == MC else v // vpc   # multicasts are requests
            in_cls.append(cls)
            buf = VcBuffer(entry, D)
            m.submodules[f"buf_{name}"] = buf
            if p != L:
                link = self.in_link[p]
                route_in, bad_in = routed[p]
                m.d.comb += [buf.push.eq(link.valid & (link.vc == v)),
                             buf.push_data.flit.eq(link.flit),
                             buf.push_data.route.eq(route_in),
                             buf.push_data.bad.eq(bad_in),
                             buf.push_data.mcast.eq(port_hdr[p].mcast),
                             buf.push_data.vsel.eq(Cat(Const(((v % vpc) // dl) % sets, max(1, set_bits))
                                                       [:set_bits],
                                                       entry_dbit(port_hdr[p], route_in, p))),
                             link.credit[v].eq(buf.pop)]
            else:
                inj = self.inject[cls]
                inj_flit = data.View(fl, inj.payload)
                hdr_in = data.View(routing_layout, inj_flit.data[:routing_bits])
                route_in, bad_in = self._route(m, hdr_in, L, f"inj{cls}", cls=cls)
                expect_head = Signal(init=1, name=f"{name}_expect_head")
                m.d.comb += [inj.ready.eq(buf.count < D),
                             buf.push.eq(inj.valid & inj.ready),
                             buf.push_data.flit.data.eq(inj_flit.data),
                             buf.push_data.flit.tail.eq(inj_flit.tail),
                             # The router frames injected packets itself.
                             buf.push_data.flit.head.eq(expect_head),
                             buf.push_data.route.eq(route_in),
                             buf.push_data.bad.eq(bad_in),
                             buf.push_data.mcast.eq(hdr_in.mcast),
                             # The set: a hash of the flow, the low bits
                             # of source and destination (for a multicast
                             # the rectangle's corner).
                             buf.push_data.vsel.eq(Cat(
                                 Mux(hdr_in.mcast, hdr_in.dst_x ^ hdr_in.dst_y,
                                     flow_hash(hdr_in))[:set_bits],
                                 entry_dbit(hdr_in, route_in, L)))]
                with m.If(buf.push):
                    m.d.sync += expect_head.eq(inj_flit.tail)
            front = buf.data.flit
            active = Signal(name=f"{name}_active")        # a packet is between head and tail
            mask_r = Signal(5, name=f"{name}_mask")       # its route, latched at the head
            active_mc = Signal(name=f"{name}_active_mc")  # it is a multicast
            active_vset = Signal(max(1, sel_bits), name=f"{name}_active_vsel")  # its VC selector
            nonempty = buf.count != 0
            is_head = Signal(name=f"{name}_is_head")
            w = Signal(name=f"{name}_want")
            cur_mask = Signal(5, name=f"{name}_cur_mask")
            mc = Signal(name=f"{name}_is_mc")
            m.d.comb += [
                is_head.eq(~active & front.head),
                w.eq(nonempty & (active | front.head)),
                cur_mask.eq(Mux(active, mask_r, buf.data.route)),
            ]
            if can_mc[i] and can_uni[i]:
                m.d.comb += mc.eq(Mux(active, active_mc, buf.data.mcast & ~buf.data.bad))
            else:
                m.d.comb += mc.eq(int(can_mc[i]))
            want.append(w); mask.append(cur_mask); heads.append(is_head); fronts.append(front)
            is_mc.append(mc)
            xfer.append(Signal(name=f"{name}_xfer"))
            ovc_uni.append(ovc_table(p, v, cls))
            ovc_mc.append(ovc_table(p, v, MC))
            cur_vset = Signal(max(1, sel_bits), name=f"{name}_vsel")
            m.d.comb += cur_vset.eq(Mux(active, active_vset, buf.data.vsel))
            vsets.append(cur_vset)
            bad_heads.append((nonempty & is_head & buf.data.bad, cls, p))
            input_state.append((active, mask_r, active_mc, active_vset, mc, buf))

        # Per (input, output): may the input's front flit take this output now?
        #  * body flit: a credit;
        #  * unicast head: the output VC free (wormhole) and a credit;
        #  * multicast head (virtual cut-through): the output VC free and its
        #    downstream buffer empty -- the whole packet (at most one buffer)
        #    then fits, so an allocated multicast never waits for credits.  An
        #    ejection buffer needs only a credit: the endpoint always drains it.
        def ok_for(i, o, v, multicast):
            if isinstance(v, list):   # local input: the packet's set picks the VC
                oks = Cat(*[ok_for(i, o, vk, multicast) for vk in v])
                return oks.bit_select(vsets[i], 1) if len(v) > 1 else oks[0]
            credit = credits[(o, v)]
            body = credit != 0
            if multicast:
                head = ~busy[(o, v)] & ((credit == D) if o != L else (credit != 0))
            else:
                head = ~busy[(o, v)] & (credit != 0)
            return Mux(heads[i], head, body)

        # Which inputs can ever use which output (XY order, no U-turns):
        # pruning the impossible pairs shrinks arbiters and the crossbar.
        cand = {o: [i for i, (p, _) in enumerate(inputs) if o in REACHABLE[p]] for o in range(5)}

        # Output channels: the four links, and one ejection channel per class
        # (each class's ejection FIFO has its own crossbar output, so a
        # request and a response can eject in the same cycle, as they inject).
        chans = [(o, None) for o in DIRECTIONS] + [(L, c) for c in range(C)]

        def chan_inputs(ch):
            o, c = ch
            return [i for i in cand[o] if c is None or in_cls[i] == c]

        # Unicast switch allocation: one round-robin arbiter per output
        # channel over the unicast inputs that want it and may go.
        uni_grant = {}
        uni_arbiters = {}
        mc_on = {}   # mc_on[ch]: the selected multicast takes channel ch this cycle
        for ch in chans:
            o = ch[0]
            cn = f"{o}" if ch[1] is None else f"{o}_{ch[1]}"
            mc_on[ch] = Signal(name=f"mc_on_{cn}")
            users = [i for i in chan_inputs(ch) if can_uni[i]]
            reqs = []
            for i in users:
                ok = Signal(name=f"uni_ok_{i}_{o}")
                m.d.comb += ok.eq(ok_for(i, o, ovc_uni[i][o], False))
                reqs.append(want[i] & ~is_mc[i] & mask[i][o] & ok)
            sent = Signal(name=f"uni_sent_{cn}")
            grant = round_robin(m, Cat(*reqs), f"sw{cn}", advance=sent)
            uni_arbiters[ch] = (users, grant, sent)
            for bit, i in enumerate(users):
                # The multicast turn overrides the arbiter's pick (which keeps its turn).
                g = Signal(name=f"uni_win_{i}_{o}")
                m.d.comb += g.eq(grant[bit] & ~mc_on[ch])
                uni_grant[(i, o)] = g

        # Multicast switch allocation: one multicast per router moves per
        # cycle, chosen round robin among those that can move *every* branch
        # now; it takes all its outputs at once (synchronous replication)
        # and so always moves when chosen.  Multicasts never wait in the
        # per-output arbiters, so no two of them can each hold one output the
        # other needs.
        mc_inputs = [i for i in range(n_in) if can_mc[i]]
        mc_ready = []
        for i in mc_inputs:
            r = Signal(name=f"mc_ready_{i}")
            branch_ok = []
            for o in range(5):
                if i in cand[o]:
                    ok = Signal(name=f"mc_ok_{i}_{o}")
                    m.d.comb += ok.eq(~mask[i][o] | ok_for(i, o, ovc_mc[i][o], True))
                    branch_ok.append(ok)
                else:
                    branch_ok.append(~mask[i][o])
            m.d.comb += r.eq(want[i] & is_mc[i] & Cat(*branch_ok).all())
            mc_ready.append(r)
        mc_pick = round_robin(m, Cat(*mc_ready), "mc_pick") if mc_inputs else Const(0, 1)
        mc_sel = {i: mc_pick[bit] for bit, i in enumerate(mc_inputs)}
        for ch in chans:
            o = ch[0]
            terms = [mc_sel[i] & mask[i][o] for i in mc_inputs if i in chan_inputs(ch)]
            m.d.comb += mc_on[ch].eq(Cat(*terms).any() if terms else 0)

        for i in range(n_in):
            if can_uni[i]:
                # A unicast has exactly one output.
                uni_won = Cat(*[mask[i][o] & uni_grant[(i, o)] for o in range(5) if (i, o) in uni_grant]).any()
            else:
                uni_won = Const(0)
            mc_won = mc_sel[i] if i in mc_sel else Const(0)
            # A packet with an empty route (a bad packet at the injecting
            # router, or a multicast whose only target is its excluded sender)
            # is consumed without using any output.
            dropped = mask[i] == 0
            m.d.comb += xfer[i].eq(want[i] & (dropped | Mux(is_mc[i], mc_won, uni_won)))

        def pick_vc(i, v):
            if not isinstance(v, list):
                return v
            if len(v) == 1:
                return v[0]
            return Cat(*[Const(vk, range(V)) for vk in v]).word_select(vsets[i], Shape.cast(range(V)).width)

        # Crossbar and output-side bookkeeping.
        for ch in chans:
            o, c = ch
            cn = f"{o}" if c is None else f"{o}_{c}"
            users, grant, sent_uni = uni_arbiters[ch]
            sel_terms, flit_terms, vc_terms = [], [], []
            for bit, i in enumerate(users):
                s = Signal(name=f"sel_uni_{cn}_{i}")
                m.d.comb += s.eq(uni_grant[(i, o)] & xfer[i])
                sel_terms.append(s)
                flit_terms.append(Mux(s, fronts[i].as_value(), 0))
                vc_terms.append(Mux(s, pick_vc(i, ovc_uni[i][o]), 0))
            m.d.comb += sent_uni.eq(Cat(*sel_terms).any() if sel_terms else 0)
            for i in mc_inputs:
                if i in chan_inputs(ch):
                    s = Signal(name=f"sel_mc_{cn}_{i}")
                    m.d.comb += s.eq(mc_sel[i] & mask[i][o])
                    sel_terms.append(s)
                    flit_terms.append(Mux(s, fronts[i].as_value(), 0))
                    vc_terms.append(Mux(s, pick_vc(i, ovc_mc[i][o]), 0))
            sent = Signal(name=f"sent_{cn}")
            m.d.comb += sent.eq(Cat(*sel_terms).any() if sel_terms else 0)
            o_flit = Signal(fl, name=f"out_flit_{cn}")
            o_vc = Signal(range(V), name=f"out_vc_{cn}")
            m.d.comb += [o_flit.eq(or_all(flit_terms)), o_vc.eq(or_all(vc_terms))]
            if o != L:
                link = self.out_link[o]
                m.d.comb += [link.valid.eq(sent), link.vc.eq(o_vc), link.flit.eq(o_flit)]
                uses = {v: sent & (o_vc == v) for v in out_vcs[o]}
            else:
                m.d.comb += [eject_buf[c].push.eq(sent), eject_buf[c].push_data.eq(o_flit)]
                uses = {c * vpc: sent}
            for v, use in uses.items():
                returned = (self.out_link[o].credit[v] if o != L else eject_buf[v // vpc].pop)
                m.d.sync += credits[(o, v)].eq(credits[(o, v)] + returned - use)
                with m.If(use & o_flit.head & ~o_flit.tail):
                    m.d.sync += busy[(o, v)].eq(1)
                with m.Elif(use & o_flit.tail):
                    m.d.sync += busy[(o, v)].eq(0)

        # Input-side state: route latched at the head, released at the tail.
        for i, (active, mask_r, active_mc, active_vset, mc, buf) in enumerate(input_state):
            m.d.comb += buf.pop.eq(xfer[i])
            with m.If(xfer[i]):
                with m.If(~active & fronts[i].head & ~fronts[i].tail):
                    m.d.sync += [active.eq(1), mask_r.eq(buf.data.route), active_mc.eq(mc),
                                 active_vset.eq(buf.data.vsel)]
                with m.Elif(active & fronts[i].tail):
                    m.d.sync += active.eq(0)

        bad_bits = [0] * C
        for i, (is_bad, cls, p) in enumerate(bad_heads):
            if p == L:
                bad_bits[cls] = is_bad & xfer[i]
        m.d.comb += self.bad_packet.eq(Cat(*bad_bits))
        return m


def build_noc_router(cfg, x: int = 0, y: int = 0):
    """Block factory: the router at (x, y) of ``cfg``'s network."""
    return Router(cfg.noc, x, y)
