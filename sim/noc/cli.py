"""``tessera noc-bench``: the NoC benchmark (see :mod:`sim.noc.bench`)."""

from __future__ import annotations

from sim.noc.model import PATTERNS


def register(subparsers) -> None:
    from sim.noc.bench import EXTRA_NETWORKS, NETWORKS

    p = subparsers.add_parser(
        "noc-bench", help="NoC latency/throughput sweeps, zero-load latency, multicast vs unicast",
        description="Latency against offered load for uniform, transpose, bit-complement and "
                    "hotspot traffic on 4x4/8x8 mesh and torus networks; writes JSON, PNG plots "
                    "and a Markdown table under build/bench/noc/.")
    p.add_argument("--network", action="append", choices=sorted(NETWORKS) + sorted(EXTRA_NETWORKS),
                   help="network to run (repeatable; default all four)")
    p.add_argument("--pattern", action="append", choices=PATTERNS,
                   help="traffic pattern (repeatable; default all)")
    p.add_argument("--quick", action="store_true", help="fewer load points, shorter windows")
    p.add_argument("--data-flits", type=int, default=4, help="data flits per packet (default 4)")
    p.add_argument("--out", default=None, help="output directory (default build/bench/noc)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from sim.noc.bench import format_table, run_bench

    if args.data_flits < 0:
        raise SystemExit(f"--data-flits must be >= 0, got {args.data_flits!r}")
    results = run_bench(networks=args.network, patterns=tuple(args.pattern or PATTERNS),
                        quick=args.quick, data_flits=args.data_flits, out_dir=args.out)
    print(format_table(results))
    return 0
