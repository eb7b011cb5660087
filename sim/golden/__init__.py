"""Numpy golden models of the engine (bit-exact; see docs/numerics.md)."""
