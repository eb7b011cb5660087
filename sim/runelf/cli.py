"""``tessera run-elf`` and ``tessera cpu-bench``."""

from __future__ import annotations

import sys

__all__ = ["register"]


def _cmd_run_elf(args) -> int:
    from tessera.hw.config import preset
    from tessera.sim.runelf.driver import run_elf
    from tessera.sim.runelf.elf import ElfImageError

    cfg = preset(args.preset)
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
    return bench_main(preset_name=args.preset, names=args.programs, stall=args.stall)


def register(subparsers) -> None:
    from tessera.sim.runelf.driver import DEFAULT_MAX_CYCLES

    p = subparsers.add_parser("run-elf", help="run a bare-metal rv32imc ELF on one core (Verilator)")
    p.add_argument("elf", help="ELF32 RISC-V executable linked into the run-elf RAM")
    p.add_argument("--max-cycles", type=int, default=DEFAULT_MAX_CYCLES)
    p.add_argument("--signature", metavar="FILE",
                   help="write begin_signature..end_signature as hex words, one per line")
    p.add_argument("--trace", metavar="FILE", help="write the retire trace")
    p.add_argument("--stall", type=int, default=0, help="random wait states, probability in 1/256")
    p.add_argument("--preset", default="tiny")
    p.set_defaults(func=_cmd_run_elf)

    b = subparsers.add_parser("cpu-bench", help="CPI of the C benchmark programs on the core")
    b.add_argument("programs", nargs="*", help="subset of programs (default: all)")
    b.add_argument("--stall", type=int, default=0, help="random wait states, probability in 1/256")
    b.add_argument("--preset", default="tiny")
    b.set_defaults(func=_cmd_cpu_bench)
