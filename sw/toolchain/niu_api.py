"""C view of the NIU's register fields, generated from ``hw/chip/niu.py``.

The register *addresses* come from the configuration's ``niu`` MMIO region
(``tessera_config.h``: ``TESSERA_NIU_CMD_REMOTE_ADDR`` ...); this module adds
what ``tessera_noc.h`` needs besides: the bit fields of ``cmd_ctrl``,
``cmd_remote_coord`` and ``error_status`` (``TESSERA_NIU_<REG>_<FIELD>_SHIFT``
/ ``_WIDTH``), the operation codes, the number of command buffers and the
packet payload limits.  Nothing in the C headers restates one of these.
"""

from __future__ import annotations

from tessera.hw.config import TesseraConfig
from tessera.sw.toolchain.engine_api import field_macros, registers_present

__all__ = ["NIU_REGISTERS", "niu_registers_present", "niu_header_lines"]

NIU_REGISTERS = ("cmd_remote_addr", "cmd_remote_coord", "cmd_local_addr", "cmd_length", "cmd_inline_data",
                 "cmd_ctrl", "cmd_issue", "read_resp_received", "write_acks_received",
                 "nonposted_writes_sent", "posted_writes_sent", "atomic_resp_received", "read_req_sent",
                 "write_acks_expected", "atomic_sent", "error_status", "error_addr", "error_count", "busy")


def niu_registers_present(cfg: TesseraConfig) -> bool:
    return registers_present(cfg, "niu", NIU_REGISTERS)


def niu_header_lines(cfg: TesseraConfig) -> list:
    """Macros of the NIU fields, or nothing when the registers are not in ``cfg``."""
    if not niu_registers_present(cfg):
        return ["", "/* NIU registers are not in this configuration: no TESSERA_NIU_REGS */"]
    from tessera.hw.chip.niu import NiuOp, multicast_payload_bytes, niu_field_table

    lines = ["", "/* NoC interface unit (hw/chip/niu.py) */", "#define TESSERA_NIU_REGS 1",
             f"#define TESSERA_NIU_CMD_BUFFERS {cfg.noc.niu_command_buffers}u",
             f"#define TESSERA_NOC_MAX_MCAST_PAYLOAD {multicast_payload_bytes(cfg.noc)}u",
             "/* An atomic's return address outside L1: the old value is not written back. */",
             f"#define TESSERA_NIU_NO_RETURN {cfg.l1.size_bytes:#x}u"]
    if cfg.noc.aligned_transfers:
        lines += ["/* noc.aligned_transfers: every NoC address is a multiple of this (tessera_noc.h refuses others). */",
                  f"#define TESSERA_NOC_TRANSFER_ALIGN {cfg.noc.transfer_alignment}u"]
    for member in NiuOp:
        lines.append(f"#define TESSERA_NIU_OP_{member.name} {member.value}u")
    for reg, name, lsb, width in niu_field_table():
        lines += field_macros(f"TESSERA_NIU_{reg.upper()}_{name.upper()}", lsb, width)
    return lines
