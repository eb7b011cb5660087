"""What the ttnn chip tests share: one device per test module (each module is one xdist group, so
its tests run on one worker and one chip server), and the device tensors a test makes, freed when
it ends (the tiny chip has 1 MiB of DRAM)."""

from __future__ import annotations

import pytest

from tessera import ttnn
from tb.ttnn.tensors import Tensors


@pytest.fixture(scope="module")
def device():
    with ttnn.manage_device(0) as dev:
        yield dev


@pytest.fixture
def tensors(device):
    made = Tensors(device)
    yield made
    made.free()
