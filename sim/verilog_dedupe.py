"""Merge the identical modules of an exported design, so Verilator compiles each kind once.

Amaranth's Verilog backend writes one module per *instance*
(``\\tessera_chip.tile_1_0.brisc.core.alu``, ``\\tessera_chip.tile_2_0.brisc.core.alu``,
...), so the Verilator model of a chip with 20 cores carries 20 copies of
the core's C++ and runs through every copy each cycle: the per-cycle code
of the tiny chip is well over a megabyte, far beyond the processor's caches,
and the simulation is bound by instruction fetch.  :func:`dedupe_modules`
merges modules whose text is the same once the names the backend numbers
globally are taken out; the instances then share one module, and Verilator,
which does not inline a module instantiated many times, runs one copy of its
code for all of them.

A module's *canonical text* is its text (after its name) with

* its port list sorted (instances connect ports by name, so the order is
  free; the backend lists the ports of two instances in different orders);
* the names of the modules it instantiates replaced by their merged names;
* every escaped identifier carrying a ``$`` followed by digits (the
  backend's generated names: ``\\$auto$verilog_backend.cc:2355:dump_module$419``,
  ``\\port$90677$25``, ``\\$signal$12``...) renamed, in order of first
  appearance, to ``gen_n<k>`` (:data:`GENERATED_PREFIX`); a child's
  generated port names are renamed as the child renamed them.

Modules with equal canonical texts behave identically, so merging them
cannot change a simulation: every instance keeps its instance name (VPI
paths and waveform scopes are unchanged); only generated names, which no
test looks up, and module type names differ.  The top module is never
merged and keeps its port names.
"""

from __future__ import annotations

import re

__all__ = ["GENERATED_PREFIX", "dedupe_modules"]

#: Generated names become ``<prefix><k>``: plain identifiers (no escaping), which every tool
#: reads back, including Verilator's hierarchical-block wrappers.  A design that already uses
#: the prefix is left as it is.
GENERATED_PREFIX = "gen_n"

#: A module with the attribute lines in front of it (dropped with it when it is merged away).
_MODULE = re.compile(r"^(?P<attrs>(?:\(\*[^\n]*\*\)\n)*)module (?P<name>\\\S+|[^\s(]+)"
                     r"(?P<body>.*?)^endmodule\n?", re.S | re.M)
#: An escaped identifier the backend numbered (ends at the first whitespace).
_GENERATED = re.compile(r"\\\S*\$\d\S*")
#: First line of an instance: ``  <module> <instance> (``.
_INSTANCE = re.compile(r"^  (\\\S+|[A-Za-z_][\w$]*)\s+(\\\S+|[A-Za-z_][\w$]*)\s+\($")
#: A named connection of an instance: ``    .<port>(`` (an escaped port name ends with a space).
_CONNECTION = re.compile(r"^(\s+\.)(\\\S+ |[A-Za-z_][\w$]*)(\(.*)$")


def _children(body: str, names: set) -> set:
    found = set()
    for line in body.splitlines():
        m = _INSTANCE.match(line)
        if m and m.group(1) in names:
            found.add(m.group(1))
    return found


def _canonical(name: str, body: str, merged: dict, port_maps: dict) -> tuple:
    """(canonical text with the children merged, this module's generated-port renaming)."""
    lines = _sorted_port_list(body).split("\n")
    out = []
    renames = {}

    def fresh(ident: str) -> str:
        if ident not in renames:
            renames[ident] = f"{GENERATED_PREFIX}{len(renames)}"
        return renames[ident]

    child = None
    for line in lines:
        m = _INSTANCE.match(line)
        if m and m.group(1) in merged:
            child = m.group(1)
            line = line.replace(child, merged[child], 1)
            out.append(line)
            continue
        if child is not None:
            if line.strip() == ");":
                child = None
            else:
                c = _CONNECTION.match(line)
                if c:
                    port = c.group(2).rstrip()
                    port = port_maps[child].get(port, port)
                    rest = _GENERATED.sub(lambda g: fresh(g.group(0)), c.group(3))
                    line = f"{c.group(1)}{port}{' ' if port.startswith(chr(92)) else ''}{rest}"
                    out.append(line)
                    continue
        out.append(_GENERATED.sub(lambda g: fresh(g.group(0)), line))
    text = "\n".join(out)
    header = set(re.split(r"[\s(),]+", text.split(";", 1)[0]))
    own_ports = {old: new for old, new in renames.items() if new in header}
    return text, own_ports


def _sorted_port_list(body: str) -> str:
    """``body`` with its header's port list sorted by name, generated numbers left out.

    The backend lists the ports of two instances of one design in different
    orders; every instance connects its ports by name, so the order means
    nothing and sorting it lets such modules merge.  Ports whose names tie
    keep their order (if that differs too, the modules simply stay apart).
    """
    m = re.match(r"(\s*\()([^;]*?)(\);)", body)
    if not m:
        return body
    ports = [p.strip() for p in m.group(2).split(",")]
    ports = sorted(ports, key=lambda p: re.sub(r"\$\d+", "$", p))
    return m.group(1) + ", ".join(p + " " if p.startswith("\\") else p for p in ports) + \
        m.group(3) + body[m.end():]


def dedupe_modules(verilog: str, top: str) -> tuple:
    """(Verilog with identical modules merged, number of modules before, after).

    ``top`` is the name of the top module (kept as it is).
    """
    modules = [(m.group("name"), m.group("body")) for m in _MODULE.finditer(verilog)]
    if not modules or re.search(rf"\b{GENERATED_PREFIX}\d", verilog):
        return verilog, 0, 0
    bodies = dict(modules)
    names = set(bodies)
    children = {name: _children(body, names) for name, body in modules}
    order, done = [], set()

    def visit(name):
        stack = [(name, iter(sorted(children[name])))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                if node not in done:
                    done.add(node)
                    order.append(node)
            elif nxt not in done:
                stack.append((nxt, iter(sorted(children[nxt]))))

    for name, _ in modules:
        visit(name)

    merged, port_maps, texts, classes = {}, {}, {}, {}
    for name in order:
        text, ports = _canonical(name, bodies[name], merged, port_maps)
        if name == top:
            # The top keeps its own port names: only its children are merged.
            text = _merge_children_only(bodies[name], merged, port_maps)
            merged[name], port_maps[name], texts[name] = name, {}, text
            continue
        key = text
        if key in classes:
            merged[name] = classes[key]
        else:
            classes[key] = name
            merged[name] = name
            texts[name] = text
        port_maps[name] = ports
    pieces = []
    last = 0
    for m in _MODULE.finditer(verilog):
        pieces.append(verilog[last:m.start()])
        name = m.group("name")
        if name in texts:
            pieces.append(f"{m.group('attrs')}module {name}{texts[name]}endmodule\n")
        last = m.end()
    pieces.append(verilog[last:])
    return "".join(pieces), len(modules), len(texts)


def _merge_children_only(body: str, merged: dict, port_maps: dict) -> str:
    """``body`` with its instances pointing at merged modules and their ports renamed."""
    out, child = [], None
    for line in body.split("\n"):
        m = _INSTANCE.match(line)
        if m and m.group(1) in merged:
            child = m.group(1)
            out.append(line.replace(child, merged[child], 1))
            continue
        if child is not None:
            if line.strip() == ");":
                child = None
            else:
                c = _CONNECTION.match(line)
                if c:
                    port = c.group(2).rstrip()
                    port = port_maps[child].get(port, port)
                    line = f"{c.group(1)}{port}{' ' if port.startswith(chr(92)) else ''}{c.group(3)}"
        out.append(line)
    return "\n".join(out)
