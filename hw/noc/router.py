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

Virtual channels: VC ``cls * vcs_per_class + d``, where ``d`` is the dateline
bit of the current dimension on a torus (set when the packet crosses the wrap
link of that ring, cleared when it turns into Y).  The output VC of every
(input VC, output port) pair is therefore a constant, and the route never
changes VC within a dimension except at the dateline.

Allocation: an output VC is owned by one packet from head to tail (wormhole);
flits of different VCs interleave on a link.  Each output port has one
round-robin arbiter over every input VC; its priority moves only when a flit
actually leaves, so every requester is served within one round.  A packet
moves a flit only when it wins *every* output port of its route in the same
cycle (a multicast fork advances all branches together, atomically).

Multicast is virtual cut-through: a multicast packet is at most one input
buffer long (the injecting router discards longer ones as bad), and its head
takes an output VC only when that VC is free *and* its downstream buffer is
empty.  Once allocated, the whole packet fits downstream, so a multicast never
holds one branch while waiting for another; see docs/noc.md for the deadlock
argument.  One multicast head per router at a time (round-robin) may reserve
the output VCs it waits for, so unicast heads cannot starve it.

Bad packets at the local input (destination outside the grid, malformed
rectangle, multicast longer than a buffer, wrong source or class, length
above ``max_payload_bytes``) are consumed whole and reported on
``bad_packet``; nothing enters the network, nothing hangs.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hw.noc.layout import (HEADER_ROUTING_FIELDS, LinkSignature, NocFormat, Port,
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

    def _route(self, m, hdr, port: int, name: str):
        """Output-port mask and the 'bad' flag for a head flit arriving on ``port``."""
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
            checks = [hdr.src_x != x, hdr.src_y != y, hdr.length > noc.max_payload_bytes]
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
        V, vpc, D = noc.num_vcs, noc.vcs_per_class, noc.buffer_depth
        torus = noc.topology == "torus"
        fl = flit_layout(noc)
        routing_layout = data.StructLayout({name: width for name, width in self.fmt.fields
                                            if name in HEADER_ROUTING_FIELDS})
        routing_bits = routing_layout.size

        def crosses_dateline(out_port):
            if not torus:
                return False
            return {E: self.x == noc.width - 1, W: self.x == 0,
                    S: self.y == noc.height - 1, N: self.y == 0}[out_port]

        # Output side state: credits and ownership per (output port, VC).
        out_vcs = {o: list(range(V)) for o in DIRECTIONS}
        out_vcs[L] = [c * vpc for c in range(noc.num_classes)]
        credits = {(o, v): Signal(range(D + 1), init=D, name=f"credit_{o}_{v}")
                   for o in range(5) for v in out_vcs[o]}
        busy = {(o, v): Signal(name=f"busy_{o}_{v}") for o in range(5) for v in out_vcs[o]}

        # Ejection buffers: the local output port behaves like a link into them.
        eject_buf = {}
        for c in range(noc.num_classes):
            buf = VcBuffer(fl, D)
            m.submodules[f"eject_buf_{c}"] = buf
            m.d.comb += [self.eject[c].valid.eq(buf.count != 0),
                         self.eject[c].payload.eq(buf.data),
                         buf.pop.eq(self.eject[c].valid & self.eject[c].ready)]
            eject_buf[c] = buf

        # Input VCs.  The route of a head flit is computed once per input
        # port as the flit arrives and stored beside it in the buffer, so
        # the buffers of one port share one routing unit.
        entry = data.StructLayout({"flit": fl, "route": 5, "bad": 1, "mcast": 1})
        port_hdr = {p: data.View(routing_layout, data.View(fl, self.in_link[p].flit).data[:routing_bits])
                    for p in DIRECTIONS}
        mcast_flags = []

        inputs = []
        for p in range(5):
            for v in (range(V) if p != L else out_vcs[L]):
                inputs.append((p, v))
        n_in = len(inputs)
        want, mask, ok, mc_wait, fronts, xfer, heads, tails = [], [], [], [], [], [], [], []
        ovc = []        # ovc[i][o]: constant output VC of input i on port o
        bad_heads = []
        active_regs = []
        routed = {}
        for p in range(4):
            routed[p] = self._route(m, port_hdr[p], p, f"port{p}")
        for i, (p, v) in enumerate(inputs):
            name = f"in{p}_{v}"
            cls = v // vpc
            buf = VcBuffer(entry, D)
            m.submodules[f"buf_{name}"] = buf
            if p != L:
                link = self.in_link[p]
                route_in, bad_in = routed[p]
                hdr_in = port_hdr[p]
                m.d.comb += [buf.push.eq(link.valid & (link.vc == v)),
                             buf.push_data.flit.eq(link.flit),
                             buf.push_data.route.eq(route_in),
                             buf.push_data.bad.eq(bad_in),
                             buf.push_data.mcast.eq(hdr_in.mcast),
                             link.credit[v].eq(buf.pop)]
            else:
                inj = self.inject[cls]
                inj_flit = data.View(fl, inj.payload)
                hdr_in = data.View(routing_layout, inj_flit.data[:routing_bits])
                route_in, bad_in = self._route(m, hdr_in, L, f"inj{cls}")
                expect_head = Signal(init=1, name=f"{name}_expect_head")
                m.d.comb += [inj.ready.eq(buf.count < D),
                             buf.push.eq(inj.valid & inj.ready),
                             buf.push_data.flit.data.eq(inj_flit.data),
                             buf.push_data.flit.tail.eq(inj_flit.tail),
                             # The router frames injected packets itself.
                             buf.push_data.flit.head.eq(expect_head),
                             buf.push_data.route.eq(route_in),
                             buf.push_data.bad.eq(bad_in),
                             buf.push_data.mcast.eq(hdr_in.mcast)]
                with m.If(buf.push):
                    m.d.sync += expect_head.eq(inj_flit.tail)
            front = buf.data.flit
            route, bad = buf.data.route, buf.data.bad
            front_mcast = buf.data.mcast

            d_in = (v % vpc) != 0
            ovc_i = {}
            for o in DIRECTIONS:
                same_dim = (p in (E, W) and o in (E, W)) or (p in (N, S) and o in (N, S))
                d = (d_in and same_dim) or crosses_dateline(o)
                ovc_i[o] = cls * vpc + (1 if d and vpc > 1 else 0)
            ovc_i[L] = cls * vpc
            ovc.append(ovc_i)

            active = Signal(name=f"{name}_active")
            mask_r = Signal(5, name=f"{name}_mask")
            nonempty = buf.count != 0
            w = Signal(name=f"{name}_want")
            cur_mask = Signal(5, name=f"{name}_cur_mask")
            is_head = Signal(name=f"{name}_is_head")
            m.d.comb += [
                is_head.eq(~active & front.head),
                w.eq(nonempty & (active | front.head)),
                cur_mask.eq(Mux(active, mask_r, route)),
            ]
            mcw = Signal(name=f"{name}_mc_wait")
            m.d.comb += mcw.eq(nonempty & is_head & front_mcast & ~bad)
            want.append(w); mask.append(cur_mask); mc_wait.append(mcw); fronts.append(front)
            heads.append(is_head); tails.append(front.tail)
            bad_heads.append((nonempty & is_head & bad, cls, p))
            active_regs.append((active, mask_r, route, buf))
            ok.append({})
            xfer.append(Signal(name=f"{name}_xfer"))
            mcast_flags.append(front_mcast)

        # One multicast head per router may allocate (and reserve) at a time.
        mc_wait_vec = Cat(*mc_wait)
        mc_advance = Signal()
        mc_sel = round_robin(m, mc_wait_vec, "mc_sel", advance=mc_advance)
        m.d.comb += mc_advance.eq((mc_sel & Cat(*xfer)).any())
        # Which inputs can ever use which output (XY order, no U-turns):
        # pruning the impossible pairs shrinks arbiters and the crossbar.
        cand = {o: [i for i, (p, _) in enumerate(inputs) if o in REACHABLE[p]] for o in range(5)}
        reserved = {}
        for (o, v) in credits:
            terms = [mc_sel[i] & mask[i][o] for i in cand[o] if ovc[i][o] == v]
            reserved[(o, v)] = Signal(name=f"reserved_{o}_{v}")
            m.d.comb += reserved[(o, v)].eq(Cat(*terms).any() if terms else 0)

        # Per output VC: may a body flit / a unicast head / a multicast head go?
        body_ok, uni_ok, mc_ok = {}, {}, {}
        for (o, v), credit in credits.items():
            body_ok[(o, v)] = Signal(name=f"body_ok_{o}_{v}")
            uni_ok[(o, v)] = Signal(name=f"uni_ok_{o}_{v}")
            mc_ok[(o, v)] = Signal(name=f"mc_ok_{o}_{v}")
            # A multicast needs the whole downstream buffer; an ejection FIFO
            # always drains, so there one free slot (like a body flit) is enough.
            empty = (credit == D) if o != L else (credit != 0)
            m.d.comb += [body_ok[(o, v)].eq(credit != 0),
                         uni_ok[(o, v)].eq((credit != 0) & ~busy[(o, v)] & ~reserved[(o, v)]),
                         mc_ok[(o, v)].eq(empty & ~busy[(o, v)])]
        # Per (input, output) eligibility.
        for o in range(5):
            for i in cand[o]:
                ov = ovc[i][o]
                e = Signal(name=f"ok_{i}_{o}")
                m.d.comb += e.eq(Mux(heads[i],
                                     Mux(mcast_flags[i], mc_sel[i] & mc_ok[(o, ov)], uni_ok[(o, ov)]),
                                     body_ok[(o, ov)]))
                ok[i][o] = e

        # Switch arbitration: one round-robin arbiter per output port.
        won = {i: [] for i in range(n_in)}
        grants = []
        for o in range(5):
            req = Cat(*[want[i] & mask[i][o] & ok[i][o] for i in cand[o]])
            sent = Signal(name=f"sent_{o}")
            grant = round_robin(m, req, f"sw{o}", advance=sent)
            grants.append((grant, sent))
            for bit, i in enumerate(cand[o]):
                won[i].append(~mask[i][o] | grant[bit])
        for i in range(n_in):
            m.d.comb += xfer[i].eq(want[i] & Cat(*won[i]).all())

        def or_all(terms):
            if len(terms) == 1:
                return terms[0]
            return or_all(terms[:len(terms) // 2]) | or_all(terms[len(terms) // 2:])

        # Crossbar and output-side bookkeeping.
        for o in range(5):
            grant, sent = grants[o]
            sel = [Signal(name=f"sel_{o}_{i}") for i in cand[o]]
            m.d.comb += [sel[bit].eq(grant[bit] & xfer[i]) for bit, i in enumerate(cand[o])]
            m.d.comb += sent.eq(Cat(*sel).any())
            out_flit = Signal(fl, name=f"out_flit_{o}")
            out_vc = Signal(range(V), name=f"out_vc_{o}")
            flit_terms = [Mux(sel[bit], fronts[i].as_value(), 0) for bit, i in enumerate(cand[o])]
            vc_terms = [Mux(sel[bit], ovc[i][o], 0) for bit, i in enumerate(cand[o])]
            m.d.comb += [out_flit.eq(or_all(flit_terms)), out_vc.eq(or_all(vc_terms))]
            if o != L:
                link = self.out_link[o]
                m.d.comb += [link.valid.eq(sent), link.vc.eq(out_vc), link.flit.eq(out_flit)]
            else:
                for c in range(noc.num_classes):
                    buf = eject_buf[c]
                    m.d.comb += [buf.push.eq(sent & (out_vc == c * vpc)), buf.push_data.eq(out_flit)]
            for v in out_vcs[o]:
                use = sent & (out_vc == v)
                returned = (self.out_link[o].credit[v] if o != L else eject_buf[v // vpc].pop)
                m.d.sync += credits[(o, v)].eq(credits[(o, v)] + returned - use)
                with m.If(use & out_flit.head & ~out_flit.tail):
                    m.d.sync += busy[(o, v)].eq(1)
                with m.Elif(use & out_flit.tail):
                    m.d.sync += busy[(o, v)].eq(0)

        # Input-side state: route latched at the head, released at the tail.
        for i, (active, mask_r, route, buf) in enumerate(active_regs):
            m.d.comb += buf.pop.eq(xfer[i])
            with m.If(xfer[i]):
                with m.If(~active & fronts[i].head & ~fronts[i].tail):
                    m.d.sync += [active.eq(1), mask_r.eq(route)]
                with m.Elif(active & fronts[i].tail):
                    m.d.sync += active.eq(0)

        bad_bits = [0] * noc.num_classes
        for i, (is_bad, cls, p) in enumerate(bad_heads):
            if p == L:
                bad_bits[cls] = is_bad & xfer[i]
        m.d.comb += self.bad_packet.eq(Cat(*bad_bits))
        return m


def build_noc_router(cfg, x: int = 0, y: int = 0):
    """Block factory: the router at (x, y) of ``cfg``'s network."""
    return Router(cfg.noc, x, y)
