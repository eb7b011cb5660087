"""cocotb tests of the engine bench top (``engine_bench``): its host rows, a hang, a matmul after it."""

from __future__ import annotations

import cocotb
import numpy as np

from tessera.hw.engine.commands import encode_math
from tessera.sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from tessera.sim.engine.bench_driver import BenchTopDriver, RunTimeout
from tessera.sim.engine.env import compare_bytes
from tessera.sim.engine.workloads import matmul_k_loop_on_bench_top


async def _setup(dut, salt):
    cfg = load_config()
    start_clock(dut)
    driver = BenchTopDriver(dut, cfg)
    await reset(dut)
    rng = seeded_rng(dut, salt)
    return cfg, driver, np.random.default_rng(rng.getrandbits(32))


@cocotb.test()
async def host_rows_round_trip(dut):
    """Whole rows, then writes at odd addresses and lengths (read-modify-write of partial rows),
    read back at other odd ranges: equal to a bytearray model of L1."""
    cfg, driver, rng = await _setup(dut, "host")
    model = bytearray(cfg.l1.size_bytes)
    base, span = cfg.l1_data_base, 4 * driver.row_bytes * 16
    data = rng.integers(0, 256, span, dtype=np.uint8).tobytes()
    driver.write(base, data)
    model[base:base + span] = data
    for _ in range(12):
        addr = base + int(rng.integers(0, span - 80))
        piece = rng.integers(0, 256, int(rng.integers(1, 80)), dtype=np.uint8).tobytes()
        driver.write(addr, piece)
        model[addr:addr + len(piece)] = piece
    await driver.load({})
    compare_bytes(await driver.read(base, span), bytes(model[base:base + span]), "L1 after loading")
    for _ in range(8):
        addr, n = base + int(rng.integers(0, span - 100)), int(rng.integers(1, 100))
        compare_bytes(await driver.read(addr, n), bytes(model[addr:addr + n]), f"L1 {n} bytes at {addr:#x}")
    # A partial row written on its own keeps the bytes around it (read before writing).
    addr = base + 5
    driver.write(addr, b"\xa5\x5a\x3c")
    model[addr:addr + 3] = b"\xa5\x5a\x3c"
    await driver.load({})
    compare_bytes(await driver.read(base, driver.row_bytes), bytes(model[base:base + driver.row_bytes]),
                  "a partial row written alone")


@cocotb.test()
async def hang_is_reported_then_reset_recovers(dut):
    """A matmul with nothing unpacked waits for a Src slot forever: the run ends at its budget with
    a message naming the stuck thread; after reset a small matmul is bit-exact."""
    cfg, driver, rng = await _setup(dut, "hang")
    await driver.load({"math": [encode_math("matmul", fidelity="lofi", pop=True)]})
    try:
        await driver.run(budget=3000)
    except RunTimeout as exc:
        message = str(exc)
        dut._log.info("timeout reported: %s", message)
        for part in ("not done after 3000 cycles", "unpack 0/0", "math 1/1", "pack 0/0",
                     "busy threads: math", "src_valid=00"):
            assert part in message, f"timeout message lacks {part!r}: {message}"
    else:
        raise AssertionError("a matmul without operands finished instead of timing out")
    await reset(dut)
    run = await matmul_k_loop_on_bench_top(driver, cfg, rng, 1, 1, 2, "lofi")
    assert run["cycles"] >= run["macs"] // cfg.engine.macs_per_cycle, run
