"""The DRAM node: a NoC endpoint that serves reads, writes and atomic increments on a large memory.

The memory is ``cfg.dram.size_bytes`` of one-bank SRAM words (the flit
width, at most 256 bits) behind a :class:`~tessera.hw.chip.target.NocTarget`.
It only responds; it never initiates.  Two parameters of ``cfg.dram`` shape
its timing (defaults in hw/config.py, documented in docs/chip.md):

* ``latency_cycles``: a response leaves no earlier than this many cycles
  after its request arrived.  Several requests are in flight at once (the
  target's response queue), so the latency does not cost bandwidth.
* ``bytes_per_cycle``: a token bucket meters the memory accesses of the
  NoC side to this many bytes per cycle on average.

``backdoor`` is a plain L1-style requester port on the same memory for test
benches (load and dump without NoC traffic, one memory word per cycle); it
is not metered.

``busy`` (for timelines only) is high while the node serves a request:
from taking its header until its response has left.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.chip.target import NocTarget
from tessera.hw.config import L1Config, TesseraConfig
from tessera.hw.noc.layout import MessageClass, local_stream_signature
from tessera.hw.tile.l1 import L1
from tessera.hw.tile.l1_port import L1PortSignature

__all__ = ["DramNode", "dram_memory_config", "build_dram_node"]


def dram_memory_config(cfg: TesseraConfig) -> L1Config:
    """The DRAM memory as an L1-style SRAM: one bank of flit-wide words (at most 256 bits)."""
    return L1Config(size_bytes=cfg.dram.size_bytes, banks=1, bank_width=min(cfg.noc.flit_width, 256))


class DramNode(wiring.Component):
    def __init__(self, cfg: TesseraConfig, x: int, y: int):
        if cfg.node_at(x, y).kind != "dram":
            raise ValueError(f"DramNode position ({x}, {y}) holds a {cfg.node_at(x, y).kind} node, not DRAM")
        self.cfg, self.x, self.y = cfg, x, y
        self.mem_cfg = dram_memory_config(cfg)
        noc = cfg.noc
        super().__init__({
            "inject": Out(local_stream_signature(noc)).array(noc.num_classes),
            "eject": In(local_stream_signature(noc)).array(noc.num_classes),
            "backdoor": In(L1PortSignature(self.mem_cfg)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        REQ, RESP = int(MessageClass.REQUEST), int(MessageClass.RESPONSE)
        m.submodules.memory = mem = L1(self.mem_cfg, 3)
        m.submodules.target = target = NocTarget(cfg.noc, self.x, self.y, self.mem_cfg, has_ctrl=False,
                                                 latency=cfg.dram.latency_cycles)
        wiring.connect(m, wiring.flipped(self.eject[REQ]), target.req_in)
        wiring.connect(m, target.resp_out, wiring.flipped(self.inject[RESP]))
        # A DRAM node never initiates and never receives responses.
        m.d.comb += [self.inject[REQ].valid.eq(0), self.eject[RESP].ready.eq(1)]
        wiring.connect(m, wiring.flipped(self.backdoor), mem.port[2])
        m.d.comb += self.busy.eq(target.busy)

        wb = self.mem_cfg.bank_bytes
        rate = cfg.dram.bytes_per_cycle
        cap = 2 * max(wb, rate)
        tokens = Signal(range(cap + 1), init=cap)
        taken, asking = [], []
        for i, port in enumerate((target.mem_rx, target.mem_tx)):
            wiring.connect(m, port, mem.port[i])
            ok = Signal(name=f"metered_{i}")
            # The read side may only spend what the write side could take this
            # cycle (its request, not its grant: the grant depends on both requests).
            need = wb if i == 0 else wb + asking[0] * wb
            m.d.comb += [ok.eq(tokens >= need),
                         mem.port[i].req.valid.eq(port.req.valid & ok),
                         port.req.ready.eq(mem.port[i].req.ready & ok)]
            t = Signal(name=f"metered_taken_{i}")
            m.d.comb += t.eq(port.req.valid & port.req.ready)
            taken.append(t)
            a = Signal(name=f"metered_asking_{i}")
            m.d.comb += a.eq(port.req.valid & ok)
            asking.append(a)
        after = Signal(range(cap + rate + 1))
        m.d.comb += after.eq(tokens + rate - (taken[0] + taken[1]) * wb)
        with m.If(after > cap):
            m.d.sync += tokens.eq(cap)
        with m.Else():
            m.d.sync += tokens.eq(after)
        return m


def build_dram_node(cfg: TesseraConfig, x: int | None = None, y: int | None = None):
    """Block factory: the DRAM node at (``x``, ``y``), by default the first of ``cfg``."""
    if x is None and y is None:
        first = cfg.nodes_of("dram")[0]
        x, y = first.x, first.y
    return DramNode(cfg, x, y)
