"""`make bench-cpu` / `tessera cpu-bench`: cycles, instret and CPI of the C programs.

Each program is built with sw/bench/cpu/build.py, run on the run-elf system
(zero-wait memory unless --stall is given), its console output checked
against the Python golden (tessera.sim.golden.cpu_programs), and its figures tabulated.
Writes build/bench/cpu/cpi.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tessera.sw.bench.cpu.build import PROGRAMS, build_all

__all__ = ["run_bench", "main"]


def run_bench(cfg, names=None, stall: int = 0) -> list:
    from tessera.sim.harness import BUILD_ROOT
    from tessera.sim.runelf.driver import run_elf
    from tessera.sim.golden.cpu_programs import expected_console

    names = list(names or PROGRAMS)
    elfs = build_all(cfg, Path(BUILD_ROOT) / "bench" / "cpu" / "elf", names)
    rows = []
    for name in names:
        res = run_elf(elfs[name], cfg, stall=stall)
        ok = res.done and res.exit_code == 0 and res.console == expected_console(name)
        rows.append({"program": name, "cycles": res.cycles, "instret": res.instret,
                     "cpi": round(res.cpi, 4), "correct": ok, "stall": stall,
                     "wall_seconds": round(res.wall_seconds, 2)})
    return rows


def main(preset_name: str = "tiny", names=None, stall: int = 0) -> int:
    from tessera.hw.config import preset
    from tessera.sim.harness import BUILD_ROOT

    cfg = preset(preset_name)
    rows = run_bench(cfg, names, stall)
    print(f"{'program':<10} {'cycles':>10} {'instret':>10} {'CPI':>7}  result")
    for r in rows:
        print(f"{r['program']:<10} {r['cycles']:>10} {r['instret']:>10} {r['cpi']:>7.3f}  "
              f"{'ok' if r['correct'] else 'WRONG'}")
    total_c = sum(r["cycles"] for r in rows)
    total_i = sum(r["instret"] for r in rows)
    if total_i:
        print(f"{'all':<10} {total_c:>10} {total_i:>10} {total_c / total_i:>7.3f}")
    out = Path(BUILD_ROOT) / "bench" / "cpu"
    out.mkdir(parents=True, exist_ok=True)
    suffix = f"-stall{stall}" if stall else ""
    (out / f"cpi{suffix}.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {out / f'cpi{suffix}.json'}")
    return 0 if all(r["correct"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(names=sys.argv[1:] or None))
