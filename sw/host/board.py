"""A board as a device: the device protocol's requests over the serial link of an FPGA's host bridge.

The bridge (hw/chip/host_bridge.py) sits at the chip's host node and speaks
the frames of :mod:`tessera.hw.chip.bridge_protocol` over a UART.
:class:`BoardTransport` is a :class:`~tessera.sw.host.transport.Transport`
over such a link, so a :class:`~tessera.sw.host.device.Device` (and
everything above it) drives a board as it drives the simulator:

* ``write`` / ``read``: NoC requests built and parsed on the host by
  :class:`~tessera.sw.host.noc_host.ChipHost` (the simulator's host
  software), through :class:`UartHostPort`: each packet goes out as a
  ``PACKET`` frame, the chip's responses come back as ``EJECT`` frames;
* ``reset``: ``RESET``;
* ``run``: ``RUN`` with the mask of the programs' cores and the budget (the
  bridge watches the cores' DONE waypoints and answers when all are DONE),
  then ``COUNTERS`` for the cycles, from the earliest release of those cores
  to their last DONE (the bridge stamps both; the load plan's last write
  released the cores before ``RUN`` crossed the UART), then the programs'
  exit words read over the NoC; when not done, every core's state from
  ``COUNTERS``;
* ``counters``: ``COUNTERS``.

**Reliability.**  One frame is outstanding at a time.  A ``NAK`` or no
reply within the timeout makes the link send the same frame again with the
same ``seq`` (the bridge acknowledges a resent ``PACKET`` without injecting
it twice), up to ``retries`` times; then :class:`~tessera.sw.host.errors.BoardError`
names the request, the frame, the reasons and the port.  After a ``NAK``
the link first waits until the line is quiet (the bridge has dropped what
was left of the rejected frame), so the resend is not swallowed by it.  A
corrupted or truncated frame from the board, a gap in the ``EJECT``
sequence (a lost response) or a reply that breaks the protocol are errors
too: the link is then out of step with the chip, so the transport refuses
every later request until the device is opened again.

:class:`ChipHost` is a coroutine API; the board port blocks on the serial
port and never suspends, so each call is run to its end in place, without
an event loop (which also works where one is already running, such as a
notebook).
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque

from tessera.hw.chip.bridge_protocol import (OVERHEAD_BYTES, VERSION, FrameDecoder, FrameError, Op, Reject,
                                             encode_frame, max_body_bytes, packet_body, parse_counters_reply,
                                             parse_hello_reply, parse_packet_body, parse_run_reply, run_body,
                                             run_cycles)
from tessera.hw.noc.layout import NocFormat
from tessera.hw.tile.waypoint import waypoint_name

from .errors import BoardError, DeviceError, NocRequestError, RuntimeInputError
from .noc_host import ChipHost, NocError
from .transport import Transport

__all__ = ["BoardTransport", "BridgeLink", "UartHostPort", "DEFAULT_ACK_TIMEOUT", "DEFAULT_RETRIES", "TIMEOUT_ENV",
           "CLOCK_ENV"]

#: Seconds to wait for the reply to a frame (beyond its bytes' time on the wire) before sending it again.
DEFAULT_ACK_TIMEOUT = 1.0
#: Resends of one frame before the link gives up.
DEFAULT_RETRIES = 8
#: Reads of an exit word still unwritten after ``RUN`` reported its core DONE (crt0 stores the
#: waypoint a few instructions before the word).
EXIT_REREADS = 4
#: Bytes of the header of a frame up to its length field (SOF, op, seq, length).
_HEADER_BYTES = 5
_REPLY_OPS = frozenset({Op.ACK, Op.HELLO_REPLY, Op.RUN_REPLY, Op.COUNTERS_REPLY})


#: Environment variables giving :class:`BoardTransport`'s reply timeout (seconds) and the chip's clock
#: (Hz) when the arguments are left out: a simulated board runs thousands of times slower than a real one.
TIMEOUT_ENV = "TESSERA_BOARD_TIMEOUT"
CLOCK_ENV = "TESSERA_BOARD_CLOCK_HZ"


def _setting(value, env: str, default: float) -> float:
    """``value``, else the number in ``$env``, else ``default``; a malformed variable is refused by name."""
    if value is not None:
        return value
    text = os.environ.get(env)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise RuntimeInputError(f"${env} must be a number, got {text!r}") from None


def _reject_name(body: bytes) -> str:
    if not body:
        return "no reason"
    try:
        return Reject(body[0]).name
    except ValueError:
        return f"reason {body[0]}"


def _op_name(op: int) -> str:
    try:
        return Op(op).name
    except ValueError:
        return f"op {op:#04x}"


class BridgeLink:
    """Frames over ``ser`` (an open pyserial port): stop-and-wait requests with resends, and the
    ``EJECT`` frames that arrive meanwhile queued in order (see the module docstring).

    ``port`` names the link in messages; ``context`` (set by the transport) names the device
    request a frame belongs to."""

    def __init__(self, ser, cfg, port: str, ack_timeout: float = DEFAULT_ACK_TIMEOUT,
                 retries: int = DEFAULT_RETRIES):
        if not ack_timeout > 0:
            raise RuntimeInputError(f"ack_timeout must be a positive number of seconds, got {ack_timeout!r}")
        if not isinstance(retries, int) or retries < 0:
            raise RuntimeInputError(f"retries must be a non-negative integer, got {retries!r}")
        self.ser, self.cfg, self.port = ser, cfg, port
        self.ack_timeout, self.retries = float(ack_timeout), retries
        self.flit_bytes = cfg.noc.flit_bytes
        self.max_body = max_body_bytes(cfg)
        self.decoder = FrameDecoder(self.max_body)
        self.byte_seconds = 10.0 / cfg.host_link.baud          # 8N1: ten bit times per byte
        # After a NAK, resend only once the line has been quiet for longer than the bridge waits
        # for the next byte of a frame: by then it has dropped whatever the rejected frame left.
        self.quiet_seconds = max(0.02, 2 * (cfg.host_link.frame_timeout_bytes + OVERHEAD_BYTES) * self.byte_seconds)
        self.inbox = deque()       # frames decoded, not yet handled: (op, seq, body)
        self.ejected = deque()     # (class, flit words) of EJECT frames, in arrival order
        self.eject_seq = None      # seq of the next EJECT (None: take the next one's)
        self.seq = 0
        self.last_packet_seq = None
        self.strict = True         # False while opening: stale bytes of an earlier session are skipped
        self.context = "open"
        self.last_byte_time = 0.0
        self.stats = Counter()

    # -- receiving -------------------------------------------------------------------------

    def _wanted(self) -> int:
        """Bytes to ask the port for: never past the end of the frame being received, so a read
        returns as soon as that frame is in."""
        buf = self.decoder.buf
        if len(buf) < _HEADER_BYTES:
            return _HEADER_BYTES - len(buf)
        length = buf[3] | buf[4] << 8
        return max(1, OVERHEAD_BYTES + length - len(buf)) if length <= self.max_body else 1

    def _fill(self, deadline: float) -> bool:
        """Read from the port until some bytes come or ``deadline`` passes; decoded frames go to
        the inbox.  Returns whether bytes came."""
        while True:
            data = self.ser.read(max(self._wanted(), self.ser.in_waiting))
            if data:
                break
            if time.monotonic() >= deadline:
                return False
        self.last_byte_time = time.monotonic()
        try:
            self.inbox.extend(self.decoder.feed(data))
        except FrameError as exc:
            if self.strict:
                raise BoardError(f"{self.context}: the board sent a corrupted frame on {self.port}: {exc}") from None
            self.stats["skipped_frames"] += 1
            while True:   # decode what follows the bad frame
                try:
                    self.inbox.extend(self.decoder.feed(b""))
                    break
                except FrameError:
                    self.stats["skipped_frames"] += 1
        return True

    def _truncated(self) -> BoardError:
        buf = bytes(self.decoder.buf)
        what = f"op {buf[1]:#04x} seq {buf[2]}, " if len(buf) >= 3 else ""
        return BoardError(f"{self.context}: the board sent a truncated frame on {self.port}: {what}{len(buf)} bytes, "
                          f"then nothing for {time.monotonic() - self.last_byte_time:.2f} s")

    def _next_frame(self, deadline: float, until_eject: bool = False):
        """The next frame other than an EJECT (those are queued), or None at ``deadline`` (with
        ``until_eject``: also once an EJECT is queued).  While EJECT frames keep coming the
        deadline moves on with them: a reply may be queued behind the chip's responses."""
        extend = deadline - time.monotonic()
        while True:
            while self.inbox:
                op, seq, body = self.inbox.popleft()
                if op != Op.EJECT:
                    return op, seq, body
                self._eject(seq, body)
                deadline = max(deadline, time.monotonic() + extend)
            if until_eject and self.ejected:
                return None
            if self._fill(deadline):
                continue
            if not self.decoder.pending():
                return None
            # A frame has started: it ends, or is truncated after ``ack_timeout`` of silence.
            if time.monotonic() - self.last_byte_time < self.ack_timeout:
                deadline = self.last_byte_time + self.ack_timeout
                continue
            if self.strict:
                raise self._truncated()
            self.decoder.buf.clear()   # the rest of a stale frame will not come
            return None

    def _eject(self, seq: int, body: bytes) -> None:
        if not self.strict:   # a response of an earlier session
            self.stats["stale_ejects"] += 1
            return
        if self.eject_seq is not None and seq != self.eject_seq:
            raise BoardError(f"{self.context}: EJECT seq gap on {self.port}: expected {self.eject_seq}, got {seq} "
                             f"({(seq - self.eject_seq) % 256} packets from the chip lost)")
        self.eject_seq = (seq + 1) % 256
        try:
            self.ejected.append(parse_packet_body(body, self.flit_bytes))
        except FrameError as exc:
            raise BoardError(f"{self.context}: EJECT seq {seq} on {self.port}: {exc}") from None
        self.stats["ejects"] += 1

    def next_eject(self) -> tuple:
        """``(class, flit words)`` of the next packet from the chip."""
        while not self.ejected:
            frame = self._next_frame(time.monotonic() + self.ack_timeout, until_eject=True)
            if frame is None and not self.ejected:
                raise BoardError(f"{self.context}: no packet from the chip within {self.ack_timeout:.2f} s on "
                                 f"{self.port} (a response is missing)")
            if frame is not None:
                self._stray(*frame)
        return self.ejected.popleft()

    def _stray(self, op: int, seq: int, body: bytes) -> None:
        """A frame that answers nothing outstanding: a reply to a frame sent twice, or a NAK of
        line noise, is dropped; anything else breaks the protocol."""
        if op in _REPLY_OPS:
            self.stats["stale_replies"] += 1
        elif op == Op.NAK:
            self.stats["stray_naks"] += 1
        else:
            raise BoardError(f"{self.context}: the board sent an unexpected {_op_name(op)} frame (seq {seq}, "
                             f"{len(body)} bytes) on {self.port}")

    # -- requests --------------------------------------------------------------------------

    def _new_seq(self, op: int) -> int:
        self.seq = (self.seq + 1) % 256
        if op == Op.PACKET and self.seq == self.last_packet_seq:
            # The bridge would take a PACKET with the last one's seq for a resend (possible after
            # 255 other frames); skip that number.
            self.seq = (self.seq + 1) % 256
        return self.seq

    def _await_reply(self, seq: int, replies, deadline: float):
        """``("reply", (op, body))``, ``("nak", reason)`` or ``("timeout", None)``."""
        while True:
            frame = self._next_frame(deadline)
            if frame is None:
                return "timeout", None
            op, rseq, body = frame
            if op == Op.NAK:
                # One frame is outstanding, so a NAK rejects it (whatever seq the bridge read).
                return "nak", f"NAK {_reject_name(body)} (seq {rseq})"
            if op in _REPLY_OPS and rseq == seq and (self.strict or op in replies):
                if op not in replies:
                    raise BoardError(f"{self.context}: the board answered frame seq {seq} with {_op_name(op)}, "
                                     f"expected {' or '.join(_op_name(r) for r in replies)} ({self.port})")
                return "reply", (op, body)
            self._stray(op, rseq, body)

    def _settle(self, seq: int, replies):
        """After a NAK: read until the line is quiet.  The reply of the frame may still come (the
        NAK was about noise); further NAKs are about the rest of the rejected frame."""
        while True:
            frame = self._next_frame(time.monotonic() + self.quiet_seconds)
            if frame is None:
                return None
            op, rseq, body = frame
            if op in _REPLY_OPS and rseq == seq and op in replies:
                return op, body
            if op == Op.NAK:
                self.stats["naks"] += 1
            else:
                self._stray(op, rseq, body)

    def transact(self, op: int, body: bytes = b"", replies=(Op.ACK,), run_seconds: float = 0.0) -> tuple:
        """Send one request frame and return its reply ``(op, body)``, resending it on a NAK or a
        timeout (the module docstring).  ``run_seconds``: how long the bridge may take to answer
        beyond the wire time (a ``RUN``)."""
        seq = self._new_seq(op)
        frame = encode_frame(op, seq, body)
        wire = (len(frame) + OVERHEAD_BYTES + self.max_body) * self.byte_seconds
        timeout = self.ack_timeout + wire + run_seconds
        failures = []
        for attempt in range(1 + self.retries):
            if attempt:
                self.stats["resends"] += 1
            self.ser.write(frame)
            self.stats["frames_sent"] += 1
            outcome, value = self._await_reply(seq, replies, time.monotonic() + timeout)
            if outcome == "nak":
                self.stats["naks"] += 1
                failures.append(value)
                settled = self._settle(seq, replies)
                if settled is not None:
                    outcome, value = "reply", settled
            elif outcome == "timeout":
                self.stats["timeouts"] += 1
                failures.append(f"no reply within {timeout:.2f} s")
            if outcome == "reply":
                if op == Op.PACKET:
                    self.last_packet_seq = seq
                return value
        counts = ", ".join(f"{reason} x{n}" if n > 1 else reason for reason, n in Counter(failures).items())
        raise BoardError(f"{self.context}: the board did not accept {_op_name(op)} frame seq {seq} in "
                         f"{1 + self.retries} tries ({counts}) on {self.port}")

    def send_packet(self, cls: int, flits) -> None:
        """Inject one NoC packet (``[(data, head, tail)]``) into the host node's ``cls`` stream."""
        flits = list(flits)
        framing = [(head, tail) for _, head, tail in flits]
        if not flits or framing != [(int(i == 0), int(i == len(flits) - 1)) for i in range(len(flits))]:
            raise ValueError(f"a packet's flits must mark head on the first and tail on the last, got {framing}")
        self.transact(Op.PACKET, packet_body(cls, [data for data, _, _ in flits], self.flit_bytes))


class UartHostPort:
    """A :class:`~tessera.sw.host.noc_host.ChipHost` port over a :class:`BridgeLink`: packets out
    as ``PACKET`` frames, packets in from ``EJECT`` frames.  Its coroutines never suspend."""

    def __init__(self, link: BridgeLink, fmt: NocFormat):
        self.link, self.fmt = link, fmt

    async def send(self, cls, flits):
        self.link.send_packet(cls, flits)

    async def send_packets(self, cls, packets):
        for flits in packets:
            self.link.send_packet(cls, flits)

    async def next_packet(self):
        _, words = self.link.next_eject()
        return self.fmt.parse(words)


def _complete(coro):
    """Run a coroutine that never suspends (one on a :class:`UartHostPort`) to its end."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("a ChipHost call on the board port suspended; the board port never waits on an event loop")


class BoardTransport(Transport):
    """The device protocol on a board whose host bridge is reached at ``url``.

    ``url``: a serial device (``/dev/ttyUSB0``, ``COM3``) or any pyserial URL
    (``socket://HOST:PORT``, ``rfc2217://...``, ``loop://``); the port is
    opened at ``config.host_link.baud``.  ``serial_port``: an already open
    pyserial-like port to use instead (``url`` then only names it).  On
    open the bridge's ``HELLO_REPLY`` must match ``config`` (protocol
    version, flit bytes, tiles, cores per tile, message classes and the
    configuration's fingerprint); a board of another configuration is
    refused with both sides named.  ``ack_timeout`` and ``retries``: see
    :class:`BridgeLink`.  ``clock_hz``: the chip's clock (default
    ``config.clock_mhz``); a ``RUN`` is given twice its budget's time to
    answer before it is sent again, so a slower chip (a simulated one) needs
    its real rate here.  Left out, the two come from the environment
    variables ``TESSERA_BOARD_TIMEOUT`` (seconds) and
    ``TESSERA_BOARD_CLOCK_HZ`` when they are set (a device opened by
    ``board=`` or ``$TESSERA_BOARD`` gets its timing that way).
    """

    def __init__(self, config, url, ack_timeout: float | None = None, retries: int = DEFAULT_RETRIES,
                 serial_port=None, clock_hz: float | None = None):
        self.cfg = config
        ack_timeout = _setting(ack_timeout, TIMEOUT_ENV, DEFAULT_ACK_TIMEOUT)
        self.clock_hz = float(_setting(clock_hz, CLOCK_ENV, config.clock_mhz * 1e6))
        if not self.clock_hz > 0:
            raise RuntimeInputError(f"clock_hz must be a positive number, got {self.clock_hz!r}")
        self.url = str(url)
        self.closed = False
        self.failure = None
        self.tiles = [(n.x, n.y) for n in config.nodes_of("tensix")]
        self.core_names = [c.name for c in config.cores]
        if serial_port is None:
            import serial

            try:
                serial_port = serial.serial_for_url(self.url, baudrate=config.host_link.baud,
                                                    timeout=min(0.05, ack_timeout))
            except (serial.SerialException, ValueError) as exc:
                raise BoardError(f"cannot open the board's serial port {self.url!r}: {exc}") from None
        self.ser = serial_port
        try:
            self.link = BridgeLink(serial_port, config, self.url, ack_timeout, retries)
            self.host = ChipHost(config, UartHostPort(self.link, NocFormat(config.noc)))
            self.hello = self._hello()
        except BaseException:
            self.ser.close()
            self.closed = True
            raise

    # -- opening ---------------------------------------------------------------------------

    def _hello(self) -> dict:
        link = self.link
        link.strict = False   # bytes of an earlier session may still arrive
        self.ser.reset_input_buffer()
        try:
            _, body = link.transact(Op.HELLO, replies=(Op.HELLO_REPLY,))
            board = parse_hello_reply(body)
        except BoardError as exc:
            raise BoardError(f"no valid HELLO_REPLY from the board on {self.url} ({exc}); is the bridge's "
                             f"bitstream loaded and does its UART run at {self.cfg.host_link.baud} baud?") from None
        except FrameError as exc:
            raise BoardError(f"the board on {self.url} sent a malformed HELLO_REPLY: {exc}") from None
        want = {"version": VERSION, "flit_bytes": self.cfg.noc.flit_bytes, "tiles": len(self.tiles),
                "cores": len(self.core_names), "classes": self.cfg.noc.num_classes,
                "fingerprint": self.cfg.fingerprint()[:16]}
        wrong = [key for key, value in want.items() if board[key] != value]
        if wrong:
            raise BoardError(f"the board on {self.url} is not a chip of this runtime's configuration "
                             f"{self.cfg.name!r}: " + "; ".join(f"{key}: board {board[key]}, runtime {want[key]}"
                                                               for key in wrong)
                             + " (build and load the bitstream of this configuration, or open the device "
                               "with the board's configuration)")
        link.ejected.clear()   # responses of an earlier session
        link.eject_seq = None
        link.strict = True
        return board

    # -- requests --------------------------------------------------------------------------

    def request(self, header: dict, payload: bytes = b"") -> tuple:
        op = header.get("op")
        if self.closed:
            raise DeviceError("the transport is closed")
        if self.failure is not None:
            raise BoardError(f"the link to the board on {self.url} failed earlier ({self.failure}); close the "
                             f"device and open it again")
        self.link.context = str(op)
        try:
            return self._dispatch(op, header, payload)
        except NocError as exc:
            raise NocRequestError(f"the chip refused a request: {exc}") from None
        except BoardError as exc:
            self.failure = str(exc)
            raise
        except FrameError as exc:   # a reply body that does not fit its op
            self.failure = f"{op}: {exc}"
            raise BoardError(f"{op}: the board sent a malformed reply on {self.url}: {exc}") from None
        except (KeyError, ValueError) as exc:
            if isinstance(exc, RuntimeInputError):
                raise
            raise DeviceError(f"{op}: {exc}") from None
        except OSError as exc:   # serial.SerialException is one
            self.failure = f"{op}: {exc}"
            raise BoardError(f"lost the board's serial port {self.url} during {op!r}: {exc}") from None

    def _dispatch(self, op, header: dict, payload: bytes) -> tuple:
        if op == "write":
            batch, pos = [], 0
            for w in header["writes"]:
                batch.append((w["x"], w["y"], w["addr"], payload[pos:pos + w["bytes"]], bool(w.get("acked", True))))
                pos += w["bytes"]
            if pos != len(payload):
                raise RuntimeInputError(f"the writes carry {pos} bytes, the payload has {len(payload)}")
            _complete(self.host.write_batch(batch))
            return {"ok": True}, b""
        if op == "read":
            return {"ok": True}, _complete(self.host.read(header["x"], header["y"], header["addr"], header["bytes"]))
        if op == "reset":
            self.link.transact(Op.RESET)
            return {"ok": True, "cycle": self._counters()["cycle"]}, b""
        if op == "run":
            return self._run(header.get("programs", []), header["budget"], header.get("trace")), b""
        if op == "counters":
            return self._counters(), b""
        if op == "exit":
            cycle = self._counters()["cycle"]
            self.close()
            return {"ok": True, "cycle": cycle}, b""
        raise RuntimeInputError(f"unknown device request {op!r}")

    def _run(self, programs, budget: int, trace) -> dict:
        if trace is not None:
            raise RuntimeInputError(f"a board records no timeline: run without trace={trace!r} (and without "
                                    f"$TESSERA_TRACE_DIR); timelines come from the simulator")
        keys, exit_addr = [], {}
        for p in programs:
            key = (p["x"], p["y"], p.get("core", ""))
            if (key[0], key[1]) not in self.tiles or key[2] not in self.core_names:
                raise RuntimeInputError(f"program on node ({key[0]}, {key[1]}) core {key[2]!r}: a board watches only "
                                        f"the tile cores {self.core_names} of the tiles {self.tiles}")
            if key not in exit_addr:
                keys.append(key)
                exit_addr[key] = p["exit_addr"]
        try:
            body = run_body(budget, [(self.tiles.index((x, y)), self.core_names.index(core)) for x, y, core in keys],
                            len(self.tiles), len(self.core_names))
        except FrameError as exc:
            raise RuntimeInputError(str(exc)) from None
        # The bridge answers when every core is DONE or at the budget: allow twice the budget's time.
        _, reply = self.link.transact(Op.RUN, body, replies=(Op.RUN_REPLY,),
                                      run_seconds=2 * budget / self.clock_hz)
        result = parse_run_reply(reply)
        if result["done"] and keys:
            # The RUN reply times the bridge's wait, which began only when the frame had crossed the
            # UART, long after the load plan's last write released the cores: time the run from
            # the cores' own release and DONE stamps instead.
            records = self._board_counters()["cores"]
            result["cycles"] = run_cycles(records[self.tiles.index((x, y)) * len(self.core_names)
                                                  + self.core_names.index(core)] for x, y, core in keys)
        codes = {}
        for attempt in range(EXIT_REREADS if result["done"] else 1):
            pending = [key for key in keys if key not in codes]
            if not pending:
                break
            if attempt:
                time.sleep(0.001 * 2 ** attempt)
            words = _complete(self.host.read_batch([(x, y, exit_addr[(x, y, core)], 4) for x, y, core in pending]))
            for key, raw in zip(pending, words):
                word = int.from_bytes(raw, "little")
                if word & 1:
                    codes[key] = word >> 1
        done = result["done"] and len(codes) == len(keys)
        out = {"done": done, "cycles": result["cycles"], "console": [],
               "codes": [{"x": x, "y": y, "core": core, "code": codes[(x, y, core)]}
                         for x, y, core in keys if (x, y, core) in codes]}
        if not done:
            out["cores"] = self._counters()["cores"]
        return out

    def _board_counters(self) -> dict:
        _, body = self.link.transact(Op.COUNTERS, replies=(Op.COUNTERS_REPLY,))
        return parse_counters_reply(body, len(self.tiles), len(self.core_names))

    def _counters(self) -> dict:
        board = self._board_counters()
        cores = []
        for entry in board["cores"]:
            x, y = self.tiles[entry["tile"]]
            cores.append({"x": x, "y": y, "core": self.core_names[entry["core"]], "pc": entry["pc"],
                          "retired": entry["retired"], "trapped": int(entry["trapped"]), "held": int(entry["held"]),
                          "waypoint": waypoint_name(entry["waypoint"])})
        return {"ok": True, "cycle": board["cycle"], "bad_packets": board["bad_packets"],
                "packets_sent": self.host.packets_sent, "frames_rejected": board["frames_rejected"],
                "link": dict(self.link.stats), "cores": cores}

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.ser.close()
