"""The host runtime on the Verilator chip: the DRAM loopback example, a hung kernel, a failing kernel.

One device (one chip server, started once: the cached model plus a few
seconds) serves every test of this module; pytest-xdist keeps them on one
worker.  Wall times go to ``build/bench/host/chip_runtime.json``.
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tessera import metal as ttm

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dram_loopback" / "host.py"
KERNELS = Path(__file__).resolve().parent / "kernels"
TIMES = {}

pytestmark = pytest.mark.xdist_group("host_chip")  # one worker, one device


@pytest.fixture(scope="module")
def device():
    start = time.monotonic()
    dev = ttm.CreateDevice(0, print_console=False)
    TIMES["device_open_seconds"] = round(time.monotonic() - start, 2)
    yield dev
    start = time.monotonic()
    dev.close()
    TIMES["device_close_seconds"] = round(time.monotonic() - start, 2)
    from tessera.sim.harness import BUILD_ROOT
    out = BUILD_ROOT / "bench" / "host" / "chip_runtime.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(TIMES, indent=1) + "\n")


def test_dram_loopback_of_50_bfloat16_tiles_is_bit_exact(device):
    example = runpy.run_path(str(EXAMPLE))
    result = example["run"](device, tiles=50, seed=12)
    TIMES["loopback"] = result
    assert result["mismatches"] == 0, f"{result['mismatches']} values differ (seed {result['seed']})"
    assert result["values_match"]
    # The DRAM is 100 KiB read and 100 KiB written; at most a flit per cycle each way.
    assert 50 * 2048 / 8 < result["kernel_cycles"] < 200_000, result


def test_a_run_ends_when_its_cores_are_done_whatever_the_poll_interval(device):
    """The server waits on the cores' DONE waypoints, not by polling: with a poll interval far past
    the cycle budget the loopback still ends as soon as its kernels exit, and its cycle count is the
    same as with a short interval (the count runs to the last DONE, not to a poll)."""
    example = runpy.run_path(str(EXAMPLE))
    cycles = {}
    saved = device.poll_cycles
    try:
        for poll in (10, 10**9):
            device.poll_cycles = poll
            start = time.monotonic()
            result = example["run"](device, tiles=4, seed=8)
            TIMES[f"loopback_4_tiles_poll_{poll}_seconds"] = round(time.monotonic() - start, 2)
            assert result["mismatches"] == 0, f"poll {poll}: {result['mismatches']} values differ (seed 8)"
            cycles[poll] = result["kernel_cycles"]
    finally:
        device.poll_cycles = saved
    assert 4 * 2048 / 8 < cycles[10**9] < 100_000, cycles
    assert cycles[10] == cycles[10**9], cycles


def test_a_traced_run_writes_a_perfetto_timeline(device, tmp_path):
    """``EnqueueProgram(..., trace=path)``: the server records the run; the JSON is a Chrome trace
    whose slices show the reader and writer cores' NoC barriers and the DRAM serving them."""
    example = runpy.run_path(str(EXAMPLE))
    result = example["run"](device, tiles=3, seed=5, trace=tmp_path / "loopback")
    assert result["mismatches"] == 0
    trace = json.loads((tmp_path / "loopback.json").read_text())
    slices = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    names = {}
    for e in trace["traceEvents"]:
        if e.get("ph") == "M" and e.get("name") == "process_name":
            names[e["pid"]] = e["args"]["name"]
    assert slices and all(e["dur"] > 0 and e["ts"] >= 0 for e in slices)
    waits = {e["name"] for e in slices}
    assert {"NOC_READ_BARRIER", "DONE"} <= waits, sorted(waits)
    assert any(e["name"] == "serving requests" and "DRAM" in names.get(e["pid"], "") for e in slices), names
    if result["trace"]["png"] is not None:
        assert (tmp_path / "loopback.png").stat().st_size > 0


def test_a_hung_kernel_is_stopped_with_every_core_reported(device):
    program = ttm.CreateProgram()
    cores = ttm.CoreRange((0, 0), (1, 0))
    sem = ttm.CreateSemaphore(program, cores, initial_value=0)
    kernel = ttm.CreateKernel(program, KERNELS / "wait_forever.c", cores, ttm.DataMovementConfig())
    ttm.SetRuntimeArgs(program, kernel, cores, [sem])
    start = time.monotonic()
    with pytest.raises(ttm.DeviceHang) as info:
        ttm.EnqueueProgram(device.command_queue(), program, blocking=True, cycle_budget=20_000)
    TIMES["hang_seconds"] = round(time.monotonic() - start, 2)
    text = str(info.value)
    TIMES["hang_report"] = text
    assert "did not finish within 20000 cycles" in text
    for y in range(2):
        for x in range(2):
            for core in device.cfg.cores:
                line = [l for l in text.splitlines() if re.search(rf"core \({x}, {y}\) \(NoC .*\) {core.name} ", l)]
                assert len(line) == 1, f"no line for core ({x}, {y}) {core.name}:\n{text}"
                if y == 0 and core.name == "brisc":
                    assert "kernel wait_forever: pc 0x" in line[0] and "noc_semaphore_wait (tessera_noc.h:" in line[0] \
                        and "main (wait_forever.c:6)" in line[0] and "waypoint SEMAPHORE_WAIT" in line[0], line[0]
    assert f"core (0, 0) semaphore {sem} = 0" in text and f"core (1, 0) semaphore {sem} = 0" in text
    # The hung cores are held now, and the device runs the next program.
    held = {(c["x"], c["y"], c["core"]) for c in device.counters()["cores"] if c["held"]}
    for x, y in ((1, 0), (2, 0)):
        assert (x, y, "brisc") in held
    result = runpy.run_path(str(EXAMPLE))["run"](device, tiles=2, seed=3)
    assert result["mismatches"] == 0


def test_a_failing_kernel_is_named_and_its_console_kept(device):
    program = ttm.CreateProgram()
    core = ttm.CoreCoord(1, 1)
    kernel = ttm.CreateKernel(program, KERNELS / "print_and_fail.c", core,
                              ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1, compile_args=[77]))
    ttm.SetRuntimeArgs(program, kernel, core, [3])
    with pytest.raises(ttm.KernelError, match=r"kernel print_and_fail on core \(1, 1\) ncrisc exited with code 3"):
        ttm.EnqueueProgram(device.command_queue(), program, blocking=True)
    noc = device.worker_core_from_logical_core(core)
    assert (core, f"core {noc.x},{noc.y} says 77\n") in device.console
    # A reset holds every core again.
    device.reset()
    states = device.counters()["cores"]
    assert len(states) == 4 * len(device.cfg.cores) and all(s["held"] for s in states), states


def test_the_example_runs_as_a_script():
    start = time.monotonic()
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--tiles", "3", "--seed", "5"], capture_output=True,
                          text=True, timeout=1800)
    TIMES["script_seconds"] = round(time.monotonic() - start, 2)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"DRAM loopback: 3 tiles \(6144 bytes\) .* bit-exact", proc.stdout), proc.stdout
