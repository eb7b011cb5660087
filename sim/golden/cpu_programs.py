"""Python goldens of the C benchmark programs' console output (sw/bench/cpu/*.c)."""

from __future__ import annotations

import zlib

import numpy as np

M32 = 0xFFFF_FFFF


class Lcg:
    """The LCG of bench.h."""
    def __init__(self, seed=12345):
        self.state = seed

    def __call__(self):
        self.state = (self.state * 1664525 + 1013904223) & M32
        return self.state


def _line(name, value):
    return f"{name}={value & M32:08x}\n"


def _hash(values, mul=31):
    h = 0
    for v in values:
        h = (h * mul + (v & M32)) & M32
    return h


def sort_output():
    lcg = Lcg()
    a = [lcg() for _ in range(1200)]
    b = sorted(a[:300])
    return _line("sort", _hash(sorted(a))) + _line("isort", b[0] ^ b[150] ^ b[299])


def crc_output():
    lcg = Lcg()
    data = bytes((lcg() >> 24) & 0xFF for _ in range(4096))
    return _line("crc1k", zlib.crc32(data[:1024])) + _line("crc4k", zlib.crc32(data))


def matmul_output():
    lcg = Lcg()
    n = 20
    A = np.zeros((n, n), dtype=np.int64)
    B = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            A[i, j] = (lcg() >> 20) - 2048
            B[i, j] = (lcg() >> 20) - 2048
    C = (A @ B).astype(np.int64)
    return _line("matmul", _hash(int(c) for c in C.flatten()))


def strings_output():
    lcg = Lcg()
    n = 2047
    text = "".join("abcd efgh"[lcg() >> 29] for _ in range(n))
    rev = text[::-1]
    h = 0
    for ch in rev:
        h = (h * 131 + ord(ch)) & M32
    count_ab = sum(1 for i in range(n) if text.startswith("ab", i))
    count_he = sum(1 for i in range(n) if text.startswith("h e", i))
    # str_cmp(text, copy): first differing character difference
    diff = next((ord(a) - ord(b) for a, b in zip(text, rev) if a != b), 0)
    return (_line("strhash", h) + _line("count", count_ab * 65536 + count_he) +
            _line("cmp", diff) + _line("parse", 4294967))


def divide_output():
    lcg = Lcg()
    digits = 0
    for _ in range(300):
        v = lcg()
        while v:
            digits += v % 10
            v //= 10
    g = 0
    for _ in range(200):
        a = lcg() >> 8
        b = lcg() >> 12
        while b:
            a, b = b, a % b
        g += a
    primes = sum(1 for n in range(2, 1500) if all(n % d for d in range(2, int(n ** 0.5) + 1)))
    s = 0
    for i in range(-500, 500, 7):
        q = int((i * 37) / 11)          # C truncates toward zero
        r = i - 13 * int(i / 13)
        s += q + r
    return (_line("digits", digits) + _line("gcd", g) + _line("primes", primes) +
            _line("signed", s))


def expected_console(name: str) -> str:
    return {"hello": lambda: "hello from tessera\n", "sort": sort_output, "crc": crc_output,
            "matmul": matmul_output, "strings": strings_output, "divide": divide_output}[name]()
