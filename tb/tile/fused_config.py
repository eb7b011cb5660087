"""The three-core tile of the fused-compute tests: brisc and ncrisc move data, one core runs compute.

Derived from the tiny preset.  The compute core takes the firmware space of the three TRISCs
(0x2000 .. 0x5000: it holds the unpack, math and pack parts of a kernel in one program), so the
L1 data area starts where tiny's does and the same circular-buffer layouts fit.  Every fused
test uses this one configuration, so one Verilator model serves them all.
"""

from __future__ import annotations

from tessera.hw.config import CoreConfig, TesseraConfig, preset

#: Name of the derived configuration (its models are cached under build/models/<block>-<name>-*).
FUSED_NAME = "tiny_fused"
#: The fused compute core.
COMPUTE_CORE = "trisc"


def fused_tiny() -> TesseraConfig:
    tiny = preset("tiny")
    dm = [c for c in tiny.cores if c.role == "dm"]
    trisc_start = min(c.reset_pc for c in tiny.cores if c.role != "dm")
    trisc_end = max(c.reset_pc + c.code_bytes for c in tiny.cores if c.role != "dm")
    compute = CoreConfig(COMPUTE_CORE, "compute", trisc_start, trisc_end - trisc_start,
                         max(c.local_mem_bytes for c in dm))
    return tiny.derive(name=FUSED_NAME, cores=(*dm, compute))
