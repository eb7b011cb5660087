"""The block registry as the simulation layer sees it: every hardware block of
:mod:`tessera.hw.blocks` plus the systems that exist only for simulation
(for example the run-elf system, a core with a flat RAM model).

Everything in ``tessera.sim`` looks blocks up through this module.
"""

from __future__ import annotations

from tessera.hw.blocks import BLOCKS, BlockSpec, block, block_names, register

__all__ = ["BLOCKS", "BlockSpec", "block", "block_names"]

register(BlockSpec("simulated_board", "tessera.sim.chip.board_top:build_simulated_board",
                   "simulated board: the bridged chip with a model of the host's serial port on its UART pins",
                   in_all=False))
register(BlockSpec("runelf_system", "tessera.sim.runelf.system:build_runelf_system",
                   "run-elf system: one core, flat 4 MiB RAM, console, tohost exit",
                   in_all=False, verilog_sources=(("tessera.sim.runelf", "ram.v"),)))
register(BlockSpec("engine_bench", "tessera.sim.engine.bench_top:build_engine_bench_top",
                   "engine-bench system: the engine on a banked L1, command memories, hardware cycle counter",
                   in_all=False))
