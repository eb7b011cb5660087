"""Circular buffers: table layout and loading, refusals, and a producer and a consumer core in lock step.

The two-core test runs brisc (producer) and trisc0 (consumer) of one tile in
unicorn with one shared L1, interleaved in seeded random quanta, so the
counters' protocol meets every interleaving the quanta produce; the consumer
checks every word of every page.
"""

from __future__ import annotations

import random
import struct

import pytest

from tessera.sw.toolchain import (CapacityError, CircularBuffer, FirmwareError, FirmwareImage, LayoutError, ModelChip,
                          ProgramSpec, TargetError, build_image, compile_elf, load_plan)
from tessera.sw.toolchain.build import KERNELS_DIR
from tessera.sw.toolchain.cb import CB_ENTRY_BYTES, NUM_CBS, cb_data_base, cb_table_base
from tb.fw.emulator import TileCluster

TILE = (1, 1)


@pytest.fixture(scope="module")
def cb_elfs(tmp_path_factory, tiny):
    out = tmp_path_factory.mktemp("cb")
    return {"brisc": compile_elf([KERNELS_DIR / "cb_producer.c"], "brisc", tiny, out / "producer.elf"),
            "trisc0": compile_elf([KERNELS_DIR / "cb_consumer.c"], "trisc0", tiny, out / "consumer.elf")}


def _image(cb_elfs, cfg, cb, pages, step):
    args = [cb.index, pages, step]
    return build_image([ProgramSpec(core, [TILE], elf, args) for core, elf in cb_elfs.items()], cfg,
                       circular_buffers={TILE: [cb]})


@pytest.mark.parametrize("seed, num_pages, page_size, step, pages", [
    (1, 2, 64, 1, 40),      # tiny FIFO: producer blocks on every page
    (2, 4, 32, 2, 48),      # two pages per reservation
    (3, 3, 16, 1, 31),      # non-power-of-two page count
    (4, 8, 128, 4, 64),
])
def test_producer_consumer_cores(cb_elfs, tiny, seed, num_pages, page_size, step, pages):
    rng = random.Random(seed)
    base = cb_data_base(tiny) + 4 * rng.randrange(64)
    cb = CircularBuffer(rng.randrange(NUM_CBS), base, page_size, num_pages)
    image = FirmwareImage.from_bytes(_image(cb_elfs, tiny, cb, pages, step))
    chip = ModelChip(tiny, fill=0x5A)
    chip.apply(load_plan(image, tiny))
    exits = {p.core: p.exit_addr for p in image.programs}
    results = TileCluster(chip, tiny, *TILE, exits).run(rng)
    print(f"seed {seed}")
    assert results["brisc"].exit_code == 0
    assert results["trisc0"].exit_code == 0, results["trisc0"].console
    assert results["trisc0"].console == f"consumer: {pages} pages ok\n"
    mailbox = tiny.mmio.region("tile_ctrl").address("mailbox", tiny.core_index("trisc0"))
    assert results["trisc0"].mmio_writes[mailbox] == pages


def test_table_is_loaded(cb_elfs, tiny):
    cbs = [CircularBuffer(3, cb_data_base(tiny), 64, 4), CircularBuffer(0, cb_data_base(tiny) + 256, 32, 2)]
    image = build_image([ProgramSpec("brisc", [TILE], cb_elfs["brisc"])], tiny, circular_buffers={TILE: cbs})
    assert FirmwareImage.from_bytes(image).circular_buffers == {TILE: sorted(cbs, key=lambda c: c.index)}
    chip = ModelChip(tiny, fill=0xFF)
    chip.apply(load_plan(image, tiny))
    table = chip.read(*TILE, cb_table_base(tiny), NUM_CBS * CB_ENTRY_BYTES)
    entries = [struct.unpack_from("<8I", table, i * CB_ENTRY_BYTES) for i in range(NUM_CBS)]
    assert entries[3] == (cb_data_base(tiny), 256, 64, 4, 0, 0, 0, 0)
    assert entries[0] == (cb_data_base(tiny) + 256, 64, 32, 2, 0, 0, 0, 0)
    assert all(e == (0,) * 8 for i, e in enumerate(entries) if i not in (0, 3))
    assert cb_table_base(tiny) >= tiny.l1_data_base


def test_circular_buffer_refusals(cb_elfs, tiny):
    prog = [ProgramSpec("brisc", [TILE], cb_elfs["brisc"])]
    base = cb_data_base(tiny)
    end = tiny.l1.size_bytes
    cases = [
        ([CircularBuffer(NUM_CBS, base, 64, 2)], FirmwareError, "index 32 is not in"),
        ([CircularBuffer(0, base, 64, 2), CircularBuffer(0, base + 128, 64, 2)], FirmwareError, "defined twice"),
        ([CircularBuffer(0, base, 6, 2)], FirmwareError, "multiples of 4"),
        ([CircularBuffer(0, base, 64, 0)], FirmwareError, "num_pages 0"),
        ([CircularBuffer(0, end - 64, 64, 2)], CapacityError, "runs past the end of L1"),
        ([CircularBuffer(0, base - 64, 64, 1)], LayoutError, "below the L1 data area"),
        ([CircularBuffer(0, base, 64, 2), CircularBuffer(1, base + 64, 64, 2)], LayoutError, "overlap"),
    ]
    for cbs, error, message in cases:
        with pytest.raises(error, match=message):
            build_image(prog, tiny, circular_buffers={TILE: cbs})
    with pytest.raises(TargetError, match="has no program"):
        build_image(prog, tiny, circular_buffers={(2, 0): [CircularBuffer(0, base, 64, 2)]})
