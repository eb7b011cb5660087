"""Transports: how a :class:`~tessera.sw.host.device.Device` reaches its chip.

:class:`Transport` is the client side of the device protocol
(:mod:`tessera.sw.host.protocol`, docs/runtime.md): ``write``, ``read``,
``reset``, ``run``, ``counters``, ``close``.  Three implementations:

* :class:`SocketTransport`: the protocol over a connected socket, any server;
* :class:`SimulatorTransport`: starts ``python -m tessera.sim.chip.serve``
  as a child process, waits for it to connect, and stops it on
  :meth:`close`.  The command line is the only coupling to the simulator;
* :class:`~tessera.sw.host.board.BoardTransport`: an FPGA board, the same
  requests carried out on the host over the serial frames of the board's
  host bridge (no server; same replies).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from .errors import DeviceError, NocRequestError
from .protocol import PROTOCOL_VERSION, ProtocolError, recv_message, send_message

__all__ = ["Transport", "SocketTransport", "SimulatorTransport"]


class Transport:
    """The protocol's requests as methods (see the module docstring)."""

    def request(self, header: dict, payload: bytes = b"") -> tuple:
        raise NotImplementedError

    def writes(self, writes) -> dict:
        """Perform ``writes`` [(x, y, addr, data) or (x, y, addr, data, acked)] in order."""
        entries, blobs = [], []
        for w in writes:
            x, y, addr, data = w[:4]
            acked = w[4] if len(w) > 4 else True
            data = bytes(data)
            entries.append({"x": x, "y": y, "addr": addr, "bytes": len(data), "acked": bool(acked)})
            blobs.append(data)
        if not entries:
            return {}
        reply, _ = self.request({"op": "write", "writes": entries}, b"".join(blobs))
        return reply

    def write(self, x: int, y: int, addr: int, data: bytes, acked: bool = True) -> dict:
        return self.writes([(x, y, addr, data, acked)])

    def read(self, x: int, y: int, addr: int, n: int) -> bytes:
        _, data = self.request({"op": "read", "x": x, "y": y, "addr": addr, "bytes": n})
        if len(data) != n:
            raise ProtocolError(f"read of {n} bytes returned {len(data)}")
        return data

    def reset(self) -> dict:
        return self.request({"op": "reset"})[0]

    def run(self, programs, budget: int, poll: int = 1000, trace: str | None = None) -> dict:
        request = {"op": "run", "programs": list(programs), "budget": budget, "poll": poll}
        if trace is not None:
            request["trace"] = str(trace)
        return self.request(request)[0]

    def counters(self) -> dict:
        return self.request({"op": "counters"})[0]

    def close(self) -> None:
        pass


def _raise_reply(reply: dict) -> None:
    kind, message = reply.get("error"), reply.get("message", "")
    if kind == "noc":
        raise NocRequestError(f"the chip refused a request: {message}")
    raise DeviceError(f"the device server answered {kind}: {message}")


class SocketTransport(Transport):
    """The device protocol over ``sock``, a connected socket whose hello has been read."""

    def __init__(self, sock: socket.socket, hello: dict | None = None):
        self.sock = sock
        self.hello = hello or {}
        self.closed = False

    def request(self, header: dict, payload: bytes = b"") -> tuple:
        if self.closed:
            raise DeviceError("the transport is closed")
        try:
            send_message(self.sock, header, payload)
            reply, data = recv_message(self.sock)
        except (OSError, ProtocolError) as exc:
            self.closed = True
            raise DeviceError(f"lost the device server during {header.get('op')!r}: {exc}"
                              + self._server_hint()) from None
        if not reply.get("ok"):
            _raise_reply(reply)
        return reply, data

    def _server_hint(self) -> str:
        return ""

    def close(self) -> None:
        if self.closed:
            return
        try:
            send_message(self.sock, {"op": "exit"})
            recv_message(self.sock)
        except (OSError, ProtocolError):
            pass
        self.closed = True
        self.sock.close()


def _stop(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Wait for ``proc`` to end; terminate it (its process group: the simulator too) if it does not."""
    try:
        proc.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


class SimulatorTransport(SocketTransport):
    """Start the Verilator chip server in a child process and talk to it over a local socket.

    ``config`` is a :class:`~tessera.hw.config.TesseraConfig`.  The server
    builds (or reuses the cached) chip model, which takes minutes the first
    time; ``startup_timeout`` bounds that.  The server's output goes to
    ``log_path`` (shown in the error when it fails to start).
    """

    SERVER_MODULE = "tessera.sim.chip.serve"

    def __init__(self, config, startup_timeout: float = 1800.0, python_command=None):
        self.workdir = Path(tempfile.mkdtemp(prefix="tessera-device-"))
        self.log_path = self.workdir / "server.log"
        config_path = self.workdir / "config.json"
        config_path.write_text(config.to_json())
        token = secrets.token_hex(16)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        host, port = listener.getsockname()
        # ``python_command`` replaces ``python -m tessera.sim.chip.serve`` (another server, tests).
        server = list(python_command) if python_command else [sys.executable, "-m", self.SERVER_MODULE]
        self.command = server + ["--connect", f"{host}:{port}", "--token", token, "--config", str(config_path)]
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        # A device left open is still stopped when the program ends.
        self._finalizer = weakref.finalize(self, _stop, self.proc, 5.0)
        try:
            sock, hello = self._accept(listener, token, startup_timeout)
        except BaseException:
            self._finalizer()
            raise
        finally:
            listener.close()
        super().__init__(sock, hello)

    def _accept(self, listener: socket.socket, token: str, timeout: float) -> tuple:
        deadline = time.monotonic() + timeout
        listener.settimeout(0.5)
        while True:
            if self.proc.poll() is not None:
                raise DeviceError(f"the chip server exited with status {self.proc.returncode} before it "
                                  f"connected\ncommand: {' '.join(self.command)}" + self._server_hint())
            if time.monotonic() > deadline:
                raise DeviceError(f"the chip server did not connect within {timeout:.0f} s" + self._server_hint())
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                continue
            sock.settimeout(None)
            try:
                hello, _ = recv_message(sock)
            except (OSError, ProtocolError):
                sock.close()
                continue
            if hello.get("token") != token:
                sock.close()  # not our server
                continue
            if hello.get("protocol") != PROTOCOL_VERSION:
                sock.close()
                raise DeviceError(f"the chip server speaks protocol {hello.get('protocol')}, this runtime "
                                  f"{PROTOCOL_VERSION}")
            return sock, hello

    def _server_hint(self) -> str:
        try:
            tail = self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""
        return f"\n--- server log {self.log_path} (tail) ---\n{tail}" if tail.strip() else ""

    def close(self) -> None:
        super().close()
        _stop(self.proc)
        self._finalizer.detach()
        if self.proc.returncode == 0:  # keep the log of a server that failed
            shutil.rmtree(self.workdir, ignore_errors=True)
