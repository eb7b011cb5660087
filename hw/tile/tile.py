"""The Tensix tile: five RV32IMC cores, the banked L1, tile control and the FPU engine, wired together.

Block diagram (N = ``len(cfg.cores)``; docs/tile.md has the full version)::

                 host_l1 (L1 requester port: the NIU attaches here)
                    │
    core i ── fetch ┼─ L1CoreAdapter(instruction) ─────────────┐
      │             │                                          │
      └── data ── DataBusDecoder ─┬─ L1CoreAdapter(data) ──────┤  L1 ports
                   (cfg windows)  ├─ LocalMemory (private)     ├─► L1 (banked,
                                  ├─ tile_ctrl ─┐              │    round robin)
                                  ├─ engine ──┐ │              │
                                  └─ (miss: err)│              │
                                              │ │              │
    host_ctrl ── DataBusDecoder ── tile_ctrl ─┼─┤              │
                                              │ ▼              │
                     DataBusArbiter(N) ◄──────┘ DataBusArbiter(N + 1)
                            │                        │
                        EngineMmio               TileCtrl ── soft reset, reset PCs ──► cores
                            │ 3 command streams      └── console ──► console (stream port)
                         Engine ── unpack_l1, pack_l1 ───────────────► L1 ports

Every address window comes from the configuration (``cfg.l1``,
``cfg.local_mem_base`` + the core's ``local_mem_bytes``, ``cfg.mmio``
regions); nothing here restates an address.  A data access that hits no
window, or a region without a block behind it (``niu`` until the NIU
exists), is answered ``err`` and the core takes an access fault.

Bus timing: every target behind a decoder (L1 through its adapter, local
memory, tile_ctrl, EngineMmio and the error responder) answers an accepted
request exactly one cycle later, so the decoders and arbiters need no
queues: each remembers only which target (or initiator) owns the response of
the request it accepted last.

Soft reset: ``tile_ctrl.soft_reset`` bit i holds core i *and its bus
adapters* in reset (a request in flight is forgotten); ``tile_ctrl.reset_pc[i]``
is core i's reset PC.  The host reaches tile_ctrl through ``host_ctrl`` (a
data-bus target port taking the same tile-local addresses as the cores), so
the firmware loader's plan (sw/toolchain/loader.py: hold, segments, reset
PCs, arguments, release) runs unchanged: L1 writes go to ``host_l1``,
register writes to ``host_ctrl``.

Debug: ``debug[i]`` reports per core the PC of the last instruction that left
its pipeline (retired or trapped), the number retired since its last
release, whether it ever trapped since then, whether it is held —
enough for a hung-kernel report — and its firmware waypoint
(``tile_ctrl.waypoint[i]``: what it waits on, for timelines).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, ResetInserter, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from tessera.hw.config import TesseraConfig
from tessera.hw.core.bus import DataBus, DataBusArbiter, DataBusDecoder, Window
from tessera.hw.core.core import Core
from tessera.hw.engine.engine import Engine
from tessera.hw.engine.mmio import EngineMmio
from tessera.hw.tile.l1 import L1
from tessera.hw.tile.l1_core_adapter import L1CoreAdapter
from tessera.hw.tile.l1_port import L1PortSignature
from tessera.hw.tile.tile_ctrl import TileCtrl
from tessera.hw.tile.waypoint import Waypoint
from tessera.hw.signature import ValueSignature

__all__ = ["LocalMemory", "CoreDebugSignature", "TileCore", "Tile", "l1_port_assignment", "core_windows",
           "decode_table", "build_tile"]


def core_windows(cfg: TesseraConfig, core_name: str, niu: bool = False) -> list:
    """The data-bus windows of core ``core_name``, from the configuration, in decode order.

    With ``niu`` the ``niu`` MMIO region is a window too (a tile inside a chip)."""
    core = cfg.core(core_name)
    windows = [
        Window("l1", cfg.l1.base, cfg.l1.size_bytes),
        Window("local", cfg.local_mem_base, core.local_mem_bytes),
        Window("tile_ctrl", cfg.mmio.region("tile_ctrl").base, cfg.mmio.region("tile_ctrl").size),
        Window("engine", cfg.mmio.region("engine").base, cfg.mmio.region("engine").size),
    ]
    if niu:
        windows.append(Window("niu", cfg.mmio.region("niu").base, cfg.mmio.region("niu").size))
    return windows


def l1_port_assignment(cfg: TesseraConfig) -> dict:
    """L1 requester port of every L1 user: ``{"<core>_data": i, "<core>_fetch": j, "engine_unpack": ...,
    "engine_pack": ..., "host": ...}`` (the order only matters for the arbiter's initial pointer)."""
    ports = {}
    for core in cfg.cores:
        ports[f"{core.name}_data"] = len(ports)
    for core in cfg.cores:
        ports[f"{core.name}_fetch"] = len(ports)
    for name in ("engine_unpack", "engine_pack", "host"):
        ports[name] = len(ports)
    return ports


class LocalMemory(wiring.Component):
    """A core's private data RAM: ``size_bytes`` of 32-bit words, byte-masked writes, one-cycle reads.

    Decodes ``addr`` modulo its size (selecting the window is the decoder's
    job); always ready; the response is the read port's registered data.
    """

    def __init__(self, size_bytes: int):
        if not isinstance(size_bytes, int) or size_bytes < 4 or size_bytes & (size_bytes - 1):
            raise ValueError(f"LocalMemory size_bytes must be a power of two of at least 4, got {size_bytes!r}")
        self.size_bytes = size_bytes
        super().__init__({"bus": In(DataBus.Signature())})

    def elaborate(self, platform):
        m = Module()
        words = self.size_bytes // 4
        m.submodules.mem = mem = Memory(shape=unsigned(32), depth=words, init=[])
        wr = mem.write_port(granularity=8)
        rd = mem.read_port(domain="sync")
        req = self.bus.req
        accept = Signal()
        index = req.payload.addr[2:2 + max(1, (words - 1).bit_length())] if words > 1 else Const(0, 1)
        m.d.comb += [
            req.ready.eq(1),
            accept.eq(req.valid),
            rd.addr.eq(index), wr.addr.eq(index),
            wr.data.eq(req.payload.wdata),
            wr.en.eq(Cat(*[accept & req.payload.we & req.payload.mask[i] for i in range(4)])),
        ]
        resp_valid = Signal()
        m.d.sync += resp_valid.eq(accept)
        m.d.comb += [self.bus.resp.valid.eq(resp_valid), self.bus.resp.err.eq(0),
                     self.bus.resp.rdata.eq(rd.data)]
        return m


class CoreDebugSignature(ValueSignature):
    """Per-core observation port (outputs): for hung-kernel reports and timelines."""

    def __init__(self):
        super().__init__({
            #: PC of the last instruction that left the pipeline (retired or trapped).
            "pc": Out(32),
            #: Instructions retired since the core was last released from reset.
            "retired": Out(32),
            #: An instruction trapped since the last release.
            "trapped": Out(1),
            #: The core is held in soft reset.
            "held": Out(1),
            #: The firmware's waypoint code (``tile_ctrl.waypoint[i]``; RUNNING while held).
            "waypoint": Out(Waypoint),
        })


class TileCore(wiring.Component):
    """One tile core with its private buses: fetch into L1, data decoded into L1 / local memory /
    tile_ctrl / engine (``cfg`` windows), the rest answered ``err``.

    ``hold`` keeps the core, its adapters and its decoder in reset; ``waypoint``
    (tile_ctrl's register of this core) only passes through to ``debug``.
    """

    def __init__(self, cfg: TesseraConfig, core_name: str, niu: bool = False):
        self.cfg = cfg
        self.core_cfg = cfg.core(core_name)
        self.index = cfg.core_index(core_name)
        self.has_niu = niu
        super().__init__({
            "hold": In(1),
            "reset_pc": In(32),
            "waypoint": In(Waypoint),
            "fetch_l1": Out(L1PortSignature(cfg.l1)),
            "data_l1": Out(L1PortSignature(cfg.l1)),
            "tile_ctrl": Out(DataBus.Signature()),
            "engine": Out(DataBus.Signature()),
            **({"niu": Out(DataBus.Signature())} if niu else {}),
            "debug": Out(CoreDebugSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        held = ResetInserter({"sync": self.hold})
        core = Core(self.core_cfg)
        fetch = L1CoreAdapter(cfg.l1, "instruction")
        data = L1CoreAdapter(cfg.l1, "data")
        decoder = DataBusDecoder(core_windows(cfg, self.core_cfg.name, self.has_niu))
        m.submodules.core = held(core)
        m.submodules.fetch = held(fetch)
        m.submodules.data = held(data)
        m.submodules.decoder = held(decoder)
        m.submodules.local = local = LocalMemory(self.core_cfg.local_mem_bytes)
        m.d.comb += [core.hartid.eq(self.index), core.reset_pc.eq(self.reset_pc)]
        wiring.connect(m, core.ibus, fetch.bus)
        wiring.connect(m, core.dbus, decoder.bus)
        wiring.connect(m, decoder.l1, data.bus)
        wiring.connect(m, decoder.local, local.bus)
        wiring.connect(m, wiring.flipped(self.fetch_l1), fetch.l1)
        wiring.connect(m, wiring.flipped(self.data_l1), data.l1)
        wiring.connect(m, wiring.flipped(self.tile_ctrl), decoder.tile_ctrl)
        wiring.connect(m, wiring.flipped(self.engine), decoder.engine)
        if self.has_niu:
            wiring.connect(m, wiring.flipped(self.niu), decoder.niu)

        dbg = self.debug
        with m.If(core.trace.valid):
            m.d.sync += dbg.pc.eq(core.trace.pc)
            with m.If(core.trace.trap):
                m.d.sync += dbg.trapped.eq(1)
            with m.Else():
                m.d.sync += dbg.retired.eq(dbg.retired + 1)
        with m.If(self.hold):
            m.d.sync += [dbg.retired.eq(0), dbg.trapped.eq(0)]
        m.d.comb += [dbg.held.eq(self.hold), dbg.waypoint.eq(self.waypoint)]
        return m


class Tile(wiring.Component):
    """The Tensix tile at grid position (``x``, ``y``) of ``cfg`` (see the module docstring).

    Ports:

    * ``host_l1``: an L1 requester port (target side) for the NIU / host.
    * ``host_ctrl``: a data-bus target reaching tile_ctrl at its configured
      addresses (anything else answers ``err``).
    * ``console``: tile_ctrl's console byte stream.
    * ``debug[i]``: per-core :class:`CoreDebugSignature`.
    * ``engine_busy`` (unpack, math, pack) and ``mm_issue`` (a matmul step
      issued this cycle) for timelines and utilisation counters.
    """

    def __init__(self, cfg: TesseraConfig, x: int, y: int, niu: bool = False):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"Tile needs a TesseraConfig, got {cfg!r}")
        try:
            node = cfg.node_at(x, y)
        except (KeyError, TypeError):
            raise ValueError(f"Tile position ({x!r}, {y!r}) is not on the "
                             f"{cfg.noc.width}x{cfg.noc.height} grid of {cfg.name!r}") from None
        if node.kind != "tensix":
            raise ValueError(f"Tile position ({x}, {y}) holds a {node.kind} node, not a Tensix tile")
        self.cfg, self.x, self.y = cfg, x, y
        self.ports = l1_port_assignment(cfg)
        #: With ``niu`` the cores' accesses to the ``niu`` MMIO region leave the
        #: tile on the ``niu`` data-bus port (round robin over the cores), where
        #: the chip attaches the NIU's register block; without it they fault.
        self.has_niu = niu
        super().__init__({
            "host_l1": In(L1PortSignature(cfg.l1)),
            "host_ctrl": In(DataBus.Signature()),
            **({"niu": Out(DataBus.Signature())} if niu else {}),
            "console": Out(stream.Signature(unsigned(8))),
            "debug": Out(CoreDebugSignature()).array(len(cfg.cores)),
            "engine_busy": Out(3),
            "mm_issue": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, ports = self.cfg, self.ports
        n = len(cfg.cores)
        m.submodules.l1 = l1 = L1(cfg.l1, len(ports))
        m.submodules.tile_ctrl = ctrl = TileCtrl(cfg)
        m.submodules.engine = engine = Engine(cfg)
        m.submodules.engine_mmio = mmio = EngineMmio(cfg)
        m.submodules.ctrl_arbiter = ctrl_arb = DataBusArbiter(n + 1)
        m.submodules.engine_arbiter = eng_arb = DataBusArbiter(n)
        if self.has_niu:
            m.submodules.niu_arbiter = niu_arb = DataBusArbiter(n)
            wiring.connect(m, niu_arb.target, wiring.flipped(self.niu))
        ctrl_region = cfg.mmio.region("tile_ctrl")
        m.submodules.host_decoder = host_dec = DataBusDecoder(
            [Window("tile_ctrl", ctrl_region.base, ctrl_region.size)])

        m.d.comb += [ctrl.tile_x.eq(self.x), ctrl.tile_y.eq(self.y)]
        wiring.connect(m, ctrl_arb.target, ctrl.bus)
        wiring.connect(m, eng_arb.target, mmio.bus)
        wiring.connect(m, wiring.flipped(self.console), ctrl.console)

        for i, core_cfg in enumerate(cfg.cores):
            tc = TileCore(cfg, core_cfg.name, self.has_niu)
            m.submodules[core_cfg.name] = tc
            m.d.comb += [tc.hold.eq(ctrl.core_reset[i]), tc.reset_pc.eq(ctrl.reset_pc[i]),
                         tc.waypoint.eq(ctrl.waypoint[i])]
            wiring.connect(m, tc.fetch_l1, l1.port[ports[f"{core_cfg.name}_fetch"]])
            wiring.connect(m, tc.data_l1, l1.port[ports[f"{core_cfg.name}_data"]])
            wiring.connect(m, tc.tile_ctrl, ctrl_arb.initiator[i])
            wiring.connect(m, tc.engine, eng_arb.initiator[i])
            wiring.connect(m, tc.debug, wiring.flipped(self.debug[i]))
            if self.has_niu:
                wiring.connect(m, tc.niu, niu_arb.initiator[i])
        wiring.connect(m, wiring.flipped(self.host_ctrl), host_dec.bus)
        wiring.connect(m, host_dec.tile_ctrl, ctrl_arb.initiator[n])
        wiring.connect(m, wiring.flipped(self.host_l1), l1.port[ports["host"]])

        for s in ("unpack", "math", "pack"):
            wiring.connect(m, getattr(mmio, f"{s}_cmd"), getattr(engine, f"{s}_cmd"))
        wiring.connect(m, engine.unpack_l1, l1.port[ports["engine_unpack"]])
        wiring.connect(m, engine.pack_l1, l1.port[ports["engine_pack"]])
        m.d.comb += [mmio.busy.eq(engine.busy), mmio.src_valid.eq(engine.src_valid),
                     mmio.dst_full.eq(engine.dst_full),
                     self.engine_busy.eq(engine.busy), self.mm_issue.eq(engine.mm_issue)]
        return m


def decode_table(cfg: TesseraConfig) -> str:
    """The tile's data-bus address decode as a Markdown table (docs/tile.md is generated from this)."""
    header = ["| window | base | end (excl.) | target | reached from |", "|---|---|---|---|---|"]
    rows = []
    seen = set()
    for core in cfg.cores:
        for w in core_windows(cfg, core.name):
            key = (w.name, w.base, w.size)
            if key in seen:
                continue
            seen.add(key)
            users = [c.name for c in cfg.cores if any((v.name, v.base, v.size) == key
                                                      for v in core_windows(cfg, c.name))]
            target = {"l1": "L1 (through the core's data L1CoreAdapter)",
                      "local": "the core's own LocalMemory",
                      "tile_ctrl": "TileCtrl (arbitrated with the other cores and host_ctrl)",
                      "engine": "EngineMmio (arbitrated with the other cores)"}[w.name]
            who = "every core" if len(users) == len(cfg.cores) else ", ".join(users)
            if w.name == "tile_ctrl":
                who += ", host_ctrl"
            rows.append((w.base, w.size, f"| {w.name} | {w.base:#010x} | {w.end:#010x} | {target} | {who} |"))
    for region in cfg.mmio.regions:
        if region.name not in ("tile_ctrl", "engine"):
            rows.append((region.base, region.size,
                         f"| {region.name} | {region.base:#010x} | {region.base + region.size:#010x} | "
                         f"no block yet: err (access fault) | — |"))
    rows.sort(key=lambda r: (r[0], r[1]))
    return "\n".join(header + [r[2] for r in rows] + ["| anything else | | | err (access fault) | — |"])


def build_tile(cfg: TesseraConfig, x: int | None = None, y: int | None = None):
    """Block factory: the tile at (``x``, ``y``), by default the first Tensix node of ``cfg``."""
    if x is None and y is None:
        first = cfg.nodes_of("tensix")[0]
        x, y = first.x, first.y
    return Tile(cfg, x, y)
