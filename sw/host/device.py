"""The device and its command queue: ``CreateDevice``, ``EnqueueWriteBuffer``, ``EnqueueProgram``, ...

A :class:`Device` owns a :class:`~tessera.sw.host.transport.Transport`
(by default the Verilator chip in a child process; with ``board=`` or
``$TESSERA_BOARD``, a board over its serial port,
:class:`~tessera.sw.host.board.BoardTransport`), the allocators of its
DRAM and L1 buffers and one command queue.  Every call is plain,
synchronous Python: a non-blocking ``Enqueue*`` is queued and performed, in
order, at the next blocking one or at ``Finish``.

Running a program (:meth:`Device.run_program`): check every core, lay out
the circular buffers, compile the kernels (cached), bundle the ELFs into a
firmware image, load it through the host node (the toolchain's load plan),
set the semaphores, release the cores, then let the chip run until every
kernel has exited or the cycle budget is spent.  A kernel exiting non-zero
raises :class:`~tessera.sw.host.errors.KernelError`; a budget overrun holds
the program's cores in reset and raises
:class:`~tessera.sw.host.errors.DeviceHang` with every core's PC and what it
waits on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from tessera.hw.config import TesseraConfig, preset
from tessera.sw.toolchain.cb import CB_ENTRY_BYTES, CB_FIELDS, cb_table_base
from tessera.sw.toolchain.image import FirmwareImage, ProgramSpec, build_image
from tessera.sw.toolchain.loader import load_plan

from .buffer import PAGE_ALIGN, Allocator, Buffer, BufferType
from .core import ComputeGrid, CoreCoord
from .errors import DeviceClosedError, DeviceHang, KernelError, RuntimeInputError
from .kernels import compile_kernel
from .program import (NUM_SEMAPHORES, SEMAPHORE_STRIDE, ComputeConfig, Program, cb_fifo_base, semaphore_base)
from .symbols import ElfSymbols

__all__ = ["Device", "CommandQueue", "CreateDevice", "CloseDevice", "GetCommandQueue", "EnqueueWriteBuffer",
           "EnqueueReadBuffer", "EnqueueProgram", "Finish", "CompileProgram", "DEFAULT_CYCLE_BUDGET",
           "BOARD_ENV"]

#: The environment variable naming a board (serial device or pyserial URL) to open instead of the simulator.
BOARD_ENV = "TESSERA_BOARD"

#: Cycles a program may run before it is stopped as hung (about 3 minutes of simulation on the tiny chip).
DEFAULT_CYCLE_BUDGET = 1_000_000

_MCAUSE = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
           3: "breakpoint", 4: "load address misaligned", 5: "load access fault", 6: "store address misaligned",
           7: "store access fault", 11: "environment call"}


def _word(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "little")


class CommandQueue:
    """The device's one command queue (tt-metal ``device->command_queue()``)."""

    def __init__(self, device):
        self.device = device
        self.pending = []

    def _enqueue(self, action, blocking: bool) -> None:
        self.device.check_open()
        self.pending.append(action)
        if blocking:
            self.finish()

    def finish(self) -> None:
        """Perform every queued command, in order."""
        self.device.check_open()
        while self.pending:
            action = self.pending.pop(0)
            try:
                action()
            except BaseException:
                self.pending.clear()  # a failed command cancels the ones behind it
                raise


class Device:
    """A Tessera chip (see the module docstring).  Use :func:`CreateDevice` or ``with Device() as d``."""

    def __init__(self, device_id: int = 0, config: TesseraConfig | None = None, preset_name: str = "tiny",
                 transport=None, cycle_budget: int = DEFAULT_CYCLE_BUDGET, poll_cycles: int = 1000,
                 print_console: bool = True, board: str | None = None):
        if not isinstance(device_id, int) or isinstance(device_id, bool) or device_id < 0:
            raise RuntimeInputError(f"device_id must be a non-negative integer, got {device_id!r}")
        self.id = device_id
        self.cfg = config or preset(preset_name)
        self.grid = ComputeGrid(self.cfg)
        self.cycle_budget = cycle_budget
        self.poll_cycles = poll_cycles
        self.print_console = print_console
        self.console = []   # (CoreCoord, text) of every kernel print, in order
        self.runs = 0       # programs run so far (names the traces of $TESSERA_TRACE_DIR)
        self.is_open = False
        if transport is not None and board is not None:
            raise RuntimeInputError(f"give a transport or a board, not both (board={board!r})")
        if transport is None:
            board = board if board is not None else os.environ.get(BOARD_ENV) or None
            if board is not None:
                from .board import BoardTransport
                transport = BoardTransport(self.cfg, board)
            else:
                from .transport import SimulatorTransport
                transport = SimulatorTransport(self.cfg)
        self.transport = transport
        self.is_open = True
        l1_end = self.cfg.l1.base + self.cfg.l1.size_bytes
        floor = cb_fifo_base(self.cfg)
        self._allocators = {BufferType.DRAM: Allocator("DRAM", 0, self.cfg.dram.size_bytes),
                            BufferType.L1: Allocator("L1", floor, l1_end - floor, top_down=True)}
        tensix = {(n.x, n.y) for n in self.cfg.nodes_of("tensix")}
        self._banks = {BufferType.DRAM: [(n.x, n.y) for n in self.cfg.nodes_of("dram")],
                       BufferType.L1: [(self.grid.x0 + x, self.grid.y0 + y) for y in range(self.grid.height)
                                       for x in range(self.grid.width)
                                       if (self.grid.x0 + x, self.grid.y0 + y) in tensix]}
        self._queue = CommandQueue(self)

    # -- tt-metal's device queries -----------------------------------------------------------

    def compute_with_storage_grid_size(self) -> CoreCoord:
        return self.grid.size

    def worker_core_from_logical_core(self, core) -> CoreCoord:
        """The NoC coordinates of a logical core (what a kernel passes to ``get_noc_addr``)."""
        return CoreCoord(*self.grid.noc(core))

    def dram_nodes(self) -> list:
        return [CoreCoord(x, y) for x, y in self._banks[BufferType.DRAM]]

    def command_queue(self) -> CommandQueue:
        self.check_open()
        return self._queue

    def banks(self, buffer_type: BufferType) -> list:
        if not self._banks.get(buffer_type):
            raise RuntimeInputError(f"configuration {self.cfg.name!r} has no {buffer_type.name} banks")
        return self._banks[buffer_type]

    def allocator(self, buffer_type: BufferType) -> Allocator:
        return self._allocators[buffer_type]

    # -- life cycle --------------------------------------------------------------------------

    def check_open(self) -> None:
        if not self.is_open:
            raise DeviceClosedError(f"device {self.id} is closed")

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._queue.pending.clear()
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Device({self.id}, {self.cfg.name!r}, {'open' if self.is_open else 'closed'})"

    # -- raw access and counters -------------------------------------------------------------

    def counters(self) -> dict:
        """Simulated cycle, bad packets and every core's state (pc, retired, trapped, held)."""
        self.check_open()
        return self.transport.counters()

    def reset(self) -> None:
        """Reset the chip: every core held, the NoC idle (memories keep their contents)."""
        self.check_open()
        self._queue.finish()
        self.transport.reset()

    # -- buffers -----------------------------------------------------------------------------

    def _check_buffer(self, buffer, what: str) -> None:
        self.check_open()
        if not isinstance(buffer, Buffer):
            raise RuntimeInputError(f"{what}: expected a Buffer, got {buffer!r}")
        if buffer.device is not self:
            raise RuntimeInputError(f"{what}: the buffer belongs to device {buffer.device.id} "
                                    f"({'open' if buffer.device.is_open else 'closed'}), not to device {self.id}")
        if not buffer.allocated:
            raise RuntimeInputError(f"{what}: the buffer has been deallocated")

    def write_buffer(self, buffer: Buffer, data: bytes) -> None:
        writes = []
        for x, y, addr, pages in buffer.bank_runs():
            blob = bytearray()
            for i, page in enumerate(pages):
                chunk = data[page * buffer.page_size:(page + 1) * buffer.page_size]
                blob += chunk
                if i + 1 < len(pages):
                    blob += bytes(buffer.page_stride - buffer.page_size)
            writes.append((x, y, addr, bytes(blob)))
        self.transport.writes(writes)

    def read_buffer(self, buffer: Buffer) -> bytes:
        out = bytearray(buffer.size)
        for x, y, addr, pages in buffer.bank_runs():
            blob = self.transport.read(x, y, addr, (len(pages) - 1) * buffer.page_stride + buffer.page_size)
            for i, page in enumerate(pages):
                out[page * buffer.page_size:(page + 1) * buffer.page_size] = \
                    blob[i * buffer.page_stride:i * buffer.page_stride + buffer.page_size]
        return bytes(out)

    # -- programs ----------------------------------------------------------------------------

    def runtime_defines(self) -> dict:
        """Defines every kernel build sees (tessera_program.h reads them)."""
        def table(banks):
            return "{" + ",".join(f"{x}u,{y}u" for x, y in banks) + "}"
        return {"TESSERA_SEMAPHORE_BASE": f"{semaphore_base(self.cfg):#x}u",
                "TESSERA_SEMAPHORE_STRIDE": f"{SEMAPHORE_STRIDE}u",
                "TESSERA_NUM_SEMAPHORES": f"{NUM_SEMAPHORES}u",
                "TESSERA_PAGE_ALIGN": f"{PAGE_ALIGN}u",
                "TESSERA_DRAM_BANKS": f"{len(self._banks[BufferType.DRAM])}u",
                "TESSERA_DRAM_BANK_XY": table(self._banks[BufferType.DRAM]),
                "TESSERA_L1_BANKS": f"{len(self._banks[BufferType.L1])}u",
                "TESSERA_L1_BANK_XY": table(self._banks[BufferType.L1])}

    def compile_program(self, program: Program) -> dict:
        """Check the program's cores against the grid and compile its kernels; returns {kernel id: cached?}."""
        self.check_open()
        if not isinstance(program, Program):
            raise RuntimeInputError(f"expected a Program, got {program!r}")
        if not program.kernels:
            raise RuntimeInputError("the program has no kernel (CreateKernel)")
        for kernel in program.kernels:
            for core in kernel.cores:
                self.grid.noc(core)
        for group in program.circular_buffers + program.semaphores:
            for core in group.cores:
                self.grid.noc(core)
        cached = {}
        base = self.runtime_defines()
        for kernel in program.kernels:
            config = kernel.config
            defines = dict(base)
            if config.compile_args:
                defines["TESSERA_COMPILE_TIME_ARGS"] = ",".join(f"{v}u" for v in config.compile_args)
                defines["TESSERA_NUM_COMPILE_TIME_ARGS"] = f"{len(config.compile_args)}u"
            defines.update(config.extra_defines())
            defines.update(config.defines or {})
            flat = [k if v is None else f"{k}={v}" for k, v in sorted(defines.items())]
            kernel.elfs = {}
            hits = []
            for target in config.targets(self.cfg):
                kernel.elfs[target], hit = compile_kernel(kernel.source, target, self.cfg, flat, config.opt)
                hits.append(hit)
            cached[kernel.id] = all(hits)
        program.compiled_for = self
        return cached

    def _program_writes(self, program: Program) -> tuple:
        """What loading ``program`` takes: (the load plan's writes before the release, the semaphore
        writes, the release writes, the image's programs, {(tile, core name): (kernel, logical core)},
        {tile: [CircularBuffer]})."""
        specs, owners = [], {}
        for kernel in program.kernels:
            tiles = [self.grid.noc(core) for core in kernel.cores]
            args = {self.grid.noc(core): values for core, values in kernel.runtime_args.items()}
            for target, elf in kernel.elfs.items():
                specs.append(ProgramSpec(target, tiles, elf, runtime_args=args, name=f"{kernel.name}.{target}"))
                for core, tile in zip(kernel.cores, tiles):
                    owners[(tile, target)] = (kernel, core)
        kernel_tiles = {tile for tile, _ in owners}
        l1_floor = self._allocators[BufferType.L1].lowest
        cbs = {}
        cb_cores = sorted({c for group in program.circular_buffers for c in group.cores}, key=lambda c: (c.y, c.x))
        for core in cb_cores:
            tile = self.grid.noc(core)
            placed = program.check_cb_space(self.cfg, core, tile, l1_floor)
            if tile in kernel_tiles and placed:
                cbs[tile] = placed
        image = build_image(specs, self.cfg, cbs)
        plan = load_plan(image, self.cfg)
        sem_writes = []
        for sem in program.semaphores:
            for core in sem.cores:
                x, y = self.grid.noc(core)
                sem_writes.append((x, y, semaphore_base(self.cfg) + SEMAPHORE_STRIDE * sem.id, _word(sem.initial_value)))
        before = [(w.x, w.y, w.addr, w.data) for w in plan if w.phase != "release"]
        release = [(w.x, w.y, w.addr, w.data) for w in plan if w.phase == "release"]
        programs = FirmwareImage.from_bytes(image).programs
        return before, sem_writes, release, programs, owners, cbs

    def run_program(self, program: Program, cycle_budget: int | None = None, trace=None) -> dict:
        """Load, start and wait for ``program``; returns {"cycles": ..., "codes": ...}.

        ``trace``: a file path without suffix; the run's timeline (every core's
        waypoints, engine threads, NIUs, DRAM) is written to ``<trace>.json``
        (Chrome / Perfetto trace, open it at ui.perfetto.dev) and a PNG summary
        ``<trace>.png``.  Without it, ``$TESSERA_TRACE_DIR`` (when set) gets
        ``program-<n>.json`` / ``.png`` for the n-th program run of the device.
        The result then carries ``"trace": {"json": ..., "png": ...}``.
        """
        if trace is None and os.environ.get("TESSERA_TRACE_DIR"):
            trace = Path(os.environ["TESSERA_TRACE_DIR"]) / f"program-{self.runs}"
        if trace is not None:
            trace = Path(trace).resolve()
            if trace.suffix in (".json", ".png"):
                trace = trace.with_suffix("")
        self.runs += 1
        if program.compiled_for is not self:
            self.compile_program(program)
        budget = cycle_budget or self.cycle_budget
        before, sems, release, programs, owners, cbs = self._program_writes(program)
        self.transport.writes(before + sems + release)
        watch = [{"x": p.x, "y": p.y, "core": p.core, "exit_addr": p.exit_addr} for p in programs]
        result = self.transport.run(watch, budget, self.poll_cycles,
                                    **({"trace": str(trace)} if trace is not None else {}))
        for entry in result.get("console", []):
            core = self.grid.logical(entry["x"], entry["y"])
            self.console.append((core, entry["text"]))
            if self.print_console:
                for line in entry["text"].splitlines():
                    sys.stdout.write(f"[core {core}] {line}\n")
        if not result.get("done"):
            # Stop the hung program: hold every core of its tiles.
            hold = self.cfg.mmio.region("tile_ctrl").address("soft_reset")
            tiles = sorted({(p.x, p.y) for p in programs})
            report = self._hang_report(result, owners, cbs, program)
            self.transport.writes([(x, y, hold, _word((1 << len(self.cfg.cores)) - 1)) for x, y in tiles])
            raise DeviceHang(f"program did not finish within {budget} cycles; its cores are now held in reset\n"
                             + report, result.get("cores", ()), report)
        failures = []
        for c in result["codes"]:
            if c["code"]:
                kernel, core = owners[((c["x"], c["y"]), c["core"])]
                failures.append(self._exit_text(kernel, core, c))
        if failures:
            raise KernelError("kernels failed:\n  " + "\n  ".join(failures))
        out = {"cycles": result["cycles"], "codes": result["codes"]}
        if "trace" in result:
            out["trace"] = result["trace"]
        return out

    def _exit_text(self, kernel, core, c) -> str:
        code = c["code"]
        text = f"kernel {kernel.name} on core {core} {c['core']} exited with code {code}"
        if code >= 128 and code - 128 in _MCAUSE:
            text += f" (trap: {_MCAUSE[code - 128]})"
        return text

    def _hang_report(self, result, owners, cbs, program) -> str:
        symbols = {}
        lines = [f"after {result['cycles']} cycles, every core of every tile:"]
        for state in result.get("cores", []):
            tile, name = (state["x"], state["y"]), state["core"]
            core = self.grid.logical(*tile)
            label = f"core {core} (NoC {tile}) {name:7s}"
            owner = owners.get((tile, name))
            if state.get("held"):
                lines.append(f"  {label} held in reset")
                continue
            done = any((c["x"], c["y"], c["core"]) == (*tile, name) for c in result.get("codes", []))
            where = f"pc {state['pc']:#010x}"
            if owner is not None:
                kernel = owner[0]
                elf = kernel.elfs[name]
                if elf not in symbols:
                    symbols[elf] = ElfSymbols(elf)
                where += f" {symbols[elf].describe(state['pc'])}"
                what = f"kernel {kernel.name}: " + ("exited" if done else where)
            else:
                what = f"no kernel of this program: {where}"
            trapped = ", TRAPPED" if state.get("trapped") else ""
            waiting = f", waypoint {state['waypoint']}" if state.get("waypoint") and not done else ""
            lines.append(f"  {label} {what}, retired {state.get('retired', 0)}{trapped}{waiting}")
        for tile, placed in sorted(cbs.items()):
            core = self.grid.logical(*tile)
            for cb in placed:
                entry = self.transport.read(tile[0], tile[1], cb_table_base(self.cfg) + cb.index * CB_ENTRY_BYTES,
                                            CB_ENTRY_BYTES)
                received = int.from_bytes(entry[CB_FIELDS["pages_received"]:][:4], "little")
                acked = int.from_bytes(entry[CB_FIELDS["pages_acked"]:][:4], "little")
                filled = (received - acked) % (2 * cb.num_pages)
                lines.append(f"  core {core} circular buffer {cb.index}: {filled} of {cb.num_pages} pages filled "
                             f"(pushed {received}, popped {acked}, modulo {2 * cb.num_pages})")
        for sem in program.semaphores:
            for core in sem.cores:
                x, y = self.grid.noc(core)
                value = int.from_bytes(self.transport.read(x, y, semaphore_base(self.cfg) + SEMAPHORE_STRIDE * sem.id,
                                                           4), "little")
                lines.append(f"  core {core} semaphore {sem.id} = {value}")
        return "\n".join(lines)


def CreateDevice(device_id: int = 0, **kwargs) -> Device:  # noqa: N802 - tt-metal's names
    """Open device ``device_id``: by default the tiny Verilator chip in a child process.

    Keyword arguments go to :class:`Device` (``config``, ``preset_name``, ``transport``,
    ``cycle_budget``, ``poll_cycles``, ``print_console``, ``board``).  ``board``: a serial
    device (``/dev/ttyUSB0``) or pyserial URL (``socket://HOST:PORT``) of a board whose
    bitstream is a chip of the configuration; without it, ``$TESSERA_BOARD`` when set.
    """
    return Device(device_id, **kwargs)


def CloseDevice(device: Device) -> None:  # noqa: N802
    device.close()


def GetCommandQueue(device: Device) -> CommandQueue:  # noqa: N802
    return device.command_queue()


def _check_queue(queue, what: str) -> Device:
    if not isinstance(queue, CommandQueue):
        raise RuntimeInputError(f"{what}: expected a CommandQueue (device.command_queue()), got {queue!r}")
    queue.device.check_open()
    return queue.device


def _as_bytes(data, size: int, what: str) -> bytes:
    if isinstance(data, np.ndarray):
        blob = np.ascontiguousarray(data).tobytes()
    elif isinstance(data, (bytes, bytearray, memoryview)):
        blob = bytes(data)
    else:
        raise RuntimeInputError(f"{what}: data must be a numpy array or bytes, got {type(data).__name__}")
    if len(blob) != size:
        raise RuntimeInputError(f"{what}: {len(blob)} bytes of data for a buffer of {size} bytes")
    return blob


def EnqueueWriteBuffer(queue: CommandQueue, buffer: Buffer, data, blocking: bool = False) -> None:  # noqa: N802
    """Write ``data`` (numpy array or bytes, exactly the buffer's size; copied now) into ``buffer``."""
    device = _check_queue(queue, "EnqueueWriteBuffer")
    device._check_buffer(buffer, "EnqueueWriteBuffer")
    blob = _as_bytes(data, buffer.size, "EnqueueWriteBuffer")
    queue._enqueue(lambda: device.write_buffer(buffer, blob), blocking)


def EnqueueReadBuffer(queue: CommandQueue, buffer: Buffer, out=None, blocking: bool = True):  # noqa: N802
    """Read ``buffer`` into ``out`` (a writable numpy array or bytearray of its size) and return ``out``.

    Without ``out`` (blocking only) a ``uint8`` array is returned.  A
    non-blocking read fills ``out`` when the queue reaches it (``Finish``).
    """
    device = _check_queue(queue, "EnqueueReadBuffer")
    device._check_buffer(buffer, "EnqueueReadBuffer")
    if out is None:
        if not blocking:
            raise RuntimeInputError("EnqueueReadBuffer with blocking=False needs an output array (out=...)")
        out = np.empty(buffer.size, dtype=np.uint8)
    if isinstance(out, np.ndarray):
        if not out.flags.c_contiguous or not out.flags.writeable or out.nbytes != buffer.size:
            raise RuntimeInputError(f"EnqueueReadBuffer: out must be a writable C-contiguous array of {buffer.size} "
                                    f"bytes, got shape {out.shape} dtype {out.dtype} ({out.nbytes} bytes)")
        target = out.reshape(-1).view(np.uint8)
    elif isinstance(out, bytearray):
        if len(out) != buffer.size:
            raise RuntimeInputError(f"EnqueueReadBuffer: out has {len(out)} bytes, the buffer {buffer.size}")
        target = np.frombuffer(out, dtype=np.uint8)
    else:
        raise RuntimeInputError(f"EnqueueReadBuffer: out must be a numpy array or bytearray, got {type(out).__name__}")

    def read():
        target[:] = np.frombuffer(device.read_buffer(buffer), dtype=np.uint8)

    queue._enqueue(read, blocking)
    return out


def EnqueueProgram(queue: CommandQueue, program: Program, blocking: bool = False,  # noqa: N802
                   cycle_budget: int | None = None, trace=None) -> None:
    """Run ``program`` on the queue's device when the queue reaches it (see :meth:`Device.run_program`;
    ``trace`` writes the run's timeline there).

    The kernels are compiled now, so a compile error is raised by this call.
    """
    device = _check_queue(queue, "EnqueueProgram")
    device.compile_program(program)

    def run():
        program.last_run = device.run_program(program, cycle_budget, trace=trace)

    queue._enqueue(run, blocking)


def CompileProgram(device: Device, program: Program) -> dict:  # noqa: N802
    return device.compile_program(program)


def Finish(queue: CommandQueue) -> None:  # noqa: N802
    _check_queue(queue, "Finish")
    queue.finish()
