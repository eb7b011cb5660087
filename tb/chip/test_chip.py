"""The whole tiny chip on Verilator (block ``chip``): host traffic, firmware dataflow, hang report.

One model shared by every test (built once, cached by the harness); the
cocotb tests run in two simulations so ``pytest -n 2`` overlaps them.  The
bench: tb/chip/cocotb_chip.py.
"""

from __future__ import annotations

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb

MODULE = "tb.chip.cocotb_chip"


def test_chip_host_memories():
    """Host reads/writes of every L1 and the DRAM (random sizes and alignments), backdoor,
    tile_ctrl over the NoC, host atomics, bad requests refused and later traffic passing."""
    run_cocotb("chip", MODULE, config=preset("tiny"), seed=21, testcase=["host_memories"])


def test_chip_firmware_dataflow_and_hang():
    """Firmware on every tile moves data between tiles and DRAM, multicasts, counts atomically,
    handshakes on semaphores and sees its error; a hung kernel is reported core by core."""
    run_cocotb("chip", MODULE, config=preset("tiny"), seed=22,
               testcase=["firmware_dataflow", "hung_kernel_report"])


def test_chip_timeline_trace():
    """The firmware's waypoints, the engine, NIU and DRAM activity as a Perfetto / Chrome trace of a
    dataflow kernel on every tile; the JSON is well formed and the tracer barely slows the simulation."""
    run_cocotb("chip", MODULE, config=preset("tiny"), seed=23, testcase=["timeline"])
