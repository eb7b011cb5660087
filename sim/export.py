"""Verilog export of registered blocks, with a map of the top-level ports."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Value
from amaranth.lib import wiring

from tessera.sim.blocks import block
from tessera.hw.config import TesseraConfig

__all__ = ["ExportedBlock", "export_block", "write_export", "port_map"]


@dataclass
class ExportedBlock:
    block: str
    toplevel: str
    verilog: str
    ports: list  # [{"name", "direction", "width", "path"}]
    config: TesseraConfig
    params: dict

    def port_table(self) -> str:
        rows = [f"| port | direction | width |", "|---|---|---|"]
        rows += [f"| `{p['name']}` | {p['direction']} | {p['width']} |" for p in self.ports]
        return "\n".join(rows)


def toplevel_name(block_name: str) -> str:
    return f"tessera_{block_name}"


def port_map(component: wiring.Component) -> list:
    """Top-level ports as Amaranth names them in Verilog (path joined by ``__``)."""
    ports = [
        {"name": "clk", "direction": "input", "width": 1, "path": "clk"},
        {"name": "rst", "direction": "input", "width": 1, "path": "rst"},
    ]
    for path, member, value in component.signature.flatten(component):
        name = "__".join(str(p) for p in path)
        direction = "input" if member.flow == wiring.In else "output"
        ports.append({"name": name, "direction": direction, "width": len(Value.cast(value)),
                      "path": ".".join(str(p) for p in path)})
    return ports


def export_block(block_name: str, cfg: TesseraConfig, params: dict | None = None) -> ExportedBlock:
    params = dict(params or {})
    spec = block(block_name)
    component = spec.build(cfg, **params)
    top = toplevel_name(block_name)
    with warnings.catch_warnings():
        # Amaranth warns about unused elaboratables on some paths; surface
        # anything else as usual.
        text = verilog.convert(component, name=top, emit_src=False)
    for label, source_text in spec.verilog_source_texts():
        text += f"\n// ---- {label} (hand-written, instantiated by {block_name}) ----\n"
        text += source_text
    return ExportedBlock(block_name, top, text, port_map(component), cfg,
                         {**spec.default_params, **params})


def write_export(exported: ExportedBlock, out_dir: Path) -> list:
    """Write ``<top>.v`` and ``<top>.ports.json`` / ``.ports.md``; return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    v_path = out_dir / f"{exported.toplevel}.v"
    v_path.write_text(exported.verilog)
    j_path = out_dir / f"{exported.toplevel}.ports.json"
    j_path.write_text(json.dumps({
        "block": exported.block, "toplevel": exported.toplevel,
        "preset": exported.config.name, "config_fingerprint": exported.config.fingerprint(),
        "params": exported.params, "ports": exported.ports}, indent=2) + "\n")
    md_path = out_dir / f"{exported.toplevel}.ports.md"
    md_path.write_text(f"# {exported.toplevel} ({exported.config.name})\n\n{exported.port_table()}\n")
    return [v_path, j_path, md_path]
