"""The host side of the chip's NoC: requests from the host node, any length, any alignment.

(With ``noc.aligned_transfers`` every address must be a multiple of
``noc.transfer_alignment``: a request at another address is refused with a
``ValueError`` naming it before anything is sent; lengths stay free.)

:class:`ChipHost` speaks the NIU packet protocol (docs/chip.md) over a
*port* — anything with ``async send(cls, flits)`` (optionally ``async
send_packets(cls, [flits])``) and ``async next_packet() -> (header,
payload)`` — so the same host software drives the Verilator chip
(:class:`~tessera.sim.chip.host.CocotbHostPort`, the chip's ``host_inject``
/ ``host_eject`` streams), the Amaranth-simulator tests and a board over its
serial bridge (:class:`~tessera.sw.host.board.UartHostPort`).

Every call is complete when it returns: writes are acknowledged (posted
writes on request), reads return their bytes.  Long transfers are split into
packets of ``max_payload_bytes`` (multicasts: of one router buffer); all
packets of a call are sent back to back before the responses are collected
(responses are taken in the background, so the NoC never backs up into the
host).  A request the chip answers with an error raises :class:`NocError`
naming the node, the address and the command.

Batches (:meth:`ChipHost.write_batch`, :meth:`ChipHost.read_batch`) keep the
link busy: the NoC delivers the packets of one flow (source, destination,
class) in order and a target serves them in arrival order, acknowledging a
write once its data is in memory (docs/chip.md section 5).  So consecutive
acknowledged writes to one node are sent without waiting and their acks are
collected once, before the first write to another node (a write to node B
still starts only after every earlier write to node A is in memory, as if
each write had been waited for); adjacent writes to one node's memory are
sent as one run of packets.  Reads of many nodes are all sent, then their
responses matched per node in arrival order.

The firmware loader's plan runs unchanged:
``await load_image_async(image, cfg, host.write)``.
"""

from __future__ import annotations

from collections import deque

from tessera.hw.chip.niu import multicast_payload_bytes
from tessera.hw.noc.layout import Command, MessageClass, NocFormat

__all__ = ["NocError", "ChipHost"]


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

    def _check_aligned(self, what, x, y, addr, n):
        """Refuse an address the chip would refuse (``noc.aligned_transfers``)."""
        align = self.noc.transfer_alignment
        if addr % align:
            raise ValueError(f"{what} of {n} bytes at address {addr:#010x} of node ({x}, {y}): with "
                             f"noc.aligned_transfers the address must be a multiple of {align} bytes")

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

    def _memory_bytes(self, x, y):
        """Size of the memory of node (x, y) (L1 of a tile, the DRAM of a DRAM node)."""
        return self.cfg.l1.size_bytes if self.cfg.node_at(x, y).kind == "tensix" else self.cfg.dram.size_bytes

    def _in_memory(self, x, y, addr, n):
        base = self.cfg.l1.base if self.cfg.node_at(x, y).kind == "tensix" else 0
        return base <= addr and addr + n <= base + self._memory_bytes(x, y)

    def _write_runs(self, writes):
        """``writes`` checked and merged: adjacent writes to one node's memory (not MMIO, which
        takes one aligned word per request) with the same ``acked`` become one run."""
        runs = []
        for x, y, addr, data, acked in writes:
            self._check_node(x, y)
            data = bytes(data)
            if not data:
                raise ValueError(f"write of 0 bytes to node ({x}, {y}) at address {addr:#010x}")
            self._check_aligned("write", x, y, addr, len(data))
            acked = bool(acked)
            if runs:
                px, py, paddr, pdata, packed = runs[-1]
                if (px, py, packed) == (x, y, acked) and paddr + len(pdata) == addr \
                        and self._in_memory(x, y, paddr, len(pdata) + len(data)):
                    pdata += data
                    continue
            runs.append([x, y, addr, bytearray(data), acked])
        return runs

    async def _send_all(self, packets):
        if not packets:
            return
        send_packets = getattr(self.port, "send_packets", None)
        if send_packets is not None:
            await send_packets(int(MessageClass.REQUEST), packets)
        else:
            for packet in packets:
                await self.port.send(int(MessageClass.REQUEST), packet)
        self.packets_sent += len(packets)

    async def write(self, x: int, y: int, addr: int, data: bytes, acked: bool = True) -> None:
        """Write ``data`` at local address ``addr`` of node (x, y)."""
        await self.write_batch([(x, y, addr, data, acked)])

    async def write_batch(self, writes) -> None:
        """Perform ``writes`` [(x, y, addr, data, acked)] in order, pipelined (module docstring):
        acks of one node are collected before the first write to another node and at the end.

        A refused write raises :class:`NocError` once the acks outstanding with it are in; the
        writes to the same node sent behind it have been performed."""
        maxp = self.noc.max_payload_bytes
        packets, outstanding, node = [], 0, None
        for x, y, addr, data, acked in self._write_runs(writes):
            if outstanding and (x, y) != node:
                await self._send_all(packets)
                packets = []
                await self._collect(outstanding)
                outstanding = 0
            cmd = Command.WRITE_ACKED if acked else Command.WRITE_POSTED
            for off in range(0, len(data), maxp):
                packets.append(self._packet(cmd, x, y, addr + off, bytes(data[off:off + maxp])))
                if acked:
                    outstanding += 1
                    node = (x, y)
        await self._send_all(packets)
        if outstanding:
            await self._collect(outstanding)

    async def read(self, x: int, y: int, addr: int, n: int) -> bytes:
        """``n`` bytes from local address ``addr`` of node (x, y)."""
        return (await self.read_batch([(x, y, addr, n)]))[0]

    async def read_batch(self, reads) -> list:
        """The bytes of each of ``reads`` [(x, y, addr, n)]: every request is sent, then the responses
        are matched per node, in arrival order (one flow is ordered)."""
        maxp = self.noc.max_payload_bytes
        packets, expected, outs = [], {}, []
        for x, y, addr, n in reads:
            self._check_node(x, y)
            if n <= 0:
                raise ValueError(f"read of {n!r} bytes")
            self._check_aligned("read", x, y, addr, n)
            out = bytearray(n)
            outs.append(out)
            for off in range(0, n, maxp):
                size = min(maxp, n - off)
                packets.append(self._packet(Command.READ, x, y, addr + off, _word(off) + _word(size)))
                expected.setdefault((x, y), deque()).append((out, off))
        await self._send_all(packets)
        for header, payload in await self._collect(len(packets)):
            out, off = expected[(header["src_x"], header["src_y"])].popleft()
            out[off:off + len(payload)] = payload
        return [bytes(out) for out in outs]

    async def atomic_inc(self, x: int, y: int, addr: int, increment: int = 1) -> int:
        """Atomically add ``increment`` to the 32-bit word at ``addr``; returns the old value."""
        self._check_node(x, y)
        self._check_aligned("atomic increment", x, y, addr, 4)
        await self._send_all([self._packet(Command.ATOMIC_INC, x, y, addr, _word(increment) + _word(0))])
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
        self._check_aligned("multicast write", x0, y0, addr, len(data))
        maxp = multicast_payload_bytes(self.noc)
        cmd = Command.WRITE_ACKED if acked else Command.WRITE_POSTED
        packets = [self._packet(cmd, x0, y0, addr + off, data[off:off + maxp], mcast=1, dst_x1=x1, dst_y1=y1)
                   for off in range(0, len(data), maxp)]
        await self._send_all(packets)
        if acked:
            await self._collect(len(packets) * len(dests))

    # Names used by the firmware loader (sw/toolchain/loader.py).
    async def noc_write(self, x, y, addr, data):
        await self.write(x, y, addr, data)
