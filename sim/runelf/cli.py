"""``tessera run-elf`` and ``tessera cpu-bench``."""

from __future__ import annotations

import sys
from pathlib import Path

from tessera.hw.config import preset_names
from tessera.sim.cli import UsageError, int_at_least

__all__ = ["register"]


def _check_output_folder(option: str, path) -> None:
    """Refuse an output file whose folder does not exist before the run, not after it."""
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise UsageError(f"{option} {path}: folder {Path(path).resolve().parent} does not exist")


def _cmd_run_elf(args) -> int:
    from tessera.hw.config import preset
    from tessera.sim.runelf.driver import run_elf
    from tessera.sim.runelf.elf import ElfImageError

    cfg = preset(args.preset)
    _check_output_folder("--signature", args.signature)
    _check_output_folder("--trace", args.trace)
    try:
        result = run_elf(args.elf, cfg, max_cycles=args.max_cycles,
                         signature=bool(args.signature), trace=args.trace, stall=args.stall)
    except (ElfImageError, ValueError) as exc:
        print(f"run-elf: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(result.console)
    if result.console and not result.console.endswith("\n"):
        sys.stdout.write("\n")
    if args.signature and result.signature is not None:
        with open(args.signature, "w") as handle:
            handle.writelines(f"{word:08x}\n" for word in result.signature)
    print(f"cycles {result.cycles} instret {result.instret} CPI {result.cpi:.3f}")
    if not result.done:
        print(f"run-elf: no exit after {args.max_cycles} cycles; last retired PC "
              f"{result.last_pc:#010x}", file=sys.stderr)
        return 124
    return result.exit_code & 0xFF if result.exit_code is not None else 0


def _cmd_cpu_bench(args) -> int:
    from tessera.sim.runelf.cpu_bench import main as bench_main

    unknown = [name for name in args.programs if name not in args.known_programs]
    if unknown:
        raise UsageError(f"unknown program(s) {', '.join(map(repr, unknown))}; the programs are "
                         f"{', '.join(args.known_programs)}")
    return bench_main(preset_name=args.preset, names=args.programs, stall=args.stall)


def register(subparsers) -> None:
    from tessera.sim.runelf.driver import DEFAULT_MAX_CYCLES
    from tessera.sw.bench.cpu.build import PROGRAMS

    stall = int_at_least(0, 255)
    p = subparsers.add_parser("run-elf", help="run a bare-metal rv32imc ELF on one core (Verilator)")
    p.add_argument("elf", help="ELF32 RISC-V executable linked into the run-elf RAM")
    p.add_argument("--max-cycles", type=int_at_least(1), default=DEFAULT_MAX_CYCLES)
    p.add_argument("--signature", metavar="FILE",
                   help="write begin_signature..end_signature as hex words, one per line")
    p.add_argument("--trace", metavar="FILE", help="write the retire trace")
    p.add_argument("--stall", type=stall, default=0, help="random wait states, probability in 1/256 (0..255)")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.set_defaults(func=_cmd_run_elf)

    b = subparsers.add_parser("cpu-bench", help="CPI of the C benchmark programs on the core")
    b.add_argument("programs", nargs="*", metavar="PROGRAM",
                   help=f"subset of programs (default: all of {', '.join(PROGRAMS)}; also hello)")
    b.add_argument("--stall", type=stall, default=0, help="random wait states, probability in 1/256 (0..255)")
    b.add_argument("--preset", default="tiny", choices=preset_names())
    b.set_defaults(func=_cmd_cpu_bench, known_programs=(*PROGRAMS, "hello"))
