"""``python -m tessera.sim.chip.serve``: the Verilator chip as a device server for the host runtime.

The host runtime (:class:`tessera.sw.host.device.Device`) starts this
module as a child process with the address it listens on, a token and the
configuration; this process builds (or reuses the cached) Verilator model of
block ``chip`` and runs the cocotb module :mod:`tessera.sim.chip.serve_cocotb`
on it, which connects back and serves the device protocol
(docs/runtime.md) until the runtime says ``exit`` or closes the socket.

Usage::

    python -m tessera.sim.chip.serve --connect 127.0.0.1:PORT --token HEX (--config FILE.json | --preset NAME)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tessera.hw.config import TesseraConfig, preset, preset_names

__all__ = ["main", "COCOTB_MODULE"]

COCOTB_MODULE = "tessera.sim.chip.serve_cocotb"


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m tessera.sim.chip.serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--connect", required=True, metavar="HOST:PORT", help="where the host runtime listens")
    p.add_argument("--token", required=True, help="token to present in the hello message")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--config", type=Path, help="configuration as JSON (TesseraConfig.to_json)")
    group.add_argument("--preset", choices=preset_names(), default="tiny")
    args = p.parse_args(argv)
    host, _, port = args.connect.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        p.error(f"--connect {args.connect!r}: expected HOST:PORT")
    return args


def main(argv=None) -> int:
    from tessera.sim.harness import run_cocotb

    args = _parse(argv)
    cfg = TesseraConfig.from_json(args.config.read_text()) if args.config else preset(args.preset)
    print(f"chip server: configuration {cfg.name!r}, connecting to {args.connect}", flush=True)
    env = {"TESSERA_SERVE_CONNECT": args.connect, "TESSERA_SERVE_TOKEN": args.token}
    result = run_cocotb("chip", COCOTB_MODULE, config=cfg, env=env, check=False)
    return report_run(result, "chip server")


def report_run(result, what: str) -> int:
    """Print how a server's simulation ended (cycles, wall time, model, log; the log's tail when it
    failed) under the name ``what``; the process's exit status."""
    log = result.run_dir / "sim.log"
    print(f"{what}: {result.sim_cycles} cycles in {result.wall_seconds:.1f} s "
          f"(model {'built' if result.model.rebuilt else 'cached'}: {result.model.build_dir}); log {log}", flush=True)
    if result.failed:
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
        print(f"{what} failed: {result.failures}\n{tail}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
