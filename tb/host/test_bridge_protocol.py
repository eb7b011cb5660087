"""The host bridge's frame format (hw/chip/bridge_protocol.py) against independent references."""

import binascii
import random
import struct

import pytest

from tessera.hw.chip.bridge_protocol import (SOF, FrameDecoder, FrameError, Op, crc16, encode_frame, hello_reply,
                                             max_body_bytes, packet_body, parse_counters_reply, parse_hello_reply,
                                             parse_packet_body, parse_run_reply, run_body, run_cycles)
from tessera.hw.config import preset


def _crc_bitwise(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, one bit at a time (the textbook definition)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_crc_matches_the_check_value_and_a_bitwise_reference():
    assert crc16(b"123456789") == 0x29B1          # the catalogued check value of CRC-16/CCITT-FALSE
    rng = random.Random(7)
    for _ in range(50):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        assert crc16(data) == _crc_bitwise(data) == binascii.crc_hqx(data, 0xFFFF)


def test_frame_layout_byte_by_byte():
    frame = encode_frame(Op.PACKET, 0x12, b"\x01\x02\x03")
    assert frame[:6] == bytes([SOF, 0x02, 0x12, 3, 0, 1])
    assert frame[6:8] == b"\x02\x03"
    assert struct.unpack("<H", frame[8:])[0] == _crc_bitwise(frame[1:8])


def test_decoder_reassembles_split_frames_and_skips_noise():
    rng = random.Random(11)
    frames = [(int(rng.choice(list(Op))), rng.randrange(256), bytes(rng.randrange(256) for _ in range(rng.randrange(40))))
              for _ in range(30)]
    stream = b"\x00\xff" + b"".join(encode_frame(*f) for f in frames)
    dec, got, pos = FrameDecoder(), [], 0
    while pos < len(stream):
        step = rng.randrange(1, 17)
        got += dec.feed(stream[pos:pos + step])
        pos += step
    assert got == frames and dec.noise_bytes == 2 and dec.pending() == 0


def test_decoder_rejects_a_corrupted_frame_and_goes_on():
    good = encode_frame(Op.ACK, 5, b"")
    bad = bytearray(encode_frame(Op.PACKET, 6, b"abcdef"))
    bad[7] ^= 0x40
    dec = FrameDecoder()
    with pytest.raises(FrameError, match=r"frame op 0x02 seq 6 \(6-byte body\): CRC"):
        dec.feed(bytes(bad))
    assert dec.feed(good) == [(Op.ACK, 5, b"")]


def test_decoder_refuses_an_oversized_length():
    dec = FrameDecoder(max_body=16)
    with pytest.raises(FrameError, match="announces a 17-byte body; at most 16 allowed"):
        dec.feed(encode_frame(Op.PACKET, 1, bytes(17)))


def test_bodies_round_trip():
    cfg = preset("tiny")
    fb = cfg.noc.flit_bytes
    words = [random.Random(3).getrandbits(64) for _ in range(5)]
    assert parse_packet_body(packet_body(1, words, fb), fb) == (1, words)
    with pytest.raises(FrameError, match="not a class byte and whole 8-byte flits"):
        parse_packet_body(b"\x00" + bytes(7), fb)
    hello = parse_hello_reply(hello_reply(cfg))
    assert hello["fingerprint"] == cfg.fingerprint()[:16] and hello["tiles"] == 4 and hello["cores"] == 5
    assert run_body(1000, [(0, 0), (3, 4)], 4, 5) == struct.pack("<I", 1000) + (1 | 1 << 19).to_bytes(3, "little")
    with pytest.raises(FrameError, match=r"core \(4, 0\) is not one of 4 tiles x 5 cores"):
        run_body(10, [(4, 0)], 4, 5)
    assert parse_run_reply(struct.pack("<BI", 1, 1234)) == {"done": True, "cycles": 1234}
    body = struct.pack("<QII", 99, 1, 2) + b"".join(struct.pack("<IIBBII", 4 * i, i, i & 3, 7, 1000 + i, 5000 - i)
                                                    for i in range(20))
    counters = parse_counters_reply(body, 4, 5)
    assert counters["cycle"] == 99 and counters["cores"][6] == {"tile": 1, "core": 1, "pc": 24, "retired": 6,
                                                                "trapped": False, "held": True, "waypoint": 7,
                                                                "released": 1006, "done": 4994}
    # The longest body of the tiny preset: the COUNTERS reply (16 bytes, then 18 for each of 20 cores),
    # longer than the longest packet (1 header flit + 256 payload bytes, plus the class byte).
    assert max_body_bytes(cfg) == 16 + 18 * 20 > 1 + 8 + 256


def test_run_cycles_span_the_earliest_release_to_the_last_done_across_the_stamps_wrap():
    start = (1 << 32) - 40   # the stamps are the low 32 bits of the cycle counter: they wrap mid-run
    cores = [{"released": (start + r) % (1 << 32), "done": (start + d) % (1 << 32)}
             for r, d in ((3, 900), (0, 1500), (7, 1200))]
    assert run_cycles(cores) == 1500
    assert run_cycles(cores[2:]) == 1200 - 7
    with pytest.raises(FrameError, match="at least one core"):
        run_cycles([])
