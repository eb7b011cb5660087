"""cocotb bench of the whole chip (block ``chip``, Verilator), scoreboarded against Python memories.

* ``host_memories``: the host writes and reads every tile's L1 and the DRAM
  over the NoC with random sizes (1 byte to several packets) and alignments,
  posted and acknowledged, checked byte for byte against bytearray models;
  the DRAM backdoor agrees with the NoC view; tile_ctrl is reachable;
  bad requests raise :class:`NocError` and later traffic still passes.
* ``firmware_dataflow``: tb/chip/kernels/chip_dataflow.c on every tile's
  brisc (loaded by the firmware loader's plan through the host node): DRAM
  reads, tile-to-tile and tile-to-DRAM writes, multicasts with and without
  the sender, many atomic increments of one DRAM counter (the final count
  is exact), a semaphore handshake, an error that sets the sticky status
  without hanging a barrier.
* ``hung_kernel_report``: a kernel that never finishes is reported with
  every core's PC on every tile.

The simulator runs freely while the cores work: the host polls ``tohost``
words over the NoC every 1000 cycles.  Results (cycles, wall time) go to
``build/bench/chip/<test>.json``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb

from tessera.sim.chip.host import NocError
from tessera.sim.chip.session import ChipHang, ChipSession
from tessera.sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf

KERNELS = Path(__file__).resolve().parent / "kernels"

#: Offsets of tb/chip/kernels/chip_dataflow.h from the first data byte of L1.
LAYOUT = {"buf": 0x1001, "buf2": 0x2000, "rx": 0x3000, "mc": 0x5000, "mc2": 0x5400, "sem": 0x6000,
          "go": 0x6010, "go_src": 0x6020, "result": 0x6100, "inline": 0x6200}
MC_LEN, MC2_LEN = 100, 60


async def _setup(dut, salt):
    cfg = load_config()
    start_clock(dut)
    session = ChipSession(dut, cfg)
    await reset(dut)
    rng = seeded_rng(dut, salt)
    out = Path(os.environ.get("TESSERA_RUN_DIR", ".")) / "fw"
    out.mkdir(parents=True, exist_ok=True)
    return cfg, session, rng, out


def _record(name, values):
    from tessera.sim.harness import BUILD_ROOT
    path = BUILD_ROOT / "bench" / "chip" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, indent=1))


@cocotb.test()
async def host_memories(dut):
    cfg, s, rng, _ = await _setup(dut, "host_memories")
    host = s.host
    start = time.monotonic()
    nodes = [(x, y, cfg.l1.size_bytes) for x, y in s.tiles] + [(x, y, cfg.dram.size_bytes) for x, y in s.drams]
    model = {}
    maxp = cfg.noc.max_payload_bytes
    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 17, 63, maxp - 1, maxp, maxp + 1, 2 * maxp + 13, 3 * maxp + 5]
    # Fill a window of every node from the model, then random traffic inside the windows.
    window = 2048
    bases = {}
    for x, y, size in nodes:
        base = rng.randrange(cfg.l1_data_base, size - window) if size == cfg.l1.size_bytes \
            else rng.randrange(0, size - window)
        bases[(x, y)] = base
        model[(x, y)] = bytearray(rng.randrange(256) for _ in range(window))
        await host.write(x, y, base, bytes(model[(x, y)]))
    for step in range(60):
        x, y, _ = rng.choice(nodes)
        n = rng.choice(sizes)
        off = rng.randrange(0, window - n)
        payload = bytes(rng.randrange(256) for _ in range(n))
        await host.write(x, y, bases[(x, y)] + off, payload, acked=rng.random() < 0.6)
        model[(x, y)][off:off + n] = payload
        rx, ry, _ = rng.choice(nodes)
        rn = rng.choice(sizes)
        roff = rng.randrange(0, window - rn)
        got = await host.read(rx, ry, bases[(rx, ry)] + roff, rn)
        want = bytes(model[(rx, ry)][roff:roff + rn])
        assert got == want, f"step {step}: read ({rx}, {ry}) +{roff} x{rn}: got {got.hex()} want {want.hex()}"
    for x, y, _ in nodes:
        got = await host.read(x, y, bases[(x, y)], window)
        assert got == bytes(model[(x, y)]), f"final read of node ({x}, {y}) differs"
    # The DRAM backdoor sees what the NoC wrote, and the NoC what the backdoor wrote.
    for d, (x, y) in enumerate(s.drams):
        assert await s.dram_read(d, bases[(x, y)] + 3, 100) == bytes(model[(x, y)][3:103])
        await s.dram_write(d, 0x10005, b"backdoor!")
        assert await host.read(x, y, 0x10005, 9) == b"backdoor!"
    # tile_ctrl over the NoC: tile id and scratch.
    ctrl = cfg.mmio.region("tile_ctrl")
    for x, y in s.tiles:
        tid = int.from_bytes(await host.read(x, y, ctrl.address("tile_id"), 4), "little")
        assert tid == x | (y << 8), f"tile ({x}, {y}) reports id {tid:#x}"
        await host.write(x, y, ctrl.address("scratch"), (x * 16 + y).to_bytes(4, "little"))
    for x, y in s.tiles:
        assert int.from_bytes(await host.read(x, y, ctrl.address("scratch"), 4), "little") == x * 16 + y
    # Atomic increments from the host.
    x, y = s.drams[0]
    await host.write(x, y, 0x20000, bytes(4))
    olds = [await host.atomic_inc(x, y, 0x20000, k) for k in range(1, 6)]
    assert olds == [0, 1, 3, 6, 10]
    # Bad requests: each raises, later traffic passes.
    tx, ty = s.tiles[0]
    bad = [lambda: host.read(x, y, cfg.dram.size_bytes - 4, 8),
           lambda: host.write(tx, ty, cfg.l1.size_bytes - 2, b"abcd"),
           lambda: host.write(tx, ty, ctrl.address("scratch"), bytes(8)),
           lambda: host.read(tx, ty, 0x4000_0000, 4),
           lambda: host.atomic_inc(tx, ty, 0x5002)]
    for i, request in enumerate(bad):
        try:
            await request()
        except NocError as err:
            dut._log.info(f"bad request {i}: {err}")
        else:
            raise AssertionError(f"bad request {i} was not refused")
        await host.write(tx, ty, bases[(tx, ty)], b"after")
        assert await host.read(tx, ty, bases[(tx, ty)], 5) == b"after"
    assert int(dut.bad_packets.value) == 0, f"the network refused {int(dut.bad_packets.value)} packets"
    _record("host_memories", {"cycles": s.cycle(), "wall_seconds": time.monotonic() - start,
                              "packets_sent": host.packets_sent})


def _dataflow_args(cfg, s, rounds, length):
    xs = sorted({x for x, _ in s.tiles})
    ys = sorted({y for _, y in s.tiles})
    dx, dy = s.drams[0]
    return dict(x0=xs[0], y0=ys[0], gw=len(xs), n=len(s.tiles), dx=dx, dy=dy, din=0x1000, dout=0x8000,
                counter=0x30000, rounds=rounds, length=length, dram_size=cfg.dram.size_bytes)


@cocotb.test()
async def firmware_dataflow(dut):
    cfg, s, rng, out = await _setup(dut, "firmware_dataflow")
    host = s.host
    rounds, length = 20, 2 * cfg.noc.max_payload_bytes + 37
    a = _dataflow_args(cfg, s, rounds, length)
    assert a["gw"] * (a["n"] // a["gw"]) == a["n"], "the compute grid must be a rectangle"
    elf = compile_elf([KERNELS / "chip_dataflow.c"], "brisc", cfg, out / "chip_dataflow_brisc.elf")
    s.add_program_symbols(s.tiles, "brisc", elf)
    image = build_image([ProgramSpec("brisc", list(s.tiles), elf, runtime_args=list(a.values()))], cfg)
    base = cfg.l1_data_base
    inputs = [bytes(rng.randrange(256) for _ in range(length)) for _ in s.tiles]
    writes = [(a["dx"], a["dy"], a["counter"], bytes(4))]
    for t, blob in enumerate(inputs):
        writes.append((a["dx"], a["dy"], a["din"] + 1024 * t + t, blob))
    for x, y in s.tiles:
        writes.append((x, y, base + LAYOUT["sem"], bytes(0x40)))
        writes.append((x, y, base + LAYOUT["mc"], bytes(MC_LEN)))
        writes.append((x, y, base + LAYOUT["inline"], bytes(4 * len(s.tiles))))
        writes.append((x, y, base + LAYOUT["result"], bytes(16)))
    t0 = time.monotonic()
    release = await s.load(image, writes)
    codes = await s.wait_done(timeout_cycles=400_000)
    cycles = s.cycle() - release
    wall = time.monotonic() - t0
    if set(codes.values()) != {0}:
        # Diagnostics: refused packets and the last request header of every tile.
        dut._log.info(f"bad_packets {int(dut.bad_packets.value)}")
        from tessera.hw.noc.layout import NocFormat
        for t in range(len(s.tiles)):
            word = int(getattr(dut, f"request_head__{t}").value)
            dut._log.info(f"tile {t}: {int(getattr(dut, f'requests__{t}').value)} requests, last head "
                          f"{NocFormat(cfg.noc).unpack_header(word)}")
    assert set(codes.values()) == {0}, f"exit codes {codes}\n{s.report()}"
    n = a["n"]
    index = {tile: (tile[1] - a["y0"]) * a["gw"] + (tile[0] - a["x0"]) for tile in s.tiles}
    for tile, t in index.items():
        x, y = tile
        assert await host.read(x, y, base + LAYOUT["buf"], length) == inputs[t], f"tile {tile}: DRAM read"
        prev = (t - 1) % n
        assert await host.read(x, y, base + LAYOUT["rx"] + 3, length) == inputs[prev], f"tile {tile}: neighbour"
        got = await host.read(a["dx"], a["dy"], a["dout"] + 1024 * t + 2 * t, length)
        assert got == inputs[t], f"tile {tile}: write back to DRAM"
        assert await host.read(x, y, base + LAYOUT["mc"], MC_LEN) == (bytes(MC_LEN) if t == 0 else inputs[0][:MC_LEN]), \
            f"tile {tile}: multicast without the sender"
        assert await host.read(x, y, base + LAYOUT["mc2"], MC2_LEN) == inputs[1 % n][5:5 + MC2_LEN], \
            f"tile {tile}: multicast with the sender"
        result = await host.read(x, y, base + LAYOUT["result"], 16)
        status, addr, after, magic = (int.from_bytes(result[i:i + 4], "little") for i in range(0, 16, 4))
        assert status & 1 and addr == cfg.dram.size_bytes - 4, f"tile {tile}: error status {status:#x} addr {addr:#x}"
        assert after == 0 and magic == 0x600DF00D, f"tile {tile}: traffic after the error"
        go = int.from_bytes(await host.read(x, y, base + LAYOUT["go"], 4), "little")
        assert go == (0 if t == 0 else 1), f"tile {tile}: go flag {go}"
    x0y0 = (a["x0"], a["y0"])
    assert int.from_bytes(await host.read(*x0y0, base + LAYOUT["sem"], 4), "little") == n
    words = await host.read(*x0y0, base + LAYOUT["inline"], 4 * n)
    assert [int.from_bytes(words[i:i + 4], "little") for i in range(0, 4 * n, 4)] == \
        [0xC0DE0000 | t for t in range(n)], "inline writes into tile 0"
    count = int.from_bytes(await host.read(a["dx"], a["dy"], a["counter"], 4), "little")
    assert count == n * rounds, f"DRAM counter {count}, want {n * rounds}"
    assert int(dut.bad_packets.value) == 0, f"the network refused {int(dut.bad_packets.value)} packets"
    _record("firmware_dataflow", {"tiles": n, "kernel_cycles": cycles, "wall_seconds": wall,
                                  "cycles_per_second": cycles / wall, "console": {str(k): v.decode(errors="replace")
                                                                                  for k, v in s.consoles.items()}})


@cocotb.test()
async def hung_kernel_report(dut):
    cfg, s, rng, out = await _setup(dut, "hung_kernel_report")
    elf = compile_elf([KERNELS / "chip_hang.c"], "ncrisc", cfg, out / "chip_hang_ncrisc.elf")
    s.add_program_symbols(s.tiles, "ncrisc", elf)
    flag = cfg.l1_data_base + 0x7000
    image = build_image([ProgramSpec("ncrisc", list(s.tiles), elf, runtime_args=[flag])], cfg)
    await s.load(image, [(x, y, flag, bytes(4)) for x, y in s.tiles])
    try:
        await s.wait_done(timeout_cycles=20_000)
    except ChipHang as hang:
        text = str(hang)
    else:
        raise AssertionError("a hung kernel finished")
    dut._log.info(text)
    for x, y in s.tiles:
        for core in cfg.cores:
            lines = [l for l in text.splitlines() if f"tile ({x}, {y}) {core.name} " in l]
            assert len(lines) == 1, f"no report line for tile ({x}, {y}) {core.name}"
            if core.name == "ncrisc":
                assert "pc 0x" in lines[0] and "main" in lines[0], lines[0]
            else:
                assert "held in reset" in lines[0], lines[0]
