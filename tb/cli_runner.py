"""Running ``tessera`` subcommands in-process from a test (shared by the CLI tests)."""

from __future__ import annotations

from tessera.sim.cli import main


def run_cli(argv, capsys) -> tuple:
    """(exit status, stdout, stderr) of ``tessera argv``; argparse's refusals exit through SystemExit."""
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
