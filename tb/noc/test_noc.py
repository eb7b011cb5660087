"""NoC tests: cocotb on the exported Verilog (Verilator) plus fast pure-Python checks.

Two Verilator builds: the ``noc_testbench`` block on a 4x4 torus (2 VCs per
class) and on the ``tiny`` preset's 3x2 mesh (where off-grid destinations
exist).  Each build runs every test of ``tb.noc.cocotb_noc``: the HDL-checked
random traffic (>= 100,000 packets on the torus, generators reseeded every phase) and
the Python scoreboard tests.  Both models are compiled at -O0 (``fast_build``):
the 4x4 torus testbench is 30 MB of C++, about 12 minutes at -O2 on the shared
two cores against 4-5 at -O0, and its simulation takes about a minute either way.
"""

import pytest

from tessera.hw.config import preset
from tessera.hw.noc.layout import NocFormat
from tessera.hw.noc.router import Router
from tessera.sim.harness import run_cocotb
from tessera.sim.noc.model import (PATTERNS, channel_load_bound, multicast_destinations,
                           multicast_links)


def torus_4x4():
    return preset("tiny", noc={"width": 4, "height": 4, "topology": "torus", "vcs_per_class": 2})


def test_noc_torus_4x4():
    # One run: the HDL traffic test reseeds the generators every phase, 100,000 packets in all.
    run_cocotb("noc_testbench", "tb.noc.cocotb_noc", config=torus_4x4(), seed=101,
               env={"NOC_PACKETS": "100000"}, fast_build=True)


def test_noc_mesh_tiny():
    run_cocotb("noc_testbench", "tb.noc.cocotb_noc", config=preset("tiny"), seed=7,
               env={"NOC_PACKETS": "20000"}, fast_build=True)


# ---------------------------------------------------------------------------
# Pure-Python checks of the formats and the reference model
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,flits", [("tiny", 1), ("tensix", 1)])
def test_header_fits_and_round_trips(name, flits):
    cfg = preset(name)
    fmt = NocFormat(cfg.noc)
    assert fmt.header_flits == flits
    flit_list = fmt.packet(b"\x01\x02\x03" * 11, dst_x=1, dst_y=1, src_x=0, src_y=1, cls=1,
                           cmd=7, txn=3, addr=0xDEADBEEF)
    header, payload = fmt.parse([d for d, _, _ in flit_list])
    assert payload == b"\x01\x02\x03" * 11
    assert (header["dst_x"], header["addr"], header["cmd"], header["length"]) == (1, 0xDEADBEEF, 7, 33)
    assert [h for _, h, _ in flit_list] == [1] + [0] * (len(flit_list) - 1)
    assert [t for _, _, t in flit_list] == [0] * (len(flit_list) - 1) + [1]


def test_header_needs_two_flits_on_a_big_grid_at_64_bits():
    cfg = preset("tiny", noc={"width": 8, "height": 8})
    assert NocFormat(cfg.noc).header_flits == 2


def test_header_field_overflow_is_refused():
    fmt = NocFormat(preset("tiny").noc)
    with pytest.raises(ValueError, match="dst_x=9"):
        fmt.pack_header(dst_x=9)


@pytest.mark.parametrize("x,y", [(3, 0), (0, 2), (-1, 0)])
def test_router_rejects_positions_off_the_grid(x, y):
    with pytest.raises(ValueError, match=repr(x) if x in (3, -1) else repr(y)):
        Router(preset("tiny").noc, x, y)


@pytest.mark.parametrize("topology,size,expected", [
    ("mesh", 4, {"uniform": 1.0, "transpose": 0.333, "bitcomp": 0.5}),
    ("mesh", 8, {"uniform": 0.5, "transpose": 0.143, "bitcomp": 0.25}),
    ("torus", 8, {"uniform": 1.0, "bitcomp": 0.5}),
])
def test_channel_load_bounds_match_the_architecture_table(topology, size, expected):
    cfg = preset("tiny", noc={"width": size, "height": size, "topology": topology,
                              "vcs_per_class": 2})
    for pattern, bound in expected.items():
        assert round(channel_load_bound(cfg.noc, pattern), 3) == bound, pattern
        # These are link-limited: one local channel per node gives the same.
        assert round(channel_load_bound(cfg.noc, pattern, classes=1), 3) == bound, pattern


def test_channel_load_bound_counts_one_local_channel_per_class():
    # 4x4 torus, uniform: links carry 0.5 per unit of injection, so the local
    # channels bind: 1.0 with one channel per node, 2.0 with one per class.
    cfg = preset("tiny", noc={"width": 4, "height": 4, "topology": "torus", "vcs_per_class": 2})
    assert channel_load_bound(cfg.noc, "uniform", classes=1) == pytest.approx(1.0)
    assert channel_load_bound(cfg.noc, "uniform") == pytest.approx(2.0)
    with pytest.raises(ValueError, match="classes must be in 1..2, got 3"):
        channel_load_bound(cfg.noc, "uniform", classes=3)


def test_broadcast_tree_8x8_is_63_links():
    cfg = preset("tiny", noc={"width": 8, "height": 8})
    assert len(multicast_links(cfg.noc, (3, 4), (0, 0, 7, 7))) == 63
    assert len(multicast_destinations(cfg.noc, (3, 4), (0, 0, 7, 7), True)) == 63


def test_torus_rectangle_wraps():
    cfg = torus_4x4()
    got = multicast_destinations(cfg.noc, (0, 0), (3, 3, 0, 0), False)
    assert got == {(3, 3), (0, 3), (3, 0), (0, 0)}
    assert len(PATTERNS) == 4


# ---------------------------------------------------------------------------
# Benchmark bookkeeping: the saturation rule and the table
# ---------------------------------------------------------------------------

def _point(offered, accepted, halves=(20.0, 21.0), dropped=0, bound=1.0):
    return {"offered": offered, "accepted": accepted, "latency_halves": list(halves),
            "dropped_at_source": dropped, "latency": sum(halves) / 2,
            "offered_fraction_of_bound": offered / bound, "packets": 1000}


def test_a_load_point_is_stable_only_if_accepted_undropped_and_not_growing():
    from tessera.sim.noc.cocotb_bench import stable

    assert stable(_point(0.5, 0.49))
    assert not stable(_point(0.5, 0.48))                      # below 97 % accepted
    assert not stable(_point(0.5, 0.5, dropped=1))            # a source queue overflowed
    assert not stable(_point(0.5, 0.5, halves=(40.0, 60.0)))  # latency still growing
    assert stable(_point(0.1, 0.1, halves=(11.0, 13.0)))      # 2 cycles of noise allowed


def test_bench_table_reports_saturation_and_labels_the_peak():
    from tessera.sim.noc.bench import format_table

    points = [_point(0.1, 0.1), _point(0.5, 0.5), _point(1.2, 0.9, halves=(100.0, 300.0))]
    for p in points:
        p["stable"] = p["offered"] < 1
    curve = {"bound": 1.0, "points": points, "saturation": 0.5, "fraction_of_bound": 0.5,
             "latency_at_saturation": 20.5, "first_unstable_offered": 1.2, "peak_accepted": 0.9,
             "dropped_at_source": 7}
    old_curve = {"bound": 1.0, "points": points, "saturation": 0.9, "fraction_of_bound": 0.9}
    common = {"zero_load": {"cycles_per_hop": 1.0, "intercept": 2.0}, "header_flits": 1,
              "packet_flits": 5}
    table = format_table({"new": {"curves": {"uniform": curve}, **common},
                          "old": {"curves": {"uniform": old_curve}, **common}})
    assert "| new | uniform | 1.000 | 0.500 | 50% | 20.5 | 1.200 | 0.900 | 20.5 | 20.5 | 7 |" in table
    assert "| old | uniform | 1.000 | - | - | - | - | 0.900 |" in table
    assert "peak accepted, any load" in table


def test_quick_help_says_what_quick_changes():
    from tessera.sim.noc.bench import QUICK_FRACTIONS, QUICK_HELP, WINDOW

    assert f"{len(QUICK_FRACTIONS)} load points" in QUICK_HELP
    assert f"{WINDOW}-cycle window" in QUICK_HELP and "shorter" not in QUICK_HELP


# ---------------------------------------------------------------------------
# Mixed traffic (a multicast share): stability per kind, the table, the options
# ---------------------------------------------------------------------------

def _mixed_point(offered, injected, kind_halves, dropped=0):
    kinds = {k: {"packets": 100, "accepted": 0.1, "latency": sum(h) / 2, "latency_halves": list(h)}
             for k, h in kind_halves.items()}
    return {"offered": offered, "injected": injected, "accepted": 2 * injected,
            "latency_halves": [20.0, 21.0], "dropped_at_source": dropped, "latency": 20.5,
            "offered_fraction_of_bound": offered, "packets": 300, "kinds": kinds}


def test_a_mixed_point_compares_the_injected_load_and_checks_every_kind():
    from tessera.sim.noc.cocotb_bench import stable

    calm = {"request": (20, 21), "response": (20, 21), "multicast": (30, 31)}
    # Ejection exceeds injection with multicast copies: the injected load is what counts.
    assert stable(_mixed_point(0.5, 0.49, calm))
    assert not stable(_mixed_point(0.5, 0.47, calm))
    growing = {**calm, "multicast": (30, 60)}
    assert not stable(_mixed_point(0.5, 0.5, growing))
    assert stable(_mixed_point(0.5, 0.5, growing), "request")
    assert not stable(_mixed_point(0.5, 0.5, growing), "multicast")


def test_per_kind_saturation_and_the_mixed_table():
    from tessera.sim.noc.bench import format_table
    from tessera.sim.noc.cocotb_bench import per_kind, saturation_point, stable

    calm = {"request": (20, 21), "response": (20, 21), "multicast": (30, 31)}
    points = [_mixed_point(0.2, 0.2, calm),
              _mixed_point(0.4, 0.4, {**calm, "multicast": (40, 80)}),
              _mixed_point(0.6, 0.5, {k: (100, 300) for k in calm})]
    for p in points:
        p["stable"] = stable(p)
    sat = saturation_point(points)
    assert sat["offered"] == 0.2
    kinds = per_kind(points, sat)
    assert kinds["request"]["saturation_offered"] == 0.4      # requests stay calm at 0.4
    assert kinds["multicast"]["saturation_offered"] == 0.2
    assert kinds["multicast"]["latency_at_saturation"] == 30.5
    curve = {"bound": 1.0, "points": points, "saturation": 0.2, "fraction_of_bound": 0.2,
             "latency_at_saturation": 20.5, "first_unstable_offered": 0.4, "peak_accepted": 1.0,
             "dropped_at_source": 0, "kinds": kinds}
    data = {"curves": {"uniform": curve}, "zero_load": {"cycles_per_hop": 1.0, "intercept": 2.0},
            "header_flits": 1, "packet_flits": 5, "mixed": {"mc_share": 64, "mc_sizes": [[2, 2]]}}
    table = format_table({"4x4-mesh-mc64": data})
    assert "| 4x4-mesh-mc64 | uniform | 64/256 | 2x2 | request | 0.400 | 20.5 | 20.5 | 0.100 | 20.5 |" \
        in table
    assert "| 4x4-mesh-mc64 | uniform | 64/256 | 2x2 | multicast | 0.200 | 30.5 | 30.5 |" in table


def test_multicast_share_and_sizes_are_checked():
    from tessera.sim.cli import UsageError
    from tessera.sim.noc.bench import multicast_share, variant_label
    from tessera.sim.noc.cli import parse_mc_sizes
    from tessera.sim.noc.traffic import MC_RECTANGLES, check_mc_sizes

    assert multicast_share(0.25) == 64 and multicast_share(1.0) == 255 and multicast_share(0) == 0
    with pytest.raises(ValueError, match="1.5"):
        multicast_share(1.5)
    assert variant_label("4x4-mesh", {"buffer_depth": 8}, 64) == "4x4-mesh-buffer_depth8-mc64"
    assert variant_label("4x4-mesh", {}, 0, 3) == "4x4-mesh-data3"
    assert variant_label("4x4-mesh", None) == "4x4-mesh"
    assert parse_mc_sizes(None) == MC_RECTANGLES
    assert parse_mc_sizes("2x1, 3X3") == ((2, 1), (3, 3))
    assert check_mc_sizes(((2, 1), (3, 3))) == ((2, 1), (3, 3), (2, 1), (3, 3))
    for bad in ("1x1", "2by2", "2x2,2x2,2x2,2x2,2x2"):
        with pytest.raises(UsageError, match="--multicast-sizes"):
            parse_mc_sizes(bad)
    one_row = preset("tiny", noc={"width": 4, "height": 1}).noc
    assert check_mc_sizes(((4, 4),), one_row) == ((4, 4),) * 4   # clipped to 4x1 in hardware
    with pytest.raises(ValueError, match="1x3 must cover at least two nodes of the 4x1 grid"):
        check_mc_sizes(((1, 3),), one_row)


def test_noc_grid_block_is_a_network_of_the_bench_routers():
    from tessera.hw.blocks import block
    from tessera.hw.config import ConfigError
    from tessera.hw.noc.network import Network
    from tessera.sim.noc.bench import network_config

    net = block("noc_grid").build(preset("tiny"))
    assert isinstance(net, Network)
    bench = network_config("4x4-mesh").noc
    for field in ("flit_width", "vcs_per_class", "buffer_depth", "topology"):
        assert getattr(net.noc, field) == getattr(bench, field), field
    assert (net.noc.width, net.noc.height) == (2, 2)
    assert block("noc_grid").build(preset("tiny"), width=3, height=3).noc.width == 3
    with pytest.raises(ConfigError, match="buffer_depth"):
        block("noc_grid").build(preset("tiny"), buffer_depth=1)
