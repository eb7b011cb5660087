"""cocotb side of ``tessera sim-bench`` on the chip (block ``chip``).

Each test resets the chip, optionally starts a workload, then lets the
simulator run freely for ``cycles`` cycles behind one ``Timer`` (no Python
runs per cycle) and records the wall time of that wait.

* ``chip_idle``: every core held in reset, no traffic.
* ``chip_cores``: every core of every tile runs sw/kernels/sim_bench_loop.c
  (compute, L1 store and load each iteration, for ever).
* ``chip_noc``: as ``chip_cores``, except that brisc of every tile writes
  256 bytes to the next tile (and the last tile to the DRAM) over and over
  (sw/kernels/sim_bench_noc.c, one acknowledged write and a barrier per
  round): NIUs, routers and the DRAM node busy.

Reads ``SIM_BENCH_PLAN`` (JSON: cycles) and writes one JSON object per test
to ``SIM_BENCH_OUT`` (a JSON-lines file).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.triggers import Timer

from tessera.sim.chip.session import ChipSession
from tessera.sim.cocotb_util import CLOCK_PERIOD_NS, load_config, reset, start_clock
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf
from tessera.sw.toolchain.build import KERNELS_DIR

#: Bytes of L1 each core's loop stores into (64 words), from ``l1_data_base``.
CORE_BUFFER_BYTES = 256


def plan() -> dict:
    return json.loads(os.environ.get("SIM_BENCH_PLAN", "{}"))


def record(name: str, result: dict) -> None:
    with open(os.environ["SIM_BENCH_OUT"], "a") as handle:
        handle.write(json.dumps({"test": name, **result}) + "\n")


async def timed_run(dut, cycles: int) -> float:
    """Wall seconds the simulator takes for ``cycles`` free-running cycles."""
    start = time.perf_counter()
    await Timer(cycles * CLOCK_PERIOD_NS, unit="ns")
    return time.perf_counter() - start


def loop_image(cfg, tiles, out: Path) -> bytes:
    """Every core of ``tiles`` runs sim_bench_loop.c for ever, each on its own L1 buffer."""
    specs = []
    for i, core in enumerate(cfg.cores):
        elf = compile_elf([KERNELS_DIR / "sim_bench_loop.c"], core.name, cfg, out / f"loop_{core.name}.elf")
        specs.append(ProgramSpec(core.name, list(tiles), elf,
                                 runtime_args=[cfg.l1_data_base + i * CORE_BUFFER_BYTES, 0]))
    return build_image(specs, cfg)


#: Bytes per NoC write of the ``chip_noc`` workload and where they land at the peer.
NOC_WRITE_BYTES = 256
NOC_DESTINATION_OFFSET = 0x2000


def noc_image(cfg, tiles, out: Path) -> bytes:
    """brisc of every tile writes to the next tile (the last one to the first DRAM) for ever;
    the other cores run the compute loop."""
    brisc = cfg.cores[0].name
    dram = cfg.nodes_of("dram")[0]
    peers = {tile: (tiles[k + 1] if k + 1 < len(tiles) else (dram.x, dram.y)) for k, tile in enumerate(tiles)}
    src = cfg.l1_data_base + len(cfg.cores) * CORE_BUFFER_BYTES
    elf = compile_elf([KERNELS_DIR / "sim_bench_noc.c"], brisc, cfg, out / f"noc_{brisc}.elf")
    specs = [ProgramSpec(brisc, list(tiles), elf, runtime_args={
        tile: [src, px, py, cfg.l1_data_base + NOC_DESTINATION_OFFSET, NOC_WRITE_BYTES, 0]
        for tile, (px, py) in peers.items()})]
    for i, core in enumerate(cfg.cores[1:], start=1):
        elf = compile_elf([KERNELS_DIR / "sim_bench_loop.c"], core.name, cfg, out / f"loop_{core.name}.elf")
        specs.append(ProgramSpec(core.name, list(tiles), elf,
                                 runtime_args=[cfg.l1_data_base + i * CORE_BUFFER_BYTES, 0]))
    return build_image(specs, cfg)


async def _session(dut):
    cfg = load_config()
    start_clock(dut)
    session = ChipSession(dut, cfg)
    await reset(dut)
    out = Path(os.environ.get("TESSERA_RUN_DIR", ".")) / "fw"
    out.mkdir(parents=True, exist_ok=True)
    return cfg, session, out


async def _cores_running(dut):
    cfg, s, out = await _session(dut)
    await s.load(loop_image(cfg, s.tiles, out))
    return cfg, s


async def _check_running(s) -> None:
    """Every core has retired instructions and none trapped (the loop really ran)."""
    for (tile, core), state in s.core_state().items():
        assert not state["held"] and not state["trapped"] and state["retired"] > 0, \
            f"tile {tile} {core}: {state}"


@cocotb.test()
async def chip_idle(dut):
    cfg, s, _ = await _session(dut)
    cycles = plan().get("cycles", 20_000)
    wall = await timed_run(dut, cycles)
    record("chip_idle", {"cycles": cycles, "wall_seconds": wall})


@cocotb.test()
async def chip_cores(dut):
    cfg, s = await _cores_running(dut)
    cycles = plan().get("cycles", 20_000)
    wall = await timed_run(dut, cycles)
    await _check_running(s)
    record("chip_cores", {"cycles": cycles, "wall_seconds": wall})


@cocotb.test()
async def chip_noc(dut):
    cfg, s, out = await _session(dut)
    await s.load(noc_image(cfg, s.tiles, out))
    cycles = plan().get("cycles", 20_000)
    wall = await timed_run(dut, cycles)
    await _check_running(s)
    record("chip_noc", {"cycles": cycles, "wall_seconds": wall})
