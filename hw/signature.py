"""A ``wiring.Signature`` base whose instances compare by value.

amaranth's ``Signature.__eq__`` compares two instances of a subclass by
identity, so ``L1PortSignature(cfg.l1)`` built twice would be two different
signatures.  Every signature class of Tessera derives from
:class:`ValueSignature` instead: it names its constructor parameters in
:meth:`~ValueSignature.parameters`, two signatures are equal when they are of
the same class with equal parameters, and the repr quotes those parameters.
A flipped signature equals another flipped one of equal value and never an
unflipped one (amaranth's ``FlippedSignature`` delegates to these methods).
"""

from __future__ import annotations

from amaranth.lib import wiring

__all__ = ["ValueSignature"]


class ValueSignature(wiring.Signature):
    """Equal to another signature of the same class with the same :meth:`parameters`."""

    def parameters(self) -> dict:
        """The constructor parameters, name -> value (none by default)."""
        return {}

    def __eq__(self, other):
        return type(other) is type(self) and other.parameters() == self.parameters()

    def __hash__(self):
        return hash((type(self), tuple(self.parameters().items())))

    def __repr__(self):
        args = ", ".join(f"{name}={value!r}" for name, value in self.parameters().items())
        return f"{type(self).__qualname__}({args})"
