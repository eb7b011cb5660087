"""The fetch unit in the Amaranth simulator against a Python model of the instruction stream.

A responder serves the instruction bus from a random memory (random wait
states, random response delays, bus errors on some words) and a consumer
plays decode: it takes the head when it likes, predicts some heads taken
(a fixed function of the pc, as decode's prediction is a function of the
instruction) and now and then redirects from X or W.  Every head taken
must be the halfwords at the pc the program order gives -- boot at
``reset_pc``, pc + 2 or + 4 by the head's length, the target after a
prediction or a redirect -- with the right error flags, and the bus
protocol must hold (aligned words, one request in flight, nothing in the
first cycle).
"""

import random

import pytest

from tessera.hw.core.fetch import FetchUnit
from tb.core.unit_sim import simulate

M32 = 0xFFFF_FFFF
BASE = 0x8000_0000
REGION = 0x400          # bytes of code the targets fall into


def run_stream(seed, cycles, wait_prob, redirect_prob, error_prob, fire_prob=0.8, predict=True):
    rng = random.Random(seed)
    memory = {}
    bad_words = {BASE + 4 * rng.randrange(REGION // 4) for _ in range(int(REGION / 4 * error_prob))}

    def word(addr):
        if addr not in memory:
            memory[addr] = rng.getrandbits(32)
        return memory[addr]

    def halfword(addr):
        return (word(addr & ~3) >> (16 * ((addr >> 1) & 1))) & 0xFFFF

    def prediction(pc):
        """Decode's static prediction stands in as a fixed function of the pc."""
        taken = predict and (pc * 2654435761 >> 7) % 6 == 0
        return taken, BASE + (((pc * 40503) >> 3) % REGION & ~1)

    reset_pc = BASE + 2 * rng.randrange(8)
    stats = {"fired": 0, "faults": 0, "redirects": 0, "predicted": 0}

    async def bench(ctx, dut):
        ctx.set(dut.reset_pc, reset_pc)
        expect_pc = reset_pc
        pending = None                     # [cycles until the response, rdata, err]
        for cycle in range(cycles):
            # ---- the bus this cycle ----
            ready = int(rng.random() >= wait_prob)
            ctx.set(dut.ibus.req.ready, ready)
            responding = pending is not None and pending[0] == 0
            ctx.set(dut.ibus.resp.valid, responding)
            ctx.set(dut.ibus.resp.rdata, pending[1] if responding else rng.getrandbits(32))
            ctx.set(dut.ibus.resp.err, pending[2] if responding else rng.getrandbits(1))
            if pending is not None and not responding:
                pending[0] -= 1
            if responding:
                pending = None

            # ---- the consumer (decode, X and W) ----
            for port in (dut.x_redirect, dut.w_redirect, dut.d_fire, dut.d_pred):
                ctx.set(port, 0)
            fire = False
            if cycle > 2 and rng.random() < redirect_prob:
                target = BASE + (rng.randrange(REGION) & ~1)
                from_w = rng.getrandbits(1)
                ctx.set(dut.w_redirect if from_w else dut.x_redirect, 1)
                ctx.set(dut.w_target if from_w else dut.x_target, target)
                ctx.set(dut.x_target if from_w else dut.w_target, rng.getrandbits(32) & ~1)
                expect_pc = target
                stats["redirects"] += 1
            elif ctx.get(dut.d_valid):
                pc = ctx.get(dut.d_pc)
                taken, target = prediction(pc)
                ctx.set(dut.d_pred, taken)
                ctx.set(dut.d_target, target)
                fire = rng.random() < fire_prob
                ctx.set(dut.d_fire, fire)

            if fire:
                pc, insn, err = ctx.get(dut.d_pc), ctx.get(dut.d_insn), ctx.get(dut.d_fetch_err)
                where = f"seed {seed} cycle {cycle}: head at {pc:#x}"
                assert pc == expect_pc, f"{where}, expected {expect_pc:#x}"
                err0 = (pc & ~3) in bad_words
                assert err & 1 == err0, f"{where}: error flag of halfword 0"
                if not err0:
                    assert insn & 0xFFFF == halfword(pc), f"{where}: halfword 0 {insn & 0xFFFF:#06x}"
                is32 = not err0 and halfword(pc) & 3 == 3
                if is32:
                    err1 = ((pc + 2) & ~3) in bad_words
                    assert (err >> 1) & 1 == err1, f"{where}: error flag of halfword 1"
                    if not err1:
                        assert insn >> 16 == halfword(pc + 2), f"{where}: halfword 1"
                taken, target = prediction(pc)
                expect_pc = target if taken else (pc + (4 if is32 else 2)) & M32
                stats["fired"] += 1
                stats["faults"] += err0
                stats["predicted"] += taken

            # ---- the request ----
            valid = ctx.get(dut.ibus.req.valid)
            if cycle == 0:
                assert not valid, "nothing is requested in the first cycle after reset"
            if valid and ready:
                addr = ctx.get(dut.ibus.req.payload.addr)
                assert addr & 3 == 0, f"seed {seed} cycle {cycle}: unaligned fetch {addr:#x}"
                assert pending is None, f"seed {seed} cycle {cycle}: a second request in flight"
                delay = 0 if rng.random() >= wait_prob else rng.randrange(1, 4)
                pending = [delay, word(addr), int(addr in bad_words)]
            await ctx.tick()

    simulate(FetchUnit(), bench)
    return stats


@pytest.mark.parametrize("seed,wait_prob", [(11, 0.0), (12, 0.3)])
def test_heads_follow_program_order(seed, wait_prob):
    stats = run_stream(seed, 6000, wait_prob, redirect_prob=0.03, error_prob=0.03)
    print(f"seed {seed}: {stats}")
    assert stats["fired"] > 1500 and stats["redirects"] > 50 and stats["predicted"] > 100
    assert stats["faults"] > 5


def test_zero_wait_straight_line_code_streams_without_bubbles():
    """Zero-wait bus, mixed 16/32-bit code, a consumer that always takes: a head every cycle."""
    cycles = 2000
    stats = run_stream(13, cycles, wait_prob=0.0, redirect_prob=0.0, error_prob=0.0,
                       fire_prob=1.0, predict=False)
    assert stats["fired"] == cycles - 2, stats      # the first head arrives in cycle 2
