"""The host side of the chip: NoC requests from the host node, any length, any alignment.

:class:`ChipHost` speaks the NIU packet protocol (docs/chip.md) over a
*port* — anything with ``async send(cls, flits)`` and ``async next_packet()
-> (header, payload)`` — so the same code drives the Verilator chip
(:class:`CocotbHostPort`, the chip's ``host_inject`` / ``host_eject``
streams) and the Amaranth-simulator tests.

Every call is complete when it returns: writes are acknowledged (posted
writes on request), reads return their bytes.  Long transfers are split into
packets of ``max_payload_bytes`` (multicasts: of one router buffer); all
packets of a call are sent before the responses are collected (responses
are taken in the background, so the NoC never backs up into the host).  A
request the chip answers with an error raises :class:`NocError` naming the
node, the address and the command.

The firmware loader's plan runs unchanged:
``await load_image_async(image, cfg, host.write)``.
"""

from __future__ import annotations

from collections import deque

from tessera.hw.chip.niu import multicast_payload_bytes
from tessera.hw.noc.layout import Command, MessageClass, NocFormat

__all__ = ["NocError", "ChipHost", "CocotbHostPort", "until_ready"]


class NocError(RuntimeError):
    """The chip answered a host request with ``ERROR_RESP``."""

    def __init__(self, x, y, addr, cmd):
        self.x, self.y, self.addr, self.cmd = x, y, addr, cmd
        super().__init__(f"node ({x}, {y}) refused {Command(cmd).name} at address {addr:#010x}")


def _word(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")


class ChipHost:
    """Host requests on the chip of ``cfg`` through ``port`` (see the module docstring)."""

    def __init__(self, cfg, port):
        self.cfg = cfg
        self.noc = cfg.noc
        self.fmt = NocFormat(cfg.noc)
        self.port = port
        self.x, self.y = cfg.host.x, cfg.host.y
        self.txn = 0
        self.packets_sent = 0

    # -- packets -------------------------------------------------------------

    def _packet(self, cmd, x, y, addr, payload=b"", **extra):
        self.txn = (self.txn + 1) % (1 << self.noc.txn_id_width)
        return self.fmt.packet(payload, cls=int(MessageClass.REQUEST), cmd=int(cmd), dst_x=x, dst_y=y,
                               src_x=self.x, src_y=self.y, txn=self.txn, addr=addr & 0xFFFFFFFF, **extra)

    def _check_node(self, x, y):
        node = self.cfg.node_at(x, y)   # KeyError names the grid
        if node.kind not in ("tensix", "dram"):
            raise ValueError(f"node ({x}, {y}) is the {node.kind} node; it has no memory to access")

    async def _send(self, packet):
        await self.port.send(int(MessageClass.REQUEST), packet)
        self.packets_sent += 1

    async def _collect(self, count):
        """``count`` responses, in arrival order; raises on the first error after draining them all."""
        out, error = [], None
        for _ in range(count):
            header, payload = await self.port.next_packet()
            if header["cmd"] == Command.ERROR_RESP and error is None:
                cmd = int.from_bytes(payload[:4], "little") & 7
                error = NocError(header["src_x"], header["src_y"], header["addr"], cmd)
            out.append((header, payload))
        if error is not None:
            raise error
        return out

    # -- requests ------------------------------------------------------------

    async def write(self, x: int, y: int, addr: int, data: bytes, acked: bool = True) -> None:
        """Write ``data`` at local address ``addr`` of node (x, y)."""
        self._check_node(x, y)
        data = bytes(data)
        if not data:
            raise ValueError("write of 0 bytes")
        maxp = self.noc.max_payload_bytes
        cmd = Command.WRITE_ACKED if acked else Command.WRITE_POSTED
        count = 0
        for off in range(0, len(data), maxp):
            await self._send(self._packet(cmd, x, y, addr + off, data[off:off + maxp]))
            count += 1
        if acked:
            await self._collect(count)

    async def read(self, x: int, y: int, addr: int, n: int) -> bytes:
        """``n`` bytes from local address ``addr`` of node (x, y)."""
        self._check_node(x, y)
        if n <= 0:
            raise ValueError(f"read of {n!r} bytes")
        maxp = self.noc.max_payload_bytes
        count = 0
        for off in range(0, n, maxp):
            size = min(maxp, n - off)
            await self._send(self._packet(Command.READ, x, y, addr + off, _word(off) + _word(size)))
            count += 1
        out = bytearray(n)
        for header, payload in await self._collect(count):
            off = header["addr"]
            out[off:off + len(payload)] = payload
        return bytes(out)

    async def atomic_inc(self, x: int, y: int, addr: int, increment: int = 1) -> int:
        """Atomically add ``increment`` to the 32-bit word at ``addr``; returns the old value."""
        self._check_node(x, y)
        await self._send(self._packet(Command.ATOMIC_INC, x, y, addr, _word(increment) + _word(0)))
        (header, payload), = await self._collect(1)
        return int.from_bytes(payload[:4], "little")

    async def multicast_write(self, x0: int, y0: int, x1: int, y1: int, addr: int, data: bytes,
                              acked: bool = True) -> None:
        """Write ``data`` at ``addr`` of every node of the rectangle (x0, y0) .. (x1, y1)."""
        dests = [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]
        if not dests:
            raise ValueError(f"empty multicast rectangle ({x0}, {y0}) .. ({x1}, {y1})")
        for x, y in dests:
            if self.cfg.node_at(x, y).kind != "tensix":
                raise ValueError(f"multicast rectangle covers the {self.cfg.node_at(x, y).kind} node ({x}, {y})")
        data = bytes(data)
        maxp = multicast_payload_bytes(self.noc)
        cmd = Command.WRITE_ACKED if acked else Command.WRITE_POSTED
        count = 0
        for off in range(0, len(data), maxp):
            await self._send(self._packet(cmd, x0, y0, addr + off, data[off:off + maxp], mcast=1,
                                          dst_x1=x1, dst_y1=y1))
            count += 1
        if acked:
            await self._collect(count * len(dests))

    # Names used by the firmware loader (sw/toolchain/loader.py).
    async def noc_write(self, x, y, addr, data):
        await self.write(x, y, addr, data)


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

    Flits are offered on the falling edge and the handshake is sampled in
    the read-only phase.  Responses are accepted at once (``ready`` stays
    high) by a background task that sleeps until ``valid`` rises, so Python
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
        from cocotb.triggers import FallingEdge

        valid, ready, payload = self.inject[cls]
        for data, head, tail in flits:
            await FallingEdge(self.clk)
            valid.value = 1
            payload.value = data | (head << self.fw) | (tail << (self.fw + 1))
            await until_ready(self.clk, ready)
        await FallingEdge(self.clk)
        valid.value = 0

    async def _receive(self, cls):
        from cocotb.triggers import ReadOnly, RisingEdge

        valid = getattr(self.dut, f"host_eject__{cls}__valid")
        payload = getattr(self.dut, f"host_eject__{cls}__payload")
        words = []
        mask = (1 << self.fw) - 1
        while True:
            await ReadOnly()
            if not int(valid.value):
                await RisingEdge(valid)
                await ReadOnly()
            word = int(payload.value)
            words.append(word & mask)
            if (word >> (self.fw + 1)) & 1:
                self.packets.append(self.fmt.parse(words))
                words = []
                self.event.set()
            await RisingEdge(self.clk)

    async def next_packet(self):
        while not self.packets:
            self.event.clear()
            await self.event.wait()
        return self.packets.popleft()
