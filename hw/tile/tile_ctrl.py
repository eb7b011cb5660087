"""Tile control registers: identity, soft reset and reset PCs of the cores, cycle counter,
console, scratch, mailboxes and the cores' firmware waypoints.

The register map is ``cfg.mmio.region("tile_ctrl")`` — offsets, counts and the
region size come from there and are never restated here.  The block decodes
the address bits inside the region only (``addr`` modulo the region size);
selecting the region is the tile interconnect's job.

Bus: the target side of a core data bus (:class:`hw.core.bus.DataBus`), so a
core's data bus (through the tile's address decoder) or the NIU can drive it.
Every request is answered exactly one cycle after acceptance; a read returns
the register's value in that response cycle (the accepting edge registers a
one-hot hit vector, the response is an AND-OR of flip-flops: no combinational
path from request to response, and a third of the LUTs of a case-statement
read mux).  ``req.ready`` is high except
for a console write while the previous console byte is still waiting on
``console.ready``.  Unmapped offsets answer ``err`` (reads return 0, writes
are dropped).  Byte masks apply to every writable register; the console
takes byte 0 when mask bit 0 is set.

Registers (R = read-only, RW = read/write; writes to R registers are ignored):

* ``tile_id`` R: ``tile_x`` in bits 7:0, ``tile_y`` in bits 15:8 (input ports).
* ``soft_reset`` RW: bit i holds core i in reset; resets to all ones (the host
  loads firmware, then releases the cores).  Drives ``core_reset``.
* ``cycle_lo`` R: free-running 64-bit cycle counter, low word; reading it
  latches the high word of the same instant into ``cycle_hi``.
* ``cycle_hi`` R: the high word latched by the last read of ``cycle_lo``.
* ``console`` W: a write with mask bit 0 sends ``wdata[7:0]`` on ``console``.
  Reads return 0.
* ``scratch`` RW, resets to 0.
* ``reset_pc[i]`` RW: core i's reset PC, resets to ``cfg.cores[i].reset_pc``;
  drives ``reset_pc[i]``.
* ``mailbox[i]`` RW, reset to 0.
* ``waypoint[i]`` RW: core i's firmware waypoint code (:class:`~tessera.hw.tile.waypoint.Waypoint`,
  the low ``WAYPOINT_BITS`` bits; the rest reads 0); held at 0 while core i is
  in soft reset.  Drives ``waypoint[i]`` (the core's debug port, for timelines).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.bus import DataBus
from tessera.hw.logic import or_all
from tessera.hw.tile.waypoint import WAYPOINT_BITS, Waypoint

__all__ = ["TileCtrl", "build_tile_ctrl", "TILE_ID_COORD_BITS"]

#: tile_id packs x and y in one byte each.
TILE_ID_COORD_BITS = 8


class TileCtrl(wiring.Component):
    """The tile control register block of ``cfg`` (see the module docstring for the map)."""

    def __init__(self, cfg, cycle_init: int = 0):
        if not isinstance(cycle_init, int) or not 0 <= cycle_init < 1 << 64:
            raise ValueError(f"TileCtrl cycle_init must be a 64-bit unsigned integer, got {cycle_init!r}")
        self.cycle_init = cycle_init
        try:
            region = cfg.mmio.region("tile_ctrl")
        except (AttributeError, KeyError) as exc:
            raise ValueError(f"TileCtrl needs a TesseraConfig with a 'tile_ctrl' mmio region, "
                             f"got {cfg!r}: {exc}") from None
        self.cfg = cfg
        self.region = region
        self.num_cores = len(cfg.cores)
        regs = {r.name: r for r in region.registers}
        for name in ("tile_id", "soft_reset", "cycle_lo", "cycle_hi", "console", "scratch",
                     "reset_pc", "mailbox", "waypoint"):
            if name not in regs:
                raise ValueError(f"mmio region tile_ctrl lacks register {name!r}; has {sorted(regs)}")
        if regs["reset_pc"].count != self.num_cores:
            raise ValueError(f"tile_ctrl.reset_pc has {regs['reset_pc'].count} entries for "
                             f"{self.num_cores} cores")
        if regs["waypoint"].count != self.num_cores:
            raise ValueError(f"tile_ctrl.waypoint has {regs['waypoint'].count} entries for "
                             f"{self.num_cores} cores")
        if cfg.noc.x_bits > TILE_ID_COORD_BITS or cfg.noc.y_bits > TILE_ID_COORD_BITS:
            raise ValueError(f"grid {cfg.noc.width}x{cfg.noc.height} does not fit the 8-bit "
                             f"coordinates of tile_id")
        self.regs = regs
        super().__init__({
            "bus": In(DataBus.Signature()),
            "tile_x": In(cfg.noc.x_bits),
            "tile_y": In(cfg.noc.y_bits),
            "core_reset": Out(self.num_cores),
            "reset_pc": Out(unsigned(32)).array(self.num_cores),
            "console": Out(stream.Signature(unsigned(8))),
            "waypoint": Out(Waypoint).array(self.num_cores),
        })

    def elaborate(self, platform):
        m = Module()
        regs = self.regs
        offset_bits = (self.region.size - 1).bit_length()
        req = self.bus.req.payload
        offset = Signal(offset_bits)
        m.d.comb += offset.eq(req.addr[:offset_bits])

        # Byte-masked merge of the write data into a register's old value.
        byte_enables = Signal(32)
        m.d.comb += byte_enables.eq(Cat(*[req.mask[i].replicate(8) for i in range(4)]))

        def merged(old):
            return (req.wdata & byte_enables) | (old & ~byte_enables)

        soft_reset = Signal(self.num_cores, init=(1 << self.num_cores) - 1)
        scratch = Signal(32)
        reset_pc = [Signal(32, name=f"reset_pc_{i}", init=c.reset_pc) for i, c in enumerate(self.cfg.cores)]
        mailbox = [Signal(32, name=f"mailbox_{i}") for i in range(regs["mailbox"].count)]
        waypoint = [Signal(WAYPOINT_BITS, name=f"waypoint_{i}") for i in range(self.num_cores)]
        cycles = Signal(64, init=self.cycle_init)
        cycle_hi_latched = Signal(32)
        m.d.sync += cycles.eq(cycles + 1)
        m.d.comb += self.core_reset.eq(soft_reset)
        for i in range(self.num_cores):
            m.d.comb += [self.reset_pc[i].eq(reset_pc[i]), self.waypoint[i].eq(waypoint[i])]

        console_valid = Signal()
        console_data = Signal(8)
        m.d.comb += [self.console.valid.eq(console_valid), self.console.payload.eq(console_data)]
        with m.If(self.console.ready):
            m.d.sync += console_valid.eq(0)
        console_busy = console_valid & ~self.console.ready

        is_console = Signal()
        m.d.comb += [
            is_console.eq(offset[2:] == regs["console"].offset >> 2),  # may stall, decoded early
            self.bus.req.ready.eq(~(is_console & req.we & console_busy)),
        ]
        accept = Signal()
        m.d.comb += accept.eq(self.bus.req.valid & self.bus.req.ready)
        write = Signal()
        m.d.comb += write.eq(accept & req.we)

        def at(name, index=0):
            return regs[name].offset + 4 * index

        # The map as a table: (offset, value read, register written or None).
        table = [
            (at("tile_id"), self.tile_x | (self.tile_y << TILE_ID_COORD_BITS), None),
            (at("soft_reset"), soft_reset, soft_reset),
            (at("cycle_lo"), cycles[:32], None),
            (at("cycle_hi"), cycle_hi_latched, None),
            (at("console"), 0, None),
            (at("scratch"), scratch, scratch),
        ]
        table += [(at("reset_pc", i), pc, pc) for i, pc in enumerate(reset_pc)]
        table += [(at("mailbox", i), box, box) for i, box in enumerate(mailbox)]
        table += [(at("waypoint", i), wp, wp) for i, wp in enumerate(waypoint)]

        hits = []
        hit_at = {}
        for off, value, register in table:
            hit = Signal(name=f"hit_{off:03x}")
            m.d.comb += hit.eq(offset[2:] == off >> 2)
            hits.append(hit)
            hit_at[off] = len(hits) - 1
            if register is not None:
                with m.If(write & hit):
                    m.d.sync += register.eq(merged(register))
        # A held core's waypoint reads RUNNING (after the table's writes: this wins).
        for i, wp in enumerate(waypoint):
            with m.If(soft_reset[i]):
                m.d.sync += wp.eq(0)
        mapped = Signal()
        m.d.comb += mapped.eq(or_all(hits))
        # Reads: the accepting edge registers which register was hit (one-hot);
        # the response cycle returns its current value.  Registering the
        # decode first keeps the read mux a plain AND-OR of flip-flops.
        read_hits = Signal(len(table))
        m.d.sync += read_hits.eq(Mux(accept & ~req.we, Cat(*hits), 0))
        rdata = or_all([value & read_hits[k].replicate(32) for k, (_, value, _) in enumerate(table)])
        # cycle_lo answered in this cycle: latch the high word of the same cycle.
        with m.If(read_hits[hit_at[at("cycle_lo")]]):
            m.d.sync += cycle_hi_latched.eq(cycles[32:])
        with m.If(write & hits[hit_at[at("console")]] & req.mask[0]):
            m.d.sync += [console_valid.eq(1), console_data.eq(req.wdata[:8])]

        resp_valid = Signal()
        resp_err = Signal()
        m.d.sync += [resp_valid.eq(accept), resp_err.eq(accept & ~mapped)]
        m.d.comb += [self.bus.resp.valid.eq(resp_valid), self.bus.resp.rdata.eq(rdata),
                     self.bus.resp.err.eq(resp_err)]
        return m


def build_tile_ctrl(cfg, cycle_init: int = 0):
    """Block factory: the tile control registers of ``cfg`` with flat ports for export
    (``cycle_init``: the counter's reset value, for tests)."""
    return TileCtrl(cfg, cycle_init)
