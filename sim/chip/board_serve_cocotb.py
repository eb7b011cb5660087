"""cocotb side of the simulated board (``python -m tessera.sim.chip.board_serve``).

One cocotb test, ``serve``, on block ``simulated_board``
(:mod:`tessera.sim.chip.board_top`: the bridged chip with the host's serial
port model on its pins).  It starts the clock, resets the board, listens on
the TCP address of ``TESSERA_BOARD_LISTEN`` (port 0: any free one) and
writes ``{"url": "socket://HOST:PORT"}`` to ``TESSERA_BOARD_READY_FILE``.
A host opens that URL as it would open ``/dev/ttyUSB0``: the bytes it sends
are the characters the host's UART puts on the bridge's ``uart_rx`` pin, the
characters the bridge sends on ``uart_tx`` come back on the socket.  One
host at a time: a new connection replaces the one before (as a cable moved
to another computer); the chip keeps its state across connections.

**When the simulator runs.**  Python is never woken per cycle or per bit:
:class:`HostLine` hands the host's bytes to the line in chunks of up to 8
(one wake-up per chunk taken) and gets the bridge's bytes back in chunks
(one wake-up per chunk).  The main loop (:class:`BoardServer`) lets the
clock run in steps of ``POLL_BIT_TIMES`` bit times, checking the socket
between steps, while something is pending:

* host bytes are queued or on the line, or the bridge's are (the model's
  ``line_busy``);
* a ``RUN`` request went to the bridge and neither its ``RUN_REPLY`` nor a
  ``NAK`` came back (the chip runs its programs while the line is silent);
* less than the settle time has passed since the line was last busy: the
  bridge's frame timeout (a truncated frame's ``NAK`` comes that long after
  its last byte) plus ``SETTLE_MARGIN_CYCLES`` for the chip's responses to
  a request's packet (the ``EJECT`` of a read comes after its ``ACK``).

Otherwise the server blocks on the socket: simulated time stands still
until the host sends a byte (every 250 ms it checks whether it is told to
stop: the file ``TESSERA_BOARD_STOP_FILE`` exists or the process
``TESSERA_BOARD_OWNER_PID`` is gone).  On stop it writes its statistics
(cycles, bytes each way, the host receiver's framing errors and overruns)
as JSON to ``TESSERA_BOARD_STATS_FILE``.

The server reads the frames of both directions only to know when a
``RUN`` is pending (:class:`~tessera.hw.chip.bridge_protocol.FrameDecoder`);
bytes are passed on unchanged, damaged frames included.  Each tile's
console is read (one wake-up per character) and logged by line.
"""

from __future__ import annotations

import json
import os
import select
import socket
import time
from pathlib import Path

import cocotb
from cocotb.triggers import Event, FallingEdge, RisingEdge, Timer
from cocotb.utils import get_sim_time

from tessera.hw.chip.bridge_protocol import FrameDecoder, FrameError, Op, max_body_bytes
from tessera.sim.chip.host_uart import CHUNK_BYTES
from tessera.sim.cocotb_util import CLOCK_PERIOD_NS, load_config, reset, start_clock

__all__ = ["HostLine", "BoardServer", "LISTEN_ENV", "READY_FILE_ENV", "STOP_FILE_ENV", "OWNER_PID_ENV",
           "STATS_FILE_ENV"]

LISTEN_ENV = "TESSERA_BOARD_LISTEN"
READY_FILE_ENV = "TESSERA_BOARD_READY_FILE"
STOP_FILE_ENV = "TESSERA_BOARD_STOP_FILE"
OWNER_PID_ENV = "TESSERA_BOARD_OWNER_PID"
STATS_FILE_ENV = "TESSERA_BOARD_STATS_FILE"

#: Bit times the clock runs between two looks at the socket while something is pending.
POLL_BIT_TIMES = 16
#: Cycles beyond the bridge's frame timeout the clock keeps running after the line was last busy.
SETTLE_MARGIN_CYCLES = 4096
#: Wall seconds between checks for a stop while blocked on the socket.
IDLE_CHECK_SECONDS = 0.25

_COUNT_SHIFT = 8 * CHUNK_BYTES


def _cycle() -> int:
    return int(get_sim_time("ns")) // CLOCK_PERIOD_NS


class HostLine:
    """The Python side of the model's ``to_line`` / ``from_line`` chunk streams.

    :meth:`write` queues bytes for the line; ``on_bytes(data)`` is called with
    each chunk the model received from the bridge.  Inputs change on the
    falling edge: the model's ``to_line.ready`` is a register's value, so its
    level there is the one the next rising edge sees."""

    def __init__(self, dut, on_bytes):
        self.dut, self.clk, self.on_bytes = dut, dut.clk, on_bytes
        self.queue = bytearray()
        self.offering = False
        self.wake = Event()
        self.bytes_sent = self.bytes_received = 0
        dut.to_line__valid.value = 0
        dut.from_line__ready.value = 1
        self.tasks = [cocotb.start_soon(self._send()), cocotb.start_soon(self._receive())]

    def write(self, data: bytes) -> None:
        self.queue += data
        self.wake.set()

    async def _send(self):
        valid, ready, payload = self.dut.to_line__valid, self.dut.to_line__ready, self.dut.to_line__payload
        falling = FallingEdge(self.clk)
        while True:
            if not self.queue:
                valid.value = 0
                self.offering = False
                self.wake.clear()
                await self.wake.wait()
                await falling
            self.offering = True
            chunk = bytes(self.queue[:CHUNK_BYTES])
            del self.queue[:CHUNK_BYTES]
            valid.value = 1
            payload.value = int.from_bytes(chunk, "little") | len(chunk) << _COUNT_SHIFT
            while not int(ready.value):
                await RisingEdge(ready)
                await falling
            await falling          # taken at the rising edge in between
            self.bytes_sent += len(chunk)

    async def _receive(self):
        valid, payload = self.dut.from_line__valid, self.dut.from_line__payload
        rose, falling = RisingEdge(valid), FallingEdge(self.clk)
        mask = (1 << _COUNT_SHIFT) - 1
        while True:
            # ``ready`` is held high: a chunk is offered for one cycle, and the next one comes a
            # character time later at the earliest.
            await rose
            await falling
            word = int(payload.value)
            count = word >> _COUNT_SHIFT
            data = (word & mask).to_bytes(CHUNK_BYTES, "little")[:count]
            self.bytes_received += len(data)
            self.on_bytes(data)


class BoardServer:
    """The simulated board's serial port on a TCP socket (see the module docstring)."""

    def __init__(self, dut, cfg):
        self.dut, self.cfg = dut, cfg
        cpb = cfg.host_link.clocks_per_bit(cfg.clock_mhz)
        self.poll_ns = POLL_BIT_TIMES * cpb * CLOCK_PERIOD_NS
        self.settle_cycles = cfg.host_link.frame_timeout_bytes * 10 * cpb + SETTLE_MARGIN_CYCLES
        host, _, port = os.environ.get(LISTEN_ENV, "127.0.0.1:0").rpartition(":")
        self.listener = socket.create_server((host or "127.0.0.1", int(port)))
        self.listener.setblocking(False)
        host, port = self.listener.getsockname()[:2]
        self.url = f"socket://{host}:{port}"
        self.conn = None
        self.connections = 0
        self.run_pending = False
        max_body = max_body_bytes(cfg)
        self.host_frames, self.board_frames = FrameDecoder(max_body), FrameDecoder(max_body)
        self.last_busy = 0
        self.stop_file = os.environ.get(STOP_FILE_ENV)
        self.owner = int(os.environ[OWNER_PID_ENV]) if os.environ.get(OWNER_PID_ENV) else None
        self.last_stop_check = time.monotonic()
        self.start_wall = time.monotonic()
        self.line = HostLine(dut, self._from_board)
        self.consoles = {}
        for t in range(len(cfg.nodes_of("tensix"))):
            getattr(dut, f"console__{t}__ready").value = 1
            cocotb.start_soon(self._console(t))

    # -- the two directions ----------------------------------------------------------------

    @staticmethod
    def _frames(decoder: FrameDecoder, data: bytes) -> list:
        """The frames ``data`` completes; damaged ones are skipped (they are the host's business)."""
        frames = []
        try:
            frames += decoder.feed(data)
        except FrameError:
            while True:
                try:
                    frames += decoder.feed(b"")
                    break
                except FrameError:
                    continue
        return frames

    def _to_board(self, data: bytes) -> None:
        if any(op == Op.RUN for op, _seq, _body in self._frames(self.host_frames, data)):
            self.run_pending = True
        self.line.write(data)

    def _from_board(self, data: bytes) -> None:
        self.last_busy = _cycle()
        if any(op in (Op.RUN_REPLY, Op.NAK) for op, _seq, _body in self._frames(self.board_frames, data)):
            self.run_pending = False
        if self.conn is not None:
            try:
                self.conn.sendall(data)
            except OSError:
                self._drop("the host's side of the socket failed")

    async def _console(self, t: int):
        valid, payload = getattr(self.dut, f"console__{t}__valid"), getattr(self.dut, f"console__{t}__payload")
        rose, falling = RisingEdge(valid), FallingEdge(self.dut.clk)
        text = self.consoles.setdefault(t, bytearray())
        while True:
            await rose
            await falling
            while int(valid.value):       # characters back to back: one per cycle
                text.append(int(payload.value) & 0xFF)
                if text.endswith(b"\n"):
                    self.dut._log.info("console of tile %d: %s", t, text[:-1].decode(errors="replace"))
                    text.clear()
                await falling

    # -- the socket ------------------------------------------------------------------------

    def _drop(self, why: str) -> None:
        if self.conn is not None:
            self.dut._log.info("host disconnected (%s) at cycle %d", why, _cycle())
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None

    def _poll(self, timeout: float) -> None:
        """Take a new connection and the host's bytes, waiting up to ``timeout`` seconds for any."""
        watched = [self.listener] + ([self.conn] if self.conn is not None else [])
        readable, _, _ = select.select(watched, [], [], timeout)
        if self.listener in readable:
            try:
                conn, peer = self.listener.accept()
            except BlockingIOError:
                conn = None
            if conn is not None:
                self._drop("a new host connected")
                conn.setblocking(False)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conn = conn
                self.connections += 1
                self.dut._log.info("host %s connected at cycle %d", peer, _cycle())
        if self.conn is not None and self.conn in readable:
            try:
                data = self.conn.recv(65536)
            except BlockingIOError:
                return
            except OSError as exc:
                self._drop(str(exc))
                return
            if data:
                self._to_board(data)
            else:
                self._drop("end of stream")

    def _stop_requested(self) -> bool:
        now = time.monotonic()
        if now - self.last_stop_check < IDLE_CHECK_SECONDS:
            return False
        self.last_stop_check = now
        if self.stop_file and Path(self.stop_file).exists():
            return True
        if self.owner is not None:
            try:
                os.kill(self.owner, 0)
            except ProcessLookupError:
                self.dut._log.info("the process that started the board (pid %d) is gone", self.owner)
                return True
            except PermissionError:
                pass
        return False

    def _pending(self) -> bool:
        now = _cycle()
        if self.line.queue or self.line.offering or int(self.dut.line_busy.value):
            self.last_busy = now
            return True
        return self.run_pending or now - self.last_busy < self.settle_cycles

    async def serve(self) -> None:
        while not self._stop_requested():
            if self._pending():
                self._poll(0)
                await Timer(self.poll_ns, "ns")
            else:
                self._poll(IDLE_CHECK_SECONDS)   # simulated time stands still

    def stats(self) -> dict:
        return {"url": self.url, "cycles": _cycle(), "wall_seconds": round(time.monotonic() - self.start_wall, 3),
                "bytes_to_board": self.line.bytes_sent, "bytes_from_board": self.line.bytes_received,
                "connections": self.connections, "framing_errors": int(self.dut.framing_errors.value),
                "overruns": int(self.dut.overruns.value)}

    def close(self) -> None:
        self._drop("the board stops")
        self.listener.close()


@cocotb.test()
async def serve(dut):
    cfg = load_config()
    start_clock(dut)
    await reset(dut)
    server = BoardServer(dut, cfg)
    ready = os.environ.get(READY_FILE_ENV)
    if ready:
        tmp = Path(f"{ready}.tmp")
        tmp.write_text(json.dumps({"url": server.url}))
        os.replace(tmp, ready)
    dut._log.info("simulated board listening on %s", server.url)
    try:
        await server.serve()
    finally:
        stats = server.stats()
        server.close()
        dut._log.info("simulated board stops: %s", stats)
        if os.environ.get(STATS_FILE_ENV):
            Path(os.environ[STATS_FILE_ENV]).write_text(json.dumps(stats))
