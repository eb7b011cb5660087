"""Command encodings of the engine's three threads (unpack, math, pack).

Each command is one 64-bit word: the low 32 bits hold the operation and its
fields, the high 32 bits an L1 byte address or an fp32 scalar.  Through MMIO a
core writes CMD_LO, then CMD_HI, and the write of CMD_HI pushes the command
(docs/engine.md has the register map).
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, enum

__all__ = ["Format", "Fidelity", "UnpackOp", "MathOp", "PackOp", "ReduceDim", "ReduceKind", "SfpuOp",
           "UnpackCmd", "MathCmd", "PackCmd", "encode_unpack", "encode_math", "encode_pack"]


class Format(enum.Enum, shape=2):
    FLOAT32 = 0
    FLOAT16_B = 1
    BFP8_B = 2


class Fidelity(enum.Enum, shape=2):
    LOFI = 0
    HIFI2 = 1
    HIFI3 = 2
    HIFI4 = 3


class UnpackOp(enum.Enum, shape=4):
    NOP = 0
    #: Read one tile from L1 into SrcA or SrcB of the unpacker's current slot.
    UNPACK = 1


class MathOp(enum.Enum, shape=4):
    NOP = 0
    MATMUL = 1      #: Dst (+)= SrcA @ SrcB
    ADD = 2         #: Dst = (Dst +) SrcA + SrcB
    SUB = 3         #: Dst = (Dst +) SrcA - SrcB
    MUL = 4         #: Dst = (Dst +) SrcA * SrcB  (fidelity passes)
    REDUCE = 5      #: row (SrcA), column (SrcB) or scalar (SrcA) sum or max into Dst
    SFPU = 6        #: element-wise SFPU program on a Dst tile
    ZERO = 7        #: Dst tile = +0
    COMMIT = 8      #: hand the current Dst half to the packer; continue in the other half


class PackOp(enum.Enum, shape=4):
    NOP = 0
    #: Write one Dst tile of the packer's current half to L1.
    PACK = 1


class ReduceDim(enum.Enum, shape=2):
    ROW = 0
    COL = 1
    SCALAR = 2


class ReduceKind(enum.Enum, shape=1):
    SUM = 0
    MAX = 1


class SfpuOp(enum.Enum, shape=3):
    RELU = 0
    EXP = 1
    RECIP = 2
    SQRT = 3
    GELU = 4
    ADDS = 5   #: x + scalar
    MULS = 6   #: x * scalar


UnpackCmd = data.StructLayout({
    "op": UnpackOp,
    "operand": unsigned(1),   # 0 SrcA, 1 SrcB
    "fmt": Format,
    "push": unsigned(1),      # after this tile, the slot is valid for math
    "_pad": unsigned(24),
    "addr": unsigned(32),
})

MathCmd = data.StructLayout({
    "op": MathOp,
    "fidelity": Fidelity,
    "acc": unsigned(1),       # accumulate into Dst (else start from 0 / -inf)
    "pop": unsigned(1),       # release the Src slot after this operation
    "dst_tile": unsigned(4),  # tile index inside the math thread's Dst half
    "reduce_dim": ReduceDim,
    "reduce_kind": ReduceKind,
    "sfpu_op": SfpuOp,
    "_pad": unsigned(14),
    "scalar": unsigned(32),   # fp32 scalar of SFPU ADDS / MULS
})

PackCmd = data.StructLayout({
    "op": PackOp,
    "fmt": Format,
    "release": unsigned(1),   # after this tile, the Dst half goes back to math
    "_pad0": unsigned(1),
    "dst_tile": unsigned(4),
    "_pad1": unsigned(20),
    "addr": unsigned(32),
})

FORMAT_BY_NAME = {"float32": 0, "float16_b": 1, "bfp8_b": 2}
FIDELITY_BY_NAME = {"lofi": 0, "hifi2": 1, "hifi3": 2, "hifi4": 3}
MATH_OP_BY_NAME = {"nop": 0, "matmul": 1, "add": 2, "sub": 3, "mul": 4, "reduce": 5, "sfpu": 6,
                   "zero": 7, "commit": 8}
SFPU_BY_NAME = {"relu": 0, "exp": 1, "recip": 2, "sqrt": 3, "gelu": 4, "adds": 5, "muls": 6}
DIM_BY_NAME = {"row": 0, "col": 1, "scalar": 2}


def encode_unpack(addr: int, fmt: str, operand: str, push: bool = False) -> int:
    if operand not in ("a", "b"):
        raise ValueError(f"unpack operand must be 'a' or 'b', got {operand!r}")
    if not 0 <= addr < 1 << 32:
        raise ValueError(f"unpack address out of range: {addr!r}")
    low = 1 | ((operand == "b") << 4) | (FORMAT_BY_NAME[fmt] << 5) | (int(push) << 7)
    return low | (addr << 32)


def encode_math(op: str, *, fidelity: str = "hifi4", acc: bool = False, pop: bool = False,
                dst_tile: int = 0, dim: str = "row", kind: str = "sum", sfpu: str = "relu",
                scalar: int = 0) -> int:
    if op not in MATH_OP_BY_NAME:
        raise ValueError(f"unknown math op {op!r}; known: {list(MATH_OP_BY_NAME)}")
    if not 0 <= dst_tile < 16:
        raise ValueError(f"dst_tile must be in 0..15, got {dst_tile!r}")
    low = (MATH_OP_BY_NAME[op] | (FIDELITY_BY_NAME[fidelity] << 4) | (int(acc) << 6) | (int(pop) << 7)
           | (dst_tile << 8) | (DIM_BY_NAME[dim] << 12) | ({"sum": 0, "max": 1}[kind] << 14)
           | (SFPU_BY_NAME[sfpu] << 15))
    return low | ((scalar & 0xFFFFFFFF) << 32)


def encode_pack(addr: int, fmt: str, dst_tile: int = 0, release: bool = False) -> int:
    if not 0 <= dst_tile < 16:
        raise ValueError(f"dst_tile must be in 0..15, got {dst_tile!r}")
    low = 1 | (FORMAT_BY_NAME[fmt] << 4) | (int(release) << 6) | (dst_tile << 8)
    return low | (addr << 32)
