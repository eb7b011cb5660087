"""``tessera fw``: build and inspect firmware.

    tessera fw build --preset tiny -o build/fw/app.fwimg --tile 1,0 \\
        --core brisc=sw/kernels/tile_hello.c --args brisc=1,2,3
    tessera fw build --preset tiny --runelf -o build/fw/hello.elf sw/kernels/hello_runelf.c
    tessera fw inspect build/fw/app.fwimg [--json]

``--core CORE=SRC[,SRC...]`` builds the sources for that core (an ``.elf``
is used as it is); every ``--core`` program goes onto every ``--tile``
(``--all-tiles`` for every Tensix tile).  ``--cb INDEX,PAGE_SIZE,NUM_PAGES[,FORMAT]``
adds a circular buffer on those tiles (placed from the start of the L1 data
area; FORMAT, e.g. ``bfp8_b``, is the pages' data format for compute kernels).  ``--spec FILE.json`` describes a larger image:
``{"programs": [{"core": "brisc", "tiles": [[1, 0]], "sources": ["a.c"],
"runtime_args": [1, 2]}], "circular_buffers": [{"tile": [1, 0], "index": 0,
"page_size": 64, "num_pages": 4, "addr": 23552}]}`` (paths relative to the
file; ``addr`` optional: buffers without one are placed after the table;
``data_format`` optional).

A refused input is one line on stderr and exit status 1.  ``fw build`` also
warns (and still builds) when the runtime arguments of a shipped kernel
disagree with each other, for example a format code with the tile size of
another format (:mod:`~tessera.sw.toolchain.kernel_args`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tessera.hw.config import ConfigError, preset, preset_names

from .build import build_dir_for, compile_elf
from .cb import CircularBuffer, allocate_circular_buffers
from .errors import FirmwareError
from .image import ProgramSpec, parse_tile, read_image, write_image
from .kernel_args import check_kernel_args
from .layout import RUNELF

DEFAULT_OUT = Path("build/fw")


def _err(message: str) -> int:
    print(f"tessera fw: {message}", file=sys.stderr)
    return 1


def _warn(message: str) -> None:
    print(f"tessera fw build: warning: {message}", file=sys.stderr)


def _parse_args_list(text: str) -> list:
    if not text:
        return []
    values = []
    for item in text.split(","):
        try:
            values.append(int(item, 0))
        except ValueError:
            raise FirmwareError(f"runtime argument {item!r} is not an integer") from None
    return values


def _spec_field(entry, key: str, kind, where: str, default=None):
    """Field ``key`` of a spec entry, of type ``kind``; missing with a ``default`` gives it."""
    if not isinstance(entry, dict):
        raise FirmwareError(f"{where}: expected an object, got {entry!r}")
    if key not in entry:
        if default is not None:
            return default
        raise FirmwareError(f"{where}: field {key!r} is missing")
    value = entry[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise FirmwareError(f"{where}: field {key!r} must be a {names}, got {value!r}")
    return value


def _read_spec(path: Path) -> dict:
    try:
        spec = json.loads(path.read_text())
    except OSError as exc:
        raise FirmwareError(f"cannot read spec {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FirmwareError(f"spec {path} is not valid JSON: {exc}") from None
    if not isinstance(spec, dict):
        raise FirmwareError(f"spec {path}: expected a JSON object with \"programs\", got {type(spec).__name__}")
    return spec


def _kernel_of(sources: list) -> str:
    """The shipped kernel a program is built from (its first C source's stem), for the argument check."""
    return sources[0].stem if sources and sources[0].suffix == ".c" else ""


def _check_args_agree(kernel: str, core: str, runtime_args, cfg, seen: set) -> None:
    """Warn once per (kernel, argument list) whose values disagree with each other."""
    lists = runtime_args.values() if isinstance(runtime_args, dict) else [runtime_args]
    for values in lists:
        key = (kernel, tuple(values or ()))
        if not kernel or key in seen:
            continue
        seen.add(key)
        for message in check_kernel_args(kernel, values or (), cfg):
            _warn(f"{core}: {message}")


def _program_elf(core: str, sources: list, cfg, build_dir: Path, stem: str, opt: str, defines, libc=None) -> Path:
    if len(sources) == 1 and sources[0].suffix == ".elf":
        return sources[0]
    return compile_elf(sources, core, cfg, build_dir / f"{stem}_{core}.elf", opt=opt, defines=defines, libc=libc)


def cmd_build(args) -> int:
    try:
        cfg = preset(args.preset)
    except ConfigError as exc:
        return _err(str(exc))
    try:
        if args.runelf:
            if not args.sources:
                return _err("--runelf needs source files")
            out = Path(args.output or DEFAULT_OUT / f"{Path(args.sources[0]).stem}.elf")
            path = compile_elf([Path(s) for s in args.sources], RUNELF, cfg, out, opt=args.opt,
                               defines=args.define, libc=args.libc)
            print(f"wrote {path}")
            return 0
        if args.sources:
            return _err(f"positional sources {args.sources} are only for --runelf; use --core CORE=SRC")
        out = Path(args.output or DEFAULT_OUT / "firmware.fwimg")
        # The programs' ELFs are intermediates: they go to the build tree, so
        # the folder the user chose holds the image only.
        build_dir = build_dir_for(out) / "programs"
        specs = []
        cbs = {}
        checked = set()
        if args.spec:
            spec_path = Path(args.spec)
            spec = _read_spec(spec_path)
            for i, entry in enumerate(_spec_field(spec, "programs", list, f"spec {spec_path}")):
                where = f"spec {spec_path}: programs[{i}]"
                core = _spec_field(entry, "core", str, where)
                names = _spec_field(entry, "sources", list, where)
                if not names or not all(isinstance(n, str) for n in names):
                    raise FirmwareError(f"{where}: 'sources' must be a non-empty list of file names, got {names!r}")
                sources = [spec_path.parent / n for n in names]
                tiles = [parse_tile(t) for t in _spec_field(entry, "tiles", list, where)]
                runtime_args = _spec_field(entry, "runtime_args", (list, dict), where, default=[])
                defines = _spec_field(entry, "defines", (list, dict), where, default=args.define or [])
                elf = _program_elf(core, sources, cfg, build_dir, f"p{i}", args.opt, defines,
                                   _spec_field(entry, "libc", str, where, default=args.libc or "") or None)
                _check_args_agree(_kernel_of(sources), core, runtime_args, cfg, checked)
                specs.append(ProgramSpec(core, tiles, elf, runtime_args, _spec_field(entry, "name", str, where,
                                                                                     default="")))
            for i, entry in enumerate(_spec_field(spec, "circular_buffers", list, f"spec {spec_path}", default=[])):
                where = f"spec {spec_path}: circular_buffers[{i}]"
                tile = parse_tile(_spec_field(entry, "tile", (list, str), where))
                for key in ("index", "page_size", "num_pages"):
                    _spec_field(entry, key, int, where)
                if "addr" in entry:
                    _spec_field(entry, "addr", int, where)
                if "data_format" in entry:
                    _spec_field(entry, "data_format", str, where)
                cbs.setdefault(tile, []).append(entry)
            for tile, entries in cbs.items():
                placed = {e["index"]: cb for e, cb in zip(
                    entries, allocate_circular_buffers(cfg, [(e["index"], e["page_size"], e["num_pages"],
                                                              e.get("data_format")) for e in entries]))}
                cbs[tile] = [CircularBuffer(e["index"], e["addr"], e["page_size"], e["num_pages"],
                                            e.get("data_format")) if "addr" in e
                             else placed[e["index"]] for e in entries]
        if args.core:
            tiles = [(n.x, n.y) for n in cfg.nodes_of("tensix")] if args.all_tiles else \
                [parse_tile(t) for t in args.tile or []]
            if not tiles:
                return _err("give --tile X,Y (repeatable) or --all-tiles")
            run_args = {}
            for item in args.args or []:
                core, sep, values = item.partition("=")
                if not sep or not core:
                    return _err(f"--args expects CORE=V1,V2,..., got {item!r}")
                if core in run_args:
                    return _err(f"--args {core}= is given twice")
                run_args[core] = _parse_args_list(values)
            for item in args.core:
                core, sep, files = item.partition("=")
                if not sep or not files:
                    return _err(f"--core expects CORE=SRC[,SRC...], got {item!r}")
                sources = [Path(f) for f in files.split(",")]
                elf = _program_elf(core, sources, cfg, build_dir, sources[0].stem, args.opt, args.define,
                                   args.libc)
                values = run_args.pop(core, [])
                _check_args_agree(_kernel_of(sources), core, values, cfg, checked)
                specs.append(ProgramSpec(core, tiles, elf, values, sources[0].stem))
            if run_args:
                return _err(f"--args for cores without a program: {sorted(run_args)}")
            if args.cb:
                requests = []
                for item in args.cb:
                    fields = item.split(",")
                    try:
                        if len(fields) not in (3, 4):
                            raise ValueError(item)
                        index, page_size, num_pages = (int(v, 0) for v in fields[:3])
                    except ValueError:
                        return _err(f"--cb expects INDEX,PAGE_SIZE,NUM_PAGES[,FORMAT], got {item!r}")
                    requests.append((index, page_size, num_pages, fields[3] if len(fields) == 4 else None))
                for tile in tiles:
                    cbs[tile] = allocate_circular_buffers(cfg, requests)
        if not specs:
            return _err("nothing to build: give --core CORE=SRC with --tile, or --spec FILE")
        path = write_image(out, specs, cfg, cbs)
    except FirmwareError as exc:
        return _err(str(exc))
    except OSError as exc:  # an output path under a file, a folder given as the image...
        return _err(f"cannot write {exc.filename}: {exc.strerror}")
    image = read_image(path)
    print(f"wrote {path} ({image.size} bytes, {len(image.programs)} programs)")
    return 0


def format_sizes(image) -> str:
    """The per-(tile, core) table of ``fw inspect``: entry, bytes used and available of the
    core's L1 firmware region and of its local memory, runtime arguments; then per tile."""
    header = (f"{'tile':>7} {'core':<8} {'entry':>10} {'L1 used':>9} {'L1 cap':>8} {'local used':>10} "
              f"{'local cap':>9} {'args':>5}  name")
    lines = [header]
    for p in image.programs:
        lines.append(f"{f'({p.x},{p.y})':>7} {p.core:<8} {p.entry:#10x} {p.memory_use.get('l1', 0):>9} "
                     f"{p.capacity.get('l1', 0):>8} {p.memory_use.get('local', 0):>10} "
                     f"{p.capacity.get('local', 0):>9} {len(p.runtime_args):>5}  {p.name}")
    lines.append("(local used: bytes of segments in the core's private memory; its stack grows down from "
                 "the top of it and is not counted)")
    tiles = {}
    for p in image.programs:
        tiles[(p.x, p.y)] = tiles.get((p.x, p.y), 0) + p.memory_use.get("l1", 0)
    for (x, y), used in sorted(tiles.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cbs = image.circular_buffers.get((x, y), [])
        cb_text = "".join(f"; cb{cb.index} {cb.addr:#x}+{cb.num_pages}x{cb.page_size}" for cb in cbs)
        lines.append(f"tile ({x},{y}): {used} bytes of L1 firmware, {sum(cb.size for cb in cbs)} bytes of "
                     f"circular buffers{cb_text}")
    lines.append(f"image: {image.size} bytes, config {image.config_name} "
                 f"({image.config_fingerprint[:16]}), format version {image.manifest['format_version']}")
    return "\n".join(lines)


def cmd_inspect(args) -> int:
    try:
        image = read_image(args.image)
    except FirmwareError as exc:
        return _err(str(exc))
    print(image.manifest_json() if args.json else format_sizes(image))
    return 0


def register(subparsers) -> None:
    fw = subparsers.add_parser("fw", help="build and inspect firmware images")
    fw_sub = fw.add_subparsers(dest="fw_command", metavar="ACTION")
    fw.set_defaults(func=lambda args: (fw.print_help(), 2)[1])

    p = fw_sub.add_parser("build", help="compile kernels and bundle them into a firmware image")
    p.add_argument("--preset", default="tiny", choices=preset_names())
    p.add_argument("-o", "--output", help="image (or ELF with --runelf) to write; default under build/fw/")
    p.add_argument("--tile", action="append", metavar="X,Y", help="target tile (repeatable)")
    p.add_argument("--all-tiles", action="store_true", help="load on every Tensix tile")
    p.add_argument("--core", action="append", metavar="CORE=SRC[,SRC...]", help="program of one core")
    p.add_argument("--args", action="append", metavar="CORE=V1,V2,...", help="runtime arguments of a core")
    p.add_argument("--cb", action="append", metavar="INDEX,PAGE_SIZE,NUM_PAGES[,FORMAT]",
                   help="circular buffer on every --tile (repeatable); FORMAT: float32, float16_b or bfp8_b")
    p.add_argument("--spec", help="JSON description of the programs")
    p.add_argument("--runelf", action="store_true", help="build one ELF for the run-elf system instead")
    p.add_argument("-O", dest="opt", default="-O2", type=lambda s: s if s.startswith("-O") else f"-O{s}",
                   help="optimisation level (default 2)")
    p.add_argument("-D", dest="define", action="append", metavar="NAME[=VALUE]", help="preprocessor define")
    p.add_argument("--libc", choices=["picolibc"], help="link picolibc (<stdio.h> printf to the console)")
    p.add_argument("sources", nargs="*", help="sources for --runelf")
    p.set_defaults(func=cmd_build)

    p = fw_sub.add_parser("inspect", help="print an image's memory use per tile and core (--json: its manifest)")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON instead of the table")
    p.set_defaults(func=cmd_inspect)
