"""cocotb side of ``tessera chip-bench`` (block ``chip``).

* NIU throughput and multicast: sw/kernels/chip_bench.c on the brisc of the
  first Tensix tile times, with the tile's cycle counter, back-to-back
  transfers to a peer tile and to the DRAM (writes and reads), a multicast
  to the compute grid against unicast copies, and single 4-byte reads to
  targets at different hop counts.
* Network round trip from the host: a 4-byte read of every node, from the
  cycle the request's last flit is accepted to the response's arrival.
* Simulation speed: simulated cycles per wall second while the core runs
  (the simulator runs freely; the host waits for every core's DONE waypoint, then reads ``tohost``).

Reads ``CHIP_BENCH_PLAN`` (JSON: bytes, transfers) and writes the raw
measurements to ``CHIP_BENCH_OUT``.  With ``CHIP_BENCH_TRACE`` (a path
without suffix) the kernel's run, load included, is traced
(:class:`~tessera.sim.chip.trace.ChipTracer`) into ``<path>.json`` and
``<path>.png``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb

from tessera.sim.chip.session import ChipSession
from tessera.sim.chip.trace import ChipTracer
from tessera.sim.cocotb_util import load_config, reset, start_clock
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf
from tessera.sw.toolchain.build import KERNELS_DIR


def hops(a, b):
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


@cocotb.test()
async def chip_bench(dut):
    cfg = load_config()
    plan = json.loads(os.environ["CHIP_BENCH_PLAN"])
    start_clock(dut)
    s = ChipSession(dut, cfg)
    await reset(dut)
    out = Path(os.environ.get("TESSERA_RUN_DIR", ".")) / "fw"
    out.mkdir(parents=True, exist_ok=True)
    host = s.host

    # Host round trips.
    round_trips = []
    for node in cfg.nodes:
        if node.kind == "host":
            continue
        t0 = s.cycle()
        await host.read(node.x, node.y, cfg.l1_data_base, 4)
        round_trips.append({"node": [node.x, node.y], "kind": node.kind,
                            "hops": hops((node.x, node.y), (cfg.host.x, cfg.host.y)), "cycles": s.cycle() - t0})

    me = s.tiles[0]
    others = [t for t in s.tiles if t != me]
    peer = max(others, key=lambda t: hops(t, me)) if others else me
    dram = s.drams[0]
    xs, ys = [t[0] for t in s.tiles], [t[1] for t in s.tiles]
    rect = (min(xs), min(ys), max(xs), max(ys))
    targets = sorted(others + [dram], key=lambda t: hops(t, me))
    nbytes, transfers = plan["bytes"], plan["transfers"]
    src = cfg.l1_data_base + 0x100
    dst = cfg.l1_data_base + 0x100 + nbytes + 0x100
    results = cfg.l1_data_base + 0x80
    if dst + nbytes > cfg.l1.size_bytes:
        raise ValueError(f"{nbytes} bytes twice do not fit in L1 above {cfg.l1_data_base:#x}")
    xy = lambda t: t[0] | (t[1] << 8)  # noqa: E731
    args = [xy(peer), xy(dram), nbytes, transfers, results,
            rect[0] | rect[1] << 8 | rect[2] << 16 | rect[3] << 24, src, dst, len(targets)] + [xy(t) for t in targets]
    elf = compile_elf([KERNELS_DIR / "chip_bench.c"], "brisc", cfg, out / "chip_bench_brisc.elf")
    s.add_program_symbols([me], "brisc", elf)
    image = build_image([ProgramSpec("brisc", [me], elf, runtime_args=args)], cfg)
    trace_to = os.environ.get("CHIP_BENCH_TRACE")
    tracer = ChipTracer(dut, cfg, symbols=s.symbols) if trace_to else None
    if tracer:
        tracer.start()
    await s.load(image, [(me[0], me[1], src, bytes(range(256)) * (nbytes // 256 + 1))])
    wall0, cyc0 = time.monotonic(), s.cycle()
    codes = await s.wait_done(timeout_cycles=50_000_000)
    wall, cycles = time.monotonic() - wall0, s.cycle() - cyc0
    if tracer:
        tracer.stop()
        tracer.write_json(f"{trace_to}.json")
        tracer.write_png(f"{trace_to}.png")
    assert set(codes.values()) == {0}, codes
    raw = await host.read(me[0], me[1], results, 4 * (6 + len(targets)))
    words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    Path(os.environ["CHIP_BENCH_OUT"]).write_text(json.dumps({
        "tile": list(me), "peer": list(peer), "dram": list(dram), "rect": list(rect),
        "bytes": nbytes, "transfers": transfers, "flit_bytes": cfg.noc.flit_bytes,
        "max_payload_bytes": cfg.noc.max_payload_bytes,
        "cycles": {"write_peer": words[0], "write_dram": words[1], "read_dram": words[2], "read_peer": words[3],
                   "multicast": words[4], "unicast_copies": words[5]},
        "read_latency": [{"target": list(t), "hops": hops(t, me), "cycles": words[6 + k]}
                         for k, t in enumerate(targets)],
        "host_round_trips": round_trips,
        "run": {"sim_cycles": cycles, "wall_seconds": wall, "cycles_per_second": cycles / wall},
        "multicast_destinations": len(others),
    }, indent=1))
