"""Load-store unit: the data-bus side of the X and W stages.

X: checks the alignment of the address computed by the ALU, builds the byte
mask and the replicated store data and issues the request.  A misaligned
access never reaches the bus: it raises its exception in X.
W: waits for the one response, aligns and extends load data and reports a
bus error (raised as an access fault by the CSR/trap unit).

The data bus has at most one access in flight, owned by the instruction in
W; X issues a younger access only while W does not wait (``x_stall`` low).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.core.bus import DataBus
from tessera.hw.core.isa import MemWidth

__all__ = ["LoadStoreUnit"]


class LoadStoreUnit(wiring.Component):
    """Data-bus initiator (``dbus``) for loads and stores.

    X inputs: ``x_valid`` (X holds an instruction), ``x_stall`` (W cannot
    take it: no request may go out), ``x_trap`` (it already raises an
    exception), ``x_load``/``x_store``, ``x_width`` (funct3, a
    :class:`MemWidth`), ``x_addr``, ``x_store_data`` (rs2).
    X outputs: ``x_misaligned`` (the access raises a misaligned exception),
    ``x_access`` (it goes to the bus: X waits for ``x_ready``), ``x_ready``
    (the bus accepts the request this cycle), ``x_mask`` (byte lanes),
    ``x_wdata`` (store data on its lanes).

    W inputs: ``w_valid``, ``w_trap``, ``w_load``/``w_store``, ``w_width``,
    ``w_addr``.  W outputs: ``w_access`` (W owns a bus access), ``w_busy``
    (its response has not arrived), ``w_error`` (the response is a bus
    error), ``w_load_data`` (aligned, extended), ``w_rdata`` (the raw word).
    """

    dbus: Out(DataBus.Signature())

    x_valid: In(1)
    x_stall: In(1)
    x_trap: In(1)
    x_load: In(1)
    x_store: In(1)
    x_width: In(3)
    x_addr: In(32)
    x_store_data: In(32)
    x_misaligned: Out(1)
    x_access: Out(1)
    x_ready: Out(1)
    x_mask: Out(4)
    x_wdata: Out(32)

    w_valid: In(1)
    w_trap: In(1)
    w_load: In(1)
    w_store: In(1)
    w_width: In(3)
    w_addr: In(32)
    w_access: Out(1)
    w_busy: Out(1)
    w_error: Out(1)
    w_load_data: Out(32)
    w_rdata: Out(32)

    def elaborate(self, platform):
        m = Module()
        dbus = self.dbus

        # ---- X: alignment, byte lanes, request ----
        addr = self.x_addr
        size = self.x_width[0:2]
        misaligned = Signal()
        m.d.comb += misaligned.eq(Mux(size == 2, addr[0:2] != 0, Mux(size == 1, addr[0], 0)))
        with m.Switch(size):
            with m.Case(MemWidth.B.value):
                m.d.comb += self.x_mask.eq(Const(1, 4) << addr[0:2])
            with m.Case(MemWidth.H.value):
                m.d.comb += self.x_mask.eq(Mux(addr[1], 0b1100, 0b0011))
            with m.Default():
                m.d.comb += self.x_mask.eq(0b1111)
        with m.Switch(size):
            with m.Case(MemWidth.B.value):
                m.d.comb += self.x_wdata.eq(self.x_store_data[0:8].replicate(4))
            with m.Case(MemWidth.H.value):
                m.d.comb += self.x_wdata.eq(self.x_store_data[0:16].replicate(2))
            with m.Default():
                m.d.comb += self.x_wdata.eq(self.x_store_data)

        memory_op = self.x_load | self.x_store
        m.d.comb += [
            self.x_misaligned.eq(~self.x_trap & memory_op & misaligned),
            self.x_access.eq(memory_op & ~self.x_trap & ~misaligned),
            self.x_ready.eq(dbus.req.ready),
            dbus.req.valid.eq(self.x_valid & self.x_access & ~self.x_stall),
            dbus.req.payload.addr.eq(addr),
            dbus.req.payload.we.eq(self.x_store),
            dbus.req.payload.mask.eq(self.x_mask),
            dbus.req.payload.wdata.eq(self.x_wdata),
        ]

        # ---- W: response, load alignment and extension ----
        m.d.comb += [
            self.w_access.eq((self.w_load | self.w_store) & ~self.w_trap),
            self.w_busy.eq(self.w_valid & self.w_access & ~dbus.resp.valid),
            self.w_error.eq(self.w_access & dbus.resp.err),
            self.w_rdata.eq(dbus.resp.rdata),
        ]
        shifted = Signal(32)
        m.d.comb += shifted.eq(dbus.resp.rdata >> Cat(Const(0, 3), self.w_addr[0:2]))
        with m.Switch(self.w_width):
            with m.Case(MemWidth.B):
                m.d.comb += self.w_load_data.eq(shifted[0:8].as_signed())
            with m.Case(MemWidth.H):
                m.d.comb += self.w_load_data.eq(shifted[0:16].as_signed())
            with m.Case(MemWidth.BU):
                m.d.comb += self.w_load_data.eq(shifted[0:8])
            with m.Case(MemWidth.HU):
                m.d.comb += self.w_load_data.eq(shifted[0:16])
            with m.Default():
                m.d.comb += self.w_load_data.eq(shifted)
        return m
