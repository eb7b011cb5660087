"""Registry of exportable blocks.

Each entry names a factory ``factory(cfg, **params) -> wiring.Component`` by
import path, so listing the blocks imports nothing heavy.  ``tessera verilog``,
the Verilator harness and ``tessera fpga`` all look blocks up here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

__all__ = ["BlockSpec", "BLOCKS", "block", "block_names"]


@dataclass(frozen=True)
class BlockSpec:
    name: str
    #: "package.module:function" building the component from (cfg, **params).
    factory: str
    doc: str
    #: Parameters used when none are given (for example by ``make verilog``).
    default_params: dict = field(default_factory=dict)
    #: Exported by ``make verilog`` / ``tessera verilog --block all``.
    in_all: bool = True
    #: Hand-written Verilog modules the block instantiates (``Instance``),
    #: paths relative to the repository root; they are appended to the
    #: exported Verilog so every consumer (Verilator, yosys) sees one file.
    verilog_sources: tuple = ()

    def build(self, cfg, **params):
        module_name, _, func_name = self.factory.partition(":")
        factory = getattr(importlib.import_module(module_name), func_name)
        merged = {**self.default_params, **params}
        return factory(cfg, **merged)


BLOCKS: dict = {}


def _register(spec: BlockSpec) -> None:
    BLOCKS[spec.name] = spec


# One line per block.  Keep sorted by area.
_register(BlockSpec("stream_fifo", "hw.stream_fifo:build_stream_fifo",
                    "Synchronous valid/ready FIFO (lib.stream in/out, lib.memory storage)",
                    default_params={"width": 64, "depth": 16}))
_register(BlockSpec("core", "hw.core.core:build_core",
                    "RV32IMC core: 3-stage pipeline, instruction/data buses, retire trace"))
_register(BlockSpec("runelf_system", "sim.runelf.system:build_runelf_system",
                    "run-elf system: one core, flat 4 MiB RAM, console, tohost exit",
                    in_all=False, verilog_sources=("sim/runelf/ram.v",)))
_register(BlockSpec("noc_router", "hw.noc.router:build_noc_router", "NoC router: 5 ports, credit VCs, XY/dateline routing, XY-tree multicast", default_params={"x": 0, "y": 0}))
_register(BlockSpec("noc_network", "hw.noc.network:build_noc_network", "NoC mesh/torus network generator: one router per grid node, local inject/eject per class"))
_register(BlockSpec("noc_testbench", "hw.noc.testbench:build_noc_testbench", "NoC network with HDL traffic generators and checkers (tests and benchmarks)", in_all=False))
_register(BlockSpec("l1", "hw.tile.l1:build_l1", "Tile L1: banked SRAM, byte enables, round-robin requester ports, atomic increment", default_params={"ports": 4}))
_register(BlockSpec("tile_ctrl", "hw.tile.tile_ctrl:build_tile_ctrl", "Tile control registers: tile id, soft reset, reset PCs, cycle counter, console, mailboxes"))
_register(BlockSpec("engine", "hw.engine.engine:build_engine", "FPU tile engine: unpacker, matmul/eltwise/reduce lanes, SFPU, packer, 3 command threads"))
_register(BlockSpec("tile", "hw.tile.tile:build_tile", "Tensix tile: 5 RV32IMC cores, banked L1, tile control, FPU engine + MMIO, host L1/ctrl ports"))


def block(name: str) -> BlockSpec:
    try:
        return BLOCKS[name]
    except KeyError:
        raise KeyError(f"unknown block {name!r}; known blocks: {', '.join(sorted(BLOCKS))}") from None


def block_names() -> list:
    return sorted(BLOCKS)
