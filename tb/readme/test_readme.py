"""README.md's shell examples run as written.

Every ```sh block of the README is a snippet.  Each one is run with bash,
exactly as written, in a fresh copy of the working tree (its own git
repository, so that what the snippet leaves behind shows as untracked
files), with ``.venv`` linked to this checkout's virtual environment and
the build tree in the copy (models linked to this checkout's model cache,
so a snippet that simulates reuses the models the suite builds anyway).
``PATH`` holds no virtual environment: a snippet that relies on
``source .venv/bin/activate`` without saying so fails.

A snippet is not run when it calls a command of :data:`LONG_COMMANDS`
(the whole regression, benchmarks, the FPGA flow: minutes to hours).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tessera.sim import harness

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"

#: Commands too long for the test suite; a snippet that calls one is skipped.
LONG_COMMANDS = {
    "make sim": "the whole Verilator regression",
    "make test": "the whole test suite, this test included",
    "make bench-": "benchmarks: minutes to an hour",
    "make fpga": "yosys and nextpnr: minutes",
    "tessera fpga": "yosys and nextpnr: minutes",
    "tessera noc-bench": "a NoC benchmark: up to an hour",
    "tessera run-example": "programs on the simulated chip (the scratch tree builds the chip model: minutes)",
    "tessera matmul-bench": "a benchmark on the simulated chip",
    "tessera llama": "a transformer generating tokens on the simulated chip: minutes",
    "tessera ttnn-bench": "a benchmark on the simulated chip",
    "tessera.sim.chip.board_serve": "a simulated board: a server that runs until it is stopped",
    "examples/": "a host program on the simulated chip (the scratch tree builds the chip model: minutes)",
}

#: Not copied into the scratch working tree.
NOT_COPIED = (".git", ".venv", "build", "__pycache__", "*.egg-info", ".pytest_cache")

SNIPPET_TIMEOUT_S = 900


def shell_snippets(text: str) -> list:
    """The ```sh / ```bash / ```shell blocks of a Markdown text, in order."""
    return [m.group(1) for m in re.finditer(r"^```(?:sh|bash|shell)[ \t]*\n(.*?)^```[ \t]*$",
                                             text, re.M | re.S)]


def long_command(snippet: str) -> str | None:
    """The first command of :data:`LONG_COMMANDS` the snippet calls, else None."""
    for line in snippet.splitlines():
        code = line.split("#", 1)[0]
        for command in LONG_COMMANDS:
            if re.search(r"(^|[\s/;&|(])" + re.escape(command), code):
                return command
    return None


SNIPPETS = shell_snippets(README.read_text())


def _snippet_id(snippet: str) -> str:
    first = next(line for line in snippet.splitlines() if line.strip())
    return re.sub(r"\W+", "-", first)[:48].strip("-")


def test_readme_has_runnable_snippets():
    """The extraction finds the README's examples, and not every one is skipped."""
    assert len(SNIPPETS) >= 4
    assert any(long_command(s) is None for s in SNIPPETS)
    assert long_command("make sim    # note") == "make sim"
    assert long_command(".venv/bin/tessera fpga --block x") == "tessera fpga"
    assert long_command(".venv/bin/tessera run-elf a.elf  # not make test") is None


def test_the_tessera_command_is_introduced_before_bare_use():
    """Bare `tessera …` in prose only after the README says how to get the command."""
    text = README.read_text()
    first_bare = re.search(r"`tessera [a-z]", text)
    intro = text.find(".venv/bin/tessera")
    assert intro != -1 and "source .venv/bin/activate" in text
    assert first_bare is None or intro < first_bare.start(), \
        "README uses `tessera …` before saying it is .venv/bin/tessera"
    for snippet in SNIPPETS:
        for line in snippet.splitlines():
            assert not re.match(r"\s*tessera\s", line), f"bare tessera in a snippet: {line!r}"


def _untracked(tree: Path) -> set:
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    return {line[3:] for line in out.splitlines()}


@pytest.fixture
def scratch_tree(tmp_path):
    """A copy of the working tree with .venv and the model cache linked in."""
    tree = tmp_path / "tessera"
    shutil.copytree(REPO, tree, symlinks=True, ignore=shutil.ignore_patterns(*NOT_COPIED))
    (tree / ".venv").symlink_to(Path(sys.prefix))
    models = Path(harness.BUILD_ROOT) / "models"
    models.mkdir(parents=True, exist_ok=True)
    (tree / "build").mkdir()
    (tree / "build" / "models").symlink_to(models.resolve())
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    return tree


def _snippet_env(tree: Path) -> dict:
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST_") and k not in ("WAVES", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and Path(p).resolve() != Path(venv_bin).resolve())
    env["TESSERA_BUILD_DIR"] = str(tree / "build")
    return env


def _check_hello(result, tree: Path) -> None:
    assert "hello from Tessera" in result.stdout
    assert result.stdout.rstrip().endswith("exit code 3"), result.stdout[-500:]
    assert (tree / "build" / "hello" / "hello.elf").is_file()


def _check_waves(result, tree: Path) -> None:
    waves = [Path(p) for p in re.findall(r"^(/\S+\.fst)$", result.stdout, re.M)]
    assert len(waves) == 2, f"expected a waveform per FIFO run in the report:\n{result.stdout}"
    for path in waves:
        assert path.is_relative_to(tree / "build" / "runs") and path.stat().st_size > 0, path


#: What a snippet must show besides exiting 0 (keyed by a text it contains).
EXPECTED = {
    "tessera run-elf": _check_hello,
    "WAVES=1": _check_waves,
}


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[_snippet_id(s) for s in SNIPPETS])
def test_readme_snippet_runs_as_written(snippet, scratch_tree):
    command = long_command(snippet)
    if command is not None:
        pytest.skip(f"calls `{command}` ({LONG_COMMANDS[command]}), see LONG_COMMANDS")
    before = _untracked(scratch_tree)
    result = subprocess.run(["bash", "-c", snippet], cwd=scratch_tree, env=_snippet_env(scratch_tree),
                            capture_output=True, text=True, timeout=SNIPPET_TIMEOUT_S)
    shown = f"--- snippet ---\n{snippet}--- stdout ---\n{result.stdout[-3000:]}" \
            f"--- stderr ---\n{result.stderr[-3000:]}"
    assert result.returncode == 0, shown
    assert "command not found" not in result.stderr, shown
    for marker, check in EXPECTED.items():
        if marker in snippet:
            check(result, scratch_tree)
    left = _untracked(scratch_tree) - before
    assert not left, f"the snippet left files in the working tree: {sorted(left)}\n{shown}"
