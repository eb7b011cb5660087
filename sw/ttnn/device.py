"""ttnn's device calls on top of the host runtime, and the log of every op run on a device.

:func:`open_device` returns the runtime's :class:`~tessera.sw.host.device.Device`
(the same object ``tessera.metal`` programs use, so a ttnn session can mix
both); the ttnn layer keeps its per-device state (the op log, the programs it
built once per op shape) beside it in :class:`DeviceState`.
"""

from __future__ import annotations

import contextlib
import weakref

from tessera.hw.config import preset
from tessera.sw.host.core import ComputeGrid
from tessera.sw.host.device import CloseDevice, CreateDevice, Device

from .types import TtnnError

__all__ = ["open_device", "close_device", "manage_device", "DeviceState", "state", "op_log", "reset_op_log",
           "op_summary"]


class DeviceState:
    """What the ttnn layer keeps per device: built programs by key and the op log."""

    def __init__(self, compute_grid=None):
        self.compute_grid = compute_grid   # (x, y) cores the ops spread over, None: the whole grid
        self.programs = {}
        self.log = []


_STATES = weakref.WeakKeyDictionary()


def state(device) -> DeviceState:
    if not isinstance(device, Device):
        raise TtnnError(f"expected a device (ttnn.open_device), got {type(device).__name__}")
    device.check_open()
    if device not in _STATES:
        _STATES[device] = DeviceState()
    return _STATES[device]


def open_device(device_id: int = 0, *, compute_grid=None, **kwargs) -> Device:
    """Open a simulated chip (``kwargs`` as for ``tessera.metal.CreateDevice``: ``preset_name``,
    ``config``, ``cycle_budget``, ``print_console`` ...).

    ``compute_grid=(x, y)``: the ops use only the x-by-y corner of the Tensix grid (to see how an
    op or a model scales with the number of tiles on one chip build); default the whole grid.
    """
    kwargs.setdefault("print_console", False)
    if compute_grid is not None:   # checked before a simulator starts
        cfg = kwargs.get("config") or preset(kwargs.get("preset_name", "tiny"))
        full = ComputeGrid(cfg).size
        ok = (isinstance(compute_grid, (tuple, list)) and len(compute_grid) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) for v in compute_grid)
              and 1 <= compute_grid[0] <= full.x and 1 <= compute_grid[1] <= full.y)
        if not ok:
            raise TtnnError(f"open_device: compute_grid {compute_grid!r} is not (x, y) with 1 <= x <= {full.x} "
                            f"and 1 <= y <= {full.y} (the {full.x}x{full.y} Tensix grid of {cfg.name!r})")
        compute_grid = tuple(compute_grid)
    device = CreateDevice(device_id, **kwargs)
    _STATES[device] = DeviceState(compute_grid)
    return device


def close_device(device: Device) -> None:
    _STATES.pop(device, None)
    CloseDevice(device)


@contextlib.contextmanager
def manage_device(device_id: int = 0, **kwargs):  # compute_grid= as for open_device
    """``with ttnn.manage_device(0) as device:`` opens the device and closes it on the way out."""
    device = open_device(device_id, **kwargs)
    try:
        yield device
    finally:
        close_device(device)


def op_log(device) -> list:
    """Every op run on ``device`` since it opened (or :func:`reset_op_log`): dicts with ``op``,
    ``cycles``, ``cores``, ``tiles``, ``macs``, ``dram_bytes``, ``wall_seconds``."""
    return list(state(device).log)


def reset_op_log(device) -> None:
    state(device).log.clear()


def op_summary(device) -> list:
    """The op log grouped by op name: calls, cycles, MACs and DRAM bytes summed, largest cycles first."""
    groups = {}
    for entry in state(device).log:
        g = groups.setdefault(entry["op"], {"op": entry["op"], "calls": 0, "cycles": 0, "macs": 0,
                                            "dram_bytes": 0, "wall_seconds": 0.0})
        g["calls"] += 1
        for key in ("cycles", "macs", "dram_bytes", "wall_seconds"):
            g[key] += entry[key]
    return sorted(groups.values(), key=lambda g: -g["cycles"])
