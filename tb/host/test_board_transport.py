"""The board transport (sw/host/board.py) end to end against a model of the host bridge, without hardware.

:class:`BridgeModel` is the bridge's side of the serial protocol written
from the specification in hw/chip/bridge_protocol.py (its own byte-at-a-time
frame receiver, its own frame encoder, the CRC straight from ``binascii``),
in front of a NoC model of :class:`~tb.host.fake_chip.FakeChip`'s memories.
It listens on a local socket, so the transport opens it by the pyserial URL
``socket://127.0.0.1:PORT``.  Faults on the wire: bytes toward the bridge
flipped, cut short or lost (the model NAKs or stays silent), frames from the
bridge lost, corrupted, truncated or skipped in the EJECT sequence.
"""

from __future__ import annotations

import binascii
import random
import socket
import struct
import threading
import time
from collections import Counter

import pytest

from tessera.hw.chip.bridge_protocol import VERSION, Op, Reject
from tessera.hw.config import preset
from tessera.hw.noc.layout import Command, MessageClass, NocFormat
from tessera.hw.tile.waypoint import Waypoint
from tessera.sw.host.board import BoardTransport
from tessera.sw.host.device import Device
from tessera.sw.host.errors import BoardError, NocRequestError, RuntimeInputError
from tb.host.fake_chip import FakeChip, NocError

SOF = 0x5A
#: Short timeouts keep the fault tests fast; the model answers in microseconds.
ACK_TIMEOUT = 0.25


def _frame(op: int, seq: int, body: bytes = b"") -> bytes:
    inner = struct.pack("<BBH", op, seq, len(body)) + body
    return bytes([SOF]) + inner + struct.pack("<H", binascii.crc_hqx(inner, 0xFFFF))


class BridgeModel:
    """The host bridge of ``cfg`` on a local socket (see the module docstring).

    ``wire_in(chunk) -> chunk``: what the wire does to the bytes the host sends (one ``recv``
    at a time; the host writes one frame per call, so mostly one frame); ``wire_out(op, frame)
    -> frame``: to each frame the bridge sends (``b""`` loses it).  ``hello``: fields of the
    HELLO_REPLY to misstate.  ``finishing``: {(x, y, core name): (exit_addr, code, cycles)},
    the cores that finish, ``cycles`` after the earliest release of the ``RUN``'s cores.  As on a
    board, the cores were released ``release_lead`` cycles before the ``RUN`` arrived (one cycle
    apart, in mask order), so the ``RUN`` reply's wait is shorter than the run; the stamps wrap
    (the model's cycle starts at 0, the releases before it).  ``acks_first``: whether a PACKET's ACK
    goes out before the chip's responses to it (None: either, at random)."""

    def __init__(self, cfg, seed: int = 0, wire_in=None, wire_out=None, hello=None, acks_first=None):
        self.cfg = cfg
        self.chip = FakeChip(cfg)
        self.fmt = NocFormat(cfg.noc)
        self.rng = random.Random(seed)
        self.wire_in = wire_in or (lambda chunk: chunk)
        self.wire_out = wire_out or (lambda op, frame: frame)
        self.hello = dict(hello or {})
        self.acks_first = acks_first
        self.tiles = [(n.x, n.y) for n in cfg.nodes_of("tensix")]
        self.core_names = [c.name for c in cfg.cores]
        fb = cfg.noc.flit_bytes
        self.max_body = max(1 + self.fmt.packet_flits(cfg.noc.max_payload_bytes) * fb,
                            16 + 18 * len(self.tiles) * len(self.core_names))
        # Seconds without a byte after which a started frame is dropped as truncated.
        self.byte_timeout = 0.004
        self.finishing = {}
        self.run_delay = 0.0   # seconds the chip takes to answer a RUN
        self.held = {(t, c): True for t in self.tiles for c in self.core_names}
        self.waypoint = {key: 0 for key in self.held}
        self.released_at = {key: 0 for key in self.held}   # 32-bit stamps
        self.done_at = {key: 0 for key in self.held}
        self.release_lead = 30
        self.cycle = 0
        self.rx = None
        self.last_packet_seq = None
        self.eject_seq = 0
        self.injected = []      # every packet injected: (class, flit words)
        self.duplicates = 0     # resent PACKETs acknowledged again, not injected
        self.rejects = Counter()
        self.handled = Counter()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"
        self.conn = None
        self.failure = None
        self.stopping = False
        self.transports = []   # opened by the tests, closed with the model
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    # -- the wire ------------------------------------------------------------------------

    def _serve(self):
        self.listener.settimeout(0.05)
        try:
            while not self.stopping:
                try:
                    self.conn, _ = self.listener.accept()
                except TimeoutError:
                    continue
                self.conn.settimeout(self.byte_timeout)
                # Frames go out as they are made (an ACK, then the responses): no Nagle delay.
                self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.rx = None
                try:
                    self._receive()
                except OSError:
                    pass   # the host closed the port
                self.conn.close()
        except Exception as exc:  # noqa: BLE001 - reported by close()
            self.failure = exc

    def _receive(self):
        while not self.stopping:
            try:
                chunk = self.conn.recv(65536)
            except TimeoutError:
                if self.rx is not None:
                    self._reject(self.rx[2] if len(self.rx) > 2 else 0, Reject.TRUNCATED)
                continue
            if not chunk:
                return
            for byte in self.wire_in(chunk):
                self._byte(byte)

    def _send(self, op, seq, body=b""):
        frame = self.wire_out(op, _frame(op, seq, body))
        if frame:
            self.conn.sendall(frame)

    def close(self):
        for transport in self.transports:
            transport.close()
        self.stopping = True
        self.thread.join(5)
        self.listener.close()
        assert not self.thread.is_alive(), "the bridge model did not stop"
        assert self.failure is None, f"the bridge model failed: {self.failure!r}"

    # -- the receiver --------------------------------------------------------------------

    def _byte(self, byte):
        if self.rx is None:
            if byte == SOF:
                self.rx = bytearray([byte])
            return
        rx = self.rx
        rx.append(byte)
        if len(rx) < 5:
            return
        length = rx[3] | rx[4] << 8
        if length > self.max_body:
            self._reject(rx[2], Reject.TOO_LONG)
        elif len(rx) == 7 + length:
            self.rx = None
            self._frame(bytes(rx))

    def _reject(self, seq, reason):
        self.rx = None
        self.rejects[reason] += 1
        self._send(Op.NAK, seq, bytes([reason]))

    def _frame(self, raw):
        op, seq, body = raw[1], raw[2], raw[5:-2]
        if binascii.crc_hqx(raw[1:-2], 0xFFFF) != int.from_bytes(raw[-2:], "little"):
            return self._reject(seq, Reject.BAD_CRC)
        mask_bytes = (len(self.tiles) * len(self.core_names) + 7) // 8
        fb = self.cfg.noc.flit_bytes
        sizes = {Op.HELLO: {0}, Op.RESET: {0}, Op.COUNTERS: {0}, Op.RUN: {4 + mask_bytes}}
        if op not in sizes and op != Op.PACKET:
            return self._reject(seq, Reject.UNKNOWN_OP)
        bad_packet = op == Op.PACKET and (len(body) < 1 + fb or (len(body) - 1) % fb
                                          or body[0] >= self.cfg.noc.num_classes)
        if bad_packet or (op in sizes and len(body) not in sizes[op]):
            return self._reject(seq, Reject.BAD_BODY)
        self.handled[Op(op).name] += 1
        getattr(self, f"_on_{Op(op).name.lower()}")(seq, body)

    # -- requests ------------------------------------------------------------------------

    def _on_hello(self, seq, body):
        self.last_packet_seq = None   # a session starts: the next PACKET is new whatever its seq
        fields = {"version": VERSION, "flit_bytes": self.cfg.noc.flit_bytes, "tiles": len(self.tiles),
                  "cores": len(self.core_names), "classes": self.cfg.noc.num_classes,
                  "clocks_per_bit": self.cfg.host_link.clocks_per_bit(self.cfg.clock_mhz),
                  "fingerprint": self.cfg.fingerprint()[:16], **self.hello}
        self._send(Op.HELLO_REPLY, seq, struct.pack("<BBBBBH", fields["version"], fields["flit_bytes"], fields["tiles"],
                                                    fields["cores"], fields["classes"], fields["clocks_per_bit"])
                   + bytes.fromhex(fields["fingerprint"]))

    def _on_packet(self, seq, body):
        if seq == self.last_packet_seq:
            self.duplicates += 1
            self._send(Op.ACK, seq)
            return
        self.last_packet_seq = seq
        fb = self.cfg.noc.flit_bytes
        words = [int.from_bytes(body[i:i + fb], "little") for i in range(1, len(body), fb)]
        self.injected.append((body[0], words))
        responses = self._noc(*self.fmt.parse(words))
        # The chip's responses may overtake the ACK on the wire, or follow it.
        if self.acks_first if self.acks_first is not None else self.rng.random() < 0.5:
            self._send(Op.ACK, seq)
            self._eject(responses)
        else:
            self._eject(responses)
            self._send(Op.ACK, seq)

    def _eject(self, packets):
        for flits in packets:
            body = bytes([MessageClass.RESPONSE]) + b"".join(
                d.to_bytes(self.cfg.noc.flit_bytes, "little") for d, _, _ in flits)
            seq, self.eject_seq = self.eject_seq, (self.eject_seq + 1) % 256
            self._send(Op.EJECT, seq, body)

    def _noc(self, header, payload):
        """The responses of the chip's nodes to one request packet."""
        assert header["cls"] == MessageClass.REQUEST and (header["src_x"], header["src_y"]) == \
            (self.cfg.host.x, self.cfg.host.y), header
        x, y, addr, cmd = header["dst_x"], header["dst_y"], header["addr"], header["cmd"]

        def response(rcmd, data=b""):
            return self.fmt.packet(data, cls=int(MessageClass.RESPONSE), cmd=int(rcmd), dst_x=self.cfg.host.x,
                                   dst_y=self.cfg.host.y, src_x=x, src_y=y, txn=header["txn"], addr=addr)
        try:
            if cmd in (Command.WRITE_ACKED, Command.WRITE_POSTED):
                self.chip.write(x, y, addr, payload)
                return [response(Command.WRITE_ACK)] if cmd == Command.WRITE_ACKED else []
            if cmd == Command.READ:
                size = int.from_bytes(payload[4:8], "little")
                return [response(Command.READ_RESP, self.chip.read(x, y, addr, size))]
        except NocError:
            return [response(Command.ERROR_RESP, int(cmd).to_bytes(4, "little"))]
        raise AssertionError(f"unexpected command {cmd}")

    def _on_reset(self, seq, body):
        self.held = {key: True for key in self.held}
        self.waypoint = {key: 0 for key in self.waypoint}
        self.cycle += 16
        self._send(Op.ACK, seq)

    def _on_run(self, seq, body):
        budget = int.from_bytes(body[:4], "little")
        mask = int.from_bytes(body[4:], "little")
        masked = [(t, c) for i, (t, c) in enumerate((t, c) for t in self.tiles for c in self.core_names)
                  if mask >> i & 1]
        arrival = self.cycle
        start = arrival - self.release_lead
        for i, key in enumerate(masked):
            self.held[key] = False
            self.released_at[key] = (start + i) % (1 << 32)
        finished = [key for key in masked if (*key[0], key[1]) in self.finishing]
        last_done = start
        for tile, core in finished:
            exit_addr, code, cycles = self.finishing[(*tile, core)]
            self.chip.mem[tile][exit_addr:exit_addr + 4] = (code << 1 | 1).to_bytes(4, "little")
            self.waypoint[(tile, core)] = Waypoint.DONE.value
            self.done_at[(tile, core)] = (start + cycles) % (1 << 32)
            last_done = max(last_done, start + cycles)
        done = len(finished) == len(masked)
        # The bridge's wait: from the RUN's arrival to the last DONE (0 if that was earlier), or the budget.
        waited = max(0, last_done - arrival) if done else budget
        self.cycle += waited
        self.last_run = (budget, mask, masked)
        time.sleep(self.run_delay)
        self._send(Op.RUN_REPLY, seq, struct.pack("<BI", done, waited))

    def _on_counters(self, seq, body):
        out = struct.pack("<QII", self.cycle, 3, sum(self.rejects.values()))
        for i, key in enumerate((t, c) for t in self.tiles for c in self.core_names):
            out += struct.pack("<IIBBII", 0x100 + 4 * i, 1000 + i, (i == 2) | self.held[key] << 1, self.waypoint[key],
                               self.released_at[key], self.done_at[key])
        self._send(Op.COUNTERS_REPLY, seq, out)


@pytest.fixture
def cfg():
    return preset("tiny")


@pytest.fixture
def bridge(cfg):
    model = BridgeModel(cfg)
    yield model
    model.close()


def _open(cfg, model, **kwargs):
    kwargs.setdefault("ack_timeout", ACK_TIMEOUT)
    transport = BoardTransport(cfg, model.url, **kwargs)
    model.transports.append(transport)
    return transport


def _nodes(cfg):
    return [(n.x, n.y, cfg.l1.size_bytes) for n in cfg.nodes_of("tensix")] + \
        [(n.x, n.y, cfg.dram.size_bytes) for n in cfg.nodes_of("dram")]


def _random_writes(cfg, rng, count):
    """(x, y, addr, data, acked) of random sizes and alignments, and the memories they leave."""
    reference = {(x, y): bytearray(size) for x, y, size in _nodes(cfg)}
    writes = []
    for _ in range(count):
        x, y, size = rng.choice(_nodes(cfg))
        n = rng.choice([1, 2, 3, 5, 8, 31, 64, 255, 256, 257, 700, rng.randrange(1, 2000)])
        addr = rng.randrange(0, min(size, 0x8000) - n)
        data = bytes(rng.randrange(256) for _ in range(n))
        writes.append((x, y, addr, data, rng.random() < 0.8))
        reference[(x, y)][addr:addr + n] = data
    return writes, reference


# -- the happy path ------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_writes_and_reads_of_random_sizes_round_trip(cfg, bridge, seed):
    rng = random.Random(seed)
    transport = _open(cfg, bridge)
    try:
        assert transport.hello["fingerprint"] == cfg.fingerprint()[:16]
        writes, reference = _random_writes(cfg, rng, 25)
        for start in range(0, len(writes), 6):   # some requests of several writes, to several nodes
            assert transport.writes(writes[start:start + 6])["ok"]
        for (x, y), mem in reference.items():
            assert bridge.chip.mem[(x, y)][:0x8000] == mem[:0x8000], f"seed {seed}: node ({x}, {y}) differs"
        for _ in range(20):
            x, y, _ = rng.choice(_nodes(cfg))
            n = rng.randrange(1, 1500)
            addr = rng.randrange(0, 0x8000 - n)
            assert transport.read(x, y, addr, n) == bytes(reference[(x, y)][addr:addr + n]), \
                f"seed {seed}: read of {n} bytes at {addr:#x} of ({x}, {y})"
        assert len(bridge.injected) == transport.host.packets_sent
        assert bridge.duplicates == 0 and not bridge.rejects
    finally:
        transport.close()


def test_a_refused_request_names_the_node_and_the_link_goes_on(cfg, bridge):
    transport = _open(cfg, bridge)
    tile = cfg.nodes_of("tensix")[0]
    with pytest.raises(NocRequestError, match=rf"node \({tile.x}, {tile.y}\) refused READ"):
        transport.read(tile.x, tile.y, cfg.l1.size_bytes - 2, 4)
    transport.write(tile.x, tile.y, 0x40, b"still fine")
    assert transport.read(tile.x, tile.y, 0x40, 10) == b"still fine"
    transport.close()


def test_hello_of_another_configuration_is_refused_naming_both(cfg):
    other = cfg.derive(l1={"size_bytes": cfg.l1.size_bytes // 2})
    model = BridgeModel(cfg, hello={"fingerprint": other.fingerprint()[:16], "cores": 4})
    try:
        with pytest.raises(BoardError) as info:
            _open(cfg, model)
        message = str(info.value)
        assert model.url in message and repr(cfg.name) in message
        assert f"fingerprint: board {other.fingerprint()[:16]}, runtime {cfg.fingerprint()[:16]}" in message
        assert f"cores: board 4, runtime {len(cfg.cores)}" in message
    finally:
        model.close()


def test_hello_of_another_protocol_version_is_refused(cfg):
    model = BridgeModel(cfg, hello={"version": VERSION + 1})
    try:
        with pytest.raises(BoardError, match=f"version: board {VERSION + 1}, runtime {VERSION}"):
            _open(cfg, model)
    finally:
        model.close()


def test_no_board_behind_the_port_is_a_clear_error(cfg):
    silent = socket.create_server(("127.0.0.1", 0))
    url = f"socket://127.0.0.1:{silent.getsockname()[1]}"
    try:
        with pytest.raises(BoardError, match=r"no valid HELLO_REPLY .* 115200 baud"):
            BoardTransport(cfg, url, ack_timeout=0.05, retries=1)
    finally:
        silent.close()
    with pytest.raises(BoardError, match="cannot open the board's serial port"):
        BoardTransport(cfg, "/dev/no-such-tessera-board")


# -- run, counters, reset --------------------------------------------------------------------

def test_run_sends_the_cores_mask_and_reads_the_exit_words(cfg, bridge):
    transport = _open(cfg, bridge)
    (x0, y0), (x1, y1) = bridge.tiles[0], bridge.tiles[3]
    bridge.finishing = {(x0, y0, "brisc"): (0x3F00, 0, 800), (x1, y1, "trisc1"): (0x4F00, 5, 1234)}
    programs = [{"x": x0, "y": y0, "core": "brisc", "exit_addr": 0x3F00},
                {"x": x1, "y": y1, "core": "trisc1", "exit_addr": 0x4F00}]
    reply = transport.run(programs, budget=50_000)
    # Tile-major bits: tile 0 core 0 (brisc) is bit 0, tile 3 core 3 (trisc1) bit 3 * 5 + 3.
    assert bridge.last_run == (50_000, 1 << 0 | 1 << 18, [((x0, y0), "brisc"), ((x1, y1), "trisc1")])
    # From the earliest release, not from the RUN's arrival (the bridge waited 1234 - 30 cycles).
    assert reply["done"] and reply["cycles"] == 1234 and reply["console"] == []
    assert sorted((c["x"], c["y"], c["core"], c["code"]) for c in reply["codes"]) == \
        sorted([(x0, y0, "brisc", 0), (x1, y1, "trisc1", 5)])
    assert "cores" not in reply


def test_a_run_over_before_its_run_frame_arrives_counts_from_the_release(cfg, bridge):
    """Over a slow UART the whole run can end before RUN arrives: the bridge's wait is 0 cycles."""
    transport = _open(cfg, bridge)
    bridge.release_lead = 5000
    x, y = bridge.tiles[2]
    bridge.finishing = {(x, y, "brisc"): (0x3F00, 0, 800), (x, y, "ncrisc"): (0x3E00, 0, 950)}
    reply = transport.run([{"x": x, "y": y, "core": "brisc", "exit_addr": 0x3F00},
                           {"x": x, "y": y, "core": "ncrisc", "exit_addr": 0x3E00}], budget=50_000)
    assert reply["done"] and reply["cycles"] == 950
    assert bridge.cycle == 0   # the bridge did not wait


def test_a_run_that_does_not_finish_reports_every_core(cfg, bridge):
    transport = _open(cfg, bridge)
    (x0, y0), (x1, y1) = bridge.tiles[0], bridge.tiles[1]
    bridge.finishing = {(x0, y0, "brisc"): (0x3F00, 0, 800)}
    programs = [{"x": x0, "y": y0, "core": "brisc", "exit_addr": 0x3F00},
                {"x": x1, "y": y1, "core": "ncrisc", "exit_addr": 0x3E00}]
    reply = transport.run(programs, budget=7000)
    assert not reply["done"] and reply["cycles"] == 7000
    assert reply["codes"] == [{"x": x0, "y": y0, "core": "brisc", "code": 0}]
    assert len(reply["cores"]) == len(bridge.tiles) * len(cfg.cores)
    assert {(c["x"], c["y"], c["core"]) for c in reply["cores"] if not c["held"]} == \
        {(x0, y0, "brisc"), (x1, y1, "ncrisc")}


def test_a_run_may_take_its_budget_before_it_is_sent_again(cfg, bridge):
    """The RUN reply comes long after the ACK timeout, within twice the budget at the chip's clock."""
    transport = _open(cfg, bridge, ack_timeout=0.05, clock_hz=20_000)
    bridge.run_delay = 0.3
    reply = transport.run([], budget=5000)   # 5000 cycles at 20 kHz: 0.25 s, so up to 0.5 s allowed
    assert reply["done"] and bridge.handled["RUN"] == 1 and not transport.link.stats["resends"]


def test_run_refusals(cfg, bridge):
    transport = _open(cfg, bridge)
    dram = cfg.nodes_of("dram")[0]
    with pytest.raises(RuntimeInputError, match="a board watches only the tile cores"):
        transport.run([{"x": dram.x, "y": dram.y, "core": "brisc", "exit_addr": 0}], budget=100)
    with pytest.raises(RuntimeInputError, match="run budget must be 1..2\\*\\*32-1 cycles"):
        transport.run([], budget=1 << 33)
    with pytest.raises(RuntimeInputError, match="a board records no timeline"):
        transport.run([], budget=100, trace="/tmp/timeline")
    assert transport.run([], budget=100)["done"]


def test_counters_and_reset_map_to_the_protocol_fields(cfg, bridge):
    transport = _open(cfg, bridge)
    transport.write(*bridge.tiles[0], 0x100, bytes(300))
    counters = transport.counters()
    assert counters["cycle"] == 0 and counters["bad_packets"] == 3 and counters["frames_rejected"] == 0
    assert counters["packets_sent"] == transport.host.packets_sent == 2
    core = counters["cores"][7]   # tile 1 (the second Tensix node), core 2
    tile = bridge.tiles[1]
    assert core == {"x": tile[0], "y": tile[1], "core": cfg.cores[2].name, "pc": 0x100 + 28, "retired": 1007,
                    "trapped": 0, "held": 1, "waypoint": "RUNNING"}
    assert counters["cores"][2]["trapped"] == 1
    bridge.finishing = {(*tile, "brisc"): (0x3F00, 0, 50)}
    transport.run([{"x": tile[0], "y": tile[1], "core": "brisc", "exit_addr": 0x3F00}], budget=1000)
    after = transport.counters()["cores"][5]
    assert not after["held"] and after["waypoint"] == "DONE"
    reply = transport.reset()
    assert reply["ok"] and reply["cycle"] == 50 - bridge.release_lead + 16
    assert all(c["held"] for c in transport.counters()["cores"])
    assert bridge.handled["RESET"] == 1


# -- faults on the wire ------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [11, 12, 13])
def test_corrupted_truncated_and_lost_frames_are_resent_without_loss_or_duplicates(cfg, seed):
    """Host -> bridge: bit flips, cut frames, lost frames; bridge -> host: lost ACKs.  The
    bridge's memory equals a reference, and every packet was injected exactly once."""
    print(f"seed {seed}")
    wire = random.Random(seed)
    faults = Counter()

    def wire_in(chunk):
        roll = wire.random()
        if roll < 0.10:
            faults["flipped"] += 1
            pos = wire.randrange(len(chunk))
            return chunk[:pos] + bytes([chunk[pos] ^ 1 << wire.randrange(8)]) + chunk[pos + 1:]
        if roll < 0.15:
            faults["cut"] += 1
            return chunk[:wire.randrange(1, len(chunk))] if len(chunk) > 1 else b""
        if roll < 0.17:
            faults["lost"] += 1
            return b""
        return chunk

    def wire_out(op, frame):
        if op == Op.ACK and wire.random() < 0.04:
            faults["ack lost"] += 1
            return b""
        return frame

    model = BridgeModel(cfg, seed, wire_in=wire_in, wire_out=wire_out)
    try:
        transport = _open(cfg, model, retries=12, ack_timeout=0.1)
        rng = random.Random(seed)
        writes, reference = _random_writes(cfg, rng, 40)
        for start in range(0, len(writes), 5):
            transport.writes(writes[start:start + 5])
        for (x, y), mem in reference.items():
            assert model.chip.mem[(x, y)][:0x8000] == mem[:0x8000], f"seed {seed}: node ({x}, {y}) differs"
        assert len(model.injected) == transport.host.packets_sent, \
            f"seed {seed}: {len(model.injected)} packets injected, {transport.host.packets_sent} sent"
        x, y, addr, data, _ = writes[-1]
        assert transport.read(x, y, addr, len(data)) == bytes(reference[(x, y)][addr:addr + len(data)])
        stats = transport.link.stats
        print(f"seed {seed}: faults {dict(faults)}, rejects {dict(model.rejects)}, link {dict(stats)}, "
              f"{model.duplicates} resent packets not injected again")
        assert faults["flipped"] and stats["resends"] >= faults["flipped"] + faults["cut"], f"seed {seed}"
        assert model.rejects[Reject.BAD_CRC] + model.rejects[Reject.TOO_LONG] > 0, f"seed {seed}"
        transport.close()
    finally:
        model.close()


def test_a_frame_rejected_every_time_gives_up_naming_op_seq_reason_and_port(cfg):
    def wire_in(chunk):   # every PACKET loses a bit of its CRC
        if chunk[0] == SOF and chunk[1] == Op.PACKET:
            return chunk[:-1] + bytes([chunk[-1] ^ 0x80])
        return chunk

    model = BridgeModel(cfg, wire_in=wire_in)
    try:
        transport = _open(cfg, model, retries=2)
        tile = model.tiles[0]
        with pytest.raises(BoardError) as info:
            transport.write(*tile, 0x100, b"never")
        message = str(info.value)
        assert message.startswith("write: the board did not accept PACKET frame seq 2 in 3 tries")
        assert "NAK BAD_CRC (seq 2) x3" in message and model.url in message
        assert model.rejects[Reject.BAD_CRC] == 3 and not model.injected
        with pytest.raises(BoardError, match="failed earlier"):
            transport.read(*tile, 0x100, 4)
        transport.close()
    finally:
        model.close()


def test_a_lost_reply_is_resent_then_given_up(cfg):
    model = BridgeModel(cfg, wire_out=lambda op, frame: b"" if op == Op.COUNTERS_REPLY else frame)
    try:
        transport = _open(cfg, model, retries=1, ack_timeout=0.05)
        with pytest.raises(BoardError, match=r"counters: the board did not accept COUNTERS frame seq \d+ in 2 tries "
                                             r"\(no reply within [\d.]+ s x2\)"):
            transport.counters()
        assert model.handled["COUNTERS"] == 2
    finally:
        model.close()


@pytest.mark.parametrize("fault, victim", [("flip", Op.EJECT), ("flip", Op.ACK), ("truncate", Op.EJECT),
                                           ("truncate", Op.ACK)], ids=lambda v: getattr(v, "name", v))
def test_a_damaged_frame_from_the_board_is_a_clear_error(cfg, fault, victim):
    """A bit flipped in the third frame of a kind during a four-packet write; or a frame cut short
    that nothing follows (the response of a read, after its ACK; the ACK of a read, after its
    response): a cut frame with bytes behind it cannot be told from a corrupted one."""
    state = {"left": 3 if fault == "flip" else 1}

    def wire_out(op, frame):
        if op == victim:
            state["left"] -= 1
            if state["left"] == 0:
                if fault == "flip":
                    return frame[:6] + bytes([frame[6] ^ 0x10]) + frame[7:]
                return frame[:len(frame) // 2]
        return frame

    model = BridgeModel(cfg, wire_out=wire_out, acks_first=victim == Op.EJECT)
    try:
        transport = _open(cfg, model)
        tile = model.tiles[1]
        want = "corrupted frame" if fault == "flip" else "truncated frame"
        with pytest.raises(BoardError, match=f"^(write|read): the board sent a {want} on {model.url}"):
            if fault == "flip":
                transport.write(*tile, 0x200, bytes(range(256)) * 4)
            else:
                transport.read(*tile, 0x200, 16)
        with pytest.raises(BoardError, match="failed earlier"):
            transport.counters()
    finally:
        model.close()


def test_a_gap_in_the_eject_sequence_is_reported(cfg):
    model = BridgeModel(cfg)
    try:
        transport = _open(cfg, model)
        tile = model.tiles[0]
        transport.write(*tile, 0x0, bytes(1000))
        model.eject_seq += 2    # two responses lost on the way
        with pytest.raises(BoardError, match=r"read: EJECT seq gap on .*: expected \d+, got \d+ "
                                             r"\(2 packets from the chip lost\)"):
            transport.read(*tile, 0x0, 16)
    finally:
        model.close()


# -- through the Device ----------------------------------------------------------------------

def test_a_device_opens_a_board_by_argument_or_environment(cfg, bridge, monkeypatch):
    with Device(0, config=cfg, board=bridge.url) as device:
        assert isinstance(device.transport, BoardTransport)
        assert device.counters()["cores"][0]["held"]
    monkeypatch.setenv("TESSERA_BOARD", bridge.url)
    with Device(0, config=cfg) as device:
        assert isinstance(device.transport, BoardTransport) and device.transport.url == bridge.url
    with pytest.raises(RuntimeInputError, match="not both"):
        Device(0, config=cfg, board=bridge.url, transport=object())


def test_board_timing_comes_from_the_environment_when_not_given(cfg, bridge, monkeypatch):
    monkeypatch.setenv("TESSERA_BOARD_TIMEOUT", "2.5")
    monkeypatch.setenv("TESSERA_BOARD_CLOCK_HZ", "2000")
    transport = BoardTransport(cfg, bridge.url)
    bridge.transports.append(transport)
    assert transport.link.ack_timeout == 2.5 and transport.clock_hz == 2000.0
    transport.close()
    explicit = _open(cfg, bridge, clock_hz=1e6)
    assert explicit.clock_hz == 1e6
    explicit.close()
    monkeypatch.setenv("TESSERA_BOARD_CLOCK_HZ", "fast")
    with pytest.raises(RuntimeInputError, match=r"\$TESSERA_BOARD_CLOCK_HZ must be a number, got 'fast'"):
        BoardTransport(cfg, bridge.url)
