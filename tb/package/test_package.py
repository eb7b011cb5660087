"""The installed package: one wheel named ``tessera``, layers that only point down.

The wheel test builds a wheel from a copy of the sources, installs it into a
fresh virtual environment (dependencies are borrowed from the development
environment by a path file, so nothing is downloaded), and runs the CLI from
a folder outside the repository: ``tessera config``, a Verilog export and a
firmware build that needs the shipped C headers, runtime and kernels.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("hw", "sim", "sw")

#: What each layer may import from the project (besides itself).
ALLOWED = {
    "hw": {"tessera", "tessera.hw"},
    "sw": {"tessera", "tessera.hw", "tessera.sw", "tessera.sim"},
    "sim": {"tessera", "tessera.hw", "tessera.sw", "tessera.sim"},
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] in ("hw", "sim", "sw", "tb"):
        return parts[0]  # a bare top-level name: never valid inside the package
    if parts[0] == "tessera":
        return ".".join(parts[:2]) if len(parts) > 1 else "tessera"
    return None


def upward_imports(folder: str) -> list:
    bad = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for line, module in _imports(path):
            layer = _layer(module)
            if layer is None:
                continue
            if layer in ("hw", "sim", "sw", "tb"):
                bad.append(f"{path.relative_to(REPO)}:{line}: bare import {module!r} "
                           f"(the package is tessera.{layer})" if layer != "tb" else
                           f"{path.relative_to(REPO)}:{line}: imports the tests ({module!r})")
            elif layer not in ALLOWED[folder]:
                bad.append(f"{path.relative_to(REPO)}:{line}: {folder}/ imports {module!r}")
    return bad


@pytest.mark.parametrize("folder", FOLDERS)
def test_layers_point_down(folder):
    """hw/ imports only hw/; no package code imports the tests; no bare top-level names."""
    bad = upward_imports(folder)
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_layering_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a planted upward import is found."""
    fake = tmp_path / "hw"
    fake.mkdir()
    (fake / "bad.py").write_text("from tessera.sim.golden import numerics\nimport tb.core\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    bad = upward_imports("hw")
    assert len(bad) == 2 and "tessera.sim.golden" in bad[0] and "tests" in bad[1]


def _copy_sources(dest: Path) -> Path:
    skip = {".git", ".venv", "build", "__pycache__", ".pytest_cache"}
    shutil.copytree(REPO, dest, ignore=lambda d, names: [n for n in names if n in skip
                                                          or n.endswith(".egg-info")])
    return dest


@pytest.mark.slow
def test_wheel_installs_and_runs(tmp_path):
    src = _copy_sources(tmp_path / "src")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(dist), str(src)], check=True)
    (wheel,) = dist.glob("tessera-*.whl")

    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"tessera", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, tops
    assert not [n for n in names if "/tb/" in n or Path(n).name.startswith("test_")], \
        "tests in the wheel"
    for data in ("tessera/sw/include/tessera.h", "tessera/sw/runtime/crt0.S",
                 "tessera/sw/kernels/tile_eltwise_add.c", "tessera/sw/bench/cpu/bench.h",
                 "tessera/sim/runelf/ram.v", "tessera/hw/chip/chip.py", "tessera/sim/chip/serve.py"):
        assert data in names, f"{data} missing from the wheel"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    site = Path(subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([str(vpy), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                   check=True)
    # Dependencies: the development environment's site-packages as a plain path
    # (its .pth files, the editable install among them, are not processed).
    (site / "tessera-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TESSERA_BUILD_DIR")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")

    def run(*args):
        return subprocess.run(list(args), cwd=work, env=env, check=True, capture_output=True,
                              text=True, timeout=600)

    where = run(str(vpy), "-c", "import tessera, tessera.sw.toolchain.build as b; "
                "print(tessera.__file__); print(b.INCLUDE_DIR)").stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where

    cli = str(venv / "bin" / "tessera")
    config = run(cli, "config", "--preset", "tiny").stdout
    assert '"name": "tiny"' in config
    run(cli, "verilog", "--preset", "tiny", "--block", "stream_fifo", "-o", "verilog")
    exported = list((work / "verilog").glob("*.v"))
    assert exported and "module" in exported[0].read_text(), exported
    # A firmware build needs the shipped headers, crt0/runtime and a kernel source.
    kernel = Path(where[1]).parent / "kernels" / "hello_runelf.c"
    run(cli, "fw", "build", "--runelf", "-o", "hello.elf", str(kernel))
    assert (work / "hello.elf").read_bytes()[:4] == b"\x7fELF"


def test_every_source_package_is_in_the_wheel_list():
    """Each folder of hw/, sim/ and sw/ with an ``__init__.py`` is a package pyproject.toml lists
    (a missing one installs editable but is absent from a wheel)."""
    import tomllib

    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    found = set()
    for package, folder in setup["package-dir"].items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            found.add(".".join([package, *rel.parts]))
    assert found - listed == set(), f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert listed - found == set(), f"pyproject.toml lists packages with no folder: {sorted(listed - found)}"


def test_package_version_is_pyprojects():
    """One version: ``tessera.__version__`` is read from the installed metadata of pyproject.toml."""
    import tomllib

    import tessera

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert tessera.__version__ == declared
