"""Packets whose flits do not end where their header says, in the Amaranth simulator.

The injecting router frames every packet by its header's ``length``: a packet
that carries more flits is cut at the declared length (the excess up to the
sender's tail is dropped), one that carries fewer is padded to it (the
padding flits' data is unspecified), and either is reported on ``cut_packet`` and counted in
``bad_packets``.  Without that a multicast whose header claims one buffer's
worth but which carries more loses the cut-through guarantee, and two such
broadcasts deadlock the network.

Every test checks the delivered packets exactly with the scoreboard: each
well-formed packet intact, each lying packet delivered as the router cut or
padded it (its first ``length`` bytes, or its carried bytes first), every
lying packet counted once.
"""

import random

import pytest

from tessera.hw.config import preset
from tessera.hw.noc.layout import NocFormat
from tb.noc.cocotb_noc import Scoreboard, rectangles
from tb.noc.test_noc_amaranth import simulate, torus_2x2

NETWORKS = {
    "mesh_3x2": lambda: preset("tiny"),
    "torus_2x2": torus_2x2,
    "torus_3x3_4vcs": lambda: preset("tiny", noc={"width": 3, "height": 3, "topology": "torus",
                                                  "vcs_per_class": 4}),
}


def lying_packet(sb, src, cls, *, carried, rng, **destination):
    return sb.make_lying(src, cls, carried=carried, rng=rng, **destination)


def deliveries(sb):
    return sum(len(nodes) for nodes in sb.expected.values())


@pytest.mark.parametrize("trial", range(3))
@pytest.mark.parametrize("network", ["mesh_3x2", "torus_2x2"])
def test_two_broadcasts_longer_than_their_headers_do_not_deadlock(network, trial):
    # Each header says 8 bytes (one data flit, so the multicast fits a buffer)
    # but 16 data flits follow: without framing at injection the two
    # broadcasts each hold branches the other needs and the network hangs.
    cfg = NETWORKS[network]()
    noc = cfg.noc
    nodes = noc.width * noc.height
    seed = 100 + trial
    rng = random.Random(seed)
    sb = Scoreboard(cfg)
    broadcast = (0, 0, noc.width - 1, noc.height - 1)
    sources = [(0, nodes - 1), (1, nodes - 2), (nodes - 1, 1)][trial]
    traffic = []
    for src in sources:
        traffic.append((src, 0, lying_packet(sb, src, 0, rect=broadcast, length=8, carried=16,
                                             rng=rng)))
        # A well-formed packet behind each on the same stream.
        traffic.append((src, 0, sb.make(src, 0, dst=sb.node_xy(rng.randrange(nodes)), length=24,
                                        rng=rng)))
    received, _, state = simulate(cfg, traffic, deliveries(sb), seed, max_cycles=3000)
    assert len(received) == deliveries(sb), \
        f"seed {seed}: {len(received)} of {deliveries(sb)} deliveries (network hung)"
    sb.check(received)
    assert state["bad"] == len(sources), f"seed {seed}: {state['bad']} packets reported"


def test_a_short_unicast_is_padded_and_a_long_one_cut():
    cfg = preset("tiny")
    rng = random.Random(7)
    sb = Scoreboard(cfg)
    traffic = [
        (0, 0, lying_packet(sb, 0, 0, dst=(2, 1), length=40, carried=2, rng=rng)),   # short
        (0, 0, sb.make(0, 0, dst=(2, 1), length=16, rng=rng)),
        (3, 1, lying_packet(sb, 3, 1, dst=(1, 0), length=0, carried=5, rng=rng)),    # header only
        (3, 1, sb.make(3, 1, dst=(1, 0), length=9, rng=rng)),
        (5, 0, lying_packet(sb, 5, 0, dst=(5 % 3, 5 // 3), length=17, carried=0, rng=rng)),
        (5, 0, sb.make(5, 0, dst=(0, 0), length=0, rng=rng)),
    ]
    received, _, state = simulate(cfg, traffic, deliveries(sb), seed=7, max_cycles=3000)
    sb.check(received)
    assert state["bad"] == 3


@pytest.mark.parametrize("network", list(NETWORKS))
def test_random_lying_lengths_soak(network):
    # Unicasts of both classes and multicasts, about a third of them lying
    # (longer or shorter than declared), among well-formed traffic.
    cfg = NETWORKS[network]()
    noc = cfg.noc
    fmt = NocFormat(noc)
    nodes = noc.width * noc.height
    seed = sum(map(ord, network))
    rng = random.Random(seed)
    sb = Scoreboard(cfg)
    traffic, lies = [], 0
    multicast_flits = fmt.data_flits(fmt.max_multicast_length())
    rects = rectangles(cfg, rng, 12)
    for _ in range(120):
        src = rng.randrange(nodes)
        if rng.random() < 0.3:
            cls, dest = 0, dict(rect=rng.choice(rects), exclude_self=rng.random() < 0.5,
                                length=rng.randint(0, fmt.max_multicast_length()))
        else:
            cls = rng.randrange(noc.num_classes)
            dest = dict(dst=sb.node_xy(rng.randrange(nodes)), length=rng.choice([0, 3, 8, 24, 40]))
        if rng.random() < 0.35:
            declared = fmt.data_flits(dest["length"])
            limit = max(multicast_flits, noc.max_payload_flits) + 4
            carried = rng.choice([c for c in range(limit) if c != declared])
            flits = lying_packet(sb, src, cls, carried=carried, rng=rng, **dest)
            lies += 1
        else:
            flits = sb.make(src, cls, rng=rng, **dest)
        traffic.append((src, cls, flits))
    received, _, state = simulate(cfg, traffic, deliveries(sb), seed, max_cycles=30000)
    assert len(received) == deliveries(sb), \
        f"seed {seed}: {len(received)} of {deliveries(sb)} deliveries (network hung)"
    try:
        sb.check(received)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}: {exc}") from exc
    assert state["bad"] == lies, f"seed {seed}: {state['bad']} packets reported, {lies} lied"
