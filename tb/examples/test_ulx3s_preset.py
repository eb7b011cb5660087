"""The ulx3s preset as a whole chip: the reference programs of examples/ and ttnn ops on its Verilator
model, bit-exact against the goldens of its own engine configuration.

The preset is what the ULX3S-85F board holds: a 1x3 column of the host, one DRAM node and one
Tensix tile of three cores (two data-movement cores and one fused ``compute`` core running the
unpack, math and pack parts of every compute kernel), a 1x2@2x2 engine with 4 SFPU lanes on
32-bit L1 banks.  Every example runs at its small size on the one core of the 1x1 compute grid
(the multi-core examples split their work over the grid they find, so they run there unchanged;
the multicast example has no receivers on a one-core grid and so no multicasts).  The full sizes
of four examples do not fit the preset's DRAM or L1: the runtime refuses them by name before the
chip runs anything, and the device serves the next run with all of its DRAM.  ttnn add, matmul and
softmax are checked bit for bit as in tb/ttnn, padding included.

One device serves every chip test of this module (pytest-xdist keeps them on one worker); the
first run builds the chip model of the preset (minutes, cached after).  The simulated board of
the preset (the chip behind its UART bridge with a model of the host's serial port on its pins)
runs dram_loopback and eltwise_binary through the serial link in tb/bridge/test_board_examples.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from tessera import metal as ttm
from tessera import ttnn
from tessera.hw.config import FUSED_COMPUTE_ROLE, preset
from tessera.sim import examples as ex
from tessera.sw.host.errors import AllocationError, DeviceError, KernelError
from tessera.sw.ttnn import op as top
from tb.ttnn.test_eltwise import _check as check_eltwise
from tb.ttnn.test_eltwise import engine_golden
from tb.ttnn.test_matmul import check as check_matmul
from tb.ttnn.test_normalization import Model, _check as check_normalized, _softmax64

PRESET = "ulx3s"
CFG = preset(PRESET)
CHIP = pytest.mark.xdist_group("examples_ulx3s")

PAGE = ttm.tile_bytes(ttm.DataFormat.Float16_b)


def _block_pages(name: str) -> int:
    """Circular-buffer pages of a blocked matmul at its full size on the one core: its block is all of
    C, so its A rows and B columns are all of A and B, plus the two output pages."""
    full = ex.EXAMPLES[name].full
    return (full["mt"] + full["nt"]) * full["kt"] + 2


#: Full sizes the preset cannot hold, and what the refusal names: (example, message pattern).
TOO_LARGE = [
    ("dram_loopback", rf"DRAM buffer of {ex.EXAMPLES['dram_loopback'].full['tiles'] * PAGE} bytes .* "
                      rf"DRAM has {CFG.dram.size_bytes} bytes for buffers"),
    ("eltwise_binary", rf"DRAM buffer of {ex.EXAMPLES['eltwise_binary'].full['tiles'] * PAGE} bytes .* "
                       rf"DRAM has {CFG.dram.size_bytes} bytes for buffers"),
] + [(name, rf"circular buffers of core \(0, 0\) .* need {_block_pages(name) * PAGE} bytes .* past the end of L1")
     for name in ("matmul_reuse", "matmul_multicast")]


@pytest.fixture(scope="module")
def device():
    dev = ttm.CreateDevice(0, preset_name=PRESET, print_console=False)
    yield dev
    dev.close()


def test_the_preset_is_one_tile_of_three_cores_with_one_fused_compute_core():
    tensix = CFG.nodes_of("tensix")
    assert [(n.x, n.y) for n in tensix] == [(0, 2)] and len(CFG.nodes_of("dram")) == 1
    assert len(CFG.cores) == 3 and CFG.fused_compute
    assert [c.name for c in CFG.cores if c.role == FUSED_COMPUTE_ROLE] == CFG.compute_cores
    assert ex.engine_peak(CFG) == 4        # one tile's 1x2@2x2 matmul primitive


def test_the_preset_takes_every_area_option_of_the_board():
    """What the chip tests of this module run on: the small variants an FPGA asks for."""
    assert all(c.divider == "compact" and c.counter_bits == 32 for c in CFG.cores)
    noc = CFG.noc
    assert noc.aligned_transfers and noc.transfer_alignment == 4 and not noc.target_read_prefetch
    assert (noc.niu_command_buffers, noc.buffer_depth) == (2, 2)
    tiny = preset("tiny")
    assert not tiny.noc.aligned_transfers and tiny.noc.target_read_prefetch
    assert all(c.divider == "fast" and c.counter_bits == 64 for c in tiny.cores)


@CHIP
@pytest.mark.parametrize("name", list(ex.EXAMPLES))
def test_example_is_bit_exact_on_the_chip(device, name):
    result = ex.run(name, device, "small")
    print(f"{PRESET} {name} (small {result['params']}): {result['cycles']} cycles")
    assert result["mismatches"] == 0, f"{name}: {result['mismatches']} differ from the golden " \
                                      f"(seed {result.get('seed')}, params {result['params']})"
    assert result["pcc"] > 0.999, f"{name}: PCC {result['pcc']} against float64"
    assert result["cores"] == 1 and result["cycles"] > 0


@CHIP
@pytest.mark.parametrize("name, message", TOO_LARGE)
def test_a_full_size_that_does_not_fit_is_refused_by_name_and_frees_what_it_took(device, name, message):
    dram = device.allocator(ttm.BufferType.DRAM)
    free = dram.free_bytes
    with pytest.raises(AllocationError, match=message):
        ex.run(name, device, "full")
    assert dram.free_bytes == free, f"{name}: {free - dram.free_bytes} bytes of DRAM left allocated"


# -- ttnn ---------------------------------------------------------------------------------------

def _run_checked_and_freed(device, op, inputs, check, logged: dict):
    """Run ttnn ``op`` on the device tensors ``inputs``, hand its result to ``check``, then require the
    op log's last run to carry the ``logged`` values; the inputs and the result are freed either way,
    so a failure leaves the module's one device clean for the next test."""
    out = op(*inputs)
    try:
        check(out)
        run = ttnn.op_log(device)[-1]
        assert {key: run[key] for key in logged} == logged, run
    finally:
        for t in (*inputs, out):
            ttnn.deallocate(t)


@CHIP
def test_ttnn_add_is_bit_exact(device):
    rng = np.random.default_rng(31)
    shape = (40, 70)
    x = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal(shape)))
    y = ttnn.to_numpy(ttnn.from_numpy(rng.standard_normal(shape)))
    a, b = (ttnn.from_numpy(v, layout=ttnn.TILE_LAYOUT, device=device) for v in (x, y))
    _run_checked_and_freed(
        device, ttnn.add, (a, b),
        lambda out: check_eltwise(ttnn.to_numpy(out), engine_golden(device, ttnn.bfloat16, shape, x, y, binary="add"),
                                  x.astype(np.float64) + y, "add (seed 31)"),
        logged={"op": "add", "cores": 1, "tiles": 6})


@CHIP
def test_ttnn_matmul_is_bit_exact(device):
    rng = np.random.default_rng(32)
    a, b = (ttnn.from_numpy(rng.standard_normal(s).astype(np.float32), layout=ttnn.TILE_LAYOUT, device=device)
            for s in ((40, 64), (64, 50)))
    _run_checked_and_freed(device, ttnn.matmul, (a, b), lambda out: check_matmul(out, a, b, "hifi2"),
                           logged={"op": "matmul", "cores": 1, "macs": 2 * 2 * 2 * 32 ** 3})
    assert len(top.compute_cores(device)) == 1


@CHIP
def test_ttnn_softmax_is_bit_exact(device):
    rng = np.random.default_rng(33)
    shape = (40, 72)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = ttnn.from_numpy(x, layout=ttnn.TILE_LAYOUT, device=device)
    out = ttnn.softmax(t, dim=-1)
    try:
        model = Model(device.cfg.engine)
        _, ht, wt = t.tile_grid
        want = model.assemble(model.softmax(model.tiles(x, ttnn.bfloat16), ht, wt, shape[-2], shape[-1] % 32,
                                            ttnn.bfloat16.data_format.value), t.padded_shape)
        check_normalized(out, want, _softmax64(ttnn.to_numpy(t).astype(np.float64)), "softmax (seed 33)")
    finally:
        for v in (t, out):
            ttnn.deallocate(v)


# -- word-aligned NoC transfers, one reader per NoC target ---------------------------------------

UNALIGNED_READER = r"""
#include "tessera.h"
/* One NoC read from DRAM address 2 (not a multiple of 4) into this tile's L1. */
int main(void) {
    noc_async_read(interleaved_get_noc_addr(&(interleaved_addr_gen_t){.bank_base_address = get_arg_val(0),
                                                                      .page_size = 64, .is_dram = 1}, 0, 2),
                   get_arg_val(1), 16u);
    noc_async_read_barrier();
    return 0;
}
"""


@CHIP
def test_host_refuses_an_unaligned_access_by_address(device):
    dram = CFG.nodes_of("dram")[0]
    with pytest.raises(DeviceError, match=r"bad_request: ValueError: write of 3 bytes at address 0x00000102 "
                                          r".* multiple of 4 bytes"):
        device.transport.write(dram.x, dram.y, 0x102, b"abc")
    with pytest.raises(DeviceError, match=r"bad_request: ValueError: read of 8 bytes at address 0x00000101 "
                                          r".* multiple of 4 bytes"):
        device.transport.read(dram.x, dram.y, 0x101, 8)
    # Free lengths at aligned addresses still pass, and the device keeps serving.
    device.transport.write(dram.x, dram.y, 0x100, b"abcde")
    assert device.transport.read(dram.x, dram.y, 0x100, 5) == b"abcde"


@CHIP
def test_a_kernel_asking_for_an_unaligned_transfer_is_refused_with_its_addresses(device, tmp_path):
    source = tmp_path / "unaligned_reader.c"
    source.write_text(UNALIGNED_READER)
    buf = ttm.CreateBuffer(ttm.InterleavedBufferConfig(device=device, size=64, page_size=64,
                                                       buffer_type=ttm.BufferType.DRAM))
    try:
        program = ttm.CreateProgram()
        core = ttm.CoreCoord(0, 0)
        kernel = ttm.CreateKernel(program, str(source), core,
                                  ttm.DataMovementConfig(processor=ttm.DataMovementProcessor.RISCV_1))
        ttm.SetRuntimeArgs(program, kernel, core, [buf.address(), CFG.l1.size_bytes // 2])
        with pytest.raises(KernelError, match="exited with code 98") as err:
            ttm.EnqueueProgram(device.command_queue(), program, blocking=True)
        console = " ".join(text for _, text in device.console)
        assert f"remote address 0x{buf.address() + 2:08x}" in console and "multiples of 4 bytes" in console, \
            (str(err.value), console)
    finally:
        ttm.DeallocateBuffer(buf)


@CHIP
def test_host_reads_of_many_packets_come_back_whole_from_one_reader(device):
    """Reads of several response packets, from the DRAM node and the tile, each target serving
    them with its one memory reader (a response's data is read after the previous one has left)."""
    length = 5 * CFG.noc.max_payload_bytes + 3
    for node in (CFG.nodes_of("dram")[0], CFG.nodes_of("tensix")[0]):
        base = CFG.l1.size_bytes // 2 if node.kind == "tensix" else 0x100
        data = bytes((i * 13 + node.y) & 0xFF for i in range(length + 16))
        device.transport.write(node.x, node.y, base, data)
        for offset in (0, 4, 12):
            got = device.transport.read(node.x, node.y, base + offset, length)
            assert got == data[offset:offset + length], f"{node.kind} at offset {offset}"
