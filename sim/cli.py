"""The ``tessera`` command line.

Each area registers its own subcommands: a module listed in
``COMMAND_MODULES`` exposes ``register(subparsers)`` and sets
``func(args) -> int`` on every parser it adds.

Bad input ends in one line on stderr that names the option, the value and
what is allowed, never a traceback: argparse's own refusals (status 2), a
:class:`UsageError` a command raises after its own checks (status 2), and
the project's refusal types in :data:`REFUSALS` (a configuration, firmware,
ELF or FPGA tool error; status 1 or 2).  Any other exception is a bug and
keeps its traceback.
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
    "tessera.sim.chip.bench",        # chip-bench
    "tessera.sim.speed.bench",       # sim-bench
    "tessera.sim.cache",             # cache (list / prune the Verilator model cache)
    "tessera.sim.examples",          # run-example, matmul-bench
    "tessera.sim.ttnn_bench",        # ttnn-bench
    "tessera.sw.toolchain.cli",      # fw build, fw inspect
    "tessera.sw.models.cli",         # llama
    "tessera.sw.onnx.cli",           # run-onnx
]


#: Exceptions that mean "this input was refused", as (module, class, exit status).  A class
#: is looked up only if its module is already imported (an exception of a class that was
#: never imported cannot have been raised), so ``main`` imports nothing for it.
REFUSALS = (
    ("tessera.sim.cli", "UsageError", 2),
    ("tessera.hw.config", "ConfigError", 2),
    ("tessera.sim.runelf.elf", "ElfImageError", 2),
    ("tessera.sim.cache", "CacheError", 2),
    ("tessera.sw.toolchain.errors", "FirmwareError", 1),
    ("tessera.sim.fpga", "FpgaToolError", 1),
    ("tessera.sw.onnx.errors", "OnnxError", 2),
)


class UsageError(Exception):
    """A command-line value was refused after parsing (it needs the configuration, a block's
    parameters, another option...).  The message names the option, the value and what is
    allowed; :func:`main` prints it as one line and exits with status 2."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusals are one line (``tessera fpga: argument --device:
    invalid choice: ...``) instead of a usage block; subcommand parsers inherit it."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def int_at_least(low: int, high: int | None = None):
    """An argparse ``type``: an integer (decimal or 0x hex) in ``low``..``high``."""
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            allowed = f"in {low}..{high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def refusal_status(exc: BaseException) -> int | None:
    """The exit status for a refusal of the project (see :data:`REFUSALS`), ``None`` for anything else."""
    for module_name, class_name, status in REFUSALS:
        cls = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return status
    return None


def _name_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every (nested) subcommand's namespace its full name, ``tessera fw build``, for messages."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(command_name=sub.prog)
                _name_subcommands(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    _name_subcommands(parser)
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
    except Exception as exc:  # noqa: BLE001 -- refusals become one line, anything else re-raises
        status = refusal_status(exc)
        if status is None:
            raise
        print(f"{getattr(args, 'command_name', 'tessera')}: {exc}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
