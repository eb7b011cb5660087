"""The UART path end to end on the Verilator chip: the simulated board (sim/chip/board_serve.py) serving
the host runtime's board transport over its serial pins.

The board is block ``simulated_board`` (the bridged chip with a model of the
host's serial port on ``uart_rx`` / ``uart_tx``, 4 clocks per bit) behind a
local TCP port; the runtime opens it by ``board=`` or ``$TESSERA_BOARD`` as
it would a USB-serial device.  The chip is the one of the ``ulx3s`` preset,
the one a real board carries (a single Tensix tile: the smallest chip
model, so the fastest simulated line).  The examples run at small sizes,
bit-exact (their own checks, and the data read back checked against numpy
here).  A relay between the transport and the board damages chosen frames:
a corrupted and a truncated ``PACKET`` are rejected by the bridge (``NAK``,
counted in ``frames_rejected``) and resent without a lost or doubled write;
a corrupted frame from the board is a clear :class:`BoardError`.

A byte takes 40 cycles on the link, so every byte counts: the two examples
send some 28 KB (firmware, arguments, tiles).  One board serves every test
of the module (pytest-xdist keeps them on one worker).  The host UART model
itself is checked against the design's UART in the Amaranth simulator, in
seconds.
"""

from __future__ import annotations

import random
import re
import socket
import struct
import threading

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from tessera import metal as ttm
from tessera.hw.chip.bridge_protocol import SOF, Op
from tessera.hw.chip.uart import UartRx, UartTx
from tessera.hw.config import preset
from tessera.sim import examples as ex
from tessera.sim.chip.board_serve import SimulatedBoard, simulated_board_config
from tessera.sim.chip.host_uart import CHUNK_BYTES, HostUart
from tessera.sw.host.board import CLOCK_ENV, TIMEOUT_ENV, BoardTransport
from tessera.sw.host.device import BOARD_ENV
from tessera.sw.host.errors import BoardError

#: The preset a real board carries; small sizes: two tiles each.
BOARD_PRESET = "ulx3s"
LOOPBACK_TILES = 2
ELTWISE_TILES = 2


# -- the host UART model against the design's UART (Amaranth simulator) ----------------------------

@pytest.mark.parametrize("divisor", [4, 5, 7])
def test_host_uart_model_talks_to_the_design_uart(divisor):
    seed = 11 * divisor
    rng = random.Random(seed)
    to_board = bytes(rng.randrange(256) for _ in range(41))
    to_host = bytes(rng.randrange(256) for _ in range(37))
    m = Module()
    m.submodules.host = host = HostUart(divisor)
    m.submodules.rx = rx = UartRx(divisor=divisor)
    m.submodules.tx = tx = UartTx(divisor=divisor)
    m.d.comb += [rx.rx.eq(host.tx), host.rx.eq(tx.tx)]
    sim = Simulator(m)
    sim.add_clock(1e-8)
    got_board, got_host, chunks = bytearray(), bytearray(), []

    async def host_writes(ctx):
        pos = 0
        while pos < len(to_board):
            n = min(len(to_board) - pos, rng.randint(1, CHUNK_BYTES))
            ctx.set(host.to_line.payload.data, int.from_bytes(to_board[pos:pos + n], "little"))
            ctx.set(host.to_line.payload.count, n)
            ctx.set(host.to_line.valid, 1)
            await ctx.tick().until(host.to_line.ready)
            pos += n
        ctx.set(host.to_line.valid, 0)

    async def board_writes(ctx):
        for i, value in enumerate(to_host):
            if i == 20:
                ctx.set(tx.i.valid, 0)
                await ctx.tick().repeat(20 * divisor)    # a pause: the model hands over a short chunk
            ctx.set(tx.i.payload, value)
            ctx.set(tx.i.valid, 1)
            await ctx.tick().until(tx.i.ready)
        ctx.set(tx.i.valid, 0)

    async def board_reads(ctx):
        ctx.set(rx.o.ready, 1)
        async for _clk, _rst, valid, value in ctx.tick().sample(rx.o.valid, rx.o.payload):
            if valid:
                got_board.append(value)

    async def host_reads(ctx):
        ctx.set(host.from_line.ready, 1)
        async for _clk, _rst, valid, data, count in ctx.tick().sample(host.from_line.valid,
                                                                      host.from_line.payload.data,
                                                                      host.from_line.payload.count):
            if valid:
                chunks.append(count)
                got_host.extend(data.to_bytes(CHUNK_BYTES, "little")[:count])

    async def bench(ctx):
        await ctx.tick().repeat(10 * divisor * (len(to_host) + 30))
        assert bytes(got_board) == to_board, f"seed {seed}"
        assert bytes(got_host) == to_host, f"seed {seed}: {got_host.hex()} != {to_host.hex()}"
        assert chunks[:2] == [CHUNK_BYTES, CHUNK_BYTES] and chunks[2] == 4, chunks   # 20 bytes, then the pause
        assert ctx.get(host.framing_errors) == 0 and ctx.get(host.overruns) == 0
        assert not ctx.get(host.busy)

    for testbench in (host_writes, board_writes, bench):
        sim.add_testbench(testbench)
    for testbench in (board_reads, host_reads):
        sim.add_testbench(testbench, background=True)
    sim.run()


def test_host_uart_model_counts_a_framing_error_and_resynchronises():
    divisor = 4
    m = Module()
    m.submodules.host = host = HostUart(divisor)
    sim = Simulator(m)
    sim.add_clock(1e-8)

    async def bench(ctx):
        ctx.set(host.from_line.ready, 1)
        got = []

        async def ticks(n, level):
            ctx.set(host.rx, level)
            for _ in range(n):
                _, _, valid, data, count = await ctx.tick().sample(host.from_line.valid, host.from_line.payload.data,
                                                                   host.from_line.payload.count)
                if valid:
                    got.append(data.to_bytes(CHUNK_BYTES, "little")[:count])

        async def character(value, stop=1):
            for level in [0] + [(value >> i) & 1 for i in range(8)] + [stop]:
                await ticks(divisor, level)

        await character(0x41)
        await character(0x42, stop=0)      # a low stop bit, and the line stays low a while (a break)
        await ticks(5 * divisor, 0)
        assert ctx.get(host.framing_errors) == 1
        await ticks(2 * divisor, 1)
        await character(0x43)
        await ticks(10 * divisor, 1)
        assert got == [b"A", b"C"], got
        assert ctx.get(host.framing_errors) == 1 and not ctx.get(host.busy)

    sim.add_testbench(bench)
    sim.run()


def test_simulated_board_config_and_bad_rates():
    cfg = simulated_board_config(preset("tiny"))
    assert cfg.host_link.baud == 12_500_000 and cfg.host_link.clocks_per_bit(cfg.clock_mhz) == 4
    with pytest.raises(ValueError, match="clocks_per_bit must be an integer of at least 4, got 3"):
        simulated_board_config(preset("tiny"), 3)
    with pytest.raises(ValueError, match="250000000 baud, which the host link does not take"):
        simulated_board_config(preset("tensix"))
    with pytest.raises(ValueError, match="HostUart clocks_per_bit must be an integer of at least 4, got 2"):
        HostUart(2)


# -- the simulated board ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def board():
    sim_board = SimulatedBoard(preset(BOARD_PRESET))
    yield sim_board
    stats = sim_board.close()
    print(f"simulated board: {stats}")
    assert stats.get("framing_errors") == 0 and stats.get("overruns") == 0, stats


@pytest.fixture
def board_timing(monkeypatch):
    """A device opened by ``board=`` or ``$TESSERA_BOARD`` makes its :class:`BoardTransport` with the
    defaults of a real board unless the environment says otherwise: give it the simulated board's timing."""
    options = SimulatedBoard.transport_options()
    monkeypatch.setenv(TIMEOUT_ENV, str(options["ack_timeout"]))
    monkeypatch.setenv(CLOCK_ENV, str(options["clock_hz"]))


class BufferSpy:
    """Records what the examples hand to ``EnqueueWriteBuffer`` / ``EnqueueReadBuffer`` (the arrays
    read into are filled by the time the example returns)."""

    def __init__(self, monkeypatch):
        self.written, self.read = [], []
        write, read = ttm.EnqueueWriteBuffer, ttm.EnqueueReadBuffer

        def spy_write(queue, buffer, data, *args, **kwargs):
            self.written.append(np.array(data, copy=True))
            return write(queue, buffer, data, *args, **kwargs)

        def spy_read(queue, buffer, out, *args, **kwargs):
            self.read.append(out)
            return read(queue, buffer, out, *args, **kwargs)

        monkeypatch.setattr(ttm, "EnqueueWriteBuffer", spy_write)
        monkeypatch.setattr(ttm, "EnqueueReadBuffer", spy_read)


def _bf16_sum(a_bits, b_bits):
    """bfloat16 a + b: exact in float32 for bfloat16 inputs, rounded to nearest even."""
    return ttm.to_bfloat16(ttm.from_bfloat16(a_bits) + ttm.from_bfloat16(b_bits))


@pytest.mark.slow
@pytest.mark.xdist_group("board_chip")
def test_dram_loopback_through_the_serial_link_by_environment(board, board_timing, monkeypatch):
    spy = BufferSpy(monkeypatch)
    monkeypatch.setenv(BOARD_ENV, board.url)
    with ttm.CreateDevice(0, config=board.cfg, print_console=False) as device:
        assert isinstance(device.transport, BoardTransport) and device.transport.url == board.url
        result = ex.run("dram_loopback", device, "small", tiles=LOOPBACK_TILES, seed=5)
        link = dict(device.transport.link.stats)
    assert result["mismatches"] == 0 and result["pcc"] == 1.0, result
    (sent,), (back,) = spy.written, spy.read
    assert sent.shape == (LOOPBACK_TILES * 32 * 32,) and np.array_equal(back, sent)
    assert result["cycles"] > 0
    assert link.get("naks", 0) == 0 and link.get("resends", 0) == 0, link


@pytest.mark.slow
@pytest.mark.xdist_group("board_chip")
def test_eltwise_binary_through_the_serial_link_by_argument(board, board_timing, monkeypatch):
    spy = BufferSpy(monkeypatch)
    with ttm.CreateDevice(0, config=board.cfg, board=board.url, print_console=False) as device:
        result = ex.run("eltwise_binary", device, "small", tiles=ELTWISE_TILES, seed=6)
        link = dict(device.transport.link.stats)
    assert result["mismatches"] == 0 and result["cores"] == len(board.cfg.nodes_of("tensix")), result
    (a_bits, b_bits), (got,) = spy.written, spy.read
    want = _bf16_sum(a_bits, b_bits)
    assert np.array_equal(got, want), f"seed 6: {np.count_nonzero(got != want)} of {want.size} values differ"
    assert link.get("naks", 0) == 0 and link.get("resends", 0) == 0, link


# -- faults on the wire -----------------------------------------------------------------------------

class FaultyRelay:
    """A TCP relay between a host's serial port and the board that damages chosen frames.

    Both directions are cut into frames (SOF, op, seq, length, body, CRC: both ends send whole
    frames).  ``to_board``: {n: fault} for the n-th ``PACKET`` frame the host sends (counting
    resends), ``to_host``: {(op, n): fault} for the n-th frame of ``op`` the board sends; a fault is
    ``"corrupt"`` (one body bit flipped) or ``"truncate"`` (the second half of the frame dropped).
    ``applied`` lists the faults done: (direction, op, seq, fault)."""

    def __init__(self, board_url: str, to_board=None, to_host=None):
        host, _, port = board_url.removeprefix("socket://").rpartition(":")
        self.board_addr = (host, int(port))
        self.faults = {"to_board": dict(to_board or {}), "to_host": dict(to_host or {})}
        self.applied = []
        self.counts = {"to_board": {}, "to_host": {}}
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"
        self.sockets = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        try:
            host_side, _ = self.listener.accept()
        except OSError:
            return
        board_side = socket.create_connection(self.board_addr)
        for s in (host_side, board_side):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sockets += [host_side, board_side]
        for direction, src, dst in (("to_board", host_side, board_side), ("to_host", board_side, host_side)):
            thread = threading.Thread(target=self._forward, args=(direction, src, dst), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _fault(self, direction: str, op: int):
        counts = self.counts[direction]
        n = counts.get(op, 0)
        counts[op] = n + 1
        if direction == "to_board":
            return self.faults[direction].get(n) if op == Op.PACKET else None
        return self.faults[direction].get((op, n))

    def _forward(self, direction: str, src: socket.socket, dst: socket.socket):
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                while buf:
                    if buf[0] != SOF:        # not a frame (neither end sends such bytes): pass it on
                        dst.sendall(bytes(buf[:1]))
                        del buf[:1]
                        continue
                    if len(buf) < 5:
                        break
                    op, seq, length = struct.unpack_from("<BBH", buf, 1)
                    if len(buf) < 7 + length:
                        break
                    frame = bytearray(buf[:7 + length])
                    del buf[:7 + length]
                    fault = self._fault(direction, op)
                    if fault == "corrupt":
                        frame[5 + length // 2] ^= 0x10
                    elif fault == "truncate":
                        frame = frame[:len(frame) // 2]
                    if fault:
                        self.applied.append((direction, op, seq, fault))
                    dst.sendall(bytes(frame))
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.listener.close()
        for s in self.sockets:
            s.close()


def _dram_node(cfg):
    node = cfg.nodes_of("dram")[0]
    return node.x, node.y


@pytest.mark.slow
@pytest.mark.xdist_group("board_chip")
def test_a_corrupted_and_a_truncated_packet_are_rejected_and_resent_without_loss(board):
    seed = 21
    rng = random.Random(seed)
    cfg = board.cfg
    x, y = _dram_node(cfg)
    data = bytes(rng.randrange(256) for _ in range(4 * cfg.noc.max_payload_bytes))    # four PACKET frames
    # PACKET frames as the relay counts them: 0 goes through, 1 is corrupted (resent as 2),
    # 3 is truncated (resent as 4), then 5 and the read request.
    relay = FaultyRelay(board.url, to_board={1: "corrupt", 3: "truncate"})
    transport = board.transport(relay.url)
    try:
        before = transport.counters()
        transport.write(x, y, 0x4000, data)
        back = transport.read(x, y, 0x4000, len(data))
        after = transport.counters()
        stats = dict(transport.link.stats)
    finally:
        transport.close()
        relay.close()
    assert [fault for *_, fault in relay.applied] == ["corrupt", "truncate"], relay.applied
    assert back == data, f"seed {seed}: the data read back differs"
    assert after["frames_rejected"] - before["frames_rejected"] == 2
    assert after["bad_packets"] == before["bad_packets"]
    assert stats["naks"] == 2 and stats["resends"] == 2, stats


@pytest.mark.slow
@pytest.mark.xdist_group("board_chip")
def test_a_corrupted_frame_from_the_board_is_a_clear_board_error(board):
    cfg = board.cfg
    x, y = _dram_node(cfg)
    relay = FaultyRelay(board.url, to_host={(Op.EJECT, 0): "corrupt"})
    transport = board.transport(relay.url)
    try:
        transport.write(x, y, 0x6000, bytes(range(16)), acked=False)
        with pytest.raises(BoardError, match=rf"^read: the board sent a corrupted frame on {re.escape(relay.url)}: "
                                             rf"frame op 0x90 seq \d+ \(\d+-byte body\): CRC "):
            transport.read(x, y, 0x6000, 16)
        with pytest.raises(BoardError, match="failed earlier .* close the device and open it again"):
            transport.counters()
    finally:
        transport.close()
        relay.close()
    assert relay.applied == [("to_host", Op.EJECT, relay.applied[0][2], "corrupt")]
    # The board is fine: a new session reads what was written.
    with board.open_device(print_console=False) as device:
        assert device.transport.read(x, y, 0x6000, 16) == bytes(range(16))

