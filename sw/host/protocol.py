"""The device protocol: length-prefixed messages between the host runtime and a chip server.

One protocol for every backend that can stand behind a :class:`~tessera.sw.host.device.Device`:
the Verilator chip (``python -m tessera.sim.chip.serve``) today, an FPGA
board later.  It runs over any reliable byte stream (a local TCP socket).

**Framing.**  Every message, in both directions, is::

    u32 header_bytes   little-endian
    u32 payload_bytes  little-endian
    header             UTF-8 JSON object, header_bytes long
    payload            raw bytes, payload_bytes long (memory contents; often empty)

**Session.**  The client listens, the server connects and sends first a
``hello`` message (``{"type": "hello", "protocol": 1, "token": ...,
"config": <configuration name>, "fingerprint": ...}``); the token is the one
the client gave the server on its command line, so a stray connection is
refused.  Then the client sends requests and the server answers each with
one reply, in order: ``{"ok": true, ...}`` (and a payload for reads) or
``{"ok": false, "error": <kind>, "message": <text>}``.  The simulator does
not run between requests.

**Requests** (``op`` field; addresses are the node's local addresses, nodes
are NoC coordinates):

============  ===========================================  ================================================
op            request fields (payload)                     reply fields (payload)
============  ===========================================  ================================================
``write``     ``writes``: [{x, y, addr, bytes, acked}]     ``cycle``
              (payload: the data of every write, in order)
``read``      ``x, y, addr, bytes``                        ``cycle`` (payload: the bytes)
``reset``     --                                           ``cycle``: every core held, NoC idle
``run``       ``programs``: [{x, y, core, exit_addr}],     ``done``, ``cycles`` run, ``codes``:
              ``budget`` (cycles), ``poll`` (cycles),      [{x, y, core, code}] of the exited programs;
              optional ``trace``: a file path without      when not done, ``cores`` as ``counters``;
              suffix (the server records the run's         with ``trace``: ``trace`` {json, png}, the
              timeline to ``<trace>.json`` / ``.png``)     files written (png null without matplotlib)
``counters``  --                                           ``cycle``, ``bad_packets``, ``packets_sent``,
                                                           ``cores``: [{x, y, core, pc, retired, trapped,
                                                           held}]
``exit``      --                                           ``cycle``; then the server closes
============  ===========================================  ================================================

``write`` performs its writes in order, each as if the one before had
completed (a server may pipeline writes to one node: the NoC keeps their
order).  ``run`` lets the clock run until every program has exited (its
``tohost`` word has bit 0 set: exited with code ``word >> 1``) or ``budget``
cycles have passed; ``cycles`` counts to the last exit.  The Verilator
server sleeps on the cores' DONE waypoints and reads the words once at the
end; ``poll`` is how often a server that cannot watch a core reads its
word.  Error kinds:
``noc`` (the chip refused a request: node, address, command in the
message), ``bad_request`` (a malformed or unknown request, or one the
configuration refuses before anything reaches the chip: an address outside a
node's memory, an unaligned transfer with ``noc.aligned_transfers``),
``internal``.
"""

from __future__ import annotations

import json
import socket
import struct

__all__ = ["PROTOCOL_VERSION", "OPS", "ProtocolError", "send_message", "recv_message", "Backend",
           "serve_connection"]

PROTOCOL_VERSION = 1
OPS = ("write", "read", "reset", "run", "counters", "exit")
_PREFIX = struct.Struct("<II")
#: Largest header or payload accepted (a message is refused, not allocated, past this).
MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 1 << 30


class ProtocolError(RuntimeError):
    """The other side broke the protocol or closed the connection."""


def send_message(sock: socket.socket, header: dict, payload: bytes = b"") -> None:
    """Send one framed message."""
    body = json.dumps(header, separators=(",", ":")).encode()
    payload = bytes(payload)
    sock.sendall(_PREFIX.pack(len(body), len(payload)) + body + payload)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ProtocolError(f"connection closed with {left} of {n} bytes of a message unread")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> tuple:
    """``(header, payload)`` of the next message; :class:`ProtocolError` if the stream ends or is malformed."""
    prefix = sock.recv(_PREFIX.size, socket.MSG_WAITALL)
    if not prefix:
        raise ProtocolError("connection closed")
    if len(prefix) < _PREFIX.size:
        prefix += _recv_exact(sock, _PREFIX.size - len(prefix))
    header_bytes, payload_bytes = _PREFIX.unpack(prefix)
    if header_bytes > MAX_HEADER_BYTES or payload_bytes > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"message of {header_bytes} header and {payload_bytes} payload bytes exceeds the "
                            f"limits ({MAX_HEADER_BYTES}, {MAX_PAYLOAD_BYTES})")
    try:
        header = json.loads(_recv_exact(sock, header_bytes).decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"message header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"message header is a JSON {type(header).__name__}, not an object")
    return header, _recv_exact(sock, payload_bytes)


class Backend:
    """What a server needs from the chip it serves (every method a coroutine).

    ``write(x, y, addr, data, acked)``, ``read(x, y, addr, n) -> bytes``,
    ``reset()``, ``run(programs, budget, poll, trace=None) -> dict`` (the reply fields of
    ``run``), ``counters() -> dict``, ``cycle() -> int`` (not a coroutine).
    Optional: ``write_batch([(x, y, addr, data, acked)])``, all the writes of one request
    (performed in order, as one ``write`` after the other would; a backend may pipeline them).
    A refused NoC request raises an exception whose class name is
    ``NocError``.
    """


class _BadRequest(ValueError):
    pass


def _int_field(request: dict, name: str, low: int = 0, high: int = 1 << 32) -> int:
    value = request.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < high:
        raise _BadRequest(f"field {name!r} must be an integer in {low}..{high - 1}, got {value!r}")
    return value


async def _handle(backend, request: dict, payload: bytes) -> tuple:
    op = request.get("op")
    if op == "write":
        writes = request.get("writes")
        if not isinstance(writes, list):
            raise _BadRequest(f"write needs a list 'writes', got {writes!r}")
        total = 0
        for w in writes:
            total += _int_field(w, "bytes", 1)
        if total != len(payload):
            raise _BadRequest(f"the writes carry {total} bytes, the payload has {len(payload)}")
        batch, pos = [], 0
        for w in writes:
            n = w["bytes"]
            batch.append((_int_field(w, "x", 0, 256), _int_field(w, "y", 0, 256), _int_field(w, "addr"),
                          payload[pos:pos + n], bool(w.get("acked", True))))
            pos += n
        write_batch = getattr(backend, "write_batch", None)
        if write_batch is not None:
            await write_batch(batch)
        else:
            for entry in batch:
                await backend.write(*entry)
        return {"cycle": backend.cycle()}, b""
    if op == "read":
        data = await backend.read(_int_field(request, "x", 0, 256), _int_field(request, "y", 0, 256),
                                  _int_field(request, "addr"), _int_field(request, "bytes", 1))
        return {"cycle": backend.cycle()}, data
    if op == "reset":
        await backend.reset()
        return {"cycle": backend.cycle()}, b""
    if op == "run":
        programs = request.get("programs", [])
        if not isinstance(programs, list):
            raise _BadRequest(f"run needs a list 'programs', got {programs!r}")
        for p in programs:
            _int_field(p, "x", 0, 256), _int_field(p, "y", 0, 256), _int_field(p, "exit_addr")
        trace = request.get("trace")
        if trace is not None and (not isinstance(trace, str) or not trace):
            raise _BadRequest(f"run: 'trace' must be a file path, got {trace!r}")
        reply = await backend.run(programs, _int_field(request, "budget", 1, 1 << 48),
                                  _int_field(request, "poll", 1, 1 << 32) if "poll" in request else 1000,
                                  trace=trace)
        return reply, b""
    if op == "counters":
        return await backend.counters(), b""
    raise _BadRequest(f"unknown op {op!r}; known: {', '.join(OPS)}")


async def serve_connection(sock: socket.socket, backend, hello: dict) -> None:
    """Serve requests on ``sock`` with ``backend`` until ``exit`` or the connection closes.

    ``hello`` is sent first (the token and the configuration).  Requests
    are read with blocking socket calls, so a simulator backend does not run
    between requests.
    """
    send_message(sock, {"type": "hello", "protocol": PROTOCOL_VERSION, **hello})
    while True:
        try:
            request, payload = recv_message(sock)
        except (ProtocolError, OSError):
            return  # the client went away: nothing left to serve
        if request.get("op") == "exit":
            send_message(sock, {"ok": True, "cycle": backend.cycle()})
            return
        try:
            reply, data = await _handle(backend, request, payload)
            reply = {"ok": True, **reply}
        except _BadRequest as exc:
            reply, data = {"ok": False, "error": "bad_request", "message": str(exc)}, b""
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the client, named
            # A ValueError is a request the configuration refuses before anything reaches the
            # chip (an address out of a node's memory, an unaligned transfer): the client's fault.
            kind = ("noc" if type(exc).__name__ == "NocError"
                    else "bad_request" if isinstance(exc, ValueError) else "internal")
            reply, data = {"ok": False, "error": kind, "message": f"{type(exc).__name__}: {exc}"}, b""
        send_message(sock, reply, data)
