"""``tessera noc-bench``: the NoC benchmark (see :mod:`sim.noc.bench`)."""

from __future__ import annotations

import argparse

from tessera.sim.cli import UsageError, int_at_least
from tessera.sim.noc.model import PATTERNS


def register(subparsers) -> None:
    from tessera.sim.noc.bench import EXTRA_NETWORKS, NETWORKS, QUICK_HELP, TUNABLE

    p = subparsers.add_parser(
        "noc-bench", help="NoC latency/throughput sweeps, zero-load latency, multicast vs unicast",
        description="Latency against offered load for uniform, transpose, bit-complement and "
                    "hotspot traffic on 4x4/8x8 mesh and torus networks; zero-load latency per "
                    "hop; broadcast as one multicast against unicast copies.  Writes JSON, PNG "
                    "plots and a Markdown table under build/bench/noc/.")
    p.add_argument("--network", action="append", choices=sorted(NETWORKS) + sorted(EXTRA_NETWORKS),
                   help="network to run (repeatable; default the four of NETWORKS)")
    p.add_argument("--pattern", action="append", choices=PATTERNS,
                   help="traffic pattern (repeatable; default all)")
    p.add_argument("--quick", action="store_true", help=QUICK_HELP)
    p.add_argument("--data-flits", type=int_at_least(0), default=4,
                   help="data flits per packet (default 4; at most the network's max_payload_bytes in flits)")
    p.add_argument("--param", action="append", default=[], metavar="FIELD=VALUE",
                   help=f"router variant: override a NoC config field ({', '.join(TUNABLE)}), "
                        "e.g. --param buffer_depth=8")
    p.add_argument("--multicast-share", type=float, default=0.0, metavar="FRACTION",
                   help="mixed traffic: this share (0..1, in 1/256 steps) of the request packets "
                        "are multicasts to rectangles of --multicast-sizes; results per delivery kind "
                        "(default 0: unicast only)")
    p.add_argument("--multicast-sizes", default=None, metavar="WxH,...",
                   help="rectangle sizes of the multicasts, columns x rows, up to 4, each chosen "
                        "with equal chance (default 2x1,1x2,2x2,4x4)")
    p.add_argument("--fast-build", action=argparse.BooleanOptionalAction, default=None,
                   help="compile the model at -O0 (the default: cycle-identical, half the build time; --no-fast-build for -O2)")
    p.add_argument("--jobs", type=int_at_least(1), default=2,
                   help="networks simulated in parallel processes (default 2)")
    p.add_argument("--no-summary", dest="summary", action="store_false",
                   help="do not rewrite noc_bench.json/.md and the plots (used by --jobs)")
    p.add_argument("--out", default=None, help="output directory (default build/bench/noc)")
    p.set_defaults(func=_run)


def parse_params(items) -> dict:
    from tessera.sim.noc.bench import TUNABLE

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in TUNABLE:
            raise UsageError(f"--param must be FIELD=VALUE with FIELD one of {', '.join(TUNABLE)}, got {item!r}")
        try:
            out[key] = int(value, 0)
        except ValueError:
            raise UsageError(f"--param {key}={value}: {key} must be an integer, got {value!r}") from None
    return out


def check_networks(networks, overrides: dict, data_flits: int) -> None:
    """Build the configuration of every network to run before any simulation: a ``--param``
    value the NoC configuration refuses, or more data flits than a packet can carry (the
    traffic generators would clip them), is a :class:`UsageError`."""
    from tessera.hw.config import ConfigError
    from tessera.sim.noc.bench import NETWORKS, network_config

    for label in networks or NETWORKS:
        try:
            noc = network_config(label, overrides).noc
        except ConfigError as exc:
            pairs = " ".join(f"--param {k}={v}" for k, v in overrides.items())
            raise UsageError(f"{pairs}: network {label}: {exc}") from None
        if data_flits > noc.max_payload_flits:
            raise UsageError(f"--data-flits {data_flits}: network {label} carries at most "
                             f"{noc.max_payload_flits} data flits per packet ({noc.max_payload_bytes} "
                             f"bytes of {noc.flit_bytes}-byte flits)")


def parse_mc_sizes(text):
    """``--multicast-sizes 2x1,2x2`` as ((2, 1), (2, 2)); a bad item is a :class:`UsageError`."""
    from tessera.sim.noc.traffic import MC_RECTANGLES, check_mc_sizes

    if text is None:
        return MC_RECTANGLES
    sizes = []
    for item in text.split(","):
        w, sep, h = item.strip().lower().partition("x")
        if not sep or not w.isdigit() or not h.isdigit():
            raise UsageError(f"--multicast-sizes: expected COLUMNSxROWS items such as 2x2, got {item!r}")
        sizes.append((int(w), int(h)))
    try:
        check_mc_sizes(sizes)
    except ValueError as exc:
        raise UsageError(f"--multicast-sizes {text}: {exc}") from None
    return tuple(sizes)


def _run(args) -> int:
    from tessera.sim.noc.bench import format_table, multicast_share, run_bench

    overrides = parse_params(args.param)
    check_networks(args.network, overrides, args.data_flits)
    try:
        mc_share = multicast_share(args.multicast_share)
    except ValueError as exc:
        raise UsageError(f"--multicast-share {args.multicast_share}: {exc}") from None
    mc_sizes = parse_mc_sizes(args.multicast_sizes)
    if mc_share and len(args.network or ()) != 1:
        raise UsageError("--multicast-share: give one --network (mixed traffic runs one network)")
    results = run_bench(networks=args.network, patterns=tuple(args.pattern or PATTERNS),
                        quick=args.quick, data_flits=args.data_flits, out_dir=args.out,
                        overrides=overrides, fast_build=args.fast_build, jobs=args.jobs,
                        summary=args.summary, mc_share=mc_share, mc_sizes=mc_sizes)
    if args.summary:
        print(format_table(results))
    return 0
