"""The ``tessera`` command line.

Each area registers its own subcommands: a module listed in
``COMMAND_MODULES`` exposes ``register(subparsers)`` and sets
``func(args) -> int`` on every parser it adds.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

COMMAND_MODULES = [
    "tessera.sim.commands",          # config, verilog, fpga, harness-bench, sim-summary
    "tessera.sim.noc.cli",           # noc-bench
    "tessera.sim.runelf.cli",        # run-elf, cpu-bench
    "tessera.sim.engine.cli",        # engine-bench
    "tessera.sw.toolchain.cli",      # fw build, fw inspect
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera",
        description="Tessera: an open RTL model of a Tensix-style AI accelerator.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            if importlib.util.find_spec(name) is None:
                continue  # area not built yet
        except ModuleNotFoundError:
            continue
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into head/less that closed early
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
