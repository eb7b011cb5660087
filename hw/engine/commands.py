"""Command encodings of the engine's three threads (unpack, math, pack).

Each command is one 64-bit word: the low 32 bits hold the operation and its
fields, the high 32 bits an L1 byte address or an fp32 scalar.  Through MMIO a
core writes CMD_LO, then CMD_HI, and the write of CMD_HI pushes the command
(docs/engine.md has the register map).

Every field that holds a code is an ``amaranth.lib.enum`` enum, and the C
header (``sw/toolchain/engine_api.py``) is generated from these enums and
layouts, so a code or a bit position is written down only here.
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import data, enum

__all__ = ["Format", "Fidelity", "UnpackOp", "SrcOperand", "MathOp", "PackOp", "ReduceDim", "ReduceKind", "SfpuOp",
           "UnpackCmd", "MathCmd", "PackCmd", "encode_unpack", "encode_math", "encode_pack",
           "FORMAT_BY_NAME", "FIDELITY_BY_NAME", "MATH_OP_BY_NAME", "SFPU_BY_NAME", "DIM_BY_NAME"]


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


class SrcOperand(enum.Enum, shape=1):
    """The Src register file an unpack command fills."""
    A = 0
    B = 1


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
    "operand": SrcOperand,
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

#: Dst tiles one command can name (math and pack share the width of ``dst_tile``).
DST_TILE_FIELD_TILES = 1 << MathCmd["dst_tile"].width
assert PackCmd["dst_tile"].width == MathCmd["dst_tile"].width


def _codes_by_name(enum_type) -> dict:
    """``{"lower-case member name": code}`` of an encoding enum (the names the encoders take)."""
    return {member.name.lower(): member.value for member in enum_type}


FORMAT_BY_NAME = _codes_by_name(Format)
FIDELITY_BY_NAME = _codes_by_name(Fidelity)
MATH_OP_BY_NAME = _codes_by_name(MathOp)
SFPU_BY_NAME = _codes_by_name(SfpuOp)
DIM_BY_NAME = _codes_by_name(ReduceDim)


def _member(enum_type, name, what: str):
    """The member of ``enum_type`` called ``name`` (lower case), or a ValueError quoting it."""
    known = _codes_by_name(enum_type)
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"unknown {what} {name!r}; known: {list(known)}")
    return enum_type(known[name])


def _check_dst_tile(dst_tile) -> int:
    if not isinstance(dst_tile, int) or not 0 <= dst_tile < DST_TILE_FIELD_TILES:
        raise ValueError(f"dst_tile must be in 0..{DST_TILE_FIELD_TILES - 1}, got {dst_tile!r}")
    return dst_tile


def _check_address(addr, what: str) -> int:
    if not isinstance(addr, int) or not 0 <= addr < 1 << 32:
        raise ValueError(f"{what} address out of range: {addr!r}")
    return addr


def _encode(layout: data.StructLayout, fields: dict) -> int:
    """The 64-bit command word of ``fields`` in ``layout`` (unnamed fields are 0)."""
    return layout.const(fields).as_value().value


def encode_unpack(addr: int, fmt: str, operand: str, push: bool = False) -> int:
    if operand not in ("a", "b"):
        raise ValueError(f"unpack operand must be 'a' or 'b', got {operand!r}")
    return _encode(UnpackCmd, {"op": UnpackOp.UNPACK, "operand": SrcOperand[operand.upper()],
                               "fmt": _member(Format, fmt, "format"), "push": int(push),
                               "addr": _check_address(addr, "unpack")})


def encode_math(op: str, *, fidelity: str = "hifi4", acc: bool = False, pop: bool = False,
                dst_tile: int = 0, dim: str = "row", kind: str = "sum", sfpu: str = "relu",
                scalar: int = 0) -> int:
    return _encode(MathCmd, {
        "op": _member(MathOp, op, "math op"), "fidelity": _member(Fidelity, fidelity, "fidelity"),
        "acc": int(acc), "pop": int(pop), "dst_tile": _check_dst_tile(dst_tile),
        "reduce_dim": _member(ReduceDim, dim, "reduce dim"), "reduce_kind": _member(ReduceKind, kind, "reduce kind"),
        "sfpu_op": _member(SfpuOp, sfpu, "sfpu op"), "scalar": scalar & 0xFFFFFFFF})


def encode_pack(addr: int, fmt: str, dst_tile: int = 0, release: bool = False) -> int:
    return _encode(PackCmd, {"op": PackOp.PACK, "fmt": _member(Format, fmt, "format"), "release": int(release),
                             "dst_tile": _check_dst_tile(dst_tile), "addr": _check_address(addr, "pack")})
