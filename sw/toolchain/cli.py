"""``tessera fw``: build and inspect firmware.

    tessera fw build --preset tiny -o build/fw/app.fwimg --tile 1,0 \\
        --core brisc=sw/kernels/tile_hello.c --args brisc=1,2,3
    tessera fw build --preset tiny --runelf -o build/fw/hello.elf sw/kernels/hello_runelf.c
    tessera fw inspect build/fw/app.fwimg [--json]

``--core CORE=SRC[,SRC...]`` builds the sources for that core (an ``.elf``
is used as it is); every ``--core`` program goes onto every ``--tile``
(``--all-tiles`` for every Tensix tile).  ``--cb INDEX,PAGE_SIZE,NUM_PAGES``
adds a circular buffer on those tiles (placed from the start of the L1 data
area).  ``--spec FILE.json`` describes a larger image:
``{"programs": [{"core": "brisc", "tiles": [[1, 0]], "sources": ["a.c"],
"runtime_args": [1, 2]}], "circular_buffers": [{"tile": [1, 0], "index": 0,
"page_size": 64, "num_pages": 4, "addr": 23552}]}`` (paths relative to the
file; ``addr`` optional: buffers without one are placed after the table).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tessera.hw.config import ConfigError, preset, preset_names

from .build import compile_elf
from .cb import CircularBuffer, allocate_circular_buffers
from .errors import FirmwareError
from .image import ProgramSpec, parse_tile, read_image, write_image
from .layout import RUNELF

DEFAULT_OUT = Path("build/fw")


def _err(message: str) -> int:
    print(f"tessera fw: {message}", file=sys.stderr)
    return 1


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
        build_dir = out.parent / (out.stem + ".build")
        specs = []
        cbs = {}
        if args.spec:
            spec_path = Path(args.spec)
            try:
                spec = json.loads(spec_path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                return _err(f"cannot read spec {spec_path}: {exc}")
            for i, entry in enumerate(spec.get("programs", [])):
                sources = [spec_path.parent / s for s in entry.get("sources", [])]
                elf = _program_elf(entry["core"], sources, cfg, build_dir, f"p{i}", args.opt,
                                   entry.get("defines", args.define), entry.get("libc", args.libc))
                specs.append(ProgramSpec(entry["core"], [parse_tile(t) for t in entry["tiles"]], elf,
                                         entry.get("runtime_args", []), entry.get("name", "")))
            for entry in spec.get("circular_buffers", []):
                tile = parse_tile(entry["tile"])
                cbs.setdefault(tile, []).append(entry)
            for tile, entries in cbs.items():
                placed = {e["index"]: cb for e, cb in zip(
                    entries, allocate_circular_buffers(cfg, [(e["index"], e["page_size"], e["num_pages"])
                                                             for e in entries]))}
                cbs[tile] = [CircularBuffer(e["index"], e["addr"], e["page_size"], e["num_pages"]) if "addr" in e
                             else placed[e["index"]] for e in entries]
        if args.core:
            tiles = [(n.x, n.y) for n in cfg.nodes_of("tensix")] if args.all_tiles else \
                [parse_tile(t) for t in args.tile or []]
            if not tiles:
                return _err("give --tile X,Y (repeatable) or --all-tiles")
            run_args = {}
            for item in args.args or []:
                core, _, values = item.partition("=")
                run_args[core] = _parse_args_list(values)
            for item in args.core:
                core, sep, files = item.partition("=")
                if not sep or not files:
                    return _err(f"--core expects CORE=SRC[,SRC...], got {item!r}")
                sources = [Path(f) for f in files.split(",")]
                elf = _program_elf(core, sources, cfg, build_dir, sources[0].stem, args.opt, args.define,
                                   args.libc)
                specs.append(ProgramSpec(core, tiles, elf, run_args.pop(core, []), sources[0].stem))
            if run_args:
                return _err(f"--args for cores without a program: {sorted(run_args)}")
            if args.cb:
                requests = []
                for item in args.cb:
                    try:
                        index, page_size, num_pages = (int(v, 0) for v in item.split(","))
                    except ValueError:
                        return _err(f"--cb expects INDEX,PAGE_SIZE,NUM_PAGES, got {item!r}")
                    requests.append((index, page_size, num_pages))
                for tile in tiles:
                    cbs[tile] = allocate_circular_buffers(cfg, requests)
        if not specs:
            return _err("nothing to build: give --core CORE=SRC with --tile, or --spec FILE")
        path = write_image(out, specs, cfg, cbs)
    except FirmwareError as exc:
        return _err(str(exc))
    image = read_image(path)
    print(f"wrote {path} ({image.size} bytes, {len(image.programs)} programs)")
    return 0


def format_sizes(image) -> str:
    lines = [f"{'tile':>7} {'core':<8} {'entry':>10} {'L1 used':>9} {'L1 cap':>8} {'local':>7} "
             f"{'args':>5}  name"]
    for p in image.programs:
        cap = next((e["capacity"] for e in image.manifest["programs"]
                    if (e["tile"]["x"], e["tile"]["y"], e["core"]) == (p.x, p.y, p.core)), {})
        lines.append(f"{f'({p.x},{p.y})':>7} {p.core:<8} {p.entry:#10x} {p.memory_use.get('l1', 0):>9} "
                     f"{cap.get('l1', 0):>8} {cap.get('local', 0):>7} {len(p.runtime_args):>5}  {p.name}")
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
    if args.json:
        print(image.manifest_json())
        return 0
    print(image.manifest_json())
    print()
    print(format_sizes(image))
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
    p.add_argument("--cb", action="append", metavar="INDEX,PAGE_SIZE,NUM_PAGES",
                   help="circular buffer on every --tile (repeatable)")
    p.add_argument("--spec", help="JSON description of the programs")
    p.add_argument("--runelf", action="store_true", help="build one ELF for the run-elf system instead")
    p.add_argument("-O", dest="opt", default="-O2", type=lambda s: s if s.startswith("-O") else f"-O{s}",
                   help="optimisation level (default 2)")
    p.add_argument("-D", dest="define", action="append", metavar="NAME[=VALUE]", help="preprocessor define")
    p.add_argument("--libc", choices=["picolibc"], help="link picolibc (<stdio.h> printf to the console)")
    p.add_argument("sources", nargs="*", help="sources for --runelf")
    p.set_defaults(func=cmd_build)

    p = fw_sub.add_parser("inspect", help="print an image's manifest and its memory use")
    p.add_argument("image")
    p.add_argument("--json", action="store_true", help="print only the manifest JSON")
    p.set_defaults(func=cmd_inspect)
