"""Helpers for cocotb test modules (run inside the simulator process).

Shared by every testbench: configuration and parameters handed over by
:func:`sim.harness.run_cocotb`, the simulator-side clock, reset, a seeded RNG
that reports its seed on failure, and stream drivers/monitors for
``lib.stream`` ports exported as ``<name>__valid/ready/payload``.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge

from tessera.hw.config import TesseraConfig, preset
from tessera.sim.clock import CLOCK_PERIOD_NS

__all__ = ["load_config", "load_params", "seeded_rng", "start_clock", "reset",
           "StreamDriver", "StreamMonitor", "CLOCK_PERIOD_NS"]


def load_config() -> TesseraConfig:
    text = os.environ.get("TESSERA_CONFIG_JSON")
    return TesseraConfig.from_json(text) if text else preset("tiny")


def load_params() -> dict:
    return json.loads(os.environ.get("TESSERA_BLOCK_PARAMS", "{}"))


def seeded_rng(dut=None, salt: str = "") -> random.Random:
    """A ``random.Random`` seeded from TESSERA_SEED (or cocotb's seed); logs the seed."""
    seed = int(os.environ.get("TESSERA_SEED", cocotb.RANDOM_SEED))
    if dut is not None:
        dut._log.info("random seed %d%s (rerun with TESSERA_SEED=%d)", seed,
                      f" [{salt}]" if salt else "", seed)
    return random.Random(f"{seed}:{salt}")


def start_clock(dut, signal_name: str = "clk"):
    """Start the simulator-side clock (cocotb's GPI clock, implemented in C++)."""
    clock = Clock(getattr(dut, signal_name), CLOCK_PERIOD_NS, unit="ns")
    clock.start()
    return clock


async def reset(dut, cycles: int = 2, signal_name: str = "rst"):
    rst = getattr(dut, signal_name)
    rst.value = 1
    await ClockCycles(dut.clk, cycles)
    await FallingEdge(dut.clk)
    rst.value = 0


class _StreamPort:
    """The ``<prefix>__valid/ready/payload`` handles of one ``lib.stream`` port."""

    def __init__(self, dut, prefix: str, rng: random.Random):
        self.clk = dut.clk
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self.rng = rng


class StreamDriver(_StreamPort):
    """Drives a valid/ready input stream ``<prefix>__valid/ready/payload``.

    Inputs change on the falling edge; the handshake is sampled in the
    read-only phase just before the rising edge that commits it, so the
    driver sees exactly what the design sees.  ``idle_prob`` inserts random
    bubbles between words (injection timing).

    :meth:`request` is the single handshake (also the request side of
    request/response ports such as a bus or an L1 port); :meth:`send` a
    sequence of them.
    """

    def __init__(self, dut, prefix: str, rng: random.Random | None = None, idle_prob: float = 0.0):
        super().__init__(dut, prefix, rng or random.Random(0))
        self.idle_prob = idle_prob
        self.valid.value = 0

    async def request(self, word: int) -> None:
        """Offer ``word`` from the next falling edge until the design takes it.

        Returns in the read-only phase of the cycle whose rising edge accepts
        the word, with ``valid`` still high: the caller offers the next word
        or calls :meth:`idle`.
        """
        await FallingEdge(self.clk)
        await self._offer(word)

    async def idle(self) -> None:
        """Lower ``valid`` on the next falling edge (after the last accepted word)."""
        await FallingEdge(self.clk)
        self.valid.value = 0

    async def send(self, words):
        for word in words:
            await FallingEdge(self.clk)
            while self.idle_prob and self.rng.random() < self.idle_prob:
                self.valid.value = 0
                await FallingEdge(self.clk)
            await self._offer(word)
        await self.idle()

    async def _offer(self, word: int) -> None:
        """Raise ``valid`` with ``word`` now (after a falling edge); return once it is taken."""
        self.valid.value = 1
        self.payload.value = word
        while True:
            await ReadOnly()
            if int(self.ready.value):
                return
            await FallingEdge(self.clk)


class StreamMonitor(_StreamPort):
    """Collects words from an output stream, with random backpressure."""

    def __init__(self, dut, prefix: str, rng: random.Random | None = None, stall_prob: float = 0.0):
        super().__init__(dut, prefix, rng or random.Random(1))
        self.stall_prob = stall_prob
        self.words = []
        self.ready.value = 0

    async def collect(self, count: int, timeout_cycles: int = 100_000):
        idle = 0
        while len(self.words) < count:
            await FallingEdge(self.clk)
            ready = 0 if (self.stall_prob and self.rng.random() < self.stall_prob) else 1
            self.ready.value = ready
            await ReadOnly()
            if ready and int(self.valid.value):
                self.words.append(int(self.payload.value))
                idle = 0
            else:
                idle += 1
                if idle > timeout_cycles:
                    raise TimeoutError(f"no word on {self.valid._name} for {timeout_cycles} cycles "
                                       f"after {len(self.words)} of {count}")
        await FallingEdge(self.clk)
        self.ready.value = 0
        return self.words
