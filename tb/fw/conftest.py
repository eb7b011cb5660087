"""Fixtures of the firmware toolchain tests: configurations and small sources written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from hw.config import preset


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
    from sw.toolchain import compile_elf
    from sw.toolchain.build import KERNELS_DIR

    out = tmp_path_factory.mktemp("built")
    return {
        "hello_runelf": compile_elf([KERNELS_DIR / "hello_runelf.c"], "runelf", tiny, out / "hello_runelf.elf"),
        "sum_brisc": compile_elf([KERNELS_DIR / "tile_args_sum.c"], "brisc", tiny, out / "sum_brisc.elf"),
        "sum_trisc1": compile_elf([KERNELS_DIR / "tile_args_sum.c"], "trisc1", tiny, out / "sum_trisc1.elf"),
        "sum_ncrisc": compile_elf([KERNELS_DIR / "tile_args_sum.c"], "ncrisc", tiny, out / "sum_ncrisc.elf"),
    }


#: The engine command registers docs/engine.md proposes (not in hw/config.py yet).
PROPOSED_ENGINE_REGISTERS = (("unpack_cmd_lo", 0x00), ("unpack_cmd_hi", 0x04), ("math_cmd_lo", 0x08),
                             ("math_cmd_hi", 0x0C), ("pack_cmd_lo", 0x10), ("pack_cmd_hi", 0x14),
                             ("status", 0x18))


@pytest.fixture(scope="session")
def engine_cfg(tiny):
    """tiny with the proposed engine registers in its engine MMIO region."""
    from hw.config import MmioMap, MmioRegion, Register
    regions = []
    for region in tiny.mmio.regions:
        if region.name == "engine":
            region = MmioRegion(region.name, region.base, region.size, region.doc,
                                tuple(Register(name, offset) for name, offset in PROPOSED_ENGINE_REGISTERS))
        regions.append(region)
    return tiny.derive(mmio=MmioMap(tuple(regions)))
