"""Chip pieces without Verilator: configuration checks, the generated NIU header, firmware that
uses the whole dataflow API compiling, the chip elaborating for other grids, the NIU on a torus
with another node placement and the L1 port arbiter (Amaranth simulator)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from amaranth.hdl import Fragment

from tessera.hw.chip.chip import Chip
from tessera.hw.chip.niu import NIU_CTRL, NiuOp, niu_field_table
from tessera.hw.config import ConfigError, Node, preset
from tb.chip.test_niu_amaranth import run

KERNELS = Path(__file__).resolve().parent / "kernels"


def test_dram_and_niu_parameters_are_checked():
    with pytest.raises(ConfigError, match="dram.latency_cycles must be an integer in 0..4095, got -1"):
        preset("tiny", dram={"latency_cycles": -1})
    with pytest.raises(ConfigError, match="dram.bytes_per_cycle must be an integer in 1..256, got 0"):
        preset("tiny", dram={"bytes_per_cycle": 0})
    with pytest.raises(ConfigError, match="noc.niu_command_buffers must be an integer in 1..8, got 9"):
        preset("tiny", noc={"niu_command_buffers": 9})
    cfg = preset("tiny", noc={"niu_command_buffers": 2})
    assert {r.count for r in cfg.mmio.region("niu").registers if r.name.startswith("cmd_")} == {2}


def test_generated_header_has_every_niu_field():
    from tessera.sw.toolchain.gen import target_header
    from tessera.sw.toolchain.layout import target_for
    cfg = preset("tiny")
    text = target_header(target_for("brisc", cfg), cfg)
    for reg, name, lsb, width in niu_field_table():
        assert f"#define TESSERA_NIU_{reg.upper()}_{name.upper()}_SHIFT {lsb}u" in text
        assert f"#define TESSERA_NIU_{reg.upper()}_{name.upper()}_WIDTH {width}u" in text
    for op in NiuOp:
        assert f"#define TESSERA_NIU_OP_{op.name} {op.value}u" in text
    assert f"#define TESSERA_NIU_CMD_BUFFERS {cfg.noc.niu_command_buffers}u" in text
    assert NIU_CTRL.size <= 32


def test_dataflow_kernels_compile(tmp_path):
    from tessera.sw.toolchain import compile_elf
    from tessera.sw.toolchain.build import KERNELS_DIR
    cfg = preset("tiny")
    for source, core in ((KERNELS / "chip_dataflow.c", "brisc"), (KERNELS / "chip_hang.c", "ncrisc"),
                         (KERNELS_DIR / "chip_bench.c", "brisc")):
        assert compile_elf([source], core, cfg, tmp_path / f"{source.stem}.elf").stat().st_size > 0
    # Every function of tessera_noc.h is used by a kernel, so each is compiled.
    header = (Path(KERNELS_DIR).parent / "include" / "tessera_noc.h").read_text()
    api = set(re.findall(r"static inline \w+ \*?(\w+)\(", header))
    used = (KERNELS / "chip_dataflow.c").read_text() + (KERNELS_DIR / "chip_bench.c").read_text()
    internal = {"tessera_niu_read", "tessera_niu_wait_ready", "tessera_niu_issue", "tessera_niu_wait_idle",
                "tessera_noc_atomic_inc", "tessera_noc_error_count"}
    missing = sorted(name for name in api - internal if name not in used)
    assert not missing, f"functions no kernel calls: {missing}"


def _odd_placement():
    nodes = []
    for y in range(2):
        for x in range(3):
            kind = "host" if (x, y) == (2, 1) else "dram" if (x, y) == (0, 0) else "tensix"
            nodes.append(Node(x, y, kind))
    return tuple(nodes)


def test_chip_elaborates_for_other_grids_and_placements():
    Fragment.get(Chip(preset("tiny", noc={"topology": "torus", "vcs_per_class": 2}, nodes=_odd_placement())), None)
    Fragment.get(Chip(preset("tiny", noc={"width": 4, "height": 3})), None)


def test_niu_on_a_torus_with_another_placement():
    cfg = preset("tiny", noc={"topology": "torus", "vcs_per_class": 2, "buffer_depth": 6}, nodes=_odd_placement(),
                 dram={"size_bytes": 65536})

    async def bench(ctx, host, nius, tiles):
        for n in cfg.nodes:
            if n.kind != "host":
                blob = bytes((n.x * 31 + n.y * 7 + i) & 0xFF for i in range(300))
                await host.write(n.x, n.y, 0x6003, blob)
                assert await host.read(n.x, n.y, 0x6003, 300) == blob, (n.x, n.y)
        niu = nius[0]
        xs, ys = {t.x for t in tiles}, {t.y for t in tiles}
        # Tiles here: (1,0) (2,0) (0,1) (1,1): multicast to the rectangle (1,0)..(2,0) and from DRAM.
        await niu.issue(1, NiuOp.READ, 0, 0, remote=0x6003, local=0x7000, length=300)
        await niu.barrier("read_resp_received", "read_req_sent")
        await niu.issue(0, NiuOp.WRITE, 1, 0, remote=0x8000, local=0x7000, length=40, mcast=(2, 0),
                        acked=True, include_src=True)
        await niu.barrier("write_acks_received", "write_acks_expected")
        want = bytes((0 * 31 + 0 * 7 + i) & 0xFF for i in range(40))
        for x in (1, 2):
            assert await host.read(x, 0, 0x8000, 40) == want, (x, 0)
        assert min(xs) == 0 and max(ys) == 1

    run(bench, cfg)


def test_register_docs_state_the_field_positions_of_the_layouts():
    """The configuration's register docs (which land in tessera_config.h and docs/chip.md) name bit
    positions; they must be the ones of hw/chip/niu.py."""
    region = preset("tiny").mmio.region("niu")
    docs = {r.name: r.doc for r in region.registers}
    for reg, name, lsb, width in niu_field_table():
        span = f"{lsb + width - 1}:{lsb}" if width > 1 else f"{lsb}"
        assert re.search(rf"\b{name}\b[^,;]*?\b{span}\b", docs[reg]), f"{reg}.{name} at {span}: {docs[reg]!r}"


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "one_reader"])
def test_exported_niu_and_dram_have_no_input_less_always_blocks(prefetch):
    """An ``always @*`` block whose body reads no signal (a constant field of a signal that is also
    driven from a switch) never runs in Verilator: the chip once sent requests with source (0, 0)
    from every tile.  The NIU and DRAM node must export without one (with either kind of NoC
    target response side, noc.target_read_prefetch)."""
    from amaranth.back import verilog

    from tessera.hw.chip.dram import DramNode
    from tessera.hw.chip.niu import Niu
    cfg = preset("tiny", noc={"target_read_prefetch": prefetch})
    small = preset("tiny", dram={"size_bytes": 4096}, noc={"target_read_prefetch": prefetch})
    for component in (Niu(cfg, 1, 0), DramNode(small, 0, 1)):
        text = verilog.convert(component, emit_src=False)
        lines = text.splitlines()
        bad = [lines[i + 1].strip() for i, line in enumerate(lines[:-1])
               if line.strip() == "always @*" and re.fullmatch(r"[\w\\$.\[\]: ]+= \d+'[hbd][0-9a-fA-F_]+;",
                                                               lines[i + 1].strip())]
        assert not bad, f"{type(component).__name__}: input-less always blocks: {bad[:5]}"


def test_niu_block_is_the_first_tiles_niu():
    """Block `niu` (exported alone for its FPGA figures) is the NIU of the first Tensix tile."""
    from tessera.hw.blocks import block

    cfg = preset("tiny")
    niu = block("niu").build(cfg)
    first = cfg.nodes_of("tensix")[0]
    assert (type(niu).__name__, niu.x, niu.y) == ("Niu", first.x, first.y)
    with pytest.raises(ValueError, match="not a Tensix tile"):
        block("niu").build(cfg, x=cfg.host.x, y=cfg.host.y)


@pytest.mark.parametrize("seed", [3, 17])
def test_l1_port_arbiter_preference(seed):
    """With a preference the preferred user wins whenever it asks, every other user is still served,
    and every response reaches the user whose request the memory accepted the cycle before."""
    from amaranth.sim import Simulator

    from tessera.hw.chip.datapath import L1PortArbiter
    cfg = preset("tiny")
    rng = random.Random(seed)
    num = 3
    dut = L1PortArbiter(cfg.l1, num, with_preference=True)
    served = [0] * num
    cycles = 400

    async def bench(ctx):
        pending = None          # (user, addr) accepted in the previous cycle
        for cycle in range(cycles):
            asking = [rng.random() < 0.6 for _ in range(num)]
            addrs = [rng.randrange(0, cfg.l1.size_bytes, 8) for _ in range(num)]
            prefer = rng.randrange(num)
            ready = rng.random() < 0.8
            for u in range(num):
                ctx.set(dut.user[u].req.valid, asking[u])
                ctx.set(dut.user[u].req.payload.addr, addrs[u])
            ctx.set(dut.prefer, prefer)
            ctx.set(dut.mem.req.ready, ready)
            ctx.set(dut.mem.resp.valid, pending is not None)
            ctx.set(dut.mem.resp.rdata, (pending[1] * 3) if pending else 0)
            for u in range(num):
                got = ctx.get(dut.user[u].resp.valid)
                assert got == (pending is not None and pending[0] == u), f"seed {seed} cycle {cycle} user {u}"
                if got:
                    assert ctx.get(dut.user[u].resp.rdata) == pending[1] * 3, f"seed {seed} cycle {cycle}"
            granted = [u for u in range(num) if ctx.get(dut.user[u].req.ready)]
            assert ctx.get(dut.mem.req.valid) == any(asking), f"seed {seed} cycle {cycle}"
            if ready and any(asking):
                want = prefer if asking[prefer] else None
                assert len(granted) == 1 and asking[granted[0]], f"seed {seed} cycle {cycle}: {granted}"
                if want is not None:
                    assert granted == [want], f"seed {seed} cycle {cycle}: preferred {want}, granted {granted}"
                assert ctx.get(dut.mem.req.payload.addr) == addrs[granted[0]], f"seed {seed} cycle {cycle}"
                served[granted[0]] += 1
                pending = (granted[0], addrs[granted[0]])
            else:
                assert not granted, f"seed {seed} cycle {cycle}: {granted} without a grant"
                pending = None
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert all(count > cycles // 10 for count in served), f"seed {seed}: served {served}"
