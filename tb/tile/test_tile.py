"""The Tensix tile (hw/tile/tile.py) on Verilator: C kernels on the TRISC cores drive the engine.

One model (block ``tile``, preset tiny, default parameters) shared by every
test; the cocotb tests are split over two runs so ``pytest -n 2`` runs them in
parallel once the model is built.  The bench: tb/tile/cocotb_tile.py.
"""

from __future__ import annotations

import pytest

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

MODULE = "tb.tile.cocotb_tile"


def _run_tile(seed: int, tests: list) -> None:
    """One simulator run of ``tests`` (cocotb test names, parameters included); each must exist."""
    result = run_cocotb("tile", MODULE, config=preset("tiny"), seed=seed, testcase=tests)
    assert result.tests == len(tests), f"{result.tests} cocotb tests ran, expected {tests}"


def test_tile_engine_kernels():
    """eltwise add (bf16) and K-loop matmuls (K=3 bf16 LoFi, K=2 Bfp8_b HiFi2, K=8 bf16 LoFi)
    bit-exact against sim/golden; cycles in build/bench/tile/*.json."""
    _run_tile(11, ["eltwise_add_bf16/dm_traffic=False",
                   "matmul_k_loop/k_tiles=3/fmt_in=float16_b/fmt_out=float32/fidelity=lofi",
                   "matmul_k_loop/k_tiles=2/fmt_in=bfp8_b/fmt_out=float16_b/fidelity=hifi2",
                   "matmul_k_loop/k_tiles=8/fmt_in=float16_b/fmt_out=float16_b/fidelity=lofi"])


def test_tile_host_faults_and_hang():
    """Host ports, access faults trapped and reported through mailboxes, hung-kernel PC report,
    eltwise add with all five cores running (brisc/ncrisc copying L1 in the background)."""
    _run_tile(12, ["host_ports", "access_fault", "hung_kernel_reports_pcs", "eltwise_add_bf16/dm_traffic=True"])


def test_tile_elaborates_for_the_tensix_preset():
    """The same code builds the reference proportions (1 MiB L1 in 16 banks, 8x16@16x16 engine)."""
    from amaranth.hdl import Fragment

    from tessera.hw.tile.tile import Tile, core_windows, l1_port_assignment
    cfg = preset("tensix")
    Fragment.get(Tile(cfg, 1, 0), None)
    assert len(l1_port_assignment(cfg)) == 2 * len(cfg.cores) + 3
    assert core_windows(cfg, "brisc")[0].size == cfg.l1.size_bytes


def test_tile_rejects_a_position_without_a_tensix_node():
    from tessera.hw.tile.tile import Tile
    cfg = preset("tiny")
    host = cfg.host
    with pytest.raises(ValueError, match="not a Tensix tile"):
        Tile(cfg, host.x, host.y)
    with pytest.raises(ValueError, match="not on the"):
        Tile(cfg, cfg.noc.width, 0)


# ---------------------------------------------------------------------------
# Interconnect pieces in the Amaranth simulator (fast, no Verilator build)
# ---------------------------------------------------------------------------

from amaranth.hdl import Module  # noqa: E402
from amaranth.lib import wiring  # noqa: E402
from amaranth.sim import Simulator  # noqa: E402
from tb.tile.bus_sim import bus_request  # noqa: E402


class _DecoderTop(wiring.Component):
    """A core's decoder with a LocalMemory behind every window (each a separate RAM)."""

    def __init__(self, cfg, core):
        from tessera.hw.core.bus import DataBus
        from tessera.hw.core.bus import DataBusDecoder
        from tessera.hw.tile.tile import LocalMemory, core_windows
        self.windows = core_windows(cfg, core)
        self.decoder = DataBusDecoder(self.windows)
        self.mems = [LocalMemory(1024) for _ in self.windows]
        super().__init__({"bus": wiring.In(DataBus.Signature())})

    def elaborate(self, platform):
        m = Module()
        m.submodules.decoder = self.decoder
        wiring.connect(m, wiring.flipped(self.bus), self.decoder.bus)
        for w, mem in zip(self.windows, self.mems):
            m.submodules[f"mem_{w.name}"] = mem
            wiring.connect(m, getattr(self.decoder, w.name), mem.bus)
        return m


def test_decoder_steers_by_config_windows_and_faults_the_rest():
    cfg = preset("tiny")
    top = _DecoderTop(cfg, "trisc1")
    windows = top.windows
    assert [w.name for w in windows] == ["l1", "local", "tile_ctrl", "engine"]
    assert windows[1].base == cfg.local_mem_base and windows[1].size == cfg.core("trisc1").local_mem_bytes
    misses = [cfg.l1.size_bytes, cfg.local_mem_base + cfg.core("trisc1").local_mem_bytes,
              cfg.mmio.region("niu").base, 0xFFFF_FFFC, 0x8000_0000]

    async def bench(ctx):
        for i, w in enumerate(windows):   # the same offset in every window: separate targets
            _, err, _ = await bus_request(ctx, top.bus, w.base + 0x10, we=1, wdata=0x1000 + i)
            assert not err
        for i, w in enumerate(windows):
            rdata, err, _ = await bus_request(ctx, top.bus, w.base + 0x10)
            assert (rdata, err) == (0x1000 + i, 0), (w, rdata, err)
        _, err, _ = await bus_request(ctx, top.bus, windows[0].base + 0x10, we=1, wdata=0xAABBCCDD, mask=0b0100)
        rdata, _, _ = await bus_request(ctx, top.bus, windows[0].base + 0x10)
        assert rdata == 0x00BB1000, hex(rdata)
        for addr in misses:
            rdata, err, waited = await bus_request(ctx, top.bus, addr, we=addr & 4)
            assert err and waited == 0, (hex(addr), err, waited)
        rdata, err, _ = await bus_request(ctx, top.bus, windows[3].base + 0x10)   # still intact
        assert (rdata, err) == (0x1003, 0)

    sim = Simulator(top)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


class _ArbiterTop(wiring.Component):
    """Three initiators share the engine's MMIO block through a DataBusArbiter."""

    def __init__(self, cfg):
        from amaranth.hdl import unsigned
        from amaranth.lib import stream

        from tessera.hw.core.bus import DataBus
        from tessera.hw.engine.engine import CMD_WIDTH
        from tessera.hw.engine.mmio import EngineMmio
        from tessera.hw.core.bus import DataBusArbiter
        self.arb = DataBusArbiter(3)
        self.mmio = EngineMmio(cfg)
        super().__init__({"ini": wiring.In(DataBus.Signature()).array(3),
                          **{f"{s}_cmd": wiring.Out(stream.Signature(unsigned(CMD_WIDTH)))
                             for s in ("unpack", "math", "pack")}})

    def elaborate(self, platform):
        m = Module()
        m.submodules.arb, m.submodules.mmio = self.arb, self.mmio
        for i in range(3):
            wiring.connect(m, wiring.flipped(self.ini[i]), self.arb.initiator[i])
        wiring.connect(m, self.arb.target, self.mmio.bus)
        for s in ("unpack", "math", "pack"):
            wiring.connect(m, getattr(self.mmio, f"{s}_cmd"), wiring.flipped(getattr(self, f"{s}_cmd")))
        return m


def test_arbiter_does_not_let_a_stalled_write_lock_out_the_others():
    """Core 0's math command stalls (stream full); core 1's unpack commands and core 2's status
    reads still get through, and core 0's command lands once math takes it."""
    cfg = preset("tiny")
    region = cfg.mmio.region("engine")
    top = _ArbiterTop(cfg)
    got = {"unpack": [], "math": []}
    done = {}

    async def core0(ctx):
        await bus_request(ctx, top.ini[0], region.address("math_cmd_lo"), we=1, wdata=0x11)
        _, err, waited = await bus_request(ctx, top.ini[0], region.address("math_cmd_hi"), we=1, wdata=0x22,
                                      max_wait=100)
        assert not err and waited >= 30, waited
        done["core0"] = True

    async def core1(ctx):
        for i in range(4):
            await bus_request(ctx, top.ini[1], region.address("unpack_cmd_lo"), we=1, wdata=i)
            _, err, waited = await bus_request(ctx, top.ini[1], region.address("unpack_cmd_hi"), we=1, wdata=0x100 + i)
            assert not err and waited <= 3, waited
        done["core1"] = True

    async def core2(ctx):
        for _ in range(4):
            status, err, waited = await bus_request(ctx, top.ini[2], region.address("status"))
            assert not err and waited <= 3
            assert not (status >> 8) & 1, "math stream reported ready while it is full"
        done["core2"] = True

    async def sinks(ctx):
        ctx.set(top.unpack_cmd.ready, 1)
        ctx.set(top.math_cmd.ready, 0)
        for cycle in range(80):
            if cycle == 50:
                ctx.set(top.math_cmd.ready, 1)
            *_, uv, up, mv, mp = await ctx.tick().sample(top.unpack_cmd.valid, top.unpack_cmd.payload,
                                                         top.math_cmd.valid, top.math_cmd.payload)
            if uv:
                got["unpack"].append(up)
            if mv and cycle >= 50:
                got["math"].append(mp)

    sim = Simulator(top)
    sim.add_clock(1e-8)
    for bench in (core0, core1, core2, sinks):
        sim.add_testbench(bench)
    sim.run()
    assert done == {"core0": True, "core1": True, "core2": True}
    assert got["unpack"] == [((0x100 + i) << 32) | i for i in range(4)]
    assert got["math"] == [(0x22 << 32) | 0x11]
