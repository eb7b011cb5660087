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
"""

from amaranth.hdl import unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["FetchRequest", "DataRequest", "InstructionBus", "DataBus", "RetireTrace"]


class FetchRequest(data.Struct):
    """An instruction fetch: one aligned 32-bit word."""
    addr: unsigned(32)


class DataRequest(data.Struct):
    """A data access; ``mask`` selects byte lanes of ``wdata``/the read word."""
    addr: unsigned(32)
    we: unsigned(1)
    mask: unsigned(4)
    wdata: unsigned(32)


class InstructionBus:
    class Response(wiring.Signature):
        def __init__(self):
            super().__init__({"valid": Out(1), "rdata": Out(32), "err": Out(1)})

    class Signature(wiring.Signature):
        """Initiator side: ``req`` out, ``resp`` in."""
        def __init__(self):
            super().__init__({
                "req": Out(stream.Signature(FetchRequest)),
                "resp": In(InstructionBus.Response()),
            })


class DataBus:
    class Response(wiring.Signature):
        def __init__(self):
            super().__init__({"valid": Out(1), "rdata": Out(32), "err": Out(1)})

    class Signature(wiring.Signature):
        """Initiator side: ``req`` out, ``resp`` in."""
        def __init__(self):
            super().__init__({
                "req": Out(stream.Signature(DataRequest)),
                "resp": In(DataBus.Response()),
            })


class RetireTrace(wiring.Signature):
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
