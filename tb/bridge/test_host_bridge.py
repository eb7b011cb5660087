"""HostBridge in the Amaranth simulator with a Python model of the chip side (tb/bridge/bridge_bench.py).

Frames go in through the bridge's byte stream (or, in the pin tests, through
the UART pins at 4 clocks per bit); every frame the bridge sends is checked
against ``binascii.crc_hqx`` and decoded with hw/chip/bridge_protocol.py.
"""

from __future__ import annotations

import binascii
import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from tessera.hw.chip.bridge_protocol import (RESET_CYCLES, Op, Reject, encode_frame, hello_reply,
                                             max_body_bytes, packet_body, parse_counters_reply,
                                             parse_hello_reply, parse_packet_body, parse_run_reply, run_body)
from tessera.hw.chip.host_bridge import LEDS, HostBridge, crc16_byte
from tessera.hw.config import preset
from tessera.hw.noc.layout import NocFormat
from tessera.hw.tile.waypoint import Waypoint
from tb.bridge.bridge_bench import CFG, DIVISOR, BridgeBench

FMT = NocFormat(CFG.noc)
FB = CFG.noc.flit_bytes
TILES, CORES = len(CFG.nodes_of("tensix")), len(CFG.cores)
MAX_FLITS = FMT.header_flits + CFG.noc.max_payload_flits
LED = {name: 1 << i for i, name in enumerate(LEDS)}


def random_flits(rng, n):
    return [rng.getrandbits(CFG.noc.flit_width) for _ in range(n)]


def framed(words):
    return [(w, int(i == 0), int(i == len(words) - 1)) for i, w in enumerate(words)]


def test_crc_logic_matches_binascii():
    crc, byte = Signal(16), Signal(8)
    out = Signal(16)
    m = Module()
    m.d.comb += out.eq(crc16_byte(crc, byte))
    rng = random.Random(5)
    sim = Simulator(m)

    async def bench(ctx):
        for _ in range(300):
            c, b = rng.getrandbits(16), rng.getrandbits(8)
            ctx.set(crc, c)
            ctx.set(byte, b)
            assert ctx.get(out) == binascii.crc_hqx(bytes([b]), c), (c, b)

    sim.add_testbench(bench)
    sim.run()


def test_hello_reply_is_the_protocols():
    bench = BridgeBench()

    async def run(ctx, b):
        op, seq, body = await b.request(Op.HELLO, 7)
        assert (op, seq) == (Op.HELLO_REPLY, 7)
        assert body == hello_reply(CFG)
        info = parse_hello_reply(body)
        assert info["clocks_per_bit"] == DIVISOR and info["tiles"] == TILES and info["cores"] == CORES

    bench.run(run)


def test_packets_are_injected_exactly_and_a_resend_is_not():
    seed = 21
    print(f"seed {seed}")
    rng = random.Random(seed)
    bench = BridgeBench(seed=seed, inject_stall=0.4)
    sent = {c: [] for c in range(CFG.noc.num_classes)}

    async def run(ctx, b):
        for seq in range(12):
            cls = rng.randrange(CFG.noc.num_classes)
            words = random_flits(rng, rng.choice([1, 2, 3, MAX_FLITS - 1, MAX_FLITS]))
            reply = await b.request(Op.PACKET, seq, packet_body(cls, words, FB), gap_prob=0.2)
            assert reply == (Op.ACK, seq, b""), f"seed {seed} packet {seq}: {reply}"
            sent[cls] += framed(words)
            assert b.injected == sent, f"seed {seed} packet {seq}: injected flits differ"
            if seq % 4 == 3:            # the ACK was lost: the host sends the same packet again
                reply = await b.request(Op.PACKET, seq, packet_body(cls, words, FB))
                assert reply == (Op.ACK, seq, b"")
                await ctx.tick().repeat(50)
                assert b.injected == sent, f"seed {seed}: the resend of {seq} was injected"
        # After a HELLO (a new session) the same seq is a new packet.
        await b.request(Op.HELLO, 11)
        words = random_flits(rng, 2)
        assert await b.request(Op.PACKET, 11, packet_body(0, words, FB)) == (Op.ACK, 11, b"")
        sent[0] += framed(words)
        assert b.injected == sent

    bench.run(run)


def test_bad_frames_are_refused_and_nothing_reaches_the_chip():
    bench = BridgeBench(seed=3)
    good = packet_body(1, [0x1122334455667788, 0x99], FB)
    too_long = max_body_bytes(CFG) + 1
    timeout = CFG.host_link.frame_timeout_bytes * 10 * DIVISOR

    def bad_crc(frame):
        return frame[:-1] + bytes([frame[-1] ^ 0x40])

    cases = [
        ("corrupted CRC", bad_crc(encode_frame(Op.PACKET, 1, good)), 1, Reject.BAD_CRC),
        ("corrupted body", encode_frame(Op.PACKET, 2, good)[:9] + b"\x00" + encode_frame(Op.PACKET, 2, good)[10:],
         2, Reject.BAD_CRC),
        ("oversized length", encode_frame(Op.PACKET, 3, bytes([0]) + bytes(too_long - 1)), 3, Reject.TOO_LONG),
        ("unknown op", encode_frame(0x42, 4, good), 4, Reject.UNKNOWN_OP),
        ("a reply op from the host", encode_frame(Op.ACK, 5), 5, Reject.UNKNOWN_OP),
        ("packet of a partial flit", encode_frame(Op.PACKET, 6, good[:-1]), 6, Reject.BAD_BODY),
        ("packet with no flit", encode_frame(Op.PACKET, 7, b"\x00"), 7, Reject.BAD_BODY),
        ("packet of an unknown class", encode_frame(Op.PACKET, 8, bytes([2]) + good[1:]), 8, Reject.BAD_BODY),
        ("packet longer than any", encode_frame(Op.PACKET, 9, packet_body(0, [1] * (MAX_FLITS + 1), FB)), 9,
         Reject.BAD_BODY if 1 + (MAX_FLITS + 1) * FB <= max_body_bytes(CFG) else Reject.TOO_LONG),
        ("hello with a body", encode_frame(Op.HELLO, 10, b"\x01"), 10, Reject.BAD_BODY),
        ("run body too short", encode_frame(Op.RUN, 11, run_body(5, [(0, 0)], TILES, CORES)[:-1]), 11,
         Reject.BAD_BODY),
        ("truncated in the body", encode_frame(Op.PACKET, 12, good)[:-4], 12, Reject.TRUNCATED),
        ("truncated in the header", encode_frame(Op.PACKET, 13, good)[:2], 0, Reject.TRUNCATED),
    ]

    async def run(ctx, b):
        await b.request(Op.HELLO, 0)
        assert not ctx.get(b.dut.leds) & LED["rejected"]
        for n, (what, frame, seq, reason) in enumerate(cases, 1):
            before = len(await b.frames(0))
            await b.send_bytes(b"\x00\xff" + frame)     # noise before the frame is skipped
            frames = await b.frames(before + 1, limit=timeout + 20_000)
            assert frames[before] == (Op.NAK, seq, bytes([reason])), f"{what}: {frames[before]}"
            assert not any(b.injected.values()), f"{what}: something was injected"
            assert ctx.get(b.dut.leds) & LED["rejected"], what
            # The bridge goes on working: a good packet right after.
            reply = await b.request(Op.PACKET, 100 + n, good)
            assert reply == (Op.ACK, 100 + n, b""), f"after {what}: {reply}"
            assert b.injected[1] == framed([0x1122334455667788, 0x99]), f"after {what}"
            b.injected[1].clear()
        counters = parse_counters_reply((await b.request(Op.COUNTERS, 200))[2], TILES, CORES)
        assert counters["frames_rejected"] == len(cases)
        await b.request(Op.HELLO, 201)
        assert not ctx.get(b.dut.leds) & LED["rejected"], "HELLO clears the rejected LED"

    bench.run(run)


def test_ejected_packets_of_both_classes_become_eject_frames():
    seed = 33
    print(f"seed {seed}")
    rng = random.Random(seed)
    bench = BridgeBench(seed=seed, tx_stall=0.5)
    packets = {c: [random_flits(rng, rng.choice([1, 2, 5, MAX_FLITS])) for _ in range(6)]
               for c in range(CFG.noc.num_classes)}
    total = sum(len(p) for p in packets.values())

    def offer(cls):
        async def process(ctx, b):
            for words in packets[cls]:
                await b.offer_eject(ctx, cls, framed(words), valid_prob=0.7)
        return process

    async def run(ctx, b):
        # Requests while both classes eject: replies and EJECT frames share the line, never mixed.
        for seq in range(3):
            op, rseq, body = await b.request(Op.COUNTERS, seq)
            assert (op, rseq) == (Op.COUNTERS_REPLY, seq)
            parse_counters_reply(body, TILES, CORES)
        count = 3
        while sum(f[0] == Op.EJECT for f in await b.frames(count)) < total:
            count += 1
        ops = [f[0] for f in await b.frames(count)]
        last_reply = max(i for i, op in enumerate(ops) if op == Op.COUNTERS_REPLY)
        assert Op.EJECT in ops[:last_reply], f"seed {seed}: no EJECT frame went out between the replies"
        frames = [f for f in await b.frames(count) if f[0] == Op.EJECT]
        assert [seq for _op, seq, _body in frames] == list(range(total)), "EJECT seq counts packets"
        got = {c: [] for c in packets}
        for _op, _seq, body in frames:
            cls, words = parse_packet_body(body, FB)
            got[cls].append(words)
        assert got == packets, f"seed {seed}"

    bench.run(run, offer(0), offer(1))


def test_reset_holds_the_chip_for_reset_cycles_and_drops_partial_ejects():
    bench = BridgeBench(tx_stall=0.0)

    async def run(ctx, b):
        dut = b.dut
        # Half a packet (no tail) in class 1's eject buffer when the chip is reset.
        await b.offer_eject(ctx, 1, [(0xDEAD, 1, 0), (0xBEEF, 0, 0)])
        assert not ctx.get(dut.chip_reset)
        before = len(await b.frames(0))
        await b.send(Op.RESET, 9)
        high, leds_seen, trace = 0, 0, []
        while len(await b.frames(0)) == before:
            _, _, reset, leds = await ctx.tick().sample(dut.chip_reset, dut.leds)
            trace.append(reset)
            high += reset
            leds_seen |= leds
        assert high == RESET_CYCLES, f"chip_reset high for {high} cycles"
        first = trace.index(1)
        assert trace[first:first + RESET_CYCLES] == [1] * RESET_CYCLES, "one contiguous pulse"
        assert leds_seen & LED["chip_reset"]
        assert (await b.frames(before + 1))[before] == (Op.ACK, 9, b"")
        # The next packet of class 1 is ejected alone.
        await b.offer_eject(ctx, 1, framed([0x1234, 0x5678]))
        frames = await b.frames(before + 2)
        assert frames[before + 1] == (Op.EJECT, 0, packet_body(1, [0x1234, 0x5678], FB))

    bench.run(run)


def _done(ctx, dut, t, c, done=True):
    ctx.set(dut.debug[t][c].waypoint, Waypoint.DONE if done else Waypoint.SEMAPHORE_WAIT)


def test_run_waits_for_the_masked_cores_or_the_budget():
    bench = BridgeBench(tx_stall=0.0)
    delay = 37

    async def run(ctx, b):
        dut = b.dut
        masked = [(0, 1), (2, 3)]
        before = len(await b.frames(0))
        await b.send(Op.RUN, 1, run_body(10_000, masked, TILES, CORES))
        # ``send`` returns just after the clock edge that took the request's last byte.
        _done(ctx, dut, 0, 1)
        _done(ctx, dut, 1, 1)             # not in the mask
        await ctx.tick().repeat(delay)
        assert len(await b.frames(0)) == before, "replied before every masked core was DONE"
        _done(ctx, dut, 2, 3)
        op, seq, body = (await b.frames(before + 1))[before]
        assert (op, seq) == (Op.RUN_REPLY, 1)
        # The wait starts two cycles after the last byte; DONE was first seen ``delay`` edges after it.
        assert parse_run_reply(body) == {"done": True, "cycles": delay - 1}
        assert ctx.get(dut.leds) & LED["run_done"]

        # Already done: no wait.
        reply = await b.request(Op.RUN, 2, run_body(5, masked, TILES, CORES))
        assert parse_run_reply(reply[2]) == {"done": True, "cycles": 0}
        # A core that never finishes: the budget.
        reply = await b.request(Op.RUN, 3, run_body(50, masked + [(3, 4)], TILES, CORES))
        assert reply[:2] == (Op.RUN_REPLY, 3)
        assert parse_run_reply(reply[2]) == {"done": False, "cycles": 50}
        assert not ctx.get(dut.leds) & LED["run_done"]
        # A core leaving DONE (a reset) clears the LED of the last mask.
        _done(ctx, dut, 3, 4)
        await ctx.tick()
        assert ctx.get(dut.leds) & LED["run_done"]
        _done(ctx, dut, 0, 1, done=False)
        await ctx.tick()
        assert not ctx.get(dut.leds) & LED["run_done"]

    bench.run(run)


def test_stamps_time_a_run_from_the_release_before_run_arrives():
    """Cores released (held falls) and finishing (DONE) before a RUN frame: the COUNTERS stamps,
    not the RUN reply, give the run's cycles, from the earliest release to the last DONE."""
    from tessera.hw.chip.bridge_protocol import run_cycles
    seed = 21
    print(f"seed {seed}")
    rng = random.Random(seed)
    bench = BridgeBench(seed=seed, tx_stall=0.0)

    async def run(ctx, b):
        dut = b.dut
        masked = [(0, 0), (1, 2), (3, 4)]
        for t in range(TILES):
            for c in range(CORES):
                ctx.set(dut.debug[t][c].held, 1)
        await ctx.tick().repeat(3)
        gaps = [rng.randrange(1, 20) for _ in masked]     # edges between successive releases
        for (t, c), gap in zip(masked, gaps):
            ctx.set(dut.debug[t][c].held, 0)
            await ctx.tick().repeat(gap)
        finish = [rng.randrange(1, 40) for _ in masked]   # edges between successive DONEs
        for (t, c), gap in zip(masked, finish):
            _done(ctx, dut, t, c)
            await ctx.tick().repeat(gap)
        # The earliest release to the last DONE, in edges.
        want = sum(gaps) + sum(finish[:-1])
        reply = await b.request(Op.RUN, 4, run_body(10_000, masked, TILES, CORES))
        assert parse_run_reply(reply[2]) == {"done": True, "cycles": 0}   # over before RUN arrived
        cores = parse_counters_reply((await b.request(Op.COUNTERS, 5))[2], TILES, CORES)["cores"]
        records = [cores[t * CORES + c] for t, c in masked]
        assert run_cycles(records) == want, f"seed {seed}: {records}"
        # A core held again and released anew is stamped anew; one never released keeps its stamps.
        t, c = masked[0]
        ctx.set(dut.debug[t][c].held, 1)
        _done(ctx, dut, t, c, done=False)
        await ctx.tick().repeat(2)
        ctx.set(dut.debug[t][c].held, 0)
        await ctx.tick().repeat(9)
        _done(ctx, dut, t, c)
        await ctx.tick()
        again = parse_counters_reply((await b.request(Op.COUNTERS, 6))[2], TILES, CORES)["cores"]
        assert run_cycles([again[t * CORES + c]]) == 9, f"seed {seed}"
        assert again[1:] == cores[1:]

    bench.run(run)


def test_counters_carry_the_debug_ports_and_the_cycle_count():
    seed = 8
    print(f"seed {seed}")
    rng = random.Random(seed)
    bench = BridgeBench(seed=seed)

    async def run(ctx, b):
        dut = b.dut
        want = []
        for t in range(TILES):
            for c in range(CORES):
                core = {"tile": t, "core": c, "pc": rng.getrandbits(32), "retired": rng.getrandbits(32),
                        "trapped": rng.random() < 0.3, "held": rng.random() < 0.5,
                        "waypoint": rng.choice(list(Waypoint)).value}
                want.append(core)
                port = dut.debug[t][c]
                for name in ("pc", "retired", "trapped", "held"):
                    ctx.set(getattr(port, name), int(core[name]))
                ctx.set(port.waypoint, Waypoint(core["waypoint"]))
        ctx.set(dut.bad_packets, 0xC0FFEE12)
        await ctx.tick()
        assert ctx.get(dut.leds) & LED["trapped"]
        await b.send(Op.COUNTERS, 77)
        sent_at = b.cycle
        op, seq, body = (await b.frames(1))[0]
        assert (op, seq) == (Op.COUNTERS_REPLY, 77)
        got = parse_counters_reply(body, TILES, CORES)
        # The release / DONE stamps are of edges, none of which happened at a cycle counter of 0 here
        # (the ports were set before the first edge): test_stamps_time_a_run_from_the_release covers them.
        assert [{k: v for k, v in core.items() if k not in ("released", "done")} for core in got["cores"]] \
            == want, f"seed {seed}"
        assert got["bad_packets"] == 0xC0FFEE12 and got["frames_rejected"] == 0
        assert sent_at <= got["cycle"] <= sent_at + 3, (sent_at, got["cycle"])
        # Free running: a second snapshot later counts on.
        sent_again = b.cycle
        got = parse_counters_reply((await b.request(Op.COUNTERS, 78))[2], TILES, CORES)
        assert got["cycle"] > sent_again

    bench.run(run)


def test_pin_to_pin_hello_packet_eject_and_a_dropped_byte():
    """Through UartRx and UartTx at 4 clocks per bit, decoded by the line model."""
    bench = BridgeBench(pins=True, seed=4)
    words = [0x0102030405060708, 0x1112131415161718, 0x2122232425262728]

    async def run(ctx, b):
        op, seq, body = await b.request(Op.HELLO, 1)
        assert (op, seq, body) == (Op.HELLO_REPLY, 1, hello_reply(CFG))
        assert await b.request(Op.PACKET, 2, packet_body(0, words, FB)) == (Op.ACK, 2, b"")
        assert b.injected[0] == framed(words)
        await b.offer_eject(ctx, 1, framed(words[:2]))
        frames = await b.frames(3)
        assert frames[2] == (Op.EJECT, 0, packet_body(1, words[:2], FB))
        # A byte with a bad stop bit is dropped by the UART: the frame is short of a byte.
        from tb.bridge.uart_model import drive_bytes
        frame = encode_frame(Op.PACKET, 3, packet_body(0, words, FB))
        await drive_bytes(ctx, b.top.uart_rx.rx, list(frame), DIVISOR, bad_stop={10})
        assert ctx.get(b.top.uart_rx.framing_errors) == 1
        timeout = CFG.host_link.frame_timeout_bytes * 10 * DIVISOR
        frames = await b.frames(4, limit=timeout + 2000)
        assert frames[3] == (Op.NAK, 3, bytes([Reject.TRUNCATED]))
        assert b.injected[0] == framed(words), "nothing of the broken frame injected"
        assert await b.request(Op.PACKET, 3, packet_body(0, words, FB)) == (Op.ACK, 3, b"")
        assert b.injected[0] == framed(words) * 2
        assert not b.line.errors, b.line.errors[:3]

    bench.run(run)


def test_activity_led_follows_the_traffic():
    bench = BridgeBench()

    async def run(ctx, b):
        assert not ctx.get(b.dut.leds) & LED["activity"]
        await b.request(Op.HELLO, 1)
        assert ctx.get(b.dut.leds) & LED["activity"]
        await ctx.tick().repeat(b.dut.activity_cycles + 2)
        assert not ctx.get(b.dut.leds) & LED["activity"]

    bench.run(run)


def test_bridge_rejects_bad_parameters():
    with pytest.raises(TypeError, match="TesseraConfig, got None"):
        HostBridge(None)
    with pytest.raises(ValueError, match="divisor .* got 3"):
        HostBridge(CFG, clocks_per_bit=3)
    with pytest.raises(ValueError, match="activity_cycles .* got 0"):
        HostBridge(CFG, activity_cycles=0)
    with pytest.raises(ValueError, match="70000 does not fit"):
        HostBridge(CFG, clocks_per_bit=70000)
    assert HostBridge(preset("tiny")).clocks_per_bit == preset("tiny").host_link.clocks_per_bit(50.0)
