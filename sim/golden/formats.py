"""Tile formats in L1: Float32, Float16_b (bfloat16) and Bfp8_b, bit-exact.

A tile is stored face by face (faces in row-major order), each face row-major:
this *L1 order* is what :func:`tile_to_l1_order` produces.  Bfp8_b stores all
shared exponents first (one byte per ``bfp_block`` consecutive values in L1
order), then one byte per value: sign in bit 7, a 7-bit magnitude with no
hidden bit in bits 6..0; value = (-1)^s * mag * 2^(exp - 127 - 6).

Encoding (the packer, and the host's packing): the block exponent is the
largest biased exponent in the block; each magnitude is the value rounded to
the block's grid with round-to-nearest-even (exact sticky: every dropped bit
counts, unlike Tenstorrent's host code which drops shifted-out bits first);
if a magnitude rounds up to 128 the block exponent is raised by one and every
value rounded again from its original.  Blocks holding Inf or NaN (or
overflowing past exponent 254) get exponent 255: magnitude 0x40 means
infinity, 0x7F NaN, 0 zero.  Decoding flushes results below the smallest
normal fp32 to signed zero.
"""

from __future__ import annotations

import numpy as np
import ml_dtypes

from tessera.sim.golden.numerics import CANON_NAN, KIND_FINITE, KIND_INF, KIND_NAN, classify, ftz, rne_shift

__all__ = ["FORMAT_CODES", "tile_to_l1_order", "l1_order_to_tile", "to_bf16_bits", "f32_to_bits",
           "bits_to_f32", "bfp8_encode", "bfp8_decode", "pack_tile", "unpack_tile"]

#: Format codes used in engine commands.
FORMAT_CODES = {"float32": 0, "float16_b": 1, "bfp8_b": 2}


def tile_to_l1_order(tile, ecfg):
    """Flatten a (tile_rows, tile_cols) array into L1 order (faces, then rows)."""
    tile = np.asarray(tile)
    fr, fc = ecfg.face_rows, ecfg.face_cols
    faces = tile.reshape(ecfg.tile_rows // fr, fr, ecfg.tile_cols // fc, fc).transpose(0, 2, 1, 3)
    return faces.reshape(-1)


def l1_order_to_tile(flat, ecfg):
    fr, fc = ecfg.face_rows, ecfg.face_cols
    nfr, nfc = ecfg.tile_rows // fr, ecfg.tile_cols // fc
    return np.asarray(flat).reshape(nfr, nfc, fr, fc).transpose(0, 2, 1, 3).reshape(
        ecfg.tile_rows, ecfg.tile_cols)


def f32_to_bits(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def bits_to_f32(bits):
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def to_bf16_bits(bits):
    """fp32 patterns -> bfloat16 patterns, RNE; NaN -> 0x7FC0 (ml_dtypes does the rounding)."""
    bits = np.asarray(bits, dtype=np.uint32)
    bf = bits_to_f32(bits).astype(ml_dtypes.bfloat16).view(np.uint16).astype(np.uint32)
    bf = np.where(classify(bits) == KIND_NAN, 0x7FC0, bf)
    return bf.astype(np.uint16)


def bfp8_encode(bits, block: int):
    """fp32 patterns (L1 order, length a multiple of ``block``) -> (exponents uint8, bytes uint8)."""
    b = np.asarray(bits, dtype=np.uint32).reshape(-1, block).astype(np.int64)
    s = (b >> 31) & 1
    e = (b >> 23) & 0xFF
    f = b & 0x7FFFFF
    kind = classify(b)
    finite = kind == KIND_FINITE
    special = ((kind == KIND_INF) | (kind == KIND_NAN)).any(axis=1)
    emax = np.where(finite, e, 0).max(axis=1)
    m = f | (1 << 23)

    def mags(shared):
        sh = 17 + shared[:, None] - e
        return np.where(finite, rne_shift(m, np.minimum(sh, 62)), 0)

    mag = mags(emax)
    ovf = (mag >= 128).any(axis=1)
    eout = emax + ovf
    mag = np.where(ovf[:, None], mags(eout), mag)
    special_blk = special | (eout >= 255)
    big = (mag >= 64) & (eout[:, None] >= 255)
    smag = np.where(kind == KIND_INF, 0x40, np.where(big, 0x40, 0))
    smag = np.where(kind == KIND_NAN, 0x7F, smag)
    ssign = np.where(kind == KIND_NAN, 0, s)
    mag = np.where(special_blk[:, None], smag, mag)
    s = np.where(special_blk[:, None], ssign, s)
    eout = np.where(special_blk, 255, eout)
    data = ((s << 7) | mag).astype(np.uint8).reshape(-1)
    return eout.astype(np.uint8), data


def bfp8_decode(exps, data, block: int):
    """Inverse of :func:`bfp8_encode`: fp32 patterns in L1 order."""
    d = np.asarray(data, dtype=np.int64).reshape(-1, block)
    ex = np.asarray(exps, dtype=np.int64)[:, None]
    s = d >> 7
    mag = d & 0x7F
    length = np.zeros_like(mag)
    for bit in range(7):
        length = np.where((mag >> bit) & 1 == 1, bit + 1, length)
    # value = mag * 2^(ex - 133) = 1.x * 2^(ex - 133 + length - 1)
    biased = ex - 133 + length - 1 + 127
    mant = (mag << (24 - np.maximum(length, 1))) & 0x7FFFFF
    out = (s << 31) | (np.clip(biased, 0, 255) << 23) | mant
    out = np.where((mag == 0) | (biased <= 0) | (ex == 0), s << 31, out)
    special = ex == 255
    sp = np.where(mag == 0x40, (s << 31) | 0x7F800000, int(CANON_NAN))
    sp = np.where(mag == 0, s << 31, sp)
    out = np.where(special, sp, out)
    return out.astype(np.uint32).reshape(-1)


def pack_tile(dst_bits, fmt: str, ecfg) -> bytes:
    """A Dst tile (fp32 patterns, tile shape) -> the bytes the packer writes to L1."""
    flat = tile_to_l1_order(np.asarray(dst_bits, dtype=np.uint32), ecfg)
    if fmt == "float32":
        return flat.astype("<u4").tobytes()
    if fmt == "float16_b":
        return to_bf16_bits(flat).astype("<u2").tobytes()
    if fmt == "bfp8_b":
        exps, data = bfp8_encode(flat, ecfg.bfp_block)
        return exps.tobytes() + data.tobytes()
    raise ValueError(f"unknown tile format {fmt!r}")


def unpack_tile(raw: bytes, fmt: str, ecfg):
    """L1 bytes of one tile -> the Src register contents (fp32 patterns, tile shape)."""
    n = ecfg.tile_elems
    if fmt == "float32":
        flat = np.frombuffer(raw[:4 * n], dtype="<u4").astype(np.uint32)
    elif fmt == "float16_b":
        flat = np.frombuffer(raw[:2 * n], dtype="<u2").astype(np.uint32) << 16
    elif fmt == "bfp8_b":
        nb = n // ecfg.bfp_block
        exps = np.frombuffer(raw[:nb], dtype=np.uint8)
        data = np.frombuffer(raw[nb:nb + n], dtype=np.uint8)
        flat = bfp8_decode(exps, data, ecfg.bfp_block)
    else:
        raise ValueError(f"unknown tile format {fmt!r}")
    return l1_order_to_tile(ftz(flat), ecfg)
