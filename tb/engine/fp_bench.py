"""Shared pieces of the Amaranth-simulator tests of the engine's floating-point units
(test_fp_units.py, test_sfpu_units.py): corner patterns, a component that wraps units under test,
and the bit-exact comparison with the golden."""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tessera.hw.engine import fp

#: fp32 patterns every unit must get right: +-0, denormals, smallest and largest normal, +-inf,
#: NaNs, +-1, values near the exp overflow and underflow limits, and rounding neighbours of 1.
CORNERS = [0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x80800000, 0x7F7FFFFF,
           0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0x3F800000, 0xBF800000,
           0x42B17218, 0xC2AEAC50, 0x42FE0000, 0xC2FE0000, 0x3F7FFFFF, 0x33800000, 0x3F800001]


class FpUnitBench(wiring.Component):
    """32-bit operand inputs and one 32-bit output per unit under test.

    ``units`` maps an output name to ``build(m, dut, stages)``, the unit's result from the inputs
    (``dut.a``, ...); a pipelined unit puts its register cuts in ``stages`` (an ``fp.Stages`` of its
    own), a combinational one ignores it.  Once elaborated, ``latency[name]`` is the number of cuts of
    that unit.  ``extra_inputs`` maps the names of further inputs to their widths.
    """

    def __init__(self, operands, units: dict, extra_inputs: dict | None = None):
        self._units = dict(units)
        self.latency = {}
        members = {name: In(32) for name in operands}
        members.update({name: In(width) for name, width in (extra_inputs or {}).items()})
        members.update({name: Out(32) for name in self._units})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        for name, build in self._units.items():
            stages = fp.Stages()
            m.d.comb += getattr(self, name).eq(build(m, self, stages))
            self.latency[name] = stages.count
        return m


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return str([hex(v) for v in value])
    if isinstance(value, np.uint32):
        return f"{int(value):#010x}"
    return str(value)


def assert_bits_equal(got, want, what: str, **operands) -> None:
    """``got`` (the HDL's fp32 patterns) equals ``want`` (the golden's) element for element; a
    mismatch reports how many differ and the first one with its ``operands`` (arrays indexed alike:
    uint32 elements print as hex, rows as lists of hex, anything else as it is)."""
    got = np.asarray(got, dtype=np.uint32)
    bad = np.nonzero(got != want)[0]
    if len(bad):
        i = bad[0]
        inputs = " ".join(f"{name}={_describe(values[i])}" for name, values in operands.items())
        raise AssertionError(f"{what}: {len(bad)} mismatches, first {inputs} "
                             f"hdl={got[i]:#010x} golden={want[i]:#010x}")
