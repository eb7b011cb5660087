"""Run a bare-metal RV32IMC ELF on the run-elf system (Verilator, via cocotb)."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tessera.sim.runelf.elf import ElfImage, load_elf

__all__ = ["RunElfResult", "run_elf", "DEFAULT_MAX_CYCLES", "BLOCK"]

BLOCK = "runelf_system"
DEFAULT_MAX_CYCLES = 10_000_000


@dataclass
class RunElfResult:
    done: bool
    exit_code: int | None
    cycles: int
    instret: int
    last_pc: int
    console: str
    signature: list | None
    wall_seconds: float

    @property
    def cpi(self) -> float:
        return self.cycles / self.instret if self.instret else float("nan")


def run_elf(elf, cfg, *, max_cycles: int = DEFAULT_MAX_CYCLES, signature: bool = False,
            trace: str | Path | None = None, stall: int = 0) -> RunElfResult:
    """Run ``elf`` (a path or an :class:`ElfImage`) to its exit or ``max_cycles``."""
    from tessera.sim.harness import BUILD_ROOT, run_cocotb

    image = elf if isinstance(elf, ElfImage) else load_elf(elf, cfg)
    if not isinstance(max_cycles, int) or max_cycles < 1:
        raise ValueError(f"max_cycles must be a positive integer, got {max_cycles!r}")
    if not 0 <= stall <= 255:
        raise ValueError(f"stall must be in 0..255, got {stall!r}")
    sig = image.signature_range() if signature else None
    if signature and sig is None:
        raise ValueError(f"{image.path}: no begin_signature/end_signature symbols for --signature")
    work = Path(BUILD_ROOT) / "runs"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="runelf-") as tmp:
        job_path = Path(tmp) / "job.json"
        result_path = Path(tmp) / "result.json"
        job_path.write_text(json.dumps({
            "words": sorted(image.words.items()), "entry": image.entry, "tohost": image.tohost,
            "max_cycles": max_cycles, "signature": sig, "stall": stall,
            "trace": str(Path(trace).resolve()) if trace else None, "result": str(result_path),
        }))
        start = time.monotonic()
        run_cocotb(BLOCK, "tessera.sim.runelf.cocotb_runelf", config=cfg,
                   env={"TESSERA_RUNELF_JOB": str(job_path), "COCOTB_LOG_LEVEL": "WARNING"})
        wall = time.monotonic() - start
        data = json.loads(result_path.read_text())
    return RunElfResult(data["done"], data["exit_code"], data["cycles"], data["instret"],
                        data["last_pc"], data["console"], data.get("signature"), wall)
