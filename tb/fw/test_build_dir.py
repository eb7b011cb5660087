"""Where compile_elf keeps its intermediates: in the build tree, never beside the ELF."""

from __future__ import annotations

import os

import pytest

from tessera.sim import harness
from tessera.sw.toolchain import compile_elf
from tessera.sw.toolchain.build import _prune_build_dirs, build_dir_for

HELLO = '#include "tessera_runelf.h"\nint main(void) { tessera_puts("hi\\n"); return 3; }\n'


@pytest.fixture
def build_root(tmp_path, monkeypatch):
    """A private build root (the harness reads $TESSERA_BUILD_DIR only at import)."""
    root = tmp_path / "build-root"
    monkeypatch.setattr(harness, "BUILD_ROOT", root)
    return root


def test_a_relative_elf_leaves_only_the_elf_in_the_working_folder(tmp_path, monkeypatch,
                                                                  build_root, tiny):
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "hello.c").write_text(HELLO)
    monkeypatch.chdir(work)
    out = compile_elf(["hello.c"], "runelf", tiny, "hello.elf")
    assert out.is_file()
    assert sorted(p.name for p in work.iterdir()) == ["hello.c", "hello.elf"]
    build_dir = build_dir_for("hello.elf")
    assert build_dir.parent == build_root / "fw" / "work"
    assert build_dir == build_dir_for(work / "hello.elf"), "relative and absolute paths differ"
    for name in ("gen/tessera_config.h", "gen/tessera_target.h", "gen/link.ld", "link.map",
                 "build.log"):
        assert (build_dir / name).is_file(), name
    assert any((build_dir / "obj").glob("*hello_c.o"))


def test_elfs_of_the_same_name_in_two_folders_get_two_build_folders(tmp_path, build_root):
    a, b = tmp_path / "a" / "k.elf", tmp_path / "b" / "k.elf"
    assert build_dir_for(a) != build_dir_for(b)
    assert build_dir_for(a).name.startswith("k.elf-")


def test_only_the_most_recently_used_build_folders_are_kept(tmp_path):
    work = tmp_path / "work"
    folders = []
    for age in range(6):  # folder 0 is the newest
        folder = work / f"k{age}.elf-{age:012x}"
        (folder / "obj").mkdir(parents=True)
        stamp = 1_700_000_000 - 3600 * age
        os.utime(folder, (stamp, stamp))
        folders.append(folder)
    _prune_build_dirs(work, spare=folders[5], keep=3)
    assert sorted(p.name for p in work.iterdir()) == sorted(f.name for f in folders[:3] + [folders[5]])
