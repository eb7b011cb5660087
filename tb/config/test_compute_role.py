"""The fused "compute" core role: which core sets a configuration accepts, and the presets unchanged."""

from __future__ import annotations

import json
import re

import pytest

from tessera.hw.config import (COMPUTE_PARTS, CORE_ROLES, FUSED_COMPUTE_ROLE, ConfigError, CoreConfig,
                               TesseraConfig, preset, preset_names)
from tb.tile.fused_config import COMPUTE_CORE, fused_tiny

RULE = "a tile has either one 'compute' core or one core of each of 'unpack', 'math', 'pack'"


def _cores(*roles):
    """brisc (dm) and then one core per role in ``roles``, each with 4 KiB of firmware space."""
    cores = [CoreConfig("brisc", "dm", 0x0000, 0x1000, 2048)]
    cores += [CoreConfig(name, role, 0x1000 * (i + 1), 0x1000, 1024) for i, (name, role) in enumerate(roles)]
    return tuple(cores)


def test_roles_name_the_parts_and_the_fused_role():
    assert COMPUTE_PARTS == ("unpack", "math", "pack")
    assert FUSED_COMPUTE_ROLE == "compute"
    assert set(CORE_ROLES) == {"dm", "unpack", "math", "pack", "compute"}


@pytest.mark.parametrize("roles,message", [
    ((("t", "compute"), ("t0", "unpack")),
     "cores mix the fused and the split compute roles (t 'compute'; t0 'unpack')"),
    ((("t0", "unpack"), ("t1", "math"), ("t2", "pack"), ("t", "compute")),
     "cores mix the fused and the split compute roles (t 'compute'; t0 'unpack', t1 'math', t2 'pack')"),
    ((("t", "compute"), ("u", "compute")), "cores t and u share role 'compute'"),
    ((("t0", "unpack"), ("t1", "math"), ("t2", "pack"), ("t3", "pack")), "cores t2 and t3 share role 'pack'"),
    ((("t0", "unpack"), ("t1", "math")), "no core has role 'pack' (the tile has unpack t0, math t1)"),
    ((("t1", "math"),), "no core has role 'unpack' or 'pack' (the tile has math t1)"),
    ((("n", "dm"),), "no core has role 'unpack' or 'math' or 'pack'"),
    ((("t", "fused"),), "core t: role must be one of ('dm', 'unpack', 'math', 'pack', 'compute'), got 'fused'"),
])
def test_a_core_set_without_exactly_one_compute_arrangement_is_refused(roles, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        preset("tiny", cores=_cores(*roles))
    if "role must be one of" not in message:
        assert str(info.value).endswith(RULE)


def test_one_compute_core_or_the_three_parts_are_accepted():
    fused = preset("tiny", cores=_cores(("dm1", "dm"), ("fused", "compute")))
    assert fused.fused_compute and fused.compute_cores == ["fused"]
    split = preset("tiny", cores=_cores(("p", "pack"), ("u", "unpack"), ("m", "math")))
    assert not split.fused_compute and split.compute_cores == ["u", "m", "p"]   # part order, not core order


#: The presets that run compute kernels on three TRISCs (ulx3s has one fused compute core).
SPLIT_PRESETS = [name for name in preset_names() if name != "ulx3s"]


def test_ulx3s_preset_has_one_fused_compute_core():
    cfg = preset("ulx3s")
    assert cfg.fused_compute and cfg.compute_cores == ["trisc"]
    assert [(c.name, c.role) for c in cfg.cores] == [("brisc", "dm"), ("ncrisc", "dm"), ("trisc", "compute")]


@pytest.mark.parametrize("name", SPLIT_PRESETS)
def test_presets_keep_their_three_trisc_cores_and_their_json(name):
    """The presets' cores and serialised form are what they were before the fused role (a JSON
    change would rebuild every cached Verilator model): five cores, no new keys."""
    cfg = preset(name)
    assert not cfg.fused_compute
    assert cfg.compute_cores == ["trisc0", "trisc1", "trisc2"]
    assert [(c.name, c.role) for c in cfg.cores] == [("brisc", "dm"), ("ncrisc", "dm"), ("trisc0", "unpack"),
                                                     ("trisc1", "math"), ("trisc2", "pack")]
    data = json.loads(cfg.to_json())
    assert sorted(data) == ["clock_mhz", "cores", "dram", "engine", "host_link", "l1", "local_mem_base", "mmio",
                            "name", "noc", "nodes", "runelf"]
    assert all(sorted(c) == ["code_bytes", "local_mem_bytes", "name", "reset_pc", "role"] for c in data["cores"])


def test_the_fused_test_configuration_keeps_tinys_l1_layout_and_round_trips():
    cfg, tiny = fused_tiny(), preset("tiny")
    assert [(c.name, c.role) for c in cfg.cores] == [("brisc", "dm"), ("ncrisc", "dm"), (COMPUTE_CORE, "compute")]
    compute = cfg.core(COMPUTE_CORE)
    assert compute.code_bytes == sum(c.code_bytes for c in tiny.cores if c.role in COMPUTE_PARTS)
    assert cfg.l1_data_base == tiny.l1_data_base
    per_core = [r for r in cfg.mmio.region("tile_ctrl").registers if r.name in ("reset_pc", "waypoint")]
    assert [r.count for r in per_core] == [3, 3]   # the per-core registers follow the cores
    assert TesseraConfig.from_json(cfg.to_json()) == cfg
    assert cfg.fingerprint() != tiny.fingerprint()
