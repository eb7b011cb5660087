"""C view of the engine's command words, generated from ``hw/engine/commands.py``.

The engine's three command streams (unpack, math, pack) take 64-bit words
whose fields are the Amaranth layouts ``UnpackCmd``, ``MathCmd`` and
``PackCmd``.  This module turns those layouts and their enums into C macros
(``TESSERA_ENG_<CMD>_<FIELD>_SHIFT`` / ``_WIDTH``, ``TESSERA_ENG_<ENUM>_<NAME>``)
so ``tessera_engine.h`` never restates a bit position.

The macros, and with them the C functions, exist only when the
configuration's ``engine`` MMIO region defines the registers that
hw/engine/mmio.py implements (docs/engine.md): ``unpack_cmd_lo/hi``, ``math_cmd_lo/hi``,
``pack_cmd_lo/hi`` and ``status``.
"""

from __future__ import annotations

from tessera.hw.config import TesseraConfig

__all__ = ["ENGINE_REGISTERS", "engine_registers_present", "engine_header_lines", "registers_present",
           "field_macros"]

ENGINE_REGISTERS = ("unpack_cmd_lo", "unpack_cmd_hi", "math_cmd_lo", "math_cmd_hi",
                    "pack_cmd_lo", "pack_cmd_hi", "status")


def registers_present(cfg: TesseraConfig, region_name: str, required) -> bool:
    """Whether ``cfg`` has an MMIO region ``region_name`` defining every register of ``required``."""
    try:
        region = cfg.mmio.region(region_name)
    except KeyError:
        return False
    names = {r.name for r in region.registers}
    return all(name in names for name in required)


def field_macros(prefix: str, lsb: int, width: int) -> list:
    """``<prefix>_SHIFT`` and ``<prefix>_WIDTH`` of one bit field, as C lines."""
    return [f"#define {prefix}_SHIFT {lsb}u", f"#define {prefix}_WIDTH {width}u"]


def engine_registers_present(cfg: TesseraConfig) -> bool:
    return registers_present(cfg, "engine", ENGINE_REGISTERS)


def engine_header_lines(cfg: TesseraConfig) -> list:
    """Macros of the command layouts, or nothing when the registers are not in ``cfg``."""
    if not engine_registers_present(cfg):
        return ["", "/* engine command registers are not in this configuration: no TESSERA_ENGINE_CMDS */"]
    from amaranth.hdl import Shape

    from tessera.hw.engine import commands

    lines = ["", "/* Engine command words (hw/engine/commands.py) */", "#define TESSERA_ENGINE_CMDS 1"]
    for cmd, layout in (("UNPACK", commands.UnpackCmd), ("MATH", commands.MathCmd), ("PACK", commands.PackCmd)):
        for name, field in layout:
            if name.startswith("_"):
                continue
            lines += field_macros(f"TESSERA_ENG_{cmd}_{name.upper()}", field.offset, Shape.cast(field.shape).width)
    for enum_name, enum in (("FORMAT", commands.Format), ("FIDELITY", commands.Fidelity),
                            ("UNPACK_OP", commands.UnpackOp), ("SRC", commands.SrcOperand),
                            ("MATH_OP", commands.MathOp),
                            ("PACK_OP", commands.PackOp), ("REDUCE_DIM", commands.ReduceDim),
                            ("REDUCE_KIND", commands.ReduceKind), ("SFPU_OP", commands.SfpuOp)):
        for member in enum:
            lines.append(f"#define TESSERA_ENG_{enum_name}_{member.name} {member.value}u")
    from tessera.hw.engine.mmio import STATUS_FIELDS, STREAMS
    lines.append("/* Fields of the engine STATUS register (hw/engine/mmio.py STATUS_FIELDS) */")
    for name, lsb, width in STATUS_FIELDS:
        lines += field_macros(f"TESSERA_ENG_STATUS_{name.upper()}", lsb, width)
        lines.append(f"#define TESSERA_ENG_STATUS_{name.upper()}_MASK {((1 << width) - 1) << lsb:#x}u")
    busy_lsb = dict((name, lsb) for name, lsb, _ in STATUS_FIELDS)["busy"]
    lines.append("/* One thread's busy bit (a command of its stream is queued or running) */")
    lines += [f"#define TESSERA_ENG_STATUS_BUSY_{thread.upper()} {1 << (busy_lsb + i):#x}u"
              for i, thread in enumerate(STREAMS)]
    return lines
