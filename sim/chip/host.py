"""The chip's host node driven from cocotb: the port :class:`ChipHost` sends packets through.

:class:`~tessera.sw.host.noc_host.ChipHost` (NoC requests from the host
node, any length, any alignment, pipelined batches) is host software and
lives in the runtime, ``tessera.sw.host.noc_host``; it is re-exported here
with :class:`~tessera.sw.host.noc_host.NocError` for the simulator's users.
This module adds what only a simulation has: :class:`CocotbHostPort`, the
Verilator chip's ``host_inject`` / ``host_eject`` streams as a ChipHost
port, and :func:`until_ready`.

The firmware loader's plan runs unchanged:
``await load_image_async(image, cfg, host.write)``.
"""

from __future__ import annotations

from collections import deque

from tessera.hw.noc.layout import NocFormat
from tessera.sw.host.noc_host import ChipHost, NocError

__all__ = ["NocError", "ChipHost", "CocotbHostPort", "until_ready"]


async def until_ready(clk, ready) -> None:
    """Wait, with an offer held up, until ``ready`` is high; returns in the
    read-only phase of the cycle whose rising edge takes the offer."""
    from cocotb.triggers import FallingEdge, ReadOnly

    while True:
        await ReadOnly()
        if int(ready.value):
            return
        await FallingEdge(clk)


class CocotbHostPort:
    """The chip's ``host_inject[cls]`` / ``host_eject[cls]`` streams, driven from cocotb.

    One trigger per flit each way, on the falling edge: the network's
    handshake signals toward the host depend only on its registers (the
    injection ``ready`` is the input buffer's room, hw/noc/injection_framing.py;
    ``ready`` toward the network is held high), so their value half a cycle
    after the rising edge is the one the next rising edge sees.  Packets of
    a batch follow each other with no idle cycle.  Responses are accepted at
    once by a background task that sleeps until ``valid`` rises, so Python
    does nothing per cycle while nothing arrives.
    """

    def __init__(self, dut, cfg):
        import cocotb
        from cocotb.triggers import Event

        self.dut, self.cfg = dut, cfg
        self.fmt = NocFormat(cfg.noc)
        self.fw = cfg.noc.flit_width
        self.clk = dut.clk
        self.packets = deque()
        self.event = Event()
        self.inject = [(getattr(dut, f"host_inject__{c}__valid"), getattr(dut, f"host_inject__{c}__ready"),
                        getattr(dut, f"host_inject__{c}__payload")) for c in range(cfg.noc.num_classes)]
        for valid, _ready, _payload in self.inject:
            valid.value = 0
        self.tasks = []
        for c in range(cfg.noc.num_classes):
            getattr(dut, f"host_eject__{c}__ready").value = 1
            self.tasks.append(cocotb.start_soon(self._receive(c)))

    async def send(self, cls, flits):
        await self.send_packets(cls, [flits])

    async def send_packets(self, cls, packets):
        """Offer the flits of ``packets`` back to back; returns once the last one is taken."""
        from cocotb.triggers import FallingEdge

        valid, ready, payload = self.inject[cls]
        fw = self.fw
        words = [data | (head << fw) | (tail << (fw + 1)) for flits in packets for data, head, tail in flits]
        if not words:
            return
        falling = FallingEdge(self.clk)
        await falling
        valid.value = 1
        for word in words:
            payload.value = word
            # ``ready`` now is ``ready`` at the next rising edge: the flit is taken there, or offered again.
            while not int(ready.value):
                await falling
            await falling
        valid.value = 0

    async def _receive(self, cls):
        from cocotb.triggers import FallingEdge, RisingEdge

        valid = getattr(self.dut, f"host_eject__{cls}__valid")
        payload = getattr(self.dut, f"host_eject__{cls}__payload")
        falling, rose = FallingEdge(self.clk), RisingEdge(valid)
        words = []
        mask = (1 << self.fw) - 1
        await falling
        while True:
            if not int(valid.value):
                await rose
                await falling
            # A falling edge with ``valid`` high: one flit, taken at the next rising edge (ready is high).
            word = int(payload.value)
            words.append(word & mask)
            if (word >> (self.fw + 1)) & 1:
                self.packets.append(self.fmt.parse(words))
                words = []
                self.event.set()
            await falling

    async def next_packet(self):
        while not self.packets:
            self.event.clear()
            await self.event.wait()
        return self.packets.popleft()
