"""Test benches of the host bridge: a Python model of the chip side, host frames in, frames out.

:class:`BridgeBench` runs a :class:`~tessera.hw.chip.host_bridge.HostBridge`
in the Amaranth simulator, either on its byte streams or (``pins=True``)
behind a real UartRx / UartTx pair driven through the bit-level line model.
The chip model takes every flit the bridge injects (with random
backpressure), offers packets on ``host_eject`` and drives the debug
ports; the host side decodes every frame the bridge sends, checking each
CRC with ``binascii.crc_hqx`` on the raw bytes.
"""

from __future__ import annotations

import binascii
import random
import struct

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

from tessera.hw.chip.bridge_protocol import SOF, Op, encode_frame
from tessera.hw.chip.host_bridge import HostBridge
from tessera.hw.chip.uart import UartRx, UartTx
from tessera.hw.config import preset
from tb.bridge.uart_model import LineDecoder, drive_bytes

#: The tiny chip with a 4-clocks-per-bit link (12.5 Mbaud at 50 MHz) and a short frame timeout.
CFG = preset("tiny", host_link={"baud": 12_500_000, "frame_timeout_bytes": 4})
DIVISOR = 4


class PinBridge(Elaboratable):
    """UartRx -> HostBridge -> UartTx: the bridge seen from its serial pins."""

    def __init__(self, cfg, divisor):
        self.uart_rx = UartRx(divisor=divisor)
        self.uart_tx = UartTx(divisor=divisor)
        self.bridge = HostBridge(cfg, clocks_per_bit=divisor)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx, m.submodules.uart_tx, m.submodules.bridge = self.uart_rx, self.uart_tx, self.bridge
        wiring.connect(m, self.uart_rx.o, self.bridge.rx_bytes)
        wiring.connect(m, self.bridge.tx_bytes, self.uart_tx.i)
        return m


def split_frames(data: bytes, partial: bool = False) -> list:
    """``(op, seq, body)`` of every frame in ``data``; each CRC is checked against
    ``binascii.crc_hqx`` of the raw bytes between SOF and the CRC.  ``data`` must hold whole
    frames only, unless ``partial`` (an incomplete last frame is then left out)."""
    frames, pos = [], 0
    while pos < len(data):
        assert data[pos] == SOF, f"byte {pos} is {data[pos]:#04x}, not SOF: {data[pos:pos + 8].hex()}"
        if partial and pos + 5 > len(data):
            break
        op, seq, length = struct.unpack_from("<BBH", data, pos + 1)
        end = pos + 5 + length
        if partial and end + 2 > len(data):
            break
        assert end + 2 <= len(data), f"frame at {pos} announces {length} bytes; only {len(data) - pos} left"
        (crc,) = struct.unpack_from("<H", data, end)
        assert crc == binascii.crc_hqx(data[pos + 1:end], 0xFFFF), f"frame at {pos}: CRC {crc:#06x} wrong"
        frames.append((op, seq, bytes(data[pos + 5:end])))
        pos = end + 2
    return frames


class BridgeBench:
    def __init__(self, cfg=CFG, *, pins=False, seed=1, inject_stall=0.3, tx_stall=0.2):
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.fw = cfg.noc.flit_width
        self.classes = cfg.noc.num_classes
        self.pins = pins
        if pins:
            self.top = PinBridge(cfg, DIVISOR)
            self.dut = self.top.bridge
            self.line = LineDecoder(self.top.uart_tx.tx, DIVISOR)
        else:
            self.dut = self.top = HostBridge(cfg, clocks_per_bit=DIVISOR, activity_cycles=50)
        self.inject_stall, self.tx_stall = inject_stall, tx_stall
        #: Flits the bridge injected, per class: (data, head, tail).
        self.injected = {c: [] for c in range(self.classes)}
        self.out = bytearray()      # bytes the bridge sent (the byte stream, or the tx pin decoded)
        self.cycle = 0
        self.ctx = None

    # -- background processes --------------------------------------------------------------
    async def _inject_sink(self, ctx):
        ports = [self.dut.host_inject[c] for c in range(self.classes)]
        while True:
            for port in ports:
                ctx.set(port.ready, self.rng.random() >= self.inject_stall)
            sampled = await ctx.tick().sample(*[s for p in ports for s in (p.valid, p.ready, p.payload)])
            sampled = sampled[2:]
            self.cycle += 1
            for c in range(self.classes):
                valid, ready, payload = sampled[3 * c:3 * c + 3]
                if valid and ready:
                    self.injected[c].append((payload & ((1 << self.fw) - 1), (payload >> self.fw) & 1,
                                             (payload >> (self.fw + 1)) & 1))

    async def _tx_sink(self, ctx):
        tx = self.dut.tx_bytes
        while True:
            ctx.set(tx.ready, self.rng.random() >= self.tx_stall)
            _, _, valid, ready, payload = await ctx.tick().sample(tx.valid, tx.ready, tx.payload)
            if valid and ready:
                self.out.append(payload)

    def run(self, bench, *others, vcd=None):
        """Simulate until ``bench(ctx, self)`` and each of ``others`` (the same form, run
        concurrently) return."""
        sim = Simulator(self.top)
        sim.add_clock(1e-8)
        sim.add_testbench(self._inject_sink, background=True)
        if self.pins:
            sim.add_testbench(self.line.process, background=True)
        else:
            sim.add_testbench(self._tx_sink, background=True)

        async def main(ctx):
            self.ctx = ctx
            if self.pins:
                ctx.set(self.top.uart_rx.rx, 1)
            await bench(ctx, self)

        sim.add_testbench(main)
        for other in others:
            async def process(ctx, other=other):
                await other(ctx, self)
            sim.add_testbench(process)
        if vcd:
            with sim.write_vcd(vcd):
                sim.run()
        else:
            sim.run()

    # -- host side -----------------------------------------------------------------------------
    def received(self) -> bytes:
        return bytes(self.line.data) if self.pins else bytes(self.out)

    async def send_bytes(self, data, gap_prob=0.0):
        ctx = self.ctx
        if self.pins:
            await drive_bytes(ctx, self.top.uart_rx.rx, list(data), DIVISOR)
            return
        rx = self.dut.rx_bytes
        for value in data:
            if gap_prob and self.rng.random() < gap_prob:
                ctx.set(rx.valid, 0)
                await ctx.tick().repeat(self.rng.randrange(1, 20))
            ctx.set(rx.valid, 1)
            ctx.set(rx.payload, value)
            await ctx.tick().until(rx.ready)
        ctx.set(rx.valid, 0)

    async def send(self, op, seq, body=b"", gap_prob=0.0):
        await self.send_bytes(encode_frame(op, seq, body), gap_prob)

    async def frames(self, count, limit=200_000):
        """Wait until the bridge has sent ``count`` whole frames in all; returns them."""
        for _ in range(limit):
            frames = split_frames(self.received(), partial=True)
            if len(frames) >= count:
                return frames
            await self.ctx.tick()
        raise AssertionError(f"waited {limit} cycles for {count} frames; have {self.received().hex()}")

    async def request(self, op, seq, body=b"", gap_prob=0.0, limit=200_000):
        """Send a frame and return the bridge's reply to it: the next frame it sends that is not an
        EJECT."""
        before = len(split_frames(self.received(), partial=True))
        await self.send(op, seq, body, gap_prob)
        count = before + 1
        while True:
            frames = await self.frames(count, limit)
            if frames[count - 1][0] != Op.EJECT:
                return frames[count - 1]
            count += 1

    async def offer_eject(self, ctx, cls, flits, valid_prob=1.0):
        """Offer the flits [(data, head, tail)] of one packet on host_eject[cls] (``ctx``: the
        calling testbench's own)."""
        port = self.dut.host_eject[cls]
        for data, head, tail in flits:
            while valid_prob < 1.0 and self.rng.random() >= valid_prob:
                ctx.set(port.valid, 0)
                await ctx.tick()
            ctx.set(port.valid, 1)
            ctx.set(port.payload, data | (head << self.fw) | (tail << (self.fw + 1)))
            await ctx.tick().until(port.ready)
        ctx.set(port.valid, 0)
