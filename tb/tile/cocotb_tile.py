"""cocotb bench of the Tensix tile (block ``tile``): C kernels on the three TRISC cores drive the engine.

The host side is what the NIU will do later: it loads a firmware image
(sw/toolchain: ``build_image`` + ``load_plan``) through the tile's two host
ports — L1 bytes through ``host_l1`` (one bank word per request), tile_ctrl
registers (soft reset, reset PCs) through ``host_ctrl`` — writes the input
tiles into L1, releases the cores, waits until every loaded core has stored
its exit status to ``tohost`` (it waits on the cores' DONE waypoints, then
reads the words through ``host_l1`` once), then reads the
results back and compares them byte for byte with the numpy goldens
(sim/golden).  A run that does not finish in time raises :class:`TileHang`
with every core's PC (symbolised with the loaded ELFs), retired count,
trap flag and the engine's busy bits.

Kernels: sw/kernels/tile_eltwise_add.c, tile_matmul.c (TRISCs), tile_fault.c,
tile_dm_copy.c (data-movement cores), tile_hang.c.  Measured cycles go to ``build/bench/tile/<test>.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly
from cocotb.utils import get_sim_time

from tessera.hw.core.bus import DataRequest
from tessera.hw.engine.commands import FIDELITY_BY_NAME, FORMAT_BY_NAME
from tessera.hw.tile.l1_port import L1Op, l1_request_layout
from tessera.sim.chip.session import Symbolizer, collect_console, layout_fields, masked_words, pack_fields
from tessera.sim.cocotb_util import CLOCK_PERIOD_NS, StreamDriver, load_config, reset, seeded_rng, start_clock
from tessera.sim.exit_wait import wait_for_exits
from tessera.sim.golden import engine as ge
from tessera.sim.golden import formats as fm
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf, load_plan
from tessera.sw.toolchain.build import KERNELS_DIR

FMT_CODE = FORMAT_BY_NAME
FIDELITY_CODE = FIDELITY_BY_NAME


class TileHang(AssertionError):
    """The kernel did not finish in time; the message reports every core's state."""


class TileHost:
    """The host side of the tile: L1 and tile_ctrl access, firmware loading, waiting, reporting."""

    def __init__(self, dut, cfg, x: int, y: int):
        self.dut, self.cfg, self.x, self.y = dut, cfg, x, y
        self.clk = dut.clk
        self.l1_fields = layout_fields(l1_request_layout(cfg.l1))
        self.bus_fields = layout_fields(DataRequest)
        self.bank_bytes = cfg.l1.bank_bytes
        self.ctrl = cfg.mmio.region("tile_ctrl")
        self.symbols = Symbolizer()
        self.console = bytearray()
        self.programs = []
        self.l1_req = StreamDriver(dut, "host_l1__req")
        self.ctrl_req = StreamDriver(dut, "host_ctrl__req")
        dut.console__ready.value = 1
        cocotb.start_soon(collect_console(self.clk, dut.console__valid, dut.console__payload, self.console))

    # -- L1 through host_l1 ---------------------------------------------------

    async def l1_write(self, addr: int, data: bytes) -> None:
        """Write ``data`` at L1 byte ``addr``: one request per bank word, masked at the edges."""
        for word_addr, mask, wdata in masked_words(addr, data, self.bank_bytes):
            await self.l1_req.request(pack_fields(self.l1_fields, addr=word_addr, op=L1Op.WRITE.value,
                                                  mask=mask, wdata=wdata))
        await self.l1_req.idle()

    async def l1_read(self, addr: int, size: int) -> bytes:
        bb = self.bank_bytes
        start = addr // bb * bb
        out = bytearray()
        for word_addr in range(start, addr + size, bb):
            await self.l1_req.request(pack_fields(self.l1_fields, addr=word_addr, op=L1Op.READ.value))
            await self.l1_req.idle()
            await ReadOnly()   # the response cycle (fixed latency: one cycle after acceptance)
            assert int(self.dut.host_l1__resp__valid.value), f"no L1 response for {word_addr:#x}"
            out += int(self.dut.host_l1__resp__rdata.value).to_bytes(bb, "little")
        await FallingEdge(self.clk)
        return bytes(out[addr - start:addr - start + size])

    # -- tile_ctrl through host_ctrl -------------------------------------------

    async def ctrl_access(self, addr: int, wdata: int = 0, write: bool = False) -> tuple:
        """One host_ctrl access; returns (rdata, err)."""
        dut = self.dut
        await self.ctrl_req.request(pack_fields(self.bus_fields, addr=addr, we=int(write), mask=0xF, wdata=wdata))
        await self.ctrl_req.idle()
        await ReadOnly()
        assert int(dut.host_ctrl__resp__valid.value), f"no host_ctrl response for {addr:#x}"
        result = int(dut.host_ctrl__resp__rdata.value), int(dut.host_ctrl__resp__err.value)
        await FallingEdge(self.clk)
        return result

    async def ctrl_write(self, addr: int, value: int) -> None:
        _, err = await self.ctrl_access(addr, value, write=True)
        assert not err, f"host_ctrl write {addr:#x} answered err"

    async def ctrl_read(self, addr: int) -> int:
        value, err = await self.ctrl_access(addr)
        assert not err, f"host_ctrl read {addr:#x} answered err"
        return value

    async def mailbox(self, index: int) -> int:
        return await self.ctrl_read(self.ctrl.address("mailbox", index))

    # -- firmware --------------------------------------------------------------

    def build(self, kernel: str, cores, args, out_dir: Path, extra=()) -> bytes:
        """Compile sw/kernels/<kernel>.c for each of ``cores`` (runtime arguments ``args``), and each
        ``(kernel, core, args)`` of ``extra``, and bundle one image for this tile."""
        specs = []
        for name, core, core_args in [(kernel, c, args) for c in cores] + list(extra):
            elf = compile_elf([KERNELS_DIR / f"{name}.c"], core, self.cfg, out_dir / f"{name}_{core}.elf")
            self.symbols.add([(self.x, self.y)], core, elf)
            specs.append(ProgramSpec(core, [(self.x, self.y)], elf, runtime_args=list(core_args)))
        return build_image(specs, self.cfg)

    async def write_plan(self, writes) -> None:
        l1_end = self.cfg.l1.base + self.cfg.l1.size_bytes
        for w in writes:
            assert (w.x, w.y) == (self.x, self.y), f"plan writes to tile ({w.x}, {w.y})"
            if self.cfg.l1.base <= w.addr and w.addr + len(w.data) <= l1_end:
                await self.l1_write(w.addr, w.data)
            else:
                assert len(w.data) == 4, f"plan writes {len(w.data)} bytes to register {w.addr:#x}"
                await self.ctrl_write(w.addr, int.from_bytes(w.data, "little"))

    async def load(self, image: bytes, data_writes=()) -> int:
        """Load ``image`` and the input data, release the cores; returns the release cycle."""
        from tessera.sw.toolchain.image import FirmwareImage
        plan = load_plan(image, self.cfg)
        self.programs = list(FirmwareImage.from_bytes(image).programs)
        await self.write_plan([w for w in plan if w.phase != "release"])
        for addr, data in data_writes:
            await self.l1_write(addr, data)
        await self.write_plan([w for w in plan if w.phase == "release"])
        return self.cycle()

    def cycle(self) -> int:
        return int(get_sim_time("ns")) // CLOCK_PERIOD_NS

    async def wait_done(self, timeout_cycles: int, poll_cycles: int = 256) -> dict:
        """{core: exit code} once every loaded core has exited; :class:`TileHang` on timeout.

        Python sleeps on the cores' ``debug.waypoint`` ports until each is DONE (crt0 stores it
        just before the exit word), then reads the ``tohost`` words through ``host_l1`` once
        (:func:`~tessera.sim.exit_wait.wait_for_exits`); ``poll_cycles`` bounds the interval
        between re-reads of an exit word still missing after its core's DONE."""
        names = [c.name for c in self.cfg.cores]
        exit_addrs = {prog.core: prog.exit_addr for prog in self.programs}
        ports = {core: getattr(self.dut, f"debug__{names.index(core)}__waypoint") for core in exit_addrs}

        async def read_words(cores):
            return [int.from_bytes(await self.l1_read(exit_addrs[core], 4), "little") for core in cores]

        result = await wait_for_exits(list(exit_addrs), ports, read_words, self.cycle, timeout_cycles,
                                      poll_cycles)
        if not result["done"]:
            raise TileHang(f"kernel did not finish in {timeout_cycles} cycles; exited: {result['codes']}\n"
                           + self.report())
        return result["codes"]

    def core_state(self) -> dict:
        state = {}
        for i, core in enumerate(self.cfg.cores):
            get = lambda f: int(getattr(self.dut, f"debug__{i}__{f}").value)  # noqa: E731
            state[core.name] = {"pc": get("pc"), "retired": get("retired"), "trapped": get("trapped"),
                                "held": get("held")}
        return state

    def report(self) -> str:
        busy = int(self.dut.engine_busy.value)
        lines = ["engine busy: " + (", ".join(s for i, s in enumerate(("unpack", "math", "pack"))
                                              if busy >> i & 1) or "idle")]
        for name, s in self.core_state().items():
            where = "held in reset" if s["held"] else \
                f"pc {s['pc']:#010x} ({self.symbols.name((self.x, self.y), name, s['pc'])}), retired {s['retired']}" + \
                (", TRAPPED" if s["trapped"] else "")
            lines.append(f"  {name:8s} {where}")
        return "\n".join(lines)


async def _setup(dut, salt: str):
    cfg = load_config()
    start_clock(dut)
    node = cfg.nodes_of("tensix")[0]   # build_tile's default position
    host = TileHost(dut, cfg, node.x, node.y)
    await reset(dut)
    rng = seeded_rng(dut, salt)
    out = Path(os.environ.get("TESSERA_RUN_DIR", ".")) / "fw"
    out.mkdir(parents=True, exist_ok=True)
    return cfg, host, rng, out


def _random_tile_bits(rng, ecfg, scale: float = 1.0):
    """A tile of fp32 patterns exactly representable in bfloat16 (so every input format is exact
    up to the block-float's shared exponent)."""
    values = np.array([rng.gauss(0.0, scale) for _ in range(ecfg.tile_elems)], dtype=np.float32)
    bits = values.view(np.uint32).reshape(ecfg.tile_rows, ecfg.tile_cols)
    return fm.to_bf16_bits(bits.reshape(-1)).astype(np.uint32).reshape(bits.shape) << 16


def _trisc_cores(cfg):
    """The cores a compute kernel is built for: unpack, math, pack, or the one fused compute core."""
    return cfg.compute_cores


def _record(name: str, result: dict) -> None:
    from tessera.sim.harness import BUILD_ROOT
    path = BUILD_ROOT / "bench" / "tile" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))


def _kernel_args(cfg, tiles: int, fmt_in: str, fmt_out: str, own: int):
    """Runtime arguments of a two-operand TRISC kernel, in the order of ``tile_kernel_args_t``
    (sw/kernels/tile_kernel.h), with ``own`` as argument 7; the A, B and output tiles lie back to
    back from ``l1_data_base``.  Returns (arguments, A base, B base, output base)."""
    in_bytes = cfg.engine.tile_bytes(fmt_in)
    a_base = cfg.l1_data_base
    b_base = a_base + tiles * in_bytes
    o_base = b_base + tiles * in_bytes
    return [tiles, a_base, b_base, o_base, FMT_CODE[fmt_in], FMT_CODE[fmt_out], in_bytes, own], a_base, b_base, o_base


def _assert_bytes_equal(got: bytes, want: bytes, what: str) -> None:
    bad = [j for j in range(len(want)) if got[j] != want[j]]
    assert not bad, f"{what}: {len(bad)} bytes differ, first at {bad[0]}"


async def _kernel_cycles(host) -> int:
    start, end = await host.mailbox(0), await host.mailbox(1)
    return (end - start) & 0xFFFFFFFF


@cocotb.test()
async def host_ports(dut):
    """host_ctrl reaches tile_ctrl only; host_l1 round trip with byte masks; cores start held."""
    cfg, host, rng, _ = await _setup(dut, "host")
    ctrl = cfg.mmio.region("tile_ctrl")
    tile_id = await host.ctrl_read(ctrl.address("tile_id"))
    assert tile_id == host.x | (host.y << 8), f"tile_id {tile_id:#x}"
    assert await host.ctrl_read(ctrl.address("soft_reset")) == (1 << len(cfg.cores)) - 1
    assert all(s["held"] for s in host.core_state().values())
    for region in ("engine", "niu"):
        _, err = await host.ctrl_access(cfg.mmio.region(region).base)
        assert err, f"host_ctrl read of {region} did not answer err"
    _, err = await host.ctrl_access(cfg.l1.base)
    assert err, "host_ctrl read of L1 did not answer err"
    await host.ctrl_write(ctrl.address("scratch"), 0x1234_5678)
    assert await host.ctrl_read(ctrl.address("scratch")) == 0x1234_5678
    base = cfg.l1_data_base
    data = bytes(rng.randrange(256) for _ in range(77))
    await host.l1_write(base, bytes(96))
    await host.l1_write(base + 3, data)
    got = await host.l1_read(base, 96)
    assert got == bytes(3) + data + bytes(96 - 3 - len(data)), "host_l1 round trip"


def _dm_traffic(cfg, rng, base: int, words: int = 256, rounds: int = 6):
    """Both data-movement cores copy their own L1 block in a loop (tile_dm_copy.c): (extra programs,
    L1 writes of the sources, the (source, destination, bytes) to check)."""
    extra, writes, checks = [], [], []
    for i, core in enumerate(c.name for c in cfg.cores if c.role == "dm"):
        src = base + i * 8 * words
        dst = src + 4 * words
        data = bytes(rng.randrange(256) for _ in range(4 * words))
        extra.append(("tile_dm_copy", core, [src, dst, words, rounds]))
        writes.append((src, data))
        checks.append((core, dst, data))
    return extra, writes, checks


async def _run_eltwise(dut, ntiles: int, fmt_in: str, fmt_out: str, dm_traffic: bool = False):
    cfg, host, rng, out = await _setup(dut, f"eltwise-{fmt_in}-{fmt_out}-{dm_traffic}")
    ecfg = cfg.engine
    out_bytes = ecfg.tile_bytes(fmt_out)
    args, a_base, b_base, o_base = _kernel_args(cfg, ntiles, fmt_in, fmt_out, out_bytes)
    extra, dm_writes, dm_checks = _dm_traffic(cfg, rng, o_base + ntiles * out_bytes) if dm_traffic \
        else ((), [], [])
    image = host.build("tile_eltwise_add", _trisc_cores(cfg), args, out, extra)
    raw_a = [fm.pack_tile(_random_tile_bits(rng, ecfg), fmt_in, ecfg) for _ in range(ntiles)]
    raw_b = [fm.pack_tile(_random_tile_bits(rng, ecfg), fmt_in, ecfg) for _ in range(ntiles)]
    await host.l1_write(o_base, bytes(ntiles * out_bytes))
    release = await host.load(image, [(a_base, b"".join(raw_a)), (b_base, b"".join(raw_b))] + dm_writes)
    codes = await host.wait_done(200_000)
    done = host.cycle()
    assert codes == {p.core: 0 for p in host.programs}, f"{codes}\n{host.report()}"
    for core, dst, data in dm_checks:
        assert await host.l1_read(dst, len(data)) == data, f"{core}'s copy differs"
        assert f"{core} copied".encode() in bytes(host.console), bytes(host.console)
    zero = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    for i in range(ntiles):
        got = await host.l1_read(o_base + i * out_bytes, out_bytes)
        want = fm.pack_tile(ge.eltwise(zero, fm.unpack_tile(raw_a[i], fmt_in, ecfg),
                                       fm.unpack_tile(raw_b[i], fmt_in, ecfg), "add"), fmt_out, ecfg)
        _assert_bytes_equal(got, want, f"eltwise tile {i}")
    cycles = await _kernel_cycles(host)
    dut._log.info("eltwise add %d tiles %s -> %s%s: %d cycles (kernel), %d from release to all exited",
                  ntiles, fmt_in, fmt_out,
                  " with brisc/ncrisc copying in L1" if dm_traffic else "", cycles, done - release)
    _record(f"eltwise_add_{ntiles}x_{fmt_in}_{fmt_out}" + ("_dm_traffic" if dm_traffic else ""),
            {"kernel": "tile_eltwise_add", "tiles": ntiles, "fmt_in": fmt_in, "fmt_out": fmt_out,
             "dm_traffic": dm_traffic,
             "kernel_cycles": cycles, "cycles_per_tile": cycles / ntiles,
             "release_to_exit_cycles": done - release, "preset": cfg.name})
    return cycles


@cocotb.test()
@cocotb.parametrize(dm_traffic=[False, True])
async def eltwise_add_bf16(dut, dm_traffic: bool):
    """Three TRISC cores add 2 pairs of bf16 tiles into bf16; bit-exact against the golden.
    With ``dm_traffic`` brisc and ncrisc copy blocks of L1 in a loop meanwhile: all five cores, the
    engine and the host compete for L1 banks and tile_ctrl; results still bit-exact, copies intact."""
    await _run_eltwise(dut, 2, "float16_b", "float16_b", dm_traffic=dm_traffic)


async def _run_matmul(dut, k_tiles: int, fmt_in: str, fmt_out: str, fidelity: str):
    cfg, host, rng, out = await _setup(dut, f"matmul-{k_tiles}-{fmt_in}-{fidelity}")
    ecfg = cfg.engine
    out_bytes = ecfg.tile_bytes(fmt_out)
    args, a_base, b_base, o_base = _kernel_args(cfg, k_tiles, fmt_in, fmt_out, FIDELITY_CODE[fidelity])
    image = host.build("tile_matmul", _trisc_cores(cfg), args, out)
    raw_a = [fm.pack_tile(_random_tile_bits(rng, ecfg, 0.5), fmt_in, ecfg) for _ in range(k_tiles)]
    raw_b = [fm.pack_tile(_random_tile_bits(rng, ecfg, 0.5), fmt_in, ecfg) for _ in range(k_tiles)]
    await host.l1_write(o_base, bytes(out_bytes))
    release = await host.load(image, [(a_base, b"".join(raw_a)), (b_base, b"".join(raw_b))])
    codes = await host.wait_done(400_000)
    done = host.cycle()
    assert codes == {c: 0 for c in _trisc_cores(cfg)}, codes
    dst = np.zeros((ecfg.tile_rows, ecfg.tile_cols), dtype=np.uint32)
    for k in range(k_tiles):
        dst = ge.matmul(dst, fm.unpack_tile(raw_a[k], fmt_in, ecfg), fm.unpack_tile(raw_b[k], fmt_in, ecfg),
                        ecfg, fidelity, acc=k > 0)
    want = fm.pack_tile(dst, fmt_out, ecfg)
    got = await host.l1_read(o_base, out_bytes)
    _assert_bytes_equal(got, want, "matmul")
    cycles = await _kernel_cycles(host)
    macs = k_tiles * ecfg.tile_rows * ecfg.tile_cols * ecfg.tile_cols
    peak = ecfg.macs_per_cycle
    dut._log.info("matmul K=%d %s -> %s %s: %d cycles (kernel), %.2f MACs/cycle of peak %d (%.1f%%); "
                  "%d cycles from release to all exited", k_tiles, fmt_in, fmt_out, fidelity, cycles,
                  macs / cycles, peak, 100 * macs / cycles / peak, done - release)
    _record(f"matmul_k{k_tiles}_{fmt_in}_{fmt_out}_{fidelity}",
            {"kernel": "tile_matmul", "k_tiles": k_tiles, "fmt_in": fmt_in, "fmt_out": fmt_out,
             "fidelity": fidelity, "kernel_cycles": cycles, "macs": macs, "macs_per_cycle": macs / cycles,
             "peak_macs_per_cycle": peak, "of_peak": macs / cycles / peak,
             "release_to_exit_cycles": done - release, "preset": cfg.name})


#: (K, input format, output format, fidelity) of the matmul cases; K=8 measures the steady-state
#: MACs/cycle of the three-core pipeline.
MATMUL_CASES = [(3, "float16_b", "float32", "lofi"), (2, "bfp8_b", "float16_b", "hifi2"),
                (8, "float16_b", "float16_b", "lofi")]


@cocotb.test()
@cocotb.parametrize((("k_tiles", "fmt_in", "fmt_out", "fidelity"), MATMUL_CASES))
async def matmul_k_loop(dut, k_tiles: int, fmt_in: str, fmt_out: str, fidelity: str):
    """out = sum_k A_k @ B_k; unpack/math/pack on the three TRISCs; bit-exact against the golden."""
    await _run_matmul(dut, k_tiles, fmt_in, fmt_out, fidelity)


@cocotb.test()
async def access_fault(dut):
    """Loads/stores outside every region trap with an access fault; the core's own handler reports
    mcause and mtval in mailboxes and continues."""
    cfg, host, _rng, out = await _setup(dut, "fault")
    core = next(c for c in cfg.cores if c.role == "dm" and c.reset_pc >= 4096)  # args above 4 KiB
    niu = cfg.mmio.region("niu").base                  # a region without a block behind it
    gap = cfg.l1.base + cfg.l1.size_bytes               # between L1 and local memory
    past_local = cfg.local_mem_base + core.local_mem_bytes   # just past this core's local memory
    image = host.build("tile_fault", [core.name], [niu, gap, past_local], out)
    await host.load(image)
    codes = await host.wait_done(100_000)
    assert codes == {core.name: 0}, f"{codes}\n{host.report()}"
    boxes = [await host.mailbox(i) for i in range(7)]
    assert boxes[0] == 3, f"{boxes[0]} faults recorded"
    want = [(5, niu), (7, gap), (5, past_local)]   # load / store / load access fault
    assert [(boxes[1 + 2 * n], boxes[2 + 2 * n]) for n in range(3)] == want, boxes
    state = host.core_state()[core.name]
    assert state["trapped"] and not state["held"], state
    assert b"faults 3" in bytes(host.console), bytes(host.console)


@cocotb.test()
async def hung_kernel_reports_pcs(dut):
    """A kernel whose unpacker never pushes hangs; the timeout names every core's PC."""
    cfg, host, _rng, out = await _setup(dut, "hang")
    trisc = _trisc_cores(cfg)
    base = cfg.l1_data_base
    image = host.build("tile_hang", trisc, [base, base + 4096, base + 8192], out)
    await host.load(image)
    try:
        await host.wait_done(20_000)
    except TileHang as exc:
        report = str(exc)
    else:
        raise AssertionError("the hung kernel finished")
    dut._log.info("hang report:\n%s", report)
    state = host.core_state()
    for name in trisc:
        assert f"{name}" in report and f"pc {state[name]['pc']:#010x}" in report, report
    for name in trisc[:2]:
        assert host.symbols.name((host.x, host.y), name, state[name]["pc"]).startswith("tessera_exit"), report
    assert host.symbols.name((host.x, host.y), trisc[2], state[trisc[2]]["pc"]).startswith("main"), report
    assert int(dut.engine_busy.value) & 0b110, "math and pack should still be busy"
    for c in cfg.cores:
        if c.name not in trisc:
            assert state[c.name]["held"], state
