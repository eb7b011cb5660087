"""InjectionFraming in the Amaranth simulator, against a packet-level model.

Random packets whose sender tails fall anywhere (often where the header's
length says, often not), refused headers with any length, random injection
gaps and random buffer room: what the unit pushes must be, packet by
packet, the declared number of flits (the carried ones, cut or followed by
padding flits, whose data is not checked) with the router's head/tail
framing; a refused packet goes through as
the sender framed it; each mismatch is reported once.
"""

import random

import pytest
from amaranth.sim import Simulator

from tessera.hw.config import preset
from tessera.hw.noc.injection_framing import InjectionFraming
from tessera.hw.noc.layout import NocFormat

CONFIGS = {
    "tiny": lambda: preset("tiny"),                                    # one header flit
    "8x8_two_header_flits": lambda: preset("tiny", noc={"width": 8, "height": 8}),
}


def expected_flits(fmt, words, refused):
    """What the router lets in of one sender packet (data words up to its tail)."""
    if refused:
        out = list(words)
    else:
        length = fmt.unpack_header(words[0])["length"]
        declared = fmt.packet_flits(length)
        out = (list(words) + [None] * declared)[:declared]     # None: padding, data unspecified
    return [(d, int(i == 0), int(i == len(out) - 1)) for i, d in enumerate(out)]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_packets_enter_exactly_as_long_as_their_headers_say(config):
    cfg = CONFIGS[config]()
    noc = cfg.noc
    fmt = NocFormat(noc)
    seed = len(config)
    rng = random.Random(seed)
    dut = InjectionFraming(noc)
    fw = noc.flit_width
    packets = []     # (sender flit words, refused)
    for _ in range(300):
        refused = rng.random() < 0.15
        top = (1 << noc.length_width) - 1 if refused else noc.max_payload_bytes
        length = rng.choice([0, 1, noc.flit_bytes, rng.randint(0, top)])
        declared = fmt.packet_flits(length)
        carried = declared if rng.random() < 0.4 else rng.randint(1, declared + 6)
        header = fmt.pack_header(length=length, dst_x=rng.randrange(noc.width), addr=rng.getrandbits(32))
        words = [(header >> (k * fw)) & ((1 << fw) - 1) for k in range(fmt.header_flits)]
        words = (words + [rng.getrandbits(fw) for _ in range(carried)])[:carried]
        packets.append((words, refused))
    want = [f for words, refused in packets for f in expected_flits(fmt, words, refused)]
    want_cuts = sum(not refused and len(words) != fmt.packet_flits(fmt.unpack_header(words[0])["length"])
                    for words, refused in packets)
    sender = [(d, refused, int(i == len(words) - 1)) for words, refused in packets
              for i, d in enumerate(words)]
    got, cuts = [], 0

    async def bench(ctx):
        nonlocal cuts
        position = 0
        for cycle in range(20 * len(sender)):
            offer = position < len(sender) and rng.random() < 0.8
            if offer:
                d, refused, tail = sender[position]
                ctx.set(dut.inject.payload, d | rng.getrandbits(1) << fw | tail << (fw + 1))
                ctx.set(dut.refused, refused)
            ctx.set(dut.inject.valid, offer)
            ctx.set(dut.room, rng.random() < 0.7)
            _, _, ready, push, flit, cut = await ctx.tick().sample(
                dut.inject.ready, dut.push, dut.flit.as_value(), dut.cut)
            if offer and ready:
                position += 1
            if push:
                got.append((flit & ((1 << fw) - 1), flit >> fw & 1, flit >> (fw + 1) & 1))
            cuts += cut
            if position == len(sender) and len(got) == len(want):
                break
        for _ in range(5):
            ctx.set(dut.inject.valid, 0)
            _, _, push = await ctx.tick().sample(dut.push)
            assert not push, f"seed {seed}: a flit pushed after the last packet"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(got) == len(want), f"seed {seed}: {len(got)} flits pushed, {len(want)} expected"
    for i, (g, w) in enumerate(zip(got, want)):
        if w[0] is None:
            g = (None, *g[1:])
        assert g == w, f"seed {seed}: flit {i} is {g}, expected {w}"
    assert cuts == want_cuts, f"seed {seed}: {cuts} cut pulses for {want_cuts} mismatched packets"
