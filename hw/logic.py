"""Small combinational building blocks shared by the blocks."""

from __future__ import annotations

from amaranth.hdl import Const

__all__ = ["or_all"]


def or_all(values):
    """Bitwise OR of ``values`` as a balanced tree (``Const(0, 1)`` for none).

    Used for AND-OR multiplexers: each term is already gated by its select,
    so the OR of all terms is the selected value.
    """
    values = list(values)
    if not values:
        return Const(0, 1)
    while len(values) > 1:
        values = [values[i] | values[i + 1] if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]
