"""Mutation fuzzing of the firmware readers: the ELF reader and the image parser.

A well-formed input (an ELF built by ``compile_elf``, an image built from it)
is mutated many times; each mutant must either be accepted or refused with a
:class:`~tessera.sw.toolchain.errors.FirmwareError` (for run-elf's loader an
``ElfImageError``).  Any other exception is a crash and is collected with the
seed, the case number and the traceback, so one case can be replayed alone:
case ``n`` of seed ``s`` uses ``random.Random(f"{s}:{n}")``.

Mutation kinds:

ELF
    ``bitflip`` (1 to 8 bits anywhere), ``truncate`` (cut at a random
    length), ``append`` (1 to 64 random bytes after the end), ``overwrite``
    (1 to 16 random bytes anywhere), ``headers`` (one field of the ELF
    header or of a program header set to a random or borrowed value) and
    ``sections`` (the same for a field of a section header: type, offset,
    size, link, entry size, name), the tables located by this module's own
    reading of the ELF header.
Image
    ``bitflip``, ``truncate``, ``append``, ``overwrite`` on the raw bytes
    (the checksums must refuse every one that changes a byte); ``manifest``
    (one JSON value replaced, deleted or retyped) and ``manifest_text`` (the
    JSON text's bytes mutated), ``payload`` (payload bytes mutated), each
    resealed with fresh checksums by this module so that the parser's
    field checks, not its checksums, must refuse them.  Accepted images also
    go through the table of ``fw inspect`` and ``load_plan``, which re-checks
    them against the configuration.

``python -m tb.fw.fuzz [--cases N] [--seed S]`` is the long run (``make
bench-fuzz``): a table of cases, refusals, acceptances and crashes per kind,
and JSON under ``build/bench/fuzz/`` (the harness's build root).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import struct
import sys
import tempfile
import time
import traceback
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ELF_KINDS = ("bitflip", "truncate", "append", "overwrite", "headers", "sections")
IMAGE_KINDS = ("bitflip", "truncate", "append", "overwrite", "manifest", "manifest_text", "payload")

# ELF32 header: e_phoff at 28, e_shoff at 32, e_phentsize/e_phnum at 42/44, e_shentsize/e_shnum at 46/48.
_ELF32_HEADER_BYTES = 52

# Image layout (docs/firmware.md section 3), restated here so resealing does not use the code under test.
_IMAGE_MAGIC = b"\x7fTESSFW\n"
_IMAGE_HEADER_BYTES = 64
_IMAGE_TRAILER_BYTES = 32


@dataclass
class KindStats:
    cases: int = 0
    refused: int = 0
    accepted: int = 0
    unchanged: int = 0
    crashed: int = 0


@dataclass
class Crash:
    target: str
    kind: str
    case: int
    error: str
    traceback: str


@dataclass
class FuzzReport:
    target: str
    seed: int
    kinds: dict = field(default_factory=dict)
    crashes: list = field(default_factory=list)
    seconds: float = 0.0
    #: Distinct first words of the refusal messages, to show what the reader caught.
    refusal_kinds: dict = field(default_factory=dict)

    def stats(self, kind: str) -> KindStats:
        return self.kinds.setdefault(kind, KindStats())

    def to_dict(self) -> dict:
        return {"target": self.target, "seed": self.seed, "seconds": round(self.seconds, 2),
                "kinds": {k: vars(v) for k, v in self.kinds.items()},
                "refusal_kinds": dict(sorted(self.refusal_kinds.items(), key=lambda kv: -kv[1])),
                "crashes": [vars(c) for c in self.crashes]}


def case_rng(seed: int, case: int) -> random.Random:
    return random.Random(f"{seed}:{case}")


def _random_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(n))


def _raw_mutation(kind: str, data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    if kind == "bitflip":
        for _ in range(rng.randint(1, 8)):
            bit = rng.randrange(8 * len(out))
            out[bit // 8] ^= 1 << (bit % 8)
    elif kind == "truncate":
        del out[rng.randrange(len(out)):]
    elif kind == "append":
        out += _random_bytes(rng, rng.randint(1, 64))
    elif kind == "overwrite":
        n = rng.randint(1, 16)
        at = rng.randrange(len(out))
        out[at:at + n] = _random_bytes(rng, n)
        del out[len(data):]
    else:
        raise ValueError(f"unknown raw mutation {kind!r}")
    return bytes(out)


@dataclass(frozen=True)
class ElfTables:
    """Where the fields of an ELF32 file are: ``(offset, size)`` of every field of the ELF header,
    of each program header and of each section header."""

    header: tuple
    segments: tuple
    sections: tuple


# (offset, size) of the fields of an ELF32 header after e_ident, of a program header, of a section header.
_EHDR_FIELDS = ((16, 2), (18, 2), (20, 4), (24, 4), (28, 4), (32, 4), (36, 4), (40, 2), (42, 2), (44, 2),
                (46, 2), (48, 2), (50, 2))
_PHDR_FIELDS = tuple((4 * i, 4) for i in range(8))
# Of a section header only the fields readers act on: sh_name, sh_type, sh_offset, sh_size, sh_link, sh_entsize.
_SHDR_FIELDS = tuple((4 * i, 4) for i in (0, 1, 4, 5, 6, 9))


def elf_tables(data: bytes) -> ElfTables:
    phoff, shoff = struct.unpack_from("<II", data, 28)
    phnum, _shentsize, shnum = struct.unpack_from("<HHH", data, 44)
    segments = tuple(tuple((phoff + 32 * i + off, size) for off, size in _PHDR_FIELDS) for i in range(phnum))
    sections = tuple(tuple((shoff + 40 * i + off, size) for off, size in _SHDR_FIELDS) for i in range(shnum))
    return ElfTables(_EHDR_FIELDS, segments, sections)


def _set_field(out: bytearray, entries: tuple, rng: random.Random) -> None:
    """Give one field of one table entry a new value: small, ones, the file size, random, +-1,
    or the same field of another entry (a plausible type, offset or link)."""
    entry = rng.choice(entries)
    index = rng.randrange(len(entry))
    at, size = entry[index]
    old = int.from_bytes(out[at:at + size], "little")
    other_at, _ = rng.choice(entries)[index] if len(entries) > 1 else entry[index]
    value = rng.choice([0, 1, rng.randrange(16), (1 << 8 * size) - 1, len(out), rng.randrange(1 << 8 * size),
                        old + 1, old - 1, int.from_bytes(out[other_at:other_at + size], "little")])
    out[at:at + size] = (value % (1 << 8 * size)).to_bytes(size, "little")


def mutate_elf(kind: str, data: bytes, rng: random.Random, tables: ElfTables) -> bytes:
    if kind not in ("headers", "sections"):
        return _raw_mutation(kind, data, rng)
    out = bytearray(data)
    if kind == "sections":
        _set_field(out, tables.sections, rng)
    elif tables.segments and rng.random() < 0.5:
        _set_field(out, tables.segments, rng)
    else:
        _set_field(out, (tables.header,), rng)
    return bytes(out)


# -- images -------------------------------------------------------------------------

def unseal_image(data: bytes) -> tuple:
    """(manifest text, payload) of a well-formed image."""
    m_off, m_len, p_off, p_len = struct.unpack_from("<IIII", data, 16)
    return data[m_off:m_off + m_len], data[p_off:p_off + p_len]


def seal_image(manifest_text: bytes, payload: bytes) -> bytes:
    """A complete image around ``manifest_text`` and ``payload`` with correct offsets and checksums."""
    m_off = _IMAGE_HEADER_BYTES
    p_off = -(-(m_off + len(manifest_text)) // 16) * 16
    total = p_off + len(payload) + _IMAGE_TRAILER_BYTES
    head = struct.pack("<8sHHIIIIIII", _IMAGE_MAGIC, 1, _IMAGE_HEADER_BYTES, 0, m_off, len(manifest_text),
                       p_off, len(payload), total, 0)[:36]
    head += struct.pack("<I", zlib.crc32(head))
    body = head.ljust(_IMAGE_HEADER_BYTES, b"\0") + manifest_text
    body = body.ljust(p_off, b"\0") + payload
    return body + hashlib.sha256(body).digest()


def _json_paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _json_paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _json_paths(value, path + (index,))


_ODD_VALUES = (None, True, -1, 0, 1, 1.5, 1 << 32, 1 << 64, "", "x", "brisc", [], {}, [0], {"x": 0})


def mutate_manifest(manifest: dict, rng: random.Random) -> dict:
    """A deep copy of ``manifest`` with one value replaced, deleted, duplicated or retyped."""
    manifest = json.loads(json.dumps(manifest))
    paths = [p for p in _json_paths(manifest) if p]
    path = rng.choice(paths)
    parent = manifest
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = rng.choice(("replace", "replace", "delete", "number", "duplicate"))
    if action == "delete":
        del parent[last]
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(last, json.loads(json.dumps(parent[last])))
    elif action == "number" and isinstance(parent[last], int) and not isinstance(parent[last], bool):
        parent[last] = parent[last] + rng.choice((-1, 1, 4, -4096, 1 << 20, 1 << 31))
    else:
        parent[last] = rng.choice(_ODD_VALUES)
    return manifest


def mutate_image(kind: str, data: bytes, rng: random.Random) -> bytes:
    if kind in ("bitflip", "truncate", "append", "overwrite"):
        return _raw_mutation(kind, data, rng)
    text, payload = unseal_image(data)
    if kind == "manifest":
        text = json.dumps(mutate_manifest(json.loads(text), rng), indent=1, sort_keys=True).encode()
    elif kind == "manifest_text":
        text = _raw_mutation(rng.choice(("bitflip", "overwrite")), text, rng)
    elif kind == "payload":
        payload = _raw_mutation(rng.choice(("bitflip", "overwrite")), payload, rng)
    else:
        raise ValueError(f"unknown image mutation {kind!r}")
    return seal_image(text, payload)


# -- runs ---------------------------------------------------------------------------

def _first_words(message: str) -> str:
    """A refusal message without the file name and numbers: what kind of refusal it was."""
    text = message.split(": ", 1)[-1]
    return " ".join(w for w in text.split()[:4] if not any(c.isdigit() for c in w))


def _run(report: FuzzReport, kinds: tuple, mutate, use, refusal_types, cases: int) -> FuzzReport:
    """Case ``n`` applies mutation ``kinds[n % len(kinds)]`` (``mutate(kind, rng)``) and passes the
    mutant to ``use(data, case)``: a ``refusal_types`` exception is a refusal, any other a crash."""
    start = time.monotonic()
    for case in range(cases):
        kind = kinds[case % len(kinds)]
        stats = report.stats(kind)
        data = mutate(kind, case_rng(report.seed, case))
        if data is None:
            stats.unchanged += 1
            continue
        stats.cases += 1
        try:
            use(data, case)
        except refusal_types as exc:
            stats.refused += 1
            words = _first_words(str(exc))
            report.refusal_kinds[words] = report.refusal_kinds.get(words, 0) + 1
        except Exception as exc:  # noqa: BLE001 -- a crash is what the fuzz looks for
            stats.crashed += 1
            report.crashes.append(Crash(report.target, kind, case, f"{type(exc).__name__}: {exc}",
                                        "".join(traceback.format_exception(exc))))
        else:
            stats.accepted += 1
    report.seconds = time.monotonic() - start
    return report


def _elf_mutator(base: bytes):
    """``mutate(kind, rng)`` for :func:`_run`: the mutant of ``base``, ``None`` if it is unchanged."""
    tables = elf_tables(base)

    def mutate(kind, rng):
        data = mutate_elf(kind, base, rng, tables)
        return None if data == base else data
    return mutate


def fuzz_elf(base: bytes, core: str, cfg, cases: int, seed: int) -> FuzzReport:
    """Mutate ``base`` (an ELF for ``core`` of ``cfg``) ``cases`` times through ``read_elf`` and ``check_program``."""
    from tessera.sw.toolchain.elf import check_program, read_elf
    from tessera.sw.toolchain.errors import FirmwareError
    from tessera.sw.toolchain.layout import target_for

    target = target_for(core, cfg)
    return _run(FuzzReport(f"elf ({core})", seed), ELF_KINDS, _elf_mutator(base),
                lambda data, case: check_program(read_elf(data, f"case{case}.elf"), target), FirmwareError, cases)


def fuzz_runelf_loader(base: bytes, cfg, cases: int, seed: int) -> FuzzReport:
    """The same mutations through run-elf's loader (``load_elf``), which reads a file."""
    from tessera.sim.runelf.elf import ElfImageError, load_elf

    with tempfile.TemporaryDirectory(prefix="tessera-fuzz-") as tmp:
        path = Path(tmp) / "case.elf"

        def use(data, case):
            path.write_bytes(data)
            load_elf(path, cfg)
        return _run(FuzzReport("elf (run-elf loader)", seed), ELF_KINDS, _elf_mutator(base), use,
                    ElfImageError, cases)


def fuzz_image(base: bytes, cfg, cases: int, seed: int) -> FuzzReport:
    """Mutate ``base`` (an image for ``cfg``) through ``FirmwareImage.from_bytes``, the table of
    ``fw inspect`` and ``load_plan``."""
    from tessera.sw.toolchain.cli import format_sizes
    from tessera.sw.toolchain.errors import FirmwareError
    from tessera.sw.toolchain.image import FirmwareImage
    from tessera.sw.toolchain.loader import load_plan

    def mutate(kind, rng):
        data = mutate_image(kind, base, rng)
        return None if data == base else data

    def use(data: bytes, case: int) -> None:
        image = FirmwareImage.from_bytes(data, f"case{case}")
        format_sizes(image)
        load_plan(image, cfg)
    return _run(FuzzReport("image", seed), IMAGE_KINDS, mutate, use, FirmwareError, cases)


def base_inputs(cfg, out_dir: Path) -> dict:
    """The inputs every fuzz run mutates: a tile-core ELF, a run-elf ELF and an image with both
    a program and a circular buffer (so the manifest has every kind of entry)."""
    from tessera.sw.toolchain import ProgramSpec, build_image, compile_elf
    from tessera.sw.toolchain.build import KERNELS_DIR
    from tessera.sw.toolchain.cb import CircularBuffer, cb_data_base

    tile_elf = compile_elf([KERNELS_DIR / "tile_args_sum.c"], "brisc", cfg, out_dir / "sum_brisc.elf")
    runelf = compile_elf([KERNELS_DIR / "hello_runelf.c"], "runelf", cfg, out_dir / "hello_runelf.elf")
    tile = next((n.x, n.y) for n in cfg.nodes_of("tensix"))
    image = build_image([ProgramSpec("brisc", [tile], tile_elf, [3, 10, 20, 30]),
                         ProgramSpec("trisc1", [tile], compile_elf([KERNELS_DIR / "tile_args_sum.c"], "trisc1",
                                                                   cfg, out_dir / "sum_trisc1.elf"))],
                        cfg, {tile: [CircularBuffer(0, cb_data_base(cfg), 64, 4)]})
    return {"tile_elf": tile_elf.read_bytes(), "runelf_elf": runelf.read_bytes(), "image": image}


def format_reports(reports: list) -> str:
    lines = [f"{'target':<22} {'mutation':<14} {'cases':>7} {'refused':>8} {'accepted':>9} "
             f"{'unchanged':>9} {'crashed':>8}"]
    for report in reports:
        for kind, s in report.kinds.items():
            lines.append(f"{report.target:<22} {kind:<14} {s.cases + s.unchanged:>7} {s.refused:>8} "
                         f"{s.accepted:>9} {s.unchanged:>9} {s.crashed:>8}")
        total = sum(s.cases + s.unchanged for s in report.kinds.values())
        lines.append(f"{report.target:<22} {'(all)':<14} {total:>7} "
                     f"{sum(s.refused for s in report.kinds.values()):>8} "
                     f"{sum(s.accepted for s in report.kinds.values()):>9} "
                     f"{sum(s.unchanged for s in report.kinds.values()):>9} "
                     f"{sum(s.crashed for s in report.kinds.values()):>8}   {report.seconds:.1f} s")
    return "\n".join(lines)


def main(argv=None) -> int:
    from tessera.hw.config import preset, preset_names

    parser = argparse.ArgumentParser(prog="python -m tb.fw.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000, help="cases per target (default 20000)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: from the clock, printed)")
    parser.add_argument("--preset", default="tiny", choices=preset_names())
    parser.add_argument("-o", "--output", default=None,
                        help="directory of the JSON report (default <build root>/bench/fuzz)")
    args = parser.parse_args(argv)
    if args.cases < 1:
        parser.error(f"--cases must be at least 1, got {args.cases}")
    seed = args.seed if args.seed is not None else int(time.time())
    cfg = preset(args.preset)
    print(f"fuzz seed {seed}, {args.cases} cases per target, preset {cfg.name}")
    with tempfile.TemporaryDirectory(prefix="tessera-fuzz-base-") as tmp:
        base = base_inputs(cfg, Path(tmp))
    reports = [fuzz_elf(base["tile_elf"], "brisc", cfg, args.cases, seed),
               fuzz_elf(base["runelf_elf"], "runelf", cfg, args.cases, seed),
               fuzz_runelf_loader(base["runelf_elf"], cfg, args.cases, seed),
               fuzz_image(base["image"], cfg, args.cases, seed)]
    print(format_reports(reports))
    if args.output is None:
        from tessera.sim.harness import BUILD_ROOT
        args.output = Path(BUILD_ROOT) / "bench" / "fuzz"
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"fuzz-{cfg.name}.json"
    path.write_text(json.dumps({"seed": seed, "cases_per_target": args.cases, "preset": cfg.name,
                                "reports": [r.to_dict() for r in reports]}, indent=1) + "\n")
    print(f"JSON: {path}")
    crashes = [c for r in reports for c in r.crashes]
    for crash in crashes[:5]:
        print(f"\ncrash: {crash.target} {crash.kind} case {crash.case} (seed {seed}): {crash.error}\n"
              f"{crash.traceback}", file=sys.stderr)
    if crashes:
        print(f"{len(crashes)} crashes (seed {seed})", file=sys.stderr)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
