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
from cocotb.simtime import get_sim_time

from tessera.hw.config import TesseraConfig, preset
from tessera.sim.clock import CLOCK_PERIOD_NS
from tessera.sim.reset_register import REGISTERED_RESET_ENV

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
    """Reset the design at the next ``cycles`` rising edges; return at the falling edge after them.

    Call it where the design's inputs may be written (not in a read-only
    phase).  The first rising edge after the return is the design's first
    edge out of reset.

    In a model whose design reads its reset from a register (``rst_q <= rst``
    at each rising edge, the harness's default: sim/reset_register.py), the
    design sees the port one edge late, so the port is raised for the first
    ``cycles - 1`` of those edges only and lowered at the falling edge after
    them: the design is in reset at the same edges and leaves it at the same
    edge as with a plain reset port.  At the start of a simulation (time 0)
    the register's initial value 1 stands for the port at the first edge.  Later in a run
    (the register is 0) the first edge after the call cannot reset the
    design: it runs one more cycle, then is in reset for ``cycles - 1``
    edges (``cycles`` = 1: one edge, and the routine returns a cycle later).
    """
    if not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"reset: cycles must be an integer of at least 1, got {cycles!r}")
    rst = getattr(dut, signal_name)
    register = os.environ.get(REGISTERED_RESET_ENV) if signal_name == "rst" else None
    if not register:
        rst.value = 1
        await ClockCycles(dut.clk, cycles)
        await FallingEdge(dut.clk)
        rst.value = 0
        return
    # Rising edges from now on: the design is in reset at edges first..last (1 is the next one).
    # At time 0 the register is not initialised yet (it reads 0 until the first evaluation),
    # but will be 1 at the first edge.
    starting = get_sim_time("step") == 0
    first = 1 if starting or int(getattr(dut, register).value) else 2
    last = max(cycles, first)
    if last > 1:
        rst.value = 1
        await ClockCycles(dut.clk, last - 1)
        await FallingEdge(dut.clk)
    rst.value = 0
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)


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
