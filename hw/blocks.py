"""Registry of exportable blocks.

Each entry names a factory ``factory(cfg, **params) -> wiring.Component`` by
import path, so listing the blocks imports nothing heavy.  ``tessera verilog``,
the Verilator harness and ``tessera fpga`` all look blocks up here.
"""

from __future__ import annotations

import importlib
from importlib import resources
from dataclasses import dataclass, field

__all__ = ["BlockSpec", "BLOCKS", "register", "block", "block_names"]


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
    #: as ``(package, file name)`` pairs read with importlib.resources; they
    #: are appended to the exported Verilog so every consumer (Verilator,
    #: yosys) sees one file.
    verilog_sources: tuple = ()

    def build(self, cfg, **params):
        module_name, _, func_name = self.factory.partition(":")
        factory = getattr(importlib.import_module(module_name), func_name)
        merged = {**self.default_params, **params}
        return factory(cfg, **merged)

    def verilog_source_texts(self) -> list:
        """``[(label, text)]`` of the hand-written Verilog files, in order."""
        texts = []
        for package, name in self.verilog_sources:
            texts.append((f"{package}/{name}", resources.files(package).joinpath(name).read_text()))
        return texts


BLOCKS: dict = {}


def register(spec: BlockSpec) -> None:
    """Add a block.  Layers above the hardware (``tessera.sim.blocks``) register
    their own test systems here, so this module never imports them."""
    if spec.name in BLOCKS and BLOCKS[spec.name] != spec:
        raise ValueError(f"block {spec.name!r} is registered twice ({BLOCKS[spec.name].factory} "
                         f"and {spec.factory})")
    BLOCKS[spec.name] = spec


# One line per block.  Keep sorted by area.
register(BlockSpec("stream_fifo", "tessera.hw.stream_fifo:build_stream_fifo",
                    "Synchronous valid/ready FIFO (lib.stream in/out, lib.memory storage)",
                    default_params={"width": 64, "depth": 16}))
register(BlockSpec("core", "tessera.hw.core.core:build_core",
                    "RV32IMC core: 3-stage pipeline, instruction/data buses, retire trace"))
register(BlockSpec("noc_router", "tessera.hw.noc.router:build_noc_router", "NoC router: 5 ports, credit VCs, XY/dateline routing, XY-tree multicast", default_params={"x": 0, "y": 0}))
register(BlockSpec("noc_network", "tessera.hw.noc.network:build_noc_network", "NoC mesh/torus network generator: one router per grid node, local inject/eject per class"))
register(BlockSpec("noc_grid", "tessera.hw.noc.network:build_noc_grid", "NoC network of chosen size and router parameters (default: 2x2 mesh of the noc-bench routers), for FPGA timing across router-to-router links", in_all=False))
register(BlockSpec("noc_testbench", "tessera.hw.noc.testbench:build_noc_testbench", "NoC network with HDL traffic generators and checkers (tests and benchmarks)", in_all=False))
register(BlockSpec("l1", "tessera.hw.tile.l1:build_l1", "Tile L1: banked SRAM, byte enables, round-robin requester ports, atomic increment", default_params={"ports": 4}))
register(BlockSpec("tile_ctrl", "tessera.hw.tile.tile_ctrl:build_tile_ctrl", "Tile control registers: tile id, soft reset, reset PCs, cycle counter, console, mailboxes, waypoints"))
register(BlockSpec("engine", "tessera.hw.engine.engine:build_engine", "FPU tile engine: unpacker, matmul/eltwise/reduce lanes, SFPU, packer, 3 command threads"))
register(BlockSpec("tile", "tessera.hw.tile.tile:build_tile", "Tensix tile: 5 RV32IMC cores, banked L1, tile control, FPU engine + MMIO, host L1/ctrl ports"))
register(BlockSpec("niu", "tessera.hw.chip.niu:build_niu", "NoC interface unit of a Tensix tile: command buffers, master counters, target side on L1 and tile_ctrl", in_all=False))
register(BlockSpec("chip", "tessera.hw.chip.chip:build_chip", "The chip: every node of cfg.nodes on its router (Tensix tiles with NIUs, DRAM nodes, the host port)"))
register(BlockSpec("dram_node", "tessera.hw.chip.dram:build_dram_node", "DRAM node: one-bank SRAM of cfg.dram.size_bytes behind a NoC target, metered to dram.bytes_per_cycle (by default the first DRAM node of cfg)", in_all=False))
register(BlockSpec("host_bridge", "tessera.hw.chip.host_bridge:build_host_bridge", "UART host bridge: frames from the host executed on the chip's host ports (packets, reset, run, counters, ejected packets)"))
register(BlockSpec("bridged_chip", "tessera.hw.chip.bridged_chip:build_bridged_chip", "The chip behind its UART host bridge (FPGA board top: uart_rx, uart_tx, leds)", in_all=False))


def block(name: str) -> BlockSpec:
    try:
        return BLOCKS[name]
    except KeyError:
        raise KeyError(f"unknown block {name!r}; known blocks: {', '.join(sorted(BLOCKS))}") from None


def block_names() -> list:
    return sorted(BLOCKS)
