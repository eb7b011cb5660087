"""The core's compact options: ``CoreConfig.divider = "compact"`` and ``counter_bits = 32``.

The compact divider in the Amaranth simulator against Python's integer
division (RISC-V rules), the 32-bit counters of the CSR unit against the CSR
model of tb/core/test_csr.py with its counters narrowed, then the whole core
built with both options on the run-elf system (one Verilator model beside the
default one of tb/core/test_core.py) through the checks the default core
passes: random RV32IMC streams in lock step with unicorn, with and without
wait states; the directed trap/CSR program (its one counter word follows the
narrower counters); the hazard cycle table; the C programs.  A division-timing
program shows the model really has the compact divider.

Set CORE_COMPACT_SEED for other random operands and CSR streams.
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

import pytest

from tessera.hw.config import ConfigError, CoreConfig, preset
from tessera.hw.core.csr import CSRUnit
from tessera.hw.core.divider import CompactDivider
from tb.core.asm_link import link_asm
from tb.core.rvgen import ALL_MNEMONICS
from tb.core.test_core import (WORK, _random_programs, _run_job, c_program_jobs, hazards_program,
                               traps_and_csrs_program)
from tb.core.test_csr import IMPLEMENTED, CsrModel, _check, _drive, _read_all, random_event
from tb.core.test_divider import M32, reference
from tb.core.unit_sim import simulate

SEED = int(os.environ.get("CORE_COMPACT_SEED", "2024"))

#: Cycles from ``start`` to ``done`` of the compact divider: one to load, 32 steps.
COMPACT_DIVIDE_CYCLES = 33


def compact_config(cfg):
    """``cfg`` with every core built with the compact divider and 32-bit counters."""
    return cfg.derive(cores=tuple(dataclasses.replace(core, divider="compact", counter_bits=32)
                                  for core in cfg.cores))


COMPACT = compact_config(preset("tiny"))


def test_core_options_are_validated():
    base = dict(name="core", role="dm", reset_pc=0, code_bytes=256, local_mem_bytes=256)
    for field, value in (("divider", "slow"), ("divider", None), ("counter_bits", 48),
                         ("counter_bits", "32"), ("counter_bits", True)):
        with pytest.raises(ConfigError, match=f"core core: {field} must be one of .*got {value!r}"):
            CoreConfig(**base, **{field: value})
    assert CoreConfig(**base).divider == "fast" and CoreConfig(**base).counter_bits == 64
    assert all(c.divider == "fast" and c.counter_bits == 64 for c in preset("tiny").cores)


# ---------------------------------------------------------------------------
# The compact divider alone
# ---------------------------------------------------------------------------

def divider_cases(rng):
    corner = [0, 1, 2, 3, 7, 10, M32, M32 - 1, M32 - 6, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0001,
              0x4000_0000, 0xFFFF, 0x1_0000]
    cases = [(f, a, b) for f in (4, 5, 6, 7) for a in corner for b in corner]
    # Operands of every size: the quotient's length changes nothing for the compact divider,
    # but small and large remainders exercise the fit/no-fit choice of each step.
    cases += [(rng.choice((4, 5, 6, 7)), rng.getrandbits(rng.choice((32, 31, 16, 8))),
               rng.getrandbits(rng.choice((32, 31, 12, 4, 1)))) for _ in range(1500)]
    return cases


def test_compact_divider_matches_reference():
    """DIV/DIVU/REM/REMU incl. division by zero and -2^31 / -1, always 33 cycles, back to back."""
    cases = divider_cases(random.Random(SEED))

    async def bench(ctx, dut):
        for n, (funct3, a, b) in enumerate(cases):
            where = f"seed {SEED} case {n}: funct3={funct3} a={a:#x} b={b:#x}"
            ctx.set(dut.funct3, funct3)
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.start, 1)
            cycles = 0
            while not ctx.get(dut.done):
                await ctx.tick()
                cycles += 1
                assert cycles <= COMPACT_DIVIDE_CYCLES, f"{where}: no result after {cycles} cycles"
            assert cycles == COMPACT_DIVIDE_CYCLES, f"{where}: done after {cycles} cycles"
            got, expected = ctx.get(dut.result), reference(funct3, a, b)
            assert got == expected, f"{where}: got {got:#x}, expected {expected:#x}"
            # Every other division is acked in its done cycle while start stays high (the
            # pipeline's division right behind another); the rest drop start for a cycle.
            if n % 2:
                ctx.set(dut.ack, 1)
                await ctx.tick()
                ctx.set(dut.ack, 0)
            else:
                ctx.set(dut.start, 0)
                await ctx.tick()

    simulate(CompactDivider(), bench)


def test_compact_divider_restarts_when_start_falls():
    """A division abandoned half way (its instruction flushed) leaves nothing behind."""
    async def bench(ctx, dut):
        ctx.set(dut.funct3, 4)
        ctx.set(dut.a, 1000)
        ctx.set(dut.b, 7)
        ctx.set(dut.start, 1)
        for _ in range(10):
            await ctx.tick()
        ctx.set(dut.start, 0)
        await ctx.tick()
        ctx.set(dut.funct3, 7)
        ctx.set(dut.a, 0xFFFF_FFFF)
        ctx.set(dut.b, 10)
        ctx.set(dut.start, 1)
        for _ in range(COMPACT_DIVIDE_CYCLES):
            assert not ctx.get(dut.done)
            await ctx.tick()
        assert ctx.get(dut.done) and ctx.get(dut.result) == 0xFFFF_FFFF % 10

    simulate(CompactDivider(), bench)


# ---------------------------------------------------------------------------
# 32-bit counters in the CSR unit
# ---------------------------------------------------------------------------

class Csr32Model(CsrModel):
    """The CSR model with 32-bit mcycle/minstret: the high halves read 0 and ignore writes."""

    def read(self, addr):
        if addr in (0xB80, 0xB82, 0xC80, 0xC82):
            return 0
        return super().read(addr)

    def step(self, ev):
        out = super().step(ev)
        self.mcycle &= M32
        self.minstret &= M32
        return out


def test_32bit_counters_against_model():
    """A random W-stage stream (CSR accesses, counter writes near the wrap, traps) cycle by cycle."""
    rng = random.Random(SEED)
    model = Csr32Model()
    assert {0xB00, 0xB80, 0xC80} <= set(IMPLEMENTED)

    async def bench(ctx, dut):
        ctx.set(dut.hartid, 3)
        for cycle in range(3000):
            ev = random_event(rng)
            _drive(ctx, dut, ev)
            _check(ctx, dut, model, ev, f"seed {SEED} cycle {cycle}")
            await ctx.tick()
            if cycle % 250 == 0:
                _read_all(ctx, dut, model, f"seed {SEED} cycle {cycle}")

    simulate(CSRUnit(counter_bits=32), bench)


# ---------------------------------------------------------------------------
# The compact core on the run-elf system (Verilator)
# ---------------------------------------------------------------------------

#: Lock-step programs per wait-state setting: fewer than the default core's 24 keep the
#: compact model's run short; together they still use every mnemonic.
RANDOM_PROGRAMS = int(os.environ.get("CORE_COMPACT_RANDOM_PROGRAMS", "6"))


def test_compact_core_random_streams_lockstep_with_unicorn():
    """Random RV32IMC programs with and without wait states, every retire compared with unicorn."""
    progs, used = [], set()
    for stall in (0, 96):
        seeds = range(7000 + stall * 100, 7000 + stall * 100 + RANDOM_PROGRAMS)
        some, mnemonics = _random_programs(seeds, stall, COMPACT)
        progs += some
        used |= mnemonics
    assert used == set(ALL_MNEMONICS), f"generator missed {set(ALL_MNEMONICS) - used}"
    result = _run_job(progs, "compact-random", COMPACT)
    print(f"compact core: {result['instructions']} instructions checked against unicorn")


def traps_and_csrs_with_32bit_counters() -> dict:
    """The directed trap/CSR job; cycleh reads 0 after ``csrw mcycleh, 7`` with 32-bit counters."""
    job = traps_and_csrs_program(COMPACT)
    expect = list(job["expect"])
    # ... csrw minstret 100; mcycle restarts; minstreth 0; cycleh after csrw mcycleh, 7; mstatus
    tail = [100, 1, 0, 7, 0x1888]
    at = [i for i in range(len(expect)) if expect[i:i + len(tail)] == tail]
    assert len(at) == 1, "the counter words of the trap/CSR signature moved"
    expect[at[0] + 3] = 0
    return {**job, "expect": expect}


def div_cycles_program() -> dict:
    """16 back-to-back divisions of four kinds: each costs the same 1 + 33 cycles in X."""
    src = Path(__file__).parent / "asm" / "div_cycles.S"
    elf = link_asm(src, WORK / "directed" / "div_cycles.elf", COMPACT)
    per_block = 1 + 16 * (1 + COMPACT_DIVIDE_CYCLES)
    return {"elf": str(elf), "check": "signature", "expect": [per_block] * 4}


def test_compact_core_directed_traps_csrs_and_c_programs():
    """Traps and CSRs (also with wait states), the hazard table, division timing, C programs."""
    jobs = [traps_and_csrs_with_32bit_counters(), {**traps_and_csrs_with_32bit_counters(), "stall": 128},
            hazards_program(COMPACT), div_cycles_program()]
    jobs += c_program_jobs(cfg=COMPACT)
    result = _run_job(jobs, "compact-directed", COMPACT)
    print(f"compact core, directed + C programs: {result['instructions']} instructions retired")
