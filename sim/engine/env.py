"""cocotb environment of the engine: an L1 model on both ports and the three command streams.

One coroutine serves everything each cycle (drive on the falling edge,
sample in ReadOnly), which keeps the Python cost per simulated cycle low.
The L1 model follows hw.tile.l1_port: a request accepted on edge t is
answered (old word) in the cycle after it; ``stall_prob`` withdraws
``ready`` at random to model a contended L1.
"""

from __future__ import annotations

import random
from collections import deque

import numpy as np

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly

from tessera.hw.engine.geometry import EngineGeometry
from tessera.hw.tile.l1_port import L1AddressMap


class EngineEnv:
    THREADS = ("unpack", "math", "pack")

    def __init__(self, dut, cfg, rng: random.Random | None = None, stall_prob: float = 0.0):
        self.dut = dut
        self.cfg = cfg
        self.geo = EngineGeometry(cfg)
        self.mem = bytearray(cfg.l1.size_bytes)
        self.rng = rng or random.Random(0)
        self.stall_prob = stall_prob
        self.queues = {t: deque() for t in self.THREADS}
        self.cycle = 0
        self.mm_issue = 0
        self.running = False
        bw = cfg.l1.bank_width
        self.addr_bits = cfg.l1.address_bits
        self.bank_bytes = cfg.l1.bank_bytes
        self.ports = {}
        for name in ("unpack_l1", "pack_l1"):
            self.ports[name] = {
                "valid": getattr(dut, f"{name}__req__valid"),
                "ready": getattr(dut, f"{name}__req__ready"),
                "payload": getattr(dut, f"{name}__req__payload"),
                "rvalid": getattr(dut, f"{name}__resp__valid"),
                "rdata": getattr(dut, f"{name}__resp__rdata"),
                "pending": None,
                "ready_now": 0,
            }
        self.cmd = {t: (getattr(dut, f"{t}_cmd__valid"), getattr(dut, f"{t}_cmd__ready"),
                        getattr(dut, f"{t}_cmd__payload")) for t in self.THREADS}
        self.bw = bw

    # -- L1 contents ---------------------------------------------------------
    def write(self, addr: int, data: bytes):
        self.mem[addr:addr + len(data)] = data

    def read(self, addr: int, n: int) -> bytes:
        return bytes(self.mem[addr:addr + n])

    def _access(self, payload: int) -> int:
        ab, bb = self.addr_bits, self.bank_bytes
        addr = payload & ((1 << ab) - 1)
        op = (payload >> ab) & 3
        mask = (payload >> (ab + 2)) & ((1 << bb) - 1)
        wdata = payload >> (ab + 2 + bb)
        base = addr & ~(bb - 1)
        old = int.from_bytes(self.mem[base:base + bb], "little")
        if op == 1:
            new = bytearray(self.mem[base:base + bb])
            wb = wdata.to_bytes(bb, "little")
            for i in range(bb):
                if mask >> i & 1:
                    new[i] = wb[i]
            self.mem[base:base + bb] = new
        elif op != 0:
            raise AssertionError(f"engine issued L1 op {op} at {addr:#x}")
        return old

    # -- commands -------------------------------------------------------------
    def push(self, thread: str, *words: int):
        self.queues[thread].extend(words)

    def start(self):
        for t in self.THREADS:
            self.cmd[t][0].value = 0
        for p in self.ports.values():
            p["ready"].value = 0
            p["rvalid"].value = 0
        self.running = True
        return cocotb.start_soon(self._loop())

    async def _loop(self):
        dut = self.dut
        rng = self.rng
        while self.running:
            await FallingEdge(dut.clk)
            for p in self.ports.values():
                if p["pending"] is not None:
                    p["rvalid"].value = 1
                    p["rdata"].value = p["pending"]
                    p["pending"] = None
                else:
                    p["rvalid"].value = 0
                r = 0 if (self.stall_prob and rng.random() < self.stall_prob) else 1
                p["ready"].value = r
                p["ready_now"] = r
            for t in self.THREADS:
                valid, _, payload = self.cmd[t]
                q = self.queues[t]
                if q:
                    valid.value = 1
                    payload.value = q[0]
                else:
                    valid.value = 0
            await ReadOnly()
            self.cycle += 1
            if int(dut.mm_issue.value):
                self.mm_issue += 1
            for p in self.ports.values():
                if p["ready_now"] and int(p["valid"].value):
                    p["pending"] = self._access(int(p["payload"].value))
            for t in self.THREADS:
                valid, ready, _ = self.cmd[t]
                if self.queues[t] and int(ready.value):
                    self.queues[t].popleft()

    def idle(self) -> bool:
        return (not any(self.queues.values())) and int(self.dut.busy.value) == 0 \
            and all(p["pending"] is None for p in self.ports.values())

    async def drain(self, timeout: int = 200_000) -> int:
        """Wait until every queue is empty and every thread idle; returns cycles waited."""
        start = self.cycle
        while True:
            await FallingEdge(self.dut.clk)
            await ReadOnly()
            if self.idle():
                break
            if self.cycle - start > timeout:
                raise TimeoutError(f"engine not idle after {timeout} cycles: queues "
                                   f"{[len(q) for q in self.queues.values()]} busy={self.dut.busy.value} "
                                   f"src_valid={self.dut.src_valid.value} dst_full={self.dut.dst_full.value}")
        await FallingEdge(self.dut.clk)
        return self.cycle - start


def compare_bytes(got: bytes, want: bytes, what: str):
    if got != want:
        g = np.frombuffer(got, dtype=np.uint8)
        w = np.frombuffer(want, dtype=np.uint8)
        bad = np.nonzero(g != w)[0]
        raise AssertionError(f"{what}: {len(bad)} bytes differ, first at byte {bad[0]}: "
                             f"got {got[bad[0] & ~3:(bad[0] & ~3) + 8].hex()} "
                             f"want {want[bad[0] & ~3:(bad[0] & ~3) + 8].hex()}")
