"""Export wrapper: the same component with every port flattened to a plain bit vector.

``sim/export.py`` measures each top-level port with ``len()``, which Amaranth
refuses on a struct view (``lib.data`` layouts such as an L1 request).  This
wrapper presents each leaf port of the wrapped component as one unsigned
member named by its path joined with ``__`` — exactly the Verilog name the
port has anyway — so the exported Verilog and its port names are the same as
the wrapped component's, bit for bit.  Block factories of this package return
it; Amaranth users instantiate the real components.
"""

from __future__ import annotations

from amaranth.hdl import Module, Value, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["FlatPorts"]


class FlatPorts(wiring.Component):
    """Wraps ``inner``; member ``a__b__c`` is ``inner.a.b.c`` as a plain vector."""

    def __init__(self, inner: wiring.Component):
        if not isinstance(inner, wiring.Component):
            raise TypeError(f"FlatPorts wraps a wiring.Component, got {inner!r}")
        self.inner = inner
        self._leaves = []
        members = {}
        for path, member, value in inner.signature.flatten(inner):
            name = "__".join(str(p) for p in path)
            width = len(Value.cast(value))
            members[name] = (In if member.flow == wiring.In else Out)(unsigned(width))
            self._leaves.append((name, member.flow, value))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = self.inner
        for name, flow, value in self._leaves:
            outer = getattr(self, name)
            if flow == wiring.In:
                m.d.comb += Value.cast(value).eq(outer)
            else:
                m.d.comb += outer.eq(Value.cast(value))
        return m
