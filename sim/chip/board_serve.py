"""``python -m tessera.sim.chip.board_serve``: a simulated FPGA board whose serial port is a TCP socket.

The board is the Verilator model of block ``simulated_board``
(:mod:`tessera.sim.chip.board_top`): the chip behind its UART host bridge
(hw/chip/bridged_chip.py), with a model of the host computer's serial port
on the ``uart_rx`` / ``uart_tx`` pins.  The cocotb side
(:mod:`tessera.sim.chip.board_serve_cocotb`) listens on a local TCP port;
the host runtime opens it with the pyserial URL it prints, as it would open
the USB-serial device of a real board::

    python -m tessera.sim.chip.board_serve --preset tiny --port 5555
    # in another shell (the host must use the board's configuration, fast link included):
    TESSERA_BOARD=socket://127.0.0.1:5555 python my_host_program.py

The board's configuration is the given one with a fast link
(:func:`simulated_board_config`: ``clocks_per_bit`` clocks per UART bit,
4 by default, the least the bridge's receiver takes): the tiny chip
simulates at about 14,500 cycles a second, so the link's real-time rate is
that divided by ten bit times (some 350 bytes/s each way at 4 clocks per
bit; 1.25 MB/s of simulated time at 50 MHz), and a host talking to it needs
timeouts far longer than a real board's
(:meth:`SimulatedBoard.transport_options`).

:class:`SimulatedBoard` starts this module as a child process for a test
or a script (the model is built once and cached, like every model of the
harness), waits for its URL, and stops it on :meth:`SimulatedBoard.close`
(it also stops by itself when the process that started it is gone).

Usage::

    python -m tessera.sim.chip.board_serve [--preset NAME | --config FILE.json] [--clocks-per-bit N]
        [--host HOST] [--port PORT] [--ready-file PATH] [--stop-file PATH] [--stats-file PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tessera.hw.config import MIN_CLOCKS_PER_BIT, ConfigError, TesseraConfig, preset, preset_names
from tessera.sim.chip.serve import report_run

__all__ = ["main", "COCOTB_MODULE", "BLOCK", "simulated_board_config", "SimulatedBoard",
           "SIMULATED_ACK_TIMEOUT", "SIMULATED_CLOCK_HZ"]

COCOTB_MODULE = "tessera.sim.chip.board_serve_cocotb"
BLOCK = "simulated_board"
#: Seconds a host waits for the simulated board's reply to one frame before sending it again: the
#: longest frame and its reply take about 11,000 cycles, under a second at the model's usual
#: speed; this leaves room for a machine many times slower or busier.
SIMULATED_ACK_TIMEOUT = 60.0
#: A low estimate of the model's simulated cycles per wall second (it runs 10,000-17,000 on an
#: idle two-core machine): a ``RUN`` is given twice its budget at this rate before it is resent.
SIMULATED_CLOCK_HZ = 2000.0


def simulated_board_config(cfg: TesseraConfig, clocks_per_bit: int = 4) -> TesseraConfig:
    """``cfg`` with a host link of ``clocks_per_bit`` clocks per bit at its clock (the fastest the
    bridge takes is 4)."""
    if not isinstance(clocks_per_bit, int) or isinstance(clocks_per_bit, bool) or clocks_per_bit < MIN_CLOCKS_PER_BIT:
        raise ValueError(f"clocks_per_bit must be an integer of at least {MIN_CLOCKS_PER_BIT}, got {clocks_per_bit!r}")
    baud = round(cfg.clock_mhz * 1e6 / clocks_per_bit)
    try:
        board = cfg.derive(host_link={"baud": baud})
    except ConfigError as exc:
        raise ValueError(f"a {clocks_per_bit}-clock bit at {cfg.clock_mhz} MHz is {baud} baud, which the "
                         f"host link does not take: {exc}") from None
    got = board.host_link.clocks_per_bit(board.clock_mhz)
    if got != clocks_per_bit:
        raise ValueError(f"{cfg.clock_mhz} MHz has no whole baud rate of {clocks_per_bit} clocks per bit "
                         f"({baud} baud gives {got})")
    return board


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m tessera.sim.chip.board_serve",
                                description=__doc__.split("\n\n")[0])
    group = p.add_mutually_exclusive_group()
    group.add_argument("--config", type=Path, help="configuration as JSON (TesseraConfig.to_json)")
    group.add_argument("--preset", choices=preset_names(), default="tiny")
    p.add_argument("--clocks-per-bit", type=int, default=4, help="UART bit time in clock cycles (default 4)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port (default: any free one, printed)")
    p.add_argument("--ready-file", type=Path, help="write {\"url\": ...} here once the board listens")
    p.add_argument("--stop-file", type=Path, help="stop once this file exists")
    p.add_argument("--stats-file", type=Path, help="write the board's statistics here (JSON) when it stops")
    p.add_argument("--owner-pid", type=int, help="stop once this process is gone")
    args = p.parse_args(argv)
    if not 0 <= args.port < 65536:
        p.error(f"--port {args.port}: expected 0..65535")
    return args


def _announce(ready: Path, out_fd: int, proc_done: threading.Event) -> None:
    """Print the board's URL on ``out_fd`` (the terminal: the simulator's output goes to its log)."""
    while not proc_done.is_set():
        if ready.exists():
            url = json.loads(ready.read_text())["url"]
            env = " ".join(f"{k}={v}" for k, v in SimulatedBoard.environment(url).items())
            os.write(out_fd, f"simulated board: listening on {url}\n"
                             f"open it with: {env}\n".encode())
            return
        time.sleep(0.2)


def main(argv=None) -> int:
    from tessera.sim.chip import board_serve_cocotb as serve
    from tessera.sim.harness import run_cocotb

    args = _parse(argv)
    base = TesseraConfig.from_json(args.config.read_text()) if args.config else preset(args.preset)
    try:
        cfg = simulated_board_config(base, args.clocks_per_bit)
    except ValueError as exc:
        print(f"board_serve: {exc}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="tessera-board-"))
    ready = args.ready_file or workdir / "ready.json"
    env = {serve.LISTEN_ENV: f"{args.host}:{args.port}", serve.READY_FILE_ENV: str(ready)}
    for key, value in ((serve.STOP_FILE_ENV, args.stop_file), (serve.STATS_FILE_ENV, args.stats_file),
                       (serve.OWNER_PID_ENV, args.owner_pid)):
        if value is not None:
            env[key] = str(value)
    print(f"simulated board: configuration {cfg.name!r}, {args.clocks_per_bit} clocks per bit "
          f"({cfg.host_link.baud} baud at {cfg.clock_mhz} MHz); building or loading the model", flush=True)
    out_fd = os.dup(1)
    done = threading.Event()
    threading.Thread(target=_announce, args=(ready, out_fd, done), daemon=True).start()
    try:
        result = run_cocotb(BLOCK, COCOTB_MODULE, config=cfg, env=env, check=False)
    finally:
        done.set()
        os.close(out_fd)
        shutil.rmtree(workdir, ignore_errors=True)
    return report_run(result, "simulated board")


class SimulatedBoard:
    """The simulated board in a child process: ``url`` to open, ``cfg`` to open it with.

    ``cfg``: the chip's configuration (default the tiny preset), given a fast
    link (:func:`simulated_board_config`).  Building the model takes minutes
    the first time; ``startup_timeout`` bounds the wait for the URL.  Use as a
    context manager, or call :meth:`close`.  ``log_path``: the child's output.
    """

    def __init__(self, cfg: TesseraConfig | None = None, *, clocks_per_bit: int = 4,
                 startup_timeout: float = 1800.0):
        self.cfg = simulated_board_config(cfg or preset("tiny"), clocks_per_bit)
        self.workdir = Path(tempfile.mkdtemp(prefix="tessera-board-"))
        self.log_path = self.workdir / "board.log"
        self.stats_path = self.workdir / "stats.json"
        self.stop_path = self.workdir / "stop"
        ready = self.workdir / "ready.json"
        config_path = self.workdir / "config.json"
        config_path.write_text((cfg or preset("tiny")).to_json())
        self.command = [sys.executable, "-m", "tessera.sim.chip.board_serve", "--config", str(config_path),
                        "--clocks-per-bit", str(clocks_per_bit), "--ready-file", str(ready),
                        "--stop-file", str(self.stop_path), "--stats-file", str(self.stats_path),
                        "--owner-pid", str(os.getpid())]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.closed = False
        deadline = time.monotonic() + startup_timeout
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the simulated board exited with status {self.proc.returncode} before it "
                                   f"listened\ncommand: {' '.join(self.command)}{self.log_tail()}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the simulated board did not listen within {startup_timeout:.0f} s"
                                   f"{self.log_tail()}")
            time.sleep(0.2)
        self.url = json.loads(ready.read_text())["url"]

    def log_tail(self, chars: int = 3000) -> str:
        try:
            tail = self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
        return f"\n--- simulated board log {self.log_path} (tail) ---\n{tail}" if tail.strip() else ""

    @staticmethod
    def environment(url: str) -> dict:
        """The environment variables that make ``CreateDevice`` / ``ttnn.open_device`` (any program)
        open the simulated board at ``url`` with its timing."""
        from tessera.sw.host.board import CLOCK_ENV, TIMEOUT_ENV
        from tessera.sw.host.device import BOARD_ENV

        return {BOARD_ENV: url, TIMEOUT_ENV: f"{SIMULATED_ACK_TIMEOUT:g}", CLOCK_ENV: f"{SIMULATED_CLOCK_HZ:g}"}

    @staticmethod
    def transport_options() -> dict:
        """Arguments of :class:`~tessera.sw.host.board.BoardTransport` for a simulated chip: its
        timeouts sized for the simulator's speed, not a real board's."""
        return {"ack_timeout": SIMULATED_ACK_TIMEOUT, "clock_hz": SIMULATED_CLOCK_HZ}

    def transport(self, url: str | None = None, **options):
        """A :class:`~tessera.sw.host.board.BoardTransport` to the board (or to ``url``, a relay in
        front of it), with :meth:`transport_options` unless overridden."""
        from tessera.sw.host.board import BoardTransport

        return BoardTransport(self.cfg, url or self.url, **{**self.transport_options(), **options})

    def open_device(self, **device_args):
        """A :class:`~tessera.sw.host.device.Device` on the board (through :meth:`transport`)."""
        from tessera.sw.host.device import Device

        return Device(0, config=self.cfg, transport=self.transport(), **device_args)

    def close(self, timeout: float = 60.0) -> dict:
        """Stop the board; returns its statistics (cycles, bytes each way; empty if it wrote none)."""
        if not self.closed:
            self.closed = True
            self.stop_path.touch()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(self.proc.pid, sig)
                        self.proc.wait(10)
                        break
                    except (ProcessLookupError, PermissionError):
                        break
                    except subprocess.TimeoutExpired:
                        continue
        try:
            stats = json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            stats = {}
        if self.proc.returncode == 0:   # keep the log of a board that failed
            shutil.rmtree(self.workdir, ignore_errors=True)
        return stats

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    sys.exit(main())
