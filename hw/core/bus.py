"""Bus and trace interfaces of the Tessera RV32IMC core.

Both buses are seen from the core (the initiator).  Protocol, shared by the
instruction bus and the data bus:

* ``req`` is a ``lib.stream``: a request transfers in a cycle where
  ``req.valid & req.ready``.  Until it transfers, the core may change or
  withdraw a request (it does so only when its pipeline is redirected or
  flushed), so a responder treats every cycle's request on its own.
* ``resp.valid`` marks the one response of an accepted request.  Responses
  come back in order, at least one cycle after their request (the response
  must be registered: the core's next request may depend on it
  combinationally).  ``resp.err`` reports a bus error (no device, or a device
  refusing the access); the core turns it into a precise access-fault trap.
* The core keeps at most ONE request outstanding per bus.  It may present the
  next request in the very cycle the previous response arrives, so a
  zero-wait responder (``ready`` always 1, response one cycle later) sustains
  one access per cycle on each bus.
* Nothing is requested while the core is held in reset.
* ``mask`` is the byte enable (bit i = byte lane i, little endian) for writes
  and for reads (a read's mask tells MMIO which bytes are consumed).
  ``addr`` is the byte address; the core never issues a misaligned access
  (it traps first), so ``addr`` is word aligned on the instruction bus and
  naturally aligned for the access size on the data bus.

Data-bus fabric: :class:`DataBusDecoder` steers one initiator to a target
per address :class:`Window`, :class:`DataBusArbiter` shares one target among
initiators.  Neither has a queue: each relies on every target behind it
answering an accepted request exactly one cycle later, and remembers only
who owns the response of the request it accepted last.
"""

from amaranth.hdl import Cat, Const, Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.logic import RoundRobin, or_all
from tessera.hw.signature import ValueSignature

__all__ = ["FetchRequest", "DataRequest", "BusResponse", "InstructionBus", "DataBus", "RetireTrace",
           "Window", "DataBusDecoder", "DataBusArbiter"]


class FetchRequest(data.Struct):
    """An instruction fetch: one aligned 32-bit word."""
    addr: unsigned(32)


class DataRequest(data.Struct):
    """A data access; ``mask`` selects byte lanes of ``wdata``/the read word."""
    addr: unsigned(32)
    we: unsigned(1)
    mask: unsigned(4)
    wdata: unsigned(32)


class BusResponse(ValueSignature):
    """The response of either bus, driven by the responder: ``valid`` (one cycle per accepted
    request), the read word ``rdata`` and ``err`` (bus error, see the module docstring)."""

    def __init__(self):
        super().__init__({"valid": Out(1), "rdata": Out(32), "err": Out(1)})


class _BusSignature(ValueSignature):
    """Initiator side of a bus: ``req`` (a stream of the class's ``request`` layout) out,
    ``resp`` (:class:`BusResponse`) in."""

    request: type = None

    def __init__(self):
        super().__init__({
            "req": Out(stream.Signature(self.request)),
            "resp": In(BusResponse()),
        })


class InstructionBus:
    class Signature(_BusSignature):
        """Initiator side: ``req`` (:class:`FetchRequest` stream) out, ``resp`` in."""
        request = FetchRequest


class DataBus:
    class Signature(_BusSignature):
        """Initiator side: ``req`` (:class:`DataRequest` stream) out, ``resp`` in."""
        request = DataRequest


class RetireTrace(ValueSignature):
    """One record per retired (or trapped) instruction, RVFI-like.

    ``valid`` is high in the cycle the instruction leaves the pipeline.
    ``trap`` marks an instruction that raised an exception instead of
    retiring (``cause`` is its mcause); ``rd`` is 0 when no register is
    written and ``rd_wdata`` is then 0.  ``insn`` is the instruction as
    fetched (a compressed one in bits 15:0, upper half zero).  Memory fields
    are zero for non-memory instructions; ``mem_rdata`` is the raw bus word.
    """
    def __init__(self):
        super().__init__({
            "valid": Out(1),
            "trap": Out(1),
            "cause": Out(4),
            "pc": Out(32),
            "insn": Out(32),
            "rd": Out(5),
            "rd_wdata": Out(32),
            "mem_addr": Out(32),
            "mem_rmask": Out(4),
            "mem_wmask": Out(4),
            "mem_wdata": Out(32),
            "mem_rdata": Out(32),
        })


class Window:
    """A named, power-of-two sized and aligned address window ``base .. base + size``."""

    def __init__(self, name: str, base: int, size: int):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"window name must be an identifier, got {name!r}")
        if not isinstance(size, int) or size <= 0 or size & (size - 1):
            raise ValueError(f"window {name}: size must be a power of two, got {size!r}")
        if not isinstance(base, int) or base < 0 or base % size or base + size > 1 << 32:
            raise ValueError(f"window {name}: base {base!r} must be a 32-bit address aligned to "
                             f"its size {size:#x}")
        self.name, self.base, self.size = name, base, size

    @property
    def end(self) -> int:
        return self.base + self.size

    def match(self, addr):
        """HDL: ``addr`` (32 bits) lies in the window."""
        low = (self.size - 1).bit_length()
        if low >= 32:
            return Const(1, 1)
        return addr[low:] == self.base >> low

    def __repr__(self):
        return f"Window({self.name!r}, {self.base:#010x}, {self.size:#x})"


class DataBusDecoder(wiring.Component):
    """One data-bus initiator (``bus``) → one data-bus target per window (``<window name>``).

    A request is steered to the window its address hits; a request hitting
    none is accepted at once and answered ``err`` one cycle later.  Targets
    must answer exactly one cycle after acceptance (see the module
    docstring); the response is taken from the target that accepted the
    request, remembered in a one-hot register.
    """

    def __init__(self, windows):
        windows = list(windows)
        if not windows:
            raise ValueError("DataBusDecoder needs at least one window, got none")
        names = [w.name for w in windows]
        if len(set(names)) != len(names) or "bus" in names:
            raise ValueError(f"DataBusDecoder window names must be unique and not 'bus', got {names}")
        spans = sorted((w.base, w.end, w.name) for w in windows)
        for (b0, e0, n0), (b1, _e1, n1) in zip(spans, spans[1:]):
            if b1 < e0:
                raise ValueError(f"DataBusDecoder windows {n0} and {n1} overlap at {b1:#x}")
        self.windows = windows
        super().__init__({"bus": In(DataBus.Signature()),
                          **{w.name: Out(DataBus.Signature()) for w in windows}})

    def elaborate(self, platform):
        m = Module()
        bus, req = self.bus, self.bus.req
        targets = [getattr(self, w.name) for w in self.windows]
        hits = Signal(len(targets))
        m.d.comb += hits.eq(Cat(*[w.match(req.payload.addr) for w in self.windows]))
        miss = Signal()
        m.d.comb += miss.eq(~hits.any())
        for i, t in enumerate(targets):
            m.d.comb += [t.req.valid.eq(req.valid & hits[i]), t.req.payload.eq(req.payload)]
        m.d.comb += req.ready.eq(miss | or_all([hits[i] & t.req.ready for i, t in enumerate(targets)]))

        owner = Signal(len(targets))   # one-hot: the target answering next cycle
        err_pending = Signal()
        accept = Signal()
        m.d.comb += accept.eq(req.valid & req.ready)
        m.d.sync += err_pending.eq(accept & miss)
        with m.If(accept):
            m.d.sync += owner.eq(hits)
        m.d.comb += [
            bus.resp.valid.eq(err_pending | or_all([owner[i] & t.resp.valid for i, t in enumerate(targets)])),
            bus.resp.err.eq(err_pending | or_all([owner[i] & t.resp.err for i, t in enumerate(targets)])),
            bus.resp.rdata.eq(or_all([t.resp.rdata & owner[i].replicate(32) for i, t in enumerate(targets)])),
        ]
        return m


class DataBusArbiter(wiring.Component):
    """``num`` data-bus initiators (``initiator[i]``) share one target (``target``).

    Round robin over the requesting initiators, one grant per cycle.  The
    priority pointer moves past the granted initiator whether or not the
    target takes the request this cycle: a request the target stalls (an
    engine command write into a full FIFO, a console byte while the console
    is busy) must not lock the others out of the target — the stalled core
    may be waiting for another core's command to free its FIFO.  The target
    must answer exactly one cycle after acceptance; the response goes to the
    initiator whose request was accepted (a registered index).
    """

    def __init__(self, num: int):
        if not isinstance(num, int) or isinstance(num, bool) or not 1 <= num <= 32:
            raise ValueError(f"DataBusArbiter num must be an integer in 1..32, got {num!r}")
        self.num = num
        super().__init__({"initiator": In(DataBus.Signature()).array(num),
                          "target": Out(DataBus.Signature())})

    def elaborate(self, platform):
        m = Module()
        n, tgt = self.num, self.target
        m.submodules.round_robin = arbiter = RoundRobin(n)
        m.d.comb += arbiter.requests.eq(Cat(*[ini.req.valid for ini in self.initiator]))
        grant, grant_idx = arbiter.grant, arbiter.grant_index
        with m.Switch(grant_idx):
            for p in range(n):
                with m.Case(p):
                    m.d.comb += tgt.req.payload.eq(self.initiator[p].req.payload)
        m.d.comb += tgt.req.valid.eq(grant.any())
        owner = Signal(range(max(2, n)))
        with m.If(tgt.req.valid & tgt.req.ready):
            m.d.sync += owner.eq(grant_idx)
        for p, ini in enumerate(self.initiator):
            m.d.comb += [
                ini.req.ready.eq(grant[p] & tgt.req.ready),
                ini.resp.valid.eq(tgt.resp.valid & (owner == p)),
                ini.resp.err.eq(tgt.resp.err),
                ini.resp.rdata.eq(tgt.resp.rdata),
            ]
        return m
