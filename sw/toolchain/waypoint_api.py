"""C view of the firmware waypoints, generated from ``hw/tile/waypoint.py``.

``tessera_target.h`` gets ``TESSERA_WAYPOINT_<NAME>`` for every code of
:class:`~tessera.hw.tile.waypoint.Waypoint` (on every target, so code that
marks waypoints compiles everywhere) and, for a tile core whose
configuration has the ``tile_ctrl.waypoint`` register, the address of this
core's entry as ``TESSERA_TARGET_WAYPOINT_ADDR``.  The numbers carry no
``u`` suffix: crt0.S stores ``DONE`` with them.  sw/include/tessera_waypoint.h
builds ``tessera_waypoint()`` on these; nothing restates a code.
"""

from __future__ import annotations

from tessera.hw.config import TesseraConfig
from tessera.hw.tile.waypoint import WAYPOINT_DOCS, Waypoint

__all__ = ["waypoint_address", "waypoint_header_lines"]


def waypoint_address(cfg: TesseraConfig, core_index: int) -> int | None:
    """Address of ``tile_ctrl.waypoint[core_index]``, or None when the configuration has no such register."""
    try:
        region = cfg.mmio.region("tile_ctrl")
        region.offset("waypoint")
    except KeyError:
        return None
    return region.address("waypoint", core_index)


def waypoint_header_lines(cfg: TesseraConfig, core_index: int | None) -> list:
    """The waypoint macros of ``tessera_target.h`` (``core_index`` None: not a tile core)."""
    lines = ["", "/* Firmware waypoint codes (hw/tile/waypoint.py) */"]
    lines += [f"#define TESSERA_WAYPOINT_{w.name} {w.value}  /* {WAYPOINT_DOCS[w]} */" for w in Waypoint]
    addr = None if core_index is None else waypoint_address(cfg, core_index)
    if addr is None:
        lines.append("/* no tile_ctrl.waypoint register for this target: tessera_waypoint() does nothing */")
    else:
        lines += ["/* This core's waypoint register, tile_ctrl.waypoint[core index] */",
                  f"#define TESSERA_TARGET_WAYPOINT_ADDR {addr:#010x}"]
    return lines
