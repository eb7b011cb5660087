"""The numerics contract: the constants the engine's hardware and its golden
models must agree on.

The engine (``tessera.hw.engine``) builds its arithmetic from these values,
and the bit-exact numpy models (``tessera.sim.golden``) import them from
here, so a change is made once and both sides follow.  docs/numerics.md is
the written specification.  Plain Python integers only: this module is read
by the HDL and must not depend on numpy.
"""

from __future__ import annotations

import math
import struct

__all__ = [
    "CANON_NAN", "POS_INF", "NEG_INF", "SUM_WINDOW", "PRODUCT_MBITS", "FP32_MBITS",
    "LOG2E_Q30", "LN2_Q30", "EXP_TABLE_BITS", "exp_table", "GELU_C", "GELU_K", "fp32_bits",
]


def fp32_bits(value: float) -> int:
    """The IEEE-754 binary32 bit pattern of ``value`` (rounded to nearest)."""
    return struct.unpack("<I", struct.pack("<f", value))[0]


#: The one NaN every operation produces.
CANON_NAN = 0x7FC00000
POS_INF = 0x7F800000
NEG_INF = 0xFF800000

#: Bits kept below the largest term's bound in a fused sum.
SUM_WINDOW = 32
#: Bound on the bits of a slice product (5-bit SrcA slice x 7-bit SrcB slice).
PRODUCT_MBITS = 12
#: Bits of an fp32 significand with the hidden bit.
FP32_MBITS = 24

#: log2(e) and ln(2) in Q30 fixed point (e^x range reduction).
LOG2E_Q30 = round(math.log2(math.e) * (1 << 30))
LN2_Q30 = round(math.log(2) * (1 << 30))
#: Index bits of the 2^(i/256) table.
EXP_TABLE_BITS = 8


def exp_table() -> list:
    """2^(i/256) in Q30 (value * 2^30), i = 0..255."""
    return [round(2.0 ** (i / (1 << EXP_TABLE_BITS)) * (1 << 30)) for i in range(1 << EXP_TABLE_BITS)]


#: GELU (tanh form) coefficients as fp32 patterns: 0.044715 and -2*sqrt(2/pi).
GELU_C = fp32_bits(0.044715)
GELU_K = fp32_bits(-2.0 * math.sqrt(2.0 / math.pi))
