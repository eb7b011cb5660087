"""Runtime arguments of the shipped engine kernels, and a check that a list of values agrees.

``tile_eltwise_add.c`` and ``tile_matmul.c`` read the same eight words
(``tile_kernel_args_t`` in ``sw/kernels/tile_kernel.h``): a tile count, the
L1 addresses of A, B and the output, the input and output formats as
``TESSERA_ENG_FORMAT_*`` codes and the bytes of one input tile; the eighth
is the kernel's own (eltwise: bytes of one output tile, matmul: the
fidelity).  Nothing stops a caller from passing a format code together with
the tile size of another format, and the engine then reads the wrong bytes
without complaint, so ``tessera fw build`` warns about such a list.

The rules go by argument name and take every number from the tables: format
and fidelity codes from the engine's command enums
(:mod:`tessera.hw.engine.commands`), tile sizes and the formats a
configuration has from ``cfg.engine``, the L1 range from ``cfg.l1``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tessera.hw.config import TesseraConfig

__all__ = ["KernelArgs", "KERNEL_ARGS", "check_kernel_args"]


@dataclass(frozen=True)
class KernelArgs:
    """The runtime arguments of one kernel, in ``get_arg_val`` order."""

    names: tuple
    #: How many output tiles the kernel writes: ``"tiles"`` (one per input pair) or ``1``.
    out_tiles: object = "tiles"


_TWO_OPERANDS = ("tiles", "a", "b", "out", "fmt_in", "fmt_out", "in_bytes")

#: Kernels (source file stem) whose runtime arguments are checked.
KERNEL_ARGS = {
    "tile_eltwise_add": KernelArgs(_TWO_OPERANDS + ("out_bytes",), out_tiles="tiles"),
    "tile_matmul": KernelArgs(_TWO_OPERANDS + ("fidelity",), out_tiles=1),
}

#: Arguments holding a tile format code, and the tile-size argument that goes with each.
_FORMAT_OF_SIZE = {"in_bytes": "fmt_in", "out_bytes": "fmt_out"}


def _codes(enum_type) -> dict:
    """``{code: lower-case name}`` of an engine command enum."""
    return {member.value: member.name.lower() for member in enum_type}


def check_kernel_args(kernel: str, values, cfg: TesseraConfig) -> list:
    """Warnings (strings) about ``values`` as the runtime arguments of ``kernel``; ``[]`` if they
    agree or the kernel is not in :data:`KERNEL_ARGS`."""
    signature = KERNEL_ARGS.get(kernel)
    if signature is None:
        return []
    from tessera.hw.engine.commands import Fidelity, Format

    values = list(values)
    names = signature.names
    warnings = []
    if len(values) < len(names):
        missing = ", ".join(names[len(values):])
        warnings.append(f"{kernel} reads {len(names)} runtime arguments, {len(values)} given: "
                        f"{missing} will read as 0")
    arg = {name: values[i] for i, name in enumerate(names) if i < len(values)}

    def label(name: str) -> str:
        value = f"{arg[name]:#x}" if name in ("a", "b", "out") else arg[name]
        return f"argument {names.index(name)} ({name}) = {value}"

    formats = {}
    format_codes = _codes(Format)
    for name in ("fmt_in", "fmt_out"):
        if name not in arg:
            continue
        fmt = format_codes.get(arg[name])
        known = ", ".join(f"{code} {n}" for code, n in format_codes.items())
        if fmt is None:
            warnings.append(f"{kernel}: {label(name)} is not a format code ({known})")
        elif fmt not in cfg.engine.formats:
            warnings.append(f"{kernel}: {label(name)} is {fmt}, which the engine of configuration "
                            f"{cfg.name!r} does not have (it has {', '.join(cfg.engine.formats)})")
        else:
            formats[name] = fmt
    for size_name, fmt_name in _FORMAT_OF_SIZE.items():
        if size_name in arg and fmt_name in formats:
            want = cfg.engine.tile_bytes(formats[fmt_name])
            if arg[size_name] != want:
                warnings.append(f"{kernel}: {label(size_name)} but {label(fmt_name)} is "
                                f"{formats[fmt_name]}, whose tiles are {want} bytes in configuration "
                                f"{cfg.name!r}")
    if "fidelity" in arg:
        fidelity_codes = _codes(Fidelity)
        if arg["fidelity"] not in fidelity_codes:
            known = ", ".join(f"{code} {n}" for code, n in fidelity_codes.items())
            warnings.append(f"{kernel}: {label('fidelity')} is not a fidelity code ({known})")
    warnings += _buffer_warnings(kernel, signature, arg, formats, cfg, label)
    return warnings


def _buffer_warnings(kernel, signature, arg, formats, cfg, label) -> list:
    """A, B and the output must lie inside L1 with the tile count and sizes given."""
    if "tiles" not in arg:
        return []
    out_tiles = arg["tiles"] if signature.out_tiles == "tiles" else signature.out_tiles
    out_bytes = arg.get("out_bytes")
    if out_bytes is None and "fmt_out" in formats:
        out_bytes = cfg.engine.tile_bytes(formats["fmt_out"])
    l1_start, l1_end = cfg.l1.base, cfg.l1.base + cfg.l1.size_bytes
    warnings = []
    for name, count, size in (("a", arg["tiles"], arg.get("in_bytes")), ("b", arg["tiles"], arg.get("in_bytes")),
                              ("out", out_tiles, out_bytes)):
        if name not in arg or size is None:
            continue
        start, end = arg[name], arg[name] + count * size
        if start < l1_start or end > l1_end:
            warnings.append(f"{kernel}: {label(name)}: {count} tile{'s' if count != 1 else ''} of {size} "
                            f"bytes end at {end:#x}, "
                            f"outside L1 ({l1_start:#x}..{l1_end:#x})")
    return warnings
