"""The host runtime without a simulator: tiles, buffers, programs and every refusal (a fake chip)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tessera import metal as ttm
from tessera.hw.config import Node, preset
from tessera.sim.golden.formats import FORMAT_CODES, l1_order_to_tile, tile_to_l1_order
from tessera.sw.host.kernels import compile_kernel
from tessera.sw.toolchain import read_elf
from tessera.sw.toolchain.build import KERNELS_DIR
from tb.host.fake_chip import FakeChip, FakeTransport

EXAMPLE_KERNELS = Path(__file__).resolve().parents[2] / "examples" / "dram_loopback" / "kernels"
CORE = ttm.CoreCoord(0, 0)


def fake_device(cfg=None, device_id=0, **chip_options):
    cfg = cfg or preset("tiny")
    chip = FakeChip(cfg, **chip_options)
    return ttm.CreateDevice(device_id, config=cfg, transport=FakeTransport(chip), print_console=False), chip


def loopback_program(tiles=2, core=CORE, cb_bytes=None):
    tile_bytes = ttm.tile_bytes(ttm.DataFormat.Float16_b)
    program = ttm.CreateProgram()
    ttm.CreateCircularBuffer(program, core, ttm.CircularBufferConfig(cb_bytes or 2 * tile_bytes,
                                                                     {0: ttm.DataFormat.Float16_b})
                             .set_page_size(0, tile_bytes))
    reader = ttm.CreateKernel(program, EXAMPLE_KERNELS / "reader.c", core,
                              ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1, compile_args=[0]))
    writer = ttm.CreateKernel(program, EXAMPLE_KERNELS / "writer.c", core,
                              ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_0, compile_args=[0]))
    ttm.SetRuntimeArgs(program, reader, core, [0, tiles])
    ttm.SetRuntimeArgs(program, writer, core, [0x10000, tiles])
    return program


# -- tiles ------------------------------------------------------------------------------------

def test_tilize_matches_the_engines_l1_order():
    rng = np.random.default_rng(7)
    ecfg = preset("tiny").engine
    a = rng.integers(0, 1 << 16, size=(2, 64, 96), dtype=np.uint16)
    flat = ttm.tilize(a)
    # Reference: tile by tile in row-major tile order, each with the golden model's L1 order.
    want = np.concatenate([tile_to_l1_order(a[b, r:r + 32, c:c + 32], ecfg)
                           for b in range(2) for r in range(0, 64, 32) for c in range(0, 96, 32)])
    assert np.array_equal(flat, want)
    assert np.array_equal(ttm.untilize(flat, a.shape), a)
    assert np.array_equal(l1_order_to_tile(flat[:1024], ecfg), a[0, :32, :32])
    with pytest.raises(ttm.RuntimeInputError, match=r"multiples of the tile 32x32"):
        ttm.tilize(np.zeros((30, 32)))


def test_bfloat16_conversion_rounds_to_nearest_even():
    x = np.array([1.0, -2.5, 1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8], dtype=np.float32)
    bits = ttm.to_bfloat16(x)
    assert bits.tolist() == [0x3F80, 0xC020, 0x3F80, 0x3F82]
    assert ttm.from_bfloat16(bits).tolist() == [1.0, -2.5, 1.0, 1.0 + 2 ** -6]
    assert ttm.tile_bytes(ttm.DataFormat.Float16_b) == 2048 and ttm.tile_bytes(ttm.DataFormat.Float32) == 4096


# -- buffers ----------------------------------------------------------------------------------

def test_l1_buffer_pages_interleave_over_the_tiles_and_round_trip():
    device, chip = fake_device()
    queue = device.command_queue()
    buf = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 10 * 100, 100, ttm.BufferType.L1))
    banks = [device.worker_core_from_logical_core(c) for c in
             (ttm.CoreCoord(0, 0), ttm.CoreCoord(1, 0), ttm.CoreCoord(0, 1), ttm.CoreCoord(1, 1))]
    for page in range(10):
        x, y, addr = buf.page_location(page)
        assert (x, y) == (banks[page % 4].x, banks[page % 4].y)
        assert addr == buf.address() + (page // 4) * 128  # 100 rounded up to 32
    assert buf.address() + 3 * 128 <= preset("tiny").l1.size_bytes
    data = np.arange(1000, dtype=np.uint8) * 7
    ttm.EnqueueWriteBuffer(queue, buf, data, blocking=True)
    x, y, addr = buf.page_location(5)
    assert chip.mem[(x, y)][addr:addr + 100] == data[500:600].tobytes()
    back = ttm.EnqueueReadBuffer(queue, buf)
    assert np.array_equal(back, data)
    # Freed space is reused (L1 from the top down); the DRAM allocator is first-fit from the bottom.
    address = buf.address()
    ttm.DeallocateBuffer(buf)
    assert ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 1000, 100, ttm.BufferType.L1)).address() == address
    d0 = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 4096, 2048))
    d1 = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 4096, 2048))
    assert (d0.address(), d1.address()) == (0, 4096)


def test_buffer_refusals():
    device, _ = fake_device()
    dram = preset("tiny").dram.size_bytes
    with pytest.raises(ttm.AllocationError, match=rf"DRAM buffer of {2 * dram} bytes .* needs {2 * dram} bytes of "
                                                  rf"DRAM per bank; DRAM has {dram} bytes"):
        ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 2 * dram, 2048, ttm.BufferType.DRAM))
    with pytest.raises(ttm.RuntimeInputError, match="buffer size 1000 is not a multiple of its page size 300"):
        ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 1000, 300))
    with pytest.raises(ttm.RuntimeInputError, match="page_size must be a positive integer, got 0"):
        ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 1000, 0))
    buf = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 2048, 2048))
    with pytest.raises(ttm.RuntimeInputError, match="1024 bytes of data for a buffer of 2048 bytes"):
        ttm.EnqueueWriteBuffer(device.command_queue(), buf, bytes(1024))


def test_a_buffer_of_another_device_or_a_closed_device_is_refused():
    first, _ = fake_device(device_id=0)
    second, _ = fake_device(device_id=1)
    buf = ttm.CreateBuffer(ttm.InterleavedBufferConfig(first, 2048, 2048))
    with pytest.raises(ttm.RuntimeInputError, match=r"the buffer belongs to device 0 \(open\), not to device 1"):
        ttm.EnqueueReadBuffer(second.command_queue(), buf)
    queue = first.command_queue()
    ttm.CloseDevice(first)
    with pytest.raises(ttm.DeviceClosedError, match="device 0 is closed"):
        ttm.EnqueueReadBuffer(queue, buf)
    with pytest.raises(ttm.DeviceClosedError, match="device 0 is closed"):
        first.command_queue()
    with pytest.raises(ttm.RuntimeInputError, match=r"belongs to device 0 \(closed\)"):
        ttm.EnqueueReadBuffer(second.command_queue(), buf)
    assert first.transport.closed


# -- programs ---------------------------------------------------------------------------------

def test_program_load_writes_kernels_args_cbs_and_semaphores():
    device, chip = fake_device()
    program = loopback_program(tiles=3)
    sem = ttm.CreateSemaphore(program, CORE, initial_value=0x1234)
    ttm.EnqueueProgram(device.command_queue(), program, blocking=True)
    assert program.last_run["codes"] and all(c["code"] == 0 for c in program.last_run["codes"])
    cfg = device.cfg
    x, y = cfg.nodes_of("tensix")[0].x, cfg.nodes_of("tensix")[0].y
    l1 = chip.mem[(x, y)]
    from tessera.sw.host.program import SEMAPHORE_STRIDE, cb_fifo_base, semaphore_base
    from tessera.sw.toolchain.cb import cb_table_base
    from tessera.sw.toolchain.layout import target_for
    assert int.from_bytes(l1[semaphore_base(cfg) + SEMAPHORE_STRIDE * sem:][:4], "little") == 0x1234
    entry = np.frombuffer(bytes(l1[cb_table_base(cfg):cb_table_base(cfg) + 28]), dtype="<u4").tolist()
    # FIFO, size, page size, pages, the two counters, the pages' format (code + 1).
    assert entry == [cb_fifo_base(cfg), 4096, 2048, 2, 0, 0, FORMAT_CODES["float16_b"] + 1]
    args = target_for("ncrisc", cfg).runtime_args.base
    assert np.frombuffer(bytes(l1[args:args + 8]), dtype="<u4").tolist() == [0, 3]
    assert ttm.GetRuntimeArgs(program, 0, CORE) == [0, 3]
    # The cores are released last: the final write is soft_reset with brisc and ncrisc out of reset.
    soft_reset = cfg.mmio.region("tile_ctrl").address("soft_reset")
    assert chip.regs[(x, y, soft_reset)] == 0b11100


def test_compile_cache_hits_and_misses(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSERA_KERNEL_CACHE", str(tmp_path / "cache"))
    cfg = preset("tiny")
    src = tmp_path / "k.c"
    src.write_text('#include "tessera.h"\nint main(void) { return (int)get_arg_val(0); }\n')
    elf, cached = compile_kernel(src, "brisc", cfg, ["A=1"])
    assert not cached and elf.is_file()
    assert compile_kernel(src, "brisc", cfg, ["A=1"]) == (elf, True)
    assert compile_kernel(src, "brisc", cfg, ["A=2"])[1] is False       # another define
    assert compile_kernel(src, "ncrisc", cfg, ["A=1"])[1] is False      # another core
    (tmp_path / "k.h").write_text("/* a header beside the source */\n")
    assert compile_kernel(src, "brisc", cfg, ["A=1"])[1] is False       # a header changed
    src.write_text(src.read_text() + "\n")
    assert compile_kernel(src, "brisc", cfg, ["A=1"])[1] is False       # the source changed


def test_compute_kernel_builds_once_per_trisc_role():
    device, _ = fake_device()
    program = ttm.CreateProgram()
    kernel = ttm.CreateKernel(program, KERNELS_DIR / "tile_eltwise_add.c", ttm.CoreRange((0, 0), (1, 0)),
                              ttm.ComputeConfig(math_fidelity=ttm.MathFidelity.HiFi2))
    ttm.SetRuntimeArgs(program, kernel, ttm.CoreRange((0, 0), (1, 0)), [1, 0x8000, 0x9000, 0xA000, 1, 1, 2048, 2048])
    ttm.CompileProgram(device, program)
    elfs = program.kernel(kernel).elfs
    assert list(elfs) == ["trisc0", "trisc1", "trisc2"]
    entries = {core: read_elf(path).entry for core, path in elfs.items()}
    assert entries == {c.name: c.reset_pc for c in device.cfg.cores if c.name in elfs}
    assert len({Path(p).read_bytes() for p in elfs.values()}) == 3, "the three roles built the same code"


def _enqueue(device, program):
    ttm.EnqueueProgram(device.command_queue(), program, blocking=True)


def test_a_kernel_that_does_not_compile_shows_gccs_message(tmp_path):
    device, _ = fake_device()
    bad = tmp_path / "broken.c"
    bad.write_text('#include "tessera.h"\nint main(void) {\n    return undefined_name;\n}\n')
    program = ttm.CreateProgram()
    ttm.CreateKernel(program, bad, CORE, ttm.DataMovementConfig())
    with pytest.raises(ttm.CompileError) as info:
        _enqueue(device, program)
    assert re.search(r"broken\.c:3:\d+: error: 'undefined_name' undeclared", str(info.value)), str(info.value)


def test_circular_buffers_past_l1_or_into_l1_buffers_are_refused():
    device, _ = fake_device()
    with pytest.raises(ttm.AllocationError, match=r"circular buffers of core \(0, 0\) \(NoC \(1, 0\)\) need "
                                                  r"65536 bytes .* past the end of L1 \(0x10000"):
        _enqueue(device, loopback_program(cb_bytes=32 * 2048))
    l1 = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device, 4 * 30 * 1024, 30 * 1024, ttm.BufferType.L1))
    with pytest.raises(ttm.AllocationError, match=rf"end at 0x[0-9a-f]+ and overlap the L1 buffers from "
                                                  rf"{l1.address():#x}"):
        _enqueue(device, loopback_program(cb_bytes=8 * 2048))
    l1.deallocate()
    _enqueue(device, loopback_program(cb_bytes=8 * 2048))
    program = ttm.CreateProgram()
    config = ttm.CircularBufferConfig(4096, {0: ttm.DataFormat.Float16_b}).set_page_size(0, 2048)
    ttm.CreateCircularBuffer(program, CORE, config)
    with pytest.raises(ttm.RuntimeInputError, match=r"circular buffer 0 is already defined on core \(0, 0\)"):
        ttm.CreateCircularBuffer(program, ttm.CoreRange((0, 0), (1, 1)), config)
    with pytest.raises(ttm.RuntimeInputError, match="total size 4096 is not a multiple of the page size 3000"):
        ttm.CircularBufferConfig(4096, {1: ttm.DataFormat.Float16_b}).set_page_size(1, 3000)


def test_runtime_args_beyond_the_argument_area_are_refused():
    program = loopback_program()
    with pytest.raises(ttm.RuntimeInputError, match=r"65 runtime arguments; the argument area holds 64 "
                                                    r"\(256 bytes\)"):
        ttm.SetRuntimeArgs(program, 0, CORE, list(range(65)))
    with pytest.raises(ttm.RuntimeInputError, match=r"4294967296 is not a 32-bit unsigned integer"):
        ttm.SetRuntimeArgs(program, 0, CORE, [1 << 32])
    with pytest.raises(ttm.RuntimeInputError, match=r"kernel reader does not run on core \(1, 1\)"):
        ttm.SetRuntimeArgs(program, 0, ttm.CoreCoord(1, 1), [1])


def test_cores_outside_the_grid_or_not_tensix_are_refused():
    device, _ = fake_device()
    with pytest.raises(ttm.RuntimeInputError, match=r"core \(2, 0\) lies outside the 2x2 compute grid"):
        _enqueue(device, loopback_program(core=ttm.CoreRange((1, 0), (2, 0))))
    # A placement where the DRAM node sits inside the Tensix tiles' bounding box.
    cfg = preset("tiny", nodes=(Node(0, 0, "host"), Node(1, 0, "tensix"), Node(2, 0, "tensix"),
                                Node(0, 1, "tensix"), Node(1, 1, "dram"), Node(2, 1, "tensix")))
    odd, _ = fake_device(cfg)
    with pytest.raises(ttm.RuntimeInputError, match=r"core \(1, 1\) is NoC node \(1, 1\), the dram node, not a "
                                                    r"Tensix tile"):
        _enqueue(odd, loopback_program(core=ttm.CoreCoord(1, 1)))
    with pytest.raises(ttm.RuntimeInputError, match=r"CoreRange \(1, 1\)..\(0, 0\): end lies before start"):
        ttm.CoreRange((1, 1), (0, 0))
    with pytest.raises(ttm.RuntimeInputError, match="already runs kernel reader on the same processor"):
        program = loopback_program()
        ttm.CreateKernel(program, EXAMPLE_KERNELS / "reader.c", CORE,
                         ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1))


def test_kernel_exit_codes_and_hangs_on_the_fake_chip():
    device, _ = fake_device(exit_code=130)
    with pytest.raises(ttm.KernelError, match=r"kernel reader on core \(0, 0\) ncrisc exited with code 130 "
                                              r"\(trap: illegal instruction\)"):
        _enqueue(device, loopback_program())
    device, chip = fake_device(hang=True)
    with pytest.raises(ttm.DeviceHang) as info:
        ttm.EnqueueProgram(device.command_queue(), loopback_program(), blocking=True, cycle_budget=5000)
    text = str(info.value)
    assert "did not finish within 5000 cycles" in text
    for core in (ttm.CoreCoord(x, y) for y in range(2) for x in range(2)):
        for name in ("brisc", "ncrisc", "trisc0", "trisc1", "trisc2"):
            assert re.search(rf"core {re.escape(str(core))} \(NoC \(\d, \d\)\) {name} ", text), (core, name)
    assert "kernel writer: pc 0x00000040" in text and "circular buffer 0: 0 of 2 pages filled" in text
    soft_reset = device.cfg.mmio.region("tile_ctrl").address("soft_reset")
    assert chip.log[-1] == ("write", 1, 0, soft_reset, 4), "the hung program's cores were not held"
