"""Tile control registers on Verilator (tiny config)."""

from tessera.hw.config import preset
from tessera.sim.harness import run_cocotb


def test_tile_ctrl_cocotb():
    run_cocotb("tile_ctrl", "tb.tile.cocotb_tile_ctrl", config=preset("tiny"), seed=77)
