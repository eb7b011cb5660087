"""cocotb side of ``tessera sim-bench`` on the Tensix tile (block ``tile``) and the bare blocks.

The tile's host ports load firmware the way the NIU would (L1 bank words
through ``host_l1``, tile_ctrl registers through ``host_ctrl``); then the
simulator runs freely for ``cycles`` cycles behind one ``Timer``.

* ``tile_idle``: the cores held in reset.
* ``tile_cores``: all five cores run sw/kernels/sim_bench_loop.c.
* ``tile_matmul``: the three TRISCs run sw/kernels/tile_matmul.c with a K
  loop far longer than the window (every k reads the same input tiles), so
  the unpacker, the FPU and the packer work throughout; brisc and ncrisc
  run the loop kernel.  The engine is checked to be still busy at the end.
* ``block_idle``: any block, reset and left alone (clock only).

Reads ``SIM_BENCH_PLAN`` (JSON: cycles) and appends one JSON object per test
to ``SIM_BENCH_OUT``.
"""

from __future__ import annotations

import os
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from tessera.hw.core.bus import DataRequest
from tessera.hw.engine.commands import FIDELITY_BY_NAME, FORMAT_BY_NAME
from tessera.hw.tile.l1_port import L1Op, l1_request_layout
from tessera.sim.chip.session import layout_fields, masked_words, pack_fields
from tessera.sim.cocotb_util import StreamDriver, load_config, reset, start_clock
from tessera.sim.speed.cocotb_chip import CORE_BUFFER_BYTES, plan, record, timed_run
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf, load_plan
from tessera.sw.toolchain.build import KERNELS_DIR

#: K of the matmul workload: far more steps than any measured window.
ENDLESS_K = 0x7FFF_FFFF


class TileLoader:
    """Loads a firmware image into the tile through its two host ports (no checks beyond errors)."""

    def __init__(self, dut, cfg):
        self.dut, self.cfg = dut, cfg
        self.clk = dut.clk
        self.l1_fields = layout_fields(l1_request_layout(cfg.l1))
        self.bus_fields = layout_fields(DataRequest)
        self.l1_req = StreamDriver(dut, "host_l1__req")
        self.ctrl_req = StreamDriver(dut, "host_ctrl__req")
        dut.console__ready.value = 1

    async def l1_write(self, addr: int, data: bytes) -> None:
        for word_addr, mask, wdata in masked_words(addr, data, self.cfg.l1.bank_bytes):
            await self.l1_req.request(pack_fields(self.l1_fields, addr=word_addr, op=L1Op.WRITE.value,
                                                  mask=mask, wdata=wdata))
        await self.l1_req.idle()

    async def ctrl_write(self, addr: int, value: int) -> None:
        await self.ctrl_req.request(pack_fields(self.bus_fields, addr=addr, we=1, mask=0xF, wdata=value))
        await self.ctrl_req.idle()
        await ReadOnly()
        if int(self.dut.host_ctrl__resp__err.value):
            raise AssertionError(f"host_ctrl write of {addr:#x} answered err")
        await FallingEdge(self.clk)

    async def load(self, image: bytes, data_writes=()) -> None:
        l1_end = self.cfg.l1.base + self.cfg.l1.size_bytes
        plan_writes = load_plan(image, self.cfg)

        async def write(w):
            if self.cfg.l1.base <= w.addr and w.addr + len(w.data) <= l1_end:
                await self.l1_write(w.addr, w.data)
            else:
                await self.ctrl_write(w.addr, int.from_bytes(w.data, "little"))

        for w in plan_writes:
            if w.phase != "release":
                await write(w)
        for addr, data in data_writes:
            await self.l1_write(addr, data)
        for w in plan_writes:
            if w.phase == "release":
                await write(w)


def _out_dir() -> Path:
    out = Path(os.environ.get("TESSERA_RUN_DIR", ".")) / "fw"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _spec(cfg, tile, kernel: str, core: str, args, out: Path) -> ProgramSpec:
    elf = compile_elf([KERNELS_DIR / f"{kernel}.c"], core, cfg, out / f"{kernel}_{core}.elf")
    return ProgramSpec(core, [tile], elf, runtime_args=list(args))


def _loop_args(cfg, index: int):
    return [cfg.l1_data_base + index * CORE_BUFFER_BYTES, 0]


async def _setup(dut):
    cfg = load_config()
    start_clock(dut)
    loader = TileLoader(dut, cfg)
    await reset(dut)
    node = cfg.nodes_of("tensix")[0]   # build_tile's default position
    return cfg, loader, (node.x, node.y), _out_dir()


def _check_running(dut, cfg) -> None:
    for i, core in enumerate(cfg.cores):
        get = lambda f: int(getattr(dut, f"debug__{i}__{f}").value)  # noqa: E731
        assert not get("held") and not get("trapped") and get("retired") > 0, \
            f"{core.name}: held {get('held')}, trapped {get('trapped')}, retired {get('retired')}"


@cocotb.test()
async def tile_idle(dut):
    await _setup(dut)
    cycles = plan().get("cycles", 50_000)
    record("tile_idle", {"cycles": cycles, "wall_seconds": await timed_run(dut, cycles)})


@cocotb.test()
async def tile_cores(dut):
    cfg, loader, tile, out = await _setup(dut)
    specs = [_spec(cfg, tile, "sim_bench_loop", core.name, _loop_args(cfg, i), out)
             for i, core in enumerate(cfg.cores)]
    await loader.load(build_image(specs, cfg))
    cycles = plan().get("cycles", 50_000)
    wall = await timed_run(dut, cycles)
    _check_running(dut, cfg)
    record("tile_cores", {"cycles": cycles, "wall_seconds": wall})


@cocotb.test()
async def tile_matmul(dut):
    cfg, loader, tile, out = await _setup(dut)
    fmt = "float16_b"
    in_bytes = cfg.engine.tile_bytes(fmt)
    a = cfg.l1_data_base + len(cfg.cores) * CORE_BUFFER_BYTES
    b, o = a + in_bytes, a + 2 * in_bytes
    # in_bytes (argument 6) 0: every k unpacks the same A and B tiles.
    args = [ENDLESS_K, a, b, o, FORMAT_BY_NAME[fmt], FORMAT_BY_NAME[fmt], 0, FIDELITY_BY_NAME["hifi4"]]
    specs = []
    for i, core in enumerate(cfg.cores):
        if core.role == "dm":
            specs.append(_spec(cfg, tile, "sim_bench_loop", core.name, _loop_args(cfg, i), out))
        else:
            specs.append(_spec(cfg, tile, "tile_matmul", core.name, args, out))
    await loader.load(build_image(specs, cfg), [(a, bytes(range(256)) * (2 * in_bytes // 256 + 1))])
    cycles = plan().get("cycles", 50_000)
    wall = await timed_run(dut, cycles)
    _check_running(dut, cfg)
    busy = int(dut.engine_busy.value)
    assert busy, "the engine went idle during the window"
    record("tile_matmul", {"cycles": cycles, "wall_seconds": wall, "engine_busy_at_end": busy})


@cocotb.test()
async def block_idle(dut):
    start_clock(dut)
    if hasattr(dut, "rst"):
        await reset(dut)
    cycles = plan().get("cycles", 100_000)
    record("block_idle", {"cycles": cycles, "wall_seconds": await timed_run(dut, cycles)})
