"""The device protocol without a simulator: framing, and a server on a fake chip over a real socket."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading

import pytest

from tessera.hw.config import preset
from tessera.sw.host.errors import DeviceError, NocRequestError
from tessera.sw.host.protocol import PROTOCOL_VERSION, ProtocolError, recv_message, send_message, serve_connection
from tessera.sw.host.transport import SocketTransport
from tb.host.fake_chip import AsyncFakeBackend, FakeChip


def test_framing_round_trip_and_refusals():
    a, b = socket.socketpair()
    with a, b:
        blob = bytes(range(256)) * 4001  # about 1 MB: several recv calls, sent from another thread
        sender = threading.Thread(target=lambda: (send_message(a, {"op": "write", "n": 1}, blob),
                                                  send_message(a, {"op": "read"})))
        sender.start()
        assert recv_message(b) == ({"op": "write", "n": 1}, blob)
        sender.join()
        assert recv_message(b) == ({"op": "read"}, b"")
        a.sendall((5).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"nope!")
        with pytest.raises(ProtocolError, match="not JSON"):
            recv_message(b)
        a.sendall((2).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"[]")
        with pytest.raises(ProtocolError, match="not an object"):
            recv_message(b)
        a.sendall((10).to_bytes(4, "little") + (0).to_bytes(4, "little") + b"{}")
        a.close()
        with pytest.raises(ProtocolError, match="closed"):
            recv_message(b)


@pytest.fixture
def served():
    """A SocketTransport connected to serve_connection on a FakeChip (in a thread)."""
    cfg = preset("tiny")
    chip = FakeChip(cfg)
    client, server = socket.socketpair()
    thread = threading.Thread(target=lambda: asyncio.run(
        serve_connection(server, AsyncFakeBackend(chip), {"token": "t0k", "config": cfg.name})), daemon=True)
    thread.start()
    hello, _ = recv_message(client)
    assert hello == {"type": "hello", "protocol": PROTOCOL_VERSION, "token": "t0k", "config": "tiny"}
    transport = SocketTransport(client, hello)
    yield transport, chip, cfg
    transport.close()
    thread.join(5)
    assert not thread.is_alive(), "the server did not stop on exit"
    server.close()


def test_requests_through_a_socket(served):
    transport, chip, cfg = served
    tile = cfg.nodes_of("tensix")[0]
    dram = cfg.nodes_of("dram")[0]
    transport.writes([(tile.x, tile.y, 0x6000, b"abc"), (dram.x, dram.y, 0x100, bytes(range(200)), False)])
    assert chip.mem[(tile.x, tile.y)][0x6000:0x6003] == b"abc"
    assert transport.read(dram.x, dram.y, 0x100, 200) == bytes(range(200))
    run = transport.run([{"x": tile.x, "y": tile.y, "core": "brisc", "exit_addr": 0x100}], budget=5000, poll=100)
    assert run["ok"] and run["done"] and run["codes"] == [{"x": tile.x, "y": tile.y, "core": "brisc", "code": 0}]
    counters = transport.counters()
    assert len(counters["cores"]) == len(cfg.nodes_of("tensix")) * len(cfg.cores)
    assert transport.reset()["ok"]


def test_server_refusals_come_back_named(served):
    transport, chip, cfg = served
    dram = cfg.nodes_of("dram")[0]
    with pytest.raises(NocRequestError, match=r"refused READ at address 0x00100000"):
        transport.read(dram.x, dram.y, cfg.dram.size_bytes, 4)
    with pytest.raises(DeviceError, match="bad_request: unknown op 'frobnicate'"):
        transport.request({"op": "frobnicate"})
    with pytest.raises(DeviceError, match="the writes carry 4 bytes, the payload has 3"):
        transport.request({"op": "write", "writes": [{"x": 1, "y": 0, "addr": 0, "bytes": 4}]}, b"abc")
    with pytest.raises(DeviceError, match="field 'x' must be an integer"):
        transport.request({"op": "read", "x": -1, "y": 0, "addr": 0, "bytes": 4})
    with pytest.raises(DeviceError, match=r"run: 'trace' must be a file path, got 7"):
        transport.request({"op": "run", "programs": [], "budget": 10, "trace": 7})
    with pytest.raises(DeviceError, match=r"run: 'trace' must be a file path, got ''"):
        transport.request({"op": "run", "programs": [], "budget": 10, "trace": ""})
    # The connection survives every refusal.
    assert transport.read(dram.x, dram.y, 0, 4) == bytes(4)


def test_a_server_that_fails_to_start_is_reported_with_its_log(tmp_path):
    from tessera.sw.host.transport import SimulatorTransport

    script = tmp_path / "server.py"
    script.write_text("import sys\nprint('model build failed: no Verilator')\nsys.exit(3)\n")
    with pytest.raises(DeviceError, match=r"(?s)exited with status 3 before it connected.*model build failed"):
        SimulatorTransport(preset("tiny"), python_command=[sys.executable, str(script)])
