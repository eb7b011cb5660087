"""cocotb side of the chip server (``python -m tessera.sim.chip.serve``).

One cocotb test, ``serve``: start the clock, reset the chip, connect to the
host runtime (``TESSERA_SERVE_CONNECT``), then serve the device protocol
(:func:`tessera.sw.host.protocol.serve_connection`) with
:class:`SessionBackend`.  Requests are read with blocking socket calls, so
simulated time stands still between them.  A ``write`` request's writes go
out as one pipelined batch (:meth:`~tessera.sim.chip.host.ChipHost.write_batch`);
``run`` lets the clock run while Python sleeps on the programs' cores'
waypoint ports until all are DONE (or the budget's timer fires), then reads
the ``tohost`` words once (:meth:`~tessera.sim.chip.session.ChipSession.wait_exits`),
never Python per cycle.
"""

from __future__ import annotations

import os
import socket

import cocotb
from cocotb.triggers import FallingEdge

from tessera.sim.chip.session import ChipSession
from tessera.sim.cocotb_util import load_config, reset, start_clock
from tessera.sw.host.protocol import serve_connection

__all__ = ["SessionBackend"]


class SessionBackend:
    """The device protocol's operations on a :class:`~tessera.sim.chip.session.ChipSession`."""

    def __init__(self, dut, cfg, session: ChipSession):
        self.dut, self.cfg, self.session = dut, cfg, session
        self.console_seen = {tile: 0 for tile in session.tiles}

    def cycle(self) -> int:
        return self.session.cycle()

    async def write(self, x, y, addr, data, acked):
        await self.session.host.write(x, y, addr, data, acked=acked)

    async def write_batch(self, writes):
        """[(x, y, addr, data, acked)] in order, pipelined (the protocol prefers this to ``write``)."""
        await self.session.host.write_batch(writes)

    async def read(self, x, y, addr, n):
        return await self.session.host.read(x, y, addr, n)

    async def reset(self):
        await FallingEdge(self.dut.clk)  # a request may have ended in a read-only phase
        await reset(self.dut)

    def _cores(self) -> list:
        return [{"x": tile[0], "y": tile[1], "core": name, **state}
                for (tile, name), state in self.session.core_state().items()]

    def _new_console(self) -> list:
        out = []
        for tile, sink in self.session.consoles.items():
            seen = self.console_seen[tile]
            if len(sink) > seen:
                out.append({"x": tile[0], "y": tile[1], "text": bytes(sink[seen:]).decode(errors="replace")})
                self.console_seen[tile] = len(sink)
        return out

    async def run(self, programs, budget, poll, trace=None):
        """Run until every program exited or ``budget`` cycles passed; with ``trace`` (a path
        without suffix) the run's timeline goes to ``<trace>.json`` and ``<trace>.png``."""
        if trace is None:
            return await self._run(programs, budget, poll)
        from pathlib import Path

        from tessera.sim.chip.trace import ChipTracer

        Path(trace).parent.mkdir(parents=True, exist_ok=True)
        tracer = ChipTracer(self.dut, self.cfg)
        tracer.start()
        try:
            reply = await self._run(programs, budget, poll)
        finally:
            tracer.stop()
        tracer.write_json(f"{trace}.json")
        png = f"{trace}.png" if tracer.write_png(f"{trace}.png") else None
        reply["trace"] = {"json": f"{trace}.json", "png": png}
        return reply

    async def _run(self, programs, budget, poll):
        watched = [(p["x"], p["y"], p.get("core", ""), p["exit_addr"]) for p in programs]
        result = await self.session.wait_exits(watched, budget, poll)
        reply = {"done": result["done"], "cycles": result["cycles"], "console": self._new_console(),
                 "codes": [{"x": x, "y": y, "core": core, "code": code}
                           for (x, y, core), code in result["codes"].items()]}
        if not result["done"]:
            reply["cores"] = self._cores()
        return reply

    async def counters(self):
        return {"cycle": self.cycle(), "bad_packets": int(self.dut.bad_packets.value),
                "packets_sent": self.session.host.packets_sent, "cores": self._cores()}


@cocotb.test()
async def serve(dut):
    cfg = load_config()
    start_clock(dut)
    session = ChipSession(dut, cfg)
    await reset(dut)
    host, _, port = os.environ["TESSERA_SERVE_CONNECT"].rpartition(":")
    sock = socket.create_connection((host, int(port)))
    try:
        await serve_connection(sock, SessionBackend(dut, cfg, session),
                               {"token": os.environ["TESSERA_SERVE_TOKEN"], "config": cfg.name,
                                "fingerprint": cfg.fingerprint()})
    finally:
        sock.close()
