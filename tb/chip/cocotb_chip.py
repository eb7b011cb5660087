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
* ``timeline``: tb/chip/kernels/chip_timeline.c (brisc, ncrisc) and
  sw/kernels/tile_eltwise_add.c (TRISCs) on every tile, run twice — without
  and with :class:`~tessera.sim.chip.trace.ChipTracer` — and the trace
  checked: every wait's waypoint interval on the expected cores (durations
  against the firmware's own cycle counts), NIU, DRAM and engine activity
  overlapping the transfers and commands, a well-formed Chrome trace JSON
  (tb/chip/trace_check.py) and the PNG; the speed of both runs is recorded.

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
from tessera.sim.chip.trace import ChipTracer, Interval
from tessera.sim.cocotb_util import load_config, reset, seeded_rng, start_clock
from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf
from tessera.sw.toolchain.build import KERNELS_DIR
from tb.chip.trace_check import check_chrome_trace, intervals_from_chrome_trace, overlap

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


def _timeline_args(cfg, s, length):
    """Runtime arguments of chip_timeline.c: grid, DRAM, block length, extra reads, then L1 buffers."""
    xs = sorted({x for x, _ in s.tiles})
    ys = sorted({y for _, y in s.tiles})
    dx, dy = s.drams[0]
    base = cfg.l1_data_base
    return dict(x0=xs[0], y0=ys[0], gw=len(xs), n=len(s.tiles), dx=dx, dy=dy, din=0x4000, len=length, extra=3,
                buf=base, rx=base + length, sem=base + 2 * length, go=base + 2 * length + 0x10,
                go_src=base + 2 * length + 0x20, flag=base + 2 * length + 0x30, result=base + 2 * length + 0x40)


def _intersects(runs, interval):
    return [r for r in runs if overlap(r, interval) > 0]


@cocotb.test()
async def timeline(dut):
    cfg, s, rng, out = await _setup(dut, "timeline")
    host = s.host
    length = 4096
    a = _timeline_args(cfg, s, length)
    engine_tiles = 2
    ebytes = cfg.engine.tile_bytes("float16_b")
    from tessera.hw.engine.commands import FORMAT_BY_NAME
    e_base = a["result"] + 0x100
    fmt = FORMAT_BY_NAME["float16_b"]
    eltwise = [engine_tiles, e_base, e_base + engine_tiles * ebytes, e_base + 2 * engine_tiles * ebytes,
               fmt, fmt, ebytes, ebytes]
    assert e_base + 3 * engine_tiles * ebytes <= cfg.l1.size_bytes
    specs = []
    for core in ("brisc", "ncrisc"):
        elf = compile_elf([KERNELS / "chip_timeline.c"], core, cfg, out / f"chip_timeline_{core}.elf")
        s.add_program_symbols(s.tiles, core, elf)
        specs.append(ProgramSpec(core, list(s.tiles), elf, runtime_args=list(a.values())))
    for core in ("trisc0", "trisc1", "trisc2"):
        elf = compile_elf([KERNELS_DIR / "tile_eltwise_add.c"], core, cfg, out / f"tile_eltwise_add_{core}.elf")
        s.add_program_symbols(s.tiles, core, elf)
        specs.append(ProgramSpec(core, list(s.tiles), elf, runtime_args=eltwise))
    image = build_image(specs, cfg)
    index = {tile: (tile[1] - a["y0"]) * a["gw"] + (tile[0] - a["x0"]) for tile in s.tiles}
    by_index = {t: tile for tile, t in index.items()}
    n = a["n"]
    inputs = [bytes(rng.randrange(256) for _ in range(length)) for _ in range(n)]
    for t, blob in enumerate(inputs):
        await s.dram_write(0, a["din"] + t * length, blob)
    fresh = [(x, y, a["sem"], bytes(0x50)) for x, y in s.tiles]

    runs = {}
    timeline = None
    for traced in (False, True):
        tracer = ChipTracer(dut, cfg, symbols=s.symbols) if traced else None
        if tracer:
            tracer.start()
        c0, w0 = s.cycle(), time.monotonic()
        traced_from = c0
        release = await s.load(image, fresh)
        w1 = time.monotonic()
        codes = await s.wait_done(timeout_cycles=200_000, poll_cycles=500)
        c2, w2 = s.cycle(), time.monotonic()
        if tracer:
            timeline = tracer.stop()
        assert set(codes.values()) == {0}, f"exit codes {codes}\n{s.report()}"
        runs["traced" if traced else "plain"] = {
            "load_cycles": release - c0, "load_wall_seconds": w1 - w0,
            "kernel_cycles": c2 - release, "kernel_wall_seconds": w2 - w1,
            "kernel_cycles_per_second": (c2 - release) / (w2 - w1),
            "total_cycles_per_second": (c2 - c0) / (w2 - w0)}
        dut._log.info(f"timeline run {'with' if traced else 'without'} tracer: {runs[list(runs)[-1]]}")
        for tile, t in index.items():
            prev = (t - 1) % n
            assert await host.read(*tile, a["rx"], length) == inputs[prev], f"tile {tile}: RX"
            result = await host.read(*tile, a["result"], 12)
            assert int.from_bytes(result[8:12], "little") == 0x600DF00D, f"tile {tile}: ncrisc result"
    firmware = {}
    for tile in s.tiles:
        result = await host.read(*tile, a["result"], 8)
        firmware[tile] = (int.from_bytes(result[0:4], "little"), int.from_bytes(result[4:8], "little"))

    # -- the trace ------------------------------------------------------------
    trace_path = timeline.write_json(out / "timeline.trace.json")
    doc = json.loads(trace_path.read_text())
    problems = check_chrome_trace(doc)
    assert not problems, "trace JSON: " + "; ".join(problems[:10])
    tracks = {t.key: t for t in timeline.tracks}
    from_json = intervals_from_chrome_trace(doc)
    for key, runs_of in timeline.intervals.items():
        track = tracks[key]
        assert from_json.get((track.pid, track.tid), []) == [(r.start, r.end, r.state) for r in runs_of], \
            f"{track.label}: JSON intervals differ from the recorded ones"
    png = out / "timeline.trace.png"
    drew = timeline.write_png(png)
    try:
        import matplotlib  # noqa: F401
        assert drew and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "no PNG written"
    except ImportError:
        assert not drew and not png.exists()

    def lane(kind, t, *rest):
        """The track's intervals of the traced run (the cores' first: DONE of the run before, until held)."""
        return [r for r in timeline.intervals[(kind, t, *rest)] if r.start > traced_from]

    cores = {c.name: i for i, c in enumerate(cfg.cores)}
    tiles_order = [(node.x, node.y) for node in cfg.nodes_of("tensix")]
    last = n - 1
    for ti, tile in enumerate(tiles_order):
        t = index[tile]
        brisc = lane("core", ti, cores["brisc"])
        names = [r.state for r in brisc]
        want = ["NOC_READ_BARRIER", "NOC_WRITE_BARRIER", "NOC_ATOMIC_BARRIER", "SEMAPHORE_WAIT"]
        if t == 0:
            want.append("NOC_WRITES_FLUSHED")
        waits = [x for x in names if x not in ("RUNNING", "DONE")]
        reads = 1 + (a["extra"] if t == last else 0)
        expect = ["NOC_READ_BARRIER", "NOC_WRITE_BARRIER"] + ["NOC_READ_BARRIER"] * (reads - 1) + \
            ["NOC_ATOMIC_BARRIER", "SEMAPHORE_WAIT"] + (["NOC_WRITES_FLUSHED"] if t == 0 else [])
        # Waits on a busy command buffer may appear between them; nothing else.
        assert [x for x in waits if x != "NOC_CMD_BUFFER_WAIT"] == expect, f"tile {tile} brisc waits {waits}"
        assert names[-1] == "DONE" and brisc[-1].end == timeline.stop_cycle, f"tile {tile} brisc ends {brisc[-1]}"
        assert names[0] == "RUNNING", f"tile {tile} brisc starts {brisc[0]}"
        # The firmware's own cycle counts bracket the barriers (issue + barrier; the issue is a few
        # MMIO stores).
        read_barrier = next(r for r in brisc if r.state == "NOC_READ_BARRIER")
        write_barrier = next(r for r in brisc if r.state == "NOC_WRITE_BARRIER")
        for what, run, fw in (("read", read_barrier, firmware[tile][0]), ("write", write_barrier, firmware[tile][1])):
            assert fw - 80 <= run.cycles <= fw, f"tile {tile}: {what} barrier {run.cycles} cycles, firmware {fw}"
        # The NIU awaits the read responses during the read barrier; DRAM serves them.
        awaiting = lane("niu", ti, "awaiting")
        covered = sum(overlap(r, read_barrier) for r in awaiting)
        assert covered >= 0.9 * read_barrier.cycles, f"tile {tile}: NIU awaiting {covered} of {read_barrier}"
        issue = Interval(read_barrier.start - 100, read_barrier.end, "issue")
        assert _intersects(lane("niu", ti, "sending"), issue), f"tile {tile}: the NIU never sent the reads"
        dram = timeline.intervals[("dram", 0)]
        assert _intersects(dram, read_barrier), f"tile {tile}: DRAM idle during the read barrier {read_barrier}"
        # The next tile's NIU serves the write.
        nxt = tiles_order.index(by_index[(t + 1) % n])
        assert _intersects(lane("niu", nxt, "serving"), write_barrier), \
            f"tile {tile}: next tile's NIU does not serve during the write barrier {write_barrier}"
        assert sum(overlap(r, write_barrier) for r in awaiting) >= 0.5 * write_barrier.cycles
        # ncrisc: one wait for brisc's flag, released after brisc's last wait, then done.
        ncrisc = lane("core", ti, cores["ncrisc"])
        nwaits = [r for r in ncrisc if r.state == "SEMAPHORE_WAIT"]
        assert [r.state for r in ncrisc if r.state not in ("RUNNING",)] == ["SEMAPHORE_WAIT", "DONE"], ncrisc
        last_brisc_wait = [r for r in brisc if r.state not in ("RUNNING", "DONE")][-1]
        assert nwaits[0].end >= last_brisc_wait.end, f"tile {tile}: ncrisc released before brisc's last wait"
        # The engine's threads ran the eltwise add; the pack core waited for them.
        for thread in ("unpack", "math", "pack"):
            assert lane("engine", ti, thread), f"tile {tile}: engine {thread} never busy"
        pack_waits = [r for r in lane("core", ti, cores["trisc2"]) if r.state == "ENGINE_WAIT"]
        assert len(pack_waits) == 1 and lane("core", ti, cores["trisc2"])[-1].state == "DONE"
        assert _intersects(lane("engine", ti, "pack"), pack_waits[0]), f"tile {tile}: {pack_waits} without packing"
    # Tile 0 waits for the last tile's check-in; the others wait for tile 0's GO.
    t0 = tiles_order.index(by_index[0])
    sem_wait = next(r for r in lane("core", t0, cores["brisc"]) if r.state == "SEMAPHORE_WAIT")
    tl = tiles_order.index(by_index[last])
    last_atomic = next(r for r in lane("core", tl, cores["brisc"]) if r.state == "NOC_ATOMIC_BARRIER")
    assert sem_wait.start < last_atomic.start < sem_wait.end, (sem_wait, last_atomic)

    plain, traced = runs["plain"], runs["traced"]
    events = sum(1 for e in doc["traceEvents"] if e["ph"] == "X")
    ratio = traced["kernel_cycles_per_second"] / plain["kernel_cycles_per_second"]
    dut._log.info(f"trace: {events} intervals, {timeline.changes} changes, {trace_path.stat().st_size} bytes; "
                  f"kernel speed with/without tracer {ratio:.3f}")
    assert ratio > 0.5, f"tracing slowed the simulation to {ratio:.2f} of its speed: {runs}"
    _record("timeline", {**runs, "speed_ratio": ratio, "trace_events": events, "changes": timeline.changes,
                         "trace_bytes": trace_path.stat().st_size, "firmware_barrier_cycles":
                         {str(k): v for k, v in firmware.items()}, "summary": timeline.summary()})
