"""Take the design's reset from a register, so Verilator does not evaluate it as an input.

Amaranth writes every register's next value as an ``always @*`` block ending
in ``if (rst) next = 0``.  ``rst`` is a top-level port of the model, and
Verilator places logic that reads a top-level input in its *ico* region
(input combinational), which runs at every ``eval()`` -- twice a cycle under
cocotb's clock -- on top of the *nba* region that follows each rising edge.
For the tiny chip that is a large share of the per-cycle code
(docs/simulation.md, section 3).

:func:`register_reset` rewrites the top module so that the design reads its
reset from a flip-flop instead::

    input rst;                  // still the port cocotb writes
    reg rst_q = 1'h1;
    always @(posedge clk)
      rst_q <= rst;

and every other use of ``rst`` in the top module (its own next-state blocks,
the ``.rst(rst)`` connections to its children) reads ``rst_q``.  The design's
logic then depends on a register only, and Verilator evaluates it in the nba
region alone.

The design sees the reset one rising edge later than the port.  The reset
routine of the testbenches (:func:`tessera.sim.cocotb_util.reset`), told
by the harness (:data:`REGISTERED_RESET_ENV`), drives the port one edge
earlier, so the rising edges the design spends in reset and its first
edge out of reset are the ones of a model without the register; ``rst_q``'s
initial value 1 stands for the port at the first edge of the simulation.
"""

from __future__ import annotations

import re

__all__ = ["REGISTERED_RESET", "REGISTERED_RESET_ENV", "TRANSFORM_ID", "register_reset"]

#: Name of the reset register in the top module (readable over VPI by the reset routine).
REGISTERED_RESET = "rst_q"
#: The harness sets this variable in the simulator's environment to :data:`REGISTERED_RESET`
#: when the model has the register; the reset routine reads it.
REGISTERED_RESET_ENV = "TESSERA_REGISTERED_RESET"
#: Identifies this transform in the model cache key: change it when the rewritten text changes.
TRANSFORM_ID = "registered reset: rst_q <= rst at posedge clk, v1"

_RESET = "rst"
_CLOCK = "clk"

#: Tokens of a line of Verilog: escaped identifier, string, comment, simple identifier, other.
_TOKEN = re.compile(r'(?P<escaped>\\\S+)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<comment>//.*)'
                    r'|(?P<ident>[A-Za-z_][A-Za-z0-9_$]*)|(?P<other>.)', re.S)


def _module_span(verilog: str, top: str) -> tuple:
    """(start of the body after the header, end of the body) of module ``top``."""
    name = re.escape(top)
    header = re.search(rf"^module {name}\s*\((?P<ports>[^;]*)\);\n", verilog, re.M)
    if header is None:
        raise ValueError(f"register_reset: no module {top!r} in the Verilog")
    end = verilog.find("\nendmodule", header.end())
    if end < 0:
        raise ValueError(f"register_reset: module {top!r} has no endmodule")
    return header, end + 1


def register_reset(verilog: str, top: str) -> tuple:
    """(Verilog with ``top``'s reset registered, whether it was rewritten).

    The text is returned unchanged (and False) when the top module has no
    ``rst`` input or reads it nowhere: there is nothing to take out of the
    input region and the model keeps the timing of a plain reset port.
    """
    header, end = _module_span(verilog, top)
    ports = {p.strip() for p in header.group("ports").split(",")}
    if _RESET not in ports:
        return verilog, False
    if _CLOCK not in ports:
        raise ValueError(f"register_reset: module {top!r} has a {_RESET!r} port but no {_CLOCK!r}")
    body = verilog[header.end():end]
    declarations = (f"  input {_RESET};", f"  wire {_RESET};")
    lines = body.split("\n")
    out, uses, declared = [], 0, False
    for line in lines:
        if line in declarations:
            out.append(line)
            if line == declarations[1]:
                declared = True
                out += [f"  reg {REGISTERED_RESET} = 1'h1;",
                        f"  always @(posedge {_CLOCK})",
                        f"    {REGISTERED_RESET} <= {_RESET};"]
            continue
        rewritten, count = _rename_reset(line, top)
        uses += count
        out.append(rewritten)
    if not declared or f"  input {_RESET};" not in lines:
        raise ValueError(f"register_reset: module {top!r} lists {_RESET!r} as a port "
                         f"but does not declare it as `input {_RESET};` / `wire {_RESET};`")
    if uses == 0:
        return verilog, False
    return verilog[:header.end()] + "\n".join(out) + verilog[end:], True


def _rename_reset(line: str, top: str) -> tuple:
    """(``line`` with the identifier ``rst`` read as ``rst_q``, how many were renamed).

    A named port connection's port (``.rst(``) keeps its name: it is the
    child's port, not the top module's signal.
    """
    pieces, count, previous = [], 0, ""
    for m in _TOKEN.finditer(line):
        text = m.group(0)
        if m.lastgroup == "ident":
            if text == REGISTERED_RESET:
                raise ValueError(f"register_reset: module {top!r} already has a signal named "
                                 f"{REGISTERED_RESET!r}")
            if text == _RESET and previous != ".":
                text = REGISTERED_RESET
                count += 1
        pieces.append(text)
        if not text.isspace():
            previous = text
    return "".join(pieces), count
