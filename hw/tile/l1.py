"""The tile's L1: a banked SRAM shared by several requesters.

Structure (per bank, ``cfg.l1.banks`` of them, each ``cfg.l1.bank_width`` bits
wide and ``cfg.l1.words_per_bank`` deep)::

    port[0..N-1].req ──► bank decode ──► per-bank round-robin arbiter ──► grant
                                             │ (one request per bank per cycle)
      stage A (cycle t): read the bank word  ▼   (read port, registered, transparent
                                                  to the write port)
      stage B (cycle t+1): the word is on the read port's data;
                           WRITE      → write the masked bytes
                           ATOMIC_INC → write old lane + operand lane
                           every op   → the old word goes back to the winning port

Every write (plain or atomic) happens in stage B, one cycle after its read, so
a bank needs one read port and one write port (ECP5 DP16KD: port A reads,
port B writes).  The read port is transparent for the write port: a request
read in the same cycle that the previous request to that word writes sees the
new bytes.  So every request observes all requests accepted before it, and an
atomic increment never loses a concurrent one — there is no window between
its read and its write in which another request to the same bank can read.

Latency: a request accepted on clock edge t gets its response (valid high) in
the cycle after, sampled on edge t+1 (:data:`L1_LATENCY` = 1), contended or
not; contention only delays acceptance.  Throughput: one access per bank per
cycle; N ports can each be served every cycle when they target different
banks.  No starvation: a waiting request is granted within N-1 cycles (the
arbiter's pointer moves past every port it grants).

Memory inference: each bank is one ``lib.memory.Memory`` with a byte-granular
write port (byte enables) and a synchronous read port; yosys maps it to
DP16KD block RAMs on ECP5 (transparency costs a small bypass in fabric).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from tessera.hw.config import L1Config
from tessera.hw.logic import RoundRobin
from tessera.hw.tile.l1_port import L1_LATENCY, L1AddressMap, L1Op, L1PortSignature, l1_request_layout

__all__ = ["L1", "build_l1", "L1_LATENCY"]

MAX_PORTS = 32


class L1(wiring.Component):
    """Banked L1 SRAM with ``num_ports`` requester ports ``port[i]`` (see :mod:`hw.tile.l1_port`)."""

    def __init__(self, l1: L1Config, num_ports: int):
        if not isinstance(l1, L1Config):
            raise TypeError(f"L1 needs an L1Config (cfg.l1), got {l1!r}")
        if not isinstance(num_ports, int) or isinstance(num_ports, bool) or not 1 <= num_ports <= MAX_PORTS:
            raise ValueError(f"L1 num_ports must be an integer in 1..{MAX_PORTS}, got {num_ports!r}")
        self.l1 = l1
        self.num_ports = num_ports
        self.amap = L1AddressMap(l1)
        super().__init__({"port": In(L1PortSignature(l1)).array(num_ports)})

    def elaborate(self, platform):
        m = Module()
        l1, amap, n = self.l1, self.amap, self.num_ports
        lay = l1_request_layout(l1)
        lanes = amap.lanes
        row_lo = amap.offset_bits + amap.bank_bits

        def bank_of(addr):
            if l1.banks == 1:
                return Const(0, 1)
            return addr[amap.offset_bits:row_lo]

        # Which bank each port asks for this cycle.
        want = [[Signal(name=f"want_b{b}_p{p}") for p in range(n)] for b in range(l1.banks)]
        for p, port in enumerate(self.port):
            for b in range(l1.banks):
                m.d.comb += want[b][p].eq(port.req.valid & (bank_of(port.req.payload.addr) == b))

        # Port-side response bookkeeping: which bank answers next cycle.
        bank_idx_shape = range(max(2, l1.banks))
        resp_pending = [Signal(name=f"resp_pending_p{p}") for p in range(n)]
        resp_bank = [Signal(bank_idx_shape, name=f"resp_bank_p{p}") for p in range(n)]
        accepted = [Signal(name=f"accepted_p{p}") for p in range(n)]
        bank_rdata = []

        for b in range(l1.banks):
            mem = Memory(shape=unsigned(l1.bank_width), depth=l1.words_per_bank, init=[])
            m.submodules[f"bank{b}"] = mem
            wr = mem.write_port(granularity=8)
            rd = mem.read_port(domain="sync", transparent_for=(wr,))
            bank_rdata.append(rd.data)

            # Round robin: priority starts just after the port granted most
            # recently, so a granted port drops to the back of the queue and
            # a waiting one rises by one place per grant.
            arbiter = m.submodules[f"bank{b}_arbiter"] = RoundRobin(n)
            m.d.comb += arbiter.requests.eq(Cat(*want[b]))
            grant, grant_idx = arbiter.grant, arbiter.grant_index    # one-hot, and its index
            for p in range(n):
                with m.If(grant[p]):
                    m.d.comb += accepted[p].eq(1)
                    m.d.sync += resp_bank[p].eq(b)

            # Stage A: the granted request.
            sel = Signal(lay, name=f"bank{b}_req")
            with m.Switch(grant_idx):
                for p in range(n):
                    with m.Case(p):
                        m.d.comb += sel.eq(self.port[p].req.payload)
            m.d.comb += [
                rd.addr.eq(sel.addr[row_lo:row_lo + amap.row_bits]),
                rd.en.eq(grant.any()),
            ]
            # Stage B registers: what to write once the old word is on rd.data.
            b_valid = Signal(name=f"bank{b}_b_valid")
            b_req = Signal(lay, name=f"bank{b}_b_req")
            m.d.sync += [b_valid.eq(grant.any()), b_req.eq(sel)]
            lane = b_req.addr[2:2 + amap.lane_bits] if lanes > 1 else Const(0, 1)
            old_lane = rd.data.word_select(lane, 32)
            operand = b_req.wdata.word_select(lane, 32)
            total = Signal(32, name=f"bank{b}_atomic_sum")
            lane_mask = Signal(l1.bank_bytes, name=f"bank{b}_lane_mask")
            m.d.comb += [
                total.eq(old_lane + operand),
                lane_mask.eq(Const(0xF, l1.bank_bytes) << (lane * 4)),
                wr.addr.eq(b_req.addr[row_lo:row_lo + amap.row_bits]),
            ]
            with m.If(b_valid):
                with m.Switch(b_req.op):
                    with m.Case(L1Op.WRITE):
                        m.d.comb += [wr.en.eq(b_req.mask), wr.data.eq(b_req.wdata)]
                    with m.Case(L1Op.ATOMIC_INC):
                        m.d.comb += [wr.en.eq(lane_mask), wr.data.eq(total.replicate(lanes))]

        for p, port in enumerate(self.port):
            m.d.comb += port.req.ready.eq(accepted[p])
            m.d.sync += resp_pending[p].eq(accepted[p])
            m.d.comb += port.resp.valid.eq(resp_pending[p])
            with m.Switch(resp_bank[p]):
                for b in range(l1.banks):
                    with m.Case(b):
                        m.d.comb += port.resp.rdata.eq(bank_rdata[b])
        return m


def build_l1(cfg, ports: int = 4):
    """Block factory: the L1 of ``cfg`` with ``ports`` requester ports, with flat ports for export."""
    return L1(cfg.l1, ports)
