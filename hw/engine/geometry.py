"""Derived sizes of the engine's register files, from ``cfg.engine`` and ``cfg.l1``.

Register-file organisation (R = mm_rows, K = mm_inner, C = mm_cols of ``cfg.engine``):

* SrcA: R memories (tile row mod R); a word holds K values of one row.
  Two buffers (the double-buffered Src slots).
* SrcB: K memories (tile row mod K); a word holds C values of one row.
* Dst:  R memories (tile row mod R); a word holds C values of one row;
  ``dst_tiles`` tiles, split into two halves (math and pack).

So one cycle reads an R x K block of A, a K x C block of B and an R x C block
of Dst, and every word is a run of consecutive values of one face row, which
is what the unpacker and packer move to and from L1.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Signal

from tessera.hw.config import TesseraConfig
from tessera.hw.engine.commands import Format

__all__ = ["EngineGeometry", "FORMAT_BYTES", "log2", "require_geometry", "require_ports"]

#: Bytes per value of the data section of each format (bfp8 adds a section of block exponents).
FORMAT_BYTES = {Format.FLOAT32: 4, Format.FLOAT16_B: 2, Format.BFP8_B: 1}


def log2(value: int) -> int:
    """log2 of a power of two (the bits that index ``value`` things)."""
    return value.bit_length() - 1


class EngineGeometry:
    """The sizes the engine's blocks share, derived once from ``cfg`` (see the module docstring).

    * ``mm_rows`` x ``mm_inner`` @ ``mm_inner`` x ``mm_cols``: the lane array's block shape.
    * ``row_groups`` (tile rows / mm_rows), ``inner_chunks`` (tile columns / mm_inner),
      ``col_chunks`` (tile columns / mm_cols): the blocks of a tile.
    * ``srca_words`` / ``srcb_words``: words of one SrcA / SrcB memory per Src slot;
      ``tile_words``: words of one Dst memory per tile.
    """

    def __init__(self, cfg: TesseraConfig):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"the engine needs a TesseraConfig, got {cfg!r}")
        engine, l1 = cfg.engine, cfg.l1
        self.cfg = cfg
        self.mm_rows, self.mm_inner, self.mm_cols = engine.mm_rows, engine.mm_inner, engine.mm_cols
        if self.mm_inner != self.mm_cols:
            raise ValueError(f"the engine needs mm_inner == mm_cols (element-wise operands share a "
                             f"layout), got {self.mm_inner} and {self.mm_cols}")
        if self.mm_inner % self.mm_rows:
            raise ValueError(f"the engine needs mm_rows to divide mm_inner, got {self.mm_rows} and {self.mm_inner}")
        self.tile_rows, self.tile_cols = engine.tile_rows, engine.tile_cols
        if self.tile_rows != self.tile_cols:
            raise ValueError(f"the engine needs square tiles, got {self.tile_rows}x{self.tile_cols}")
        self.face_rows, self.face_cols = engine.face_rows, engine.face_cols
        self.tile_elems = engine.tile_elems
        self.bfp_block = engine.bfp_block
        self.bank_bytes = l1.bank_bytes
        self.bank_width = l1.bank_width
        self.l1_address_bits = l1.address_bits
        self.row_groups = self.tile_rows // self.mm_rows      # row groups of A / Dst
        self.inner_chunks = self.tile_cols // self.mm_inner   # column chunks of A (and row groups of B)
        self.col_chunks = self.tile_cols // self.mm_cols      # column chunks of B / Dst
        self.srca_words = self.row_groups * self.inner_chunks
        self.srcb_words = self.inner_chunks * self.col_chunks
        self.tile_words = self.row_groups * self.col_chunks
        self.dst_tiles = engine.dst_tiles
        self.dst_words = self.dst_tiles * self.tile_words
        self.half_tiles = engine.dst_tiles // 2
        self.bfp_exp_bytes = self.tile_elems // self.bfp_block
        for fmt in FORMAT_BYTES:
            per_word = self.values_per_word(fmt)
            if fmt != Format.BFP8_B and per_word > self.mm_cols:
                raise ValueError(f"an L1 word of format {fmt.name} holds {per_word} values, more than a Dst "
                                 f"word ({self.mm_cols}); widen mm_cols or narrow l1.bank_width")
        if self.bank_bytes > self.bfp_block or self.bfp_block % self.bank_bytes:
            raise ValueError(f"the bfp8 block ({self.bfp_block}) must be a multiple of the L1 word "
                             f"({self.bank_bytes} bytes)")
        if self.bfp_block % self.mm_cols or self.bfp_block > self.face_cols:
            raise ValueError(f"the bfp8 block ({self.bfp_block}) must be a multiple of mm_cols ({self.mm_cols}) "
                             f"inside one face row ({self.face_cols})")
        if self.bfp_exp_bytes % self.bank_bytes:
            raise ValueError(f"{self.bfp_exp_bytes} bfp8 exponents do not fill whole L1 words of "
                             f"{self.bank_bytes} bytes")
        if self.values_per_word(Format.BFP8_B) > self.face_cols:
            raise ValueError(f"an L1 word of bfp8 ({self.bank_bytes} values) spans more than a face row")

    def values_per_word(self, fmt) -> int:
        """Values per L1 word in format ``fmt`` (a :class:`Format` or its code)."""
        return self.bank_bytes // FORMAT_BYTES[Format(fmt)]

    def data_words(self, fmt) -> int:
        """L1 words of the data section of one tile in format ``fmt``."""
        return self.tile_elems * FORMAT_BYTES[Format(fmt)] // self.bank_bytes

    def dst_tile_base(self, m, half, dst_tile):
        """HDL: the first Dst word of tile ``dst_tile`` (a command field) of Dst half ``half``."""
        tile_in_half = dst_tile[:log2(self.half_tiles)] if self.half_tiles > 1 else 0
        base = Signal(range(self.dst_words + 1))
        m.d.comb += base.eq((half * self.half_tiles + tile_in_half) * self.tile_words)
        return base

    def position(self, index):
        """(row, col) of the value at L1-order index ``index`` (an Amaranth value or an int)."""
        face_rows, face_cols = self.face_rows, self.face_cols
        row_bits, col_bits = log2(face_rows), log2(face_cols)
        face_col_bits = log2(self.tile_cols // face_cols)   # bits of the face's column in the tile
        face_bits = row_bits + col_bits                      # bits of the index inside one face
        if isinstance(index, int):
            face, inner = index >> face_bits, index & ((1 << face_bits) - 1)
            row = ((face >> face_col_bits) << row_bits) | (inner >> col_bits)
            col = ((face & ((1 << face_col_bits) - 1)) << col_bits) | (inner & (face_cols - 1))
            return row, col
        face = index[face_bits:]
        col_in_face = index[:col_bits]
        row_in_face = index[col_bits:face_bits]
        face_col = face[:face_col_bits] if face_col_bits else Const(0, 0)
        face_row = face[face_col_bits:]
        row = Cat(row_in_face, face_row)[:log2(self.tile_rows)]
        col = Cat(col_in_face, face_col)[:log2(self.tile_cols)]
        return row, col


def require_geometry(owner: str, geo) -> EngineGeometry:
    """``geo``, checked to be the :class:`EngineGeometry` a block ``owner`` is built from."""
    if not isinstance(geo, EngineGeometry):
        raise TypeError(f"{owner} needs an EngineGeometry, got {geo!r}")
    return geo


def require_ports(owner: str, what: str, ports, count: int) -> list:
    """``ports`` as a list, checked to hold the ``count`` memory ports ``what`` of block ``owner``."""
    ports = list(ports)
    if len(ports) != count:
        raise ValueError(f"{owner} needs {count} {what}, got {len(ports)}")
    return ports
