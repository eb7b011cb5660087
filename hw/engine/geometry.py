"""Derived sizes of the engine's register files, from ``cfg.engine`` and ``cfg.l1``.

Register-file organisation (R = mm_rows, K = mm_inner, C = mm_cols):

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

from amaranth.hdl import Cat, Const

from tessera.hw.config import TesseraConfig

__all__ = ["EngineGeometry", "FORMAT_BYTES"]

#: Bytes per value of the data section of each format code (bfp8 adds exponents).
FORMAT_BYTES = {0: 4, 1: 2, 2: 1}


def _log2(value: int) -> int:
    return value.bit_length() - 1


class EngineGeometry:
    def __init__(self, cfg: TesseraConfig):
        if not isinstance(cfg, TesseraConfig):
            raise TypeError(f"the engine needs a TesseraConfig, got {cfg!r}")
        e, l1 = cfg.engine, cfg.l1
        self.cfg = cfg
        self.R, self.K, self.C = e.mm_rows, e.mm_inner, e.mm_cols
        if self.K != self.C:
            raise ValueError(f"the engine needs mm_inner == mm_cols (element-wise operands share a "
                             f"layout), got {self.K} and {self.C}")
        if self.K % self.R:
            raise ValueError(f"the engine needs mm_rows to divide mm_inner, got {self.R} and {self.K}")
        self.rows, self.cols = e.tile_rows, e.tile_cols
        if self.rows != self.cols:
            raise ValueError(f"the engine needs square tiles, got {self.rows}x{self.cols}")
        self.face_rows, self.face_cols = e.face_rows, e.face_cols
        self.elems = e.tile_elems
        self.block = e.bfp_block
        self.bank_bytes = l1.bank_bytes
        self.bank_width = l1.bank_width
        self.addr_bits = l1.address_bits
        self.nrg = self.rows // self.R          # row groups of A / Dst
        self.nkc = self.cols // self.K          # column chunks of A (and row groups of B)
        self.ncc = self.cols // self.C          # column chunks of B / Dst
        self.a_depth = self.nrg * self.nkc      # words per SrcA memory per buffer
        self.b_depth = self.nkc * self.ncc
        self.tile_words = self.nrg * self.ncc   # words per Dst memory per tile
        self.dst_tiles = e.dst_tiles
        self.half_tiles = e.dst_tiles // 2
        self.exp_bytes = self.elems // self.block
        for fmt, bpv in FORMAT_BYTES.items():
            vpw = self.bank_bytes // bpv
            if fmt != 2 and vpw > self.C:
                raise ValueError(f"an L1 word of format {fmt} holds {vpw} values, more than a Dst word "
                                 f"({self.C}); widen mm_cols or narrow l1.bank_width")
        if self.bank_bytes > self.block or self.block % self.bank_bytes:
            raise ValueError(f"the bfp8 block ({self.block}) must be a multiple of the L1 word "
                             f"({self.bank_bytes} bytes)")
        if self.block % self.C or self.block > self.face_cols:
            raise ValueError(f"the bfp8 block ({self.block}) must be a multiple of mm_cols ({self.C}) "
                             f"inside one face row ({self.face_cols})")
        if self.exp_bytes % self.bank_bytes:
            raise ValueError(f"{self.exp_bytes} bfp8 exponents do not fill whole L1 words of "
                             f"{self.bank_bytes} bytes")
        if self.bank_bytes // 1 > self.face_cols:
            raise ValueError(f"an L1 word of bfp8 ({self.bank_bytes} values) spans more than a face row")

    def vpw(self, fmt: int) -> int:
        """Values per L1 word in format ``fmt``."""
        return self.bank_bytes // FORMAT_BYTES[fmt]

    def data_words(self, fmt: int) -> int:
        return self.elems * FORMAT_BYTES[fmt] // self.bank_bytes

    def position(self, idx):
        """(row, col) of the value at L1-order index ``idx`` (an Amaranth value or an int)."""
        fr, fc = self.face_rows, self.face_cols
        lfr, lfc = _log2(fr), _log2(fc)
        lnfc = _log2(self.cols // fc)
        lface = lfr + lfc
        if isinstance(idx, int):
            face, inner = idx >> lface, idx & ((1 << lface) - 1)
            row = ((face >> lnfc) << lfr) | (inner >> lfc)
            col = ((face & ((1 << lnfc) - 1)) << lfc) | (inner & (fc - 1))
            return row, col
        face = idx[lface:]
        fcol = idx[:lfc]
        frow = idx[lfc:lface]
        face_c = face[:lnfc] if lnfc else Const(0, 0)
        face_r = face[lnfc:]
        row = Cat(frow, face_r)[:_log2(self.rows)]
        col = Cat(fcol, face_c)[:_log2(self.cols)]
        return row, col
