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


def block(name: str) -> BlockSpec:
    try:
        return BLOCKS[name]
    except KeyError:
        raise KeyError(f"unknown block {name!r}; known blocks: {', '.join(sorted(BLOCKS))}") from None


def block_names() -> list:
    return sorted(BLOCKS)
