"""Link the core's raw-assembly test programs (they bring their own ``_start``).

tb/core/asm/*.S and the random programs of :mod:`tb.core.rvgen` set up
nothing through crt0: they start at ``_start`` in ``.text.init``, keep their
data in ``.data`` and exit through their own ``tohost``.  They are linked
without crt0 or runtime, but with the firmware toolchain's linker script for
the ``runelf`` target (generated from ``cfg.runelf``), so the memory map has
one source.  The result gets the toolchain's layout checks but not its
opcode scan: traps_csrs.S executes unimplemented encodings on purpose.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tessera.sw.toolchain import check_elf
from tessera.sw.toolchain.gcc import MABI, find_gcc
from tessera.sw.toolchain.gen import write_generated
from tessera.sw.toolchain.layout import RUNELF, target_for

__all__ = ["link_asm", "ASM_MARCH"]

#: The toolchain's ISA plus Zifencei: the tests execute fence.i.
ASM_MARCH = "rv32imc_zicsr_zifencei"


def link_asm(sources, out, cfg) -> Path:
    """Assemble and link ``sources`` (with their own ``_start``) into the run-elf ELF ``out``."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    gen = write_generated(out.parent / (out.name + ".d") / "gen", target_for(RUNELF, cfg), cfg)
    cmd = [str(find_gcc()), f"-march={ASM_MARCH}", f"-mabi={MABI}", "-nostdlib", "-nostartfiles", "-static",
           "-I", str(gen["target_header"].parent), "-T", str(gen["linker_script"]),
           *map(str, sources), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"assembling failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    check_elf(out, RUNELF, cfg, isa_scan=False)
    return out
