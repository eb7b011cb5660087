"""Fixtures of the firmware toolchain tests: configurations and small sources written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tessera.hw.config import preset


@pytest.fixture(scope="session")
def tiny():
    return preset("tiny")


@pytest.fixture(scope="session")
def tensix():
    return preset("tensix")


@pytest.fixture
def write_source(tmp_path):
    """write_source("name.c", text) -> Path of a new source file under tmp_path/src."""
    def write(name: str, text: str) -> Path:
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path
    return write


@pytest.fixture(scope="session")
def built(tmp_path_factory, tiny):
    """ELFs shared by several tests, built once per session (per xdist worker)."""
    from tessera.sw.toolchain import compile_elf
    from tessera.sw.toolchain.build import KERNELS_DIR

    out = tmp_path_factory.mktemp("built")
    return {
        "hello_runelf": compile_elf([KERNELS_DIR / "hello_runelf.c"], "runelf", tiny, out / "hello_runelf.elf"),
        "sum_brisc": compile_elf([KERNELS_DIR / "tile_args_sum.c"], "brisc", tiny, out / "sum_brisc.elf"),
        "sum_trisc1": compile_elf([KERNELS_DIR / "tile_args_sum.c"], "trisc1", tiny, out / "sum_trisc1.elf"),
        "sum_ncrisc": compile_elf([KERNELS_DIR / "tile_args_sum.c"], "ncrisc", tiny, out / "sum_ncrisc.elf"),
    }


@pytest.fixture(scope="session")
def engine_cfg(tiny):
    """A configuration with the engine command registers: tiny itself (hw/engine/mmio.py's map)."""
    return tiny


@pytest.fixture(scope="session")
def no_engine_cfg(tiny):
    """tiny with an engine MMIO region that has no registers: the engine C API must compile away."""
    from tessera.hw.config import MmioMap, MmioRegion
    regions = tuple(MmioRegion(r.name, r.base, r.size, r.doc) if r.name == "engine" else r
                    for r in tiny.mmio.regions)
    return tiny.derive(mmio=MmioMap(regions))
