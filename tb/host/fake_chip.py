"""A chip without a simulator, for the runtime's unit tests: memories in Python, kernels not run.

:class:`FakeChip` serves the device protocol's operations on bytearrays
(every L1 and DRAM; tile_ctrl registers as a dict); ``run`` reports every
program as exited with ``exit_code`` (or, with ``hang``, not at all).
:class:`FakeTransport` is a :class:`~tessera.sw.host.transport.Transport`
calling it directly; :class:`AsyncFakeBackend` is the same chip as a
protocol backend (coroutines), for a real socket round trip.
"""

from __future__ import annotations

from tessera.sw.host.errors import NocRequestError
from tessera.sw.host.transport import Transport


class NocError(RuntimeError):
    """Named like the simulator's, so the protocol server reports it as kind ``noc``."""


class FakeChip:
    def __init__(self, cfg, exit_code: int = 0, hang: bool = False):
        self.cfg = cfg
        self.mem = {(n.x, n.y): bytearray(cfg.l1.size_bytes) for n in cfg.nodes_of("tensix")}
        self.mem.update({(n.x, n.y): bytearray(cfg.dram.size_bytes) for n in cfg.nodes_of("dram")})
        self.regs = {}
        self.exit_code, self.hang = exit_code, hang
        self.cycle_count = 0
        self.log = []

    def _target(self, x, y, addr, n):
        if (x, y) not in self.mem:
            raise NocError(f"node ({x}, {y}) has no memory")
        mem = self.mem[(x, y)]
        if addr + n <= len(mem):
            return mem
        return None

    def write(self, x, y, addr, data, acked=True):
        self.log.append(("write", x, y, addr, len(data)))
        mem = self._target(x, y, addr, len(data))
        if mem is None:
            if len(data) == 4 and addr >= self.cfg.mmio.regions[0].base:
                self.regs[(x, y, addr)] = int.from_bytes(data, "little")
                return
            raise NocError(f"node ({x}, {y}) refused WRITE_ACKED at address {addr:#010x}")
        mem[addr:addr + len(data)] = data
        self.cycle_count += 10 + len(data) // 8

    def read(self, x, y, addr, n):
        mem = self._target(x, y, addr, n)
        if mem is None:
            raise NocError(f"node ({x}, {y}) refused READ at address {addr:#010x}")
        return bytes(mem[addr:addr + n])

    def run(self, programs, budget, poll):
        self.log.append(("run", len(programs), budget))
        if self.hang:
            self.cycle_count += budget
            return {"done": False, "cycles": budget, "codes": [], "console": [], "cores": self.cores()}
        self.cycle_count += 100
        return {"done": True, "cycles": 100, "console": [],
                "codes": [{"x": p["x"], "y": p["y"], "core": p["core"], "code": self.exit_code} for p in programs]}

    def cores(self):
        return [{"x": n.x, "y": n.y, "core": c.name, "pc": 0x40 + 4 * i, "retired": 7, "trapped": 0, "held": 0}
                for n in self.cfg.nodes_of("tensix") for i, c in enumerate(self.cfg.cores)]

    def counters(self):
        return {"cycle": self.cycle_count, "bad_packets": 0, "packets_sent": 0, "cores": self.cores()}


class FakeTransport(Transport):
    def __init__(self, chip: FakeChip):
        self.chip = chip
        self.closed = False

    def request(self, header, payload=b""):
        op = header["op"]
        try:
            if op == "write":
                pos = 0
                for w in header["writes"]:
                    self.chip.write(w["x"], w["y"], w["addr"], payload[pos:pos + w["bytes"]], w["acked"])
                    pos += w["bytes"]
                return {"ok": True}, b""
            if op == "read":
                return {"ok": True}, self.chip.read(header["x"], header["y"], header["addr"], header["bytes"])
            if op == "run":
                return {"ok": True, **self.chip.run(header["programs"], header["budget"], header["poll"])}, b""
            if op == "counters":
                return {"ok": True, **self.chip.counters()}, b""
            if op == "reset":
                return {"ok": True}, b""
        except NocError as exc:
            raise NocRequestError(f"the chip refused a request: {exc}") from None
        raise AssertionError(op)

    def close(self):
        self.closed = True


class AsyncFakeBackend:
    """:class:`FakeChip` as a protocol backend (the interface of tessera.sw.host.protocol.Backend)."""

    def __init__(self, chip: FakeChip):
        self.chip = chip

    def cycle(self):
        return self.chip.cycle_count

    async def write(self, x, y, addr, data, acked):
        self.chip.write(x, y, addr, data, acked)

    async def read(self, x, y, addr, n):
        return self.chip.read(x, y, addr, n)

    async def reset(self):
        self.chip.regs.clear()

    async def run(self, programs, budget, poll, trace=None):
        return self.chip.run(programs, budget, poll)

    async def counters(self):
        return self.chip.counters()
