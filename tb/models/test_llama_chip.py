"""The llama2.c model on the Verilator chip: greedy tokens equal to the numpy reference's and logits
with a Pearson correlation of at least 0.99 at every forward pass.

The model has stories260K's shapes (dim 64, hidden 172, 8 heads sharing 4 KV heads, vocabulary
512) with one layer instead of five, and runs a two-token prompt and one generated token (two
forward passes, the second reading the cache of the first): a forward pass of the five-layer model
takes about 2.6 million chip cycles (four minutes of simulation; ``tessera llama`` runs it), of one
layer about 0.6 million (a minute).
"""

from __future__ import annotations

import numpy as np
import pytest

from tessera import ttnn
from tessera.sim.examples import engine_peak, pcc
from tessera.sw.models import checkpoint as ck
from tessera.sw.models import model as cm
from tessera.sw.models import reference as ref

pytestmark = pytest.mark.xdist_group("llama_chip")

SEED = 0
PROMPT = [1, 200]
TOKENS = 1
ONE_LAYER = ck.Config(**{**ck.STORIES260K.__dict__, "n_layers": 1})


@pytest.fixture(scope="module")
def device():
    dev = ttnn.open_device(0, poll_cycles=200)
    yield dev
    ttnn.close_device(dev)


def test_greedy_tokens_and_logits_match_the_reference(device):
    weights = ck.random_weights(ONE_LAYER, seed=SEED)
    want = ref.greedy_generate(weights, PROMPT, TOKENS)
    # the test means something only if the greedy choices are not near ties
    top2 = np.sort(want["logits"][len(PROMPT) - 1:], axis=1)[:, -2:]
    assert (top2[:, 1] - top2[:, 0]).min() > 1.0, f"seed {SEED}: near tie {top2}"

    model = cm.ChipLlama(weights, device, max_tokens=len(PROMPT) + TOKENS - 1)
    got = cm.chip_generate(model, PROMPT, TOKENS)
    assert got["tokens"] == want["tokens"], f"seed {SEED}: chip {got['tokens']}, reference {want['tokens']}"
    assert got["logits"].shape == want["logits"].shape
    for pos, (a, b) in enumerate(zip(got["logits"], want["logits"])):
        assert pcc(a, b) >= 0.99, f"seed {SEED}, position {pos}: logits PCC {pcc(a, b)}"

    steps = got["steps"]
    assert [s["phase"] for s in steps] == ["prompt", "generate"]
    assert all(s["cycles"] > 0 and s["macs"] > 0 and s["programs"] > 0 for s in steps)
    stats = cm.summary(steps, got["op_log"], engine_peak(device.cfg))
    assert 0 < stats["generate"]["engine_mac_utilisation"] < 1
    assert {"matmul", "linear", "rms_norm", "softmax", "silu", "transpose", "embedding"} <= \
        {o["op"] for o in stats["ops"]}
    budget = cm.dram_budget(model)
    assert 0 < budget["cache"] < budget["weights"] < budget["peak"] <= budget["size"]


def test_runs_the_model_does_not_fit_are_refused(device):
    weights = ck.random_weights(ONE_LAYER, seed=SEED)
    with pytest.raises(cm.ModelError, match="max_tokens 600 must be in 1..seq_len 512"):
        cm.ChipLlama(weights, device, max_tokens=600)
    with pytest.raises(cm.ModelError, match=r"needs 1,484,800 bytes of DRAM .* KV cache of 512 tokens 655,360, "
                                            r".* fewer tokens, or ffn_dtype=ttnn.bfloat8_b"):
        cm.ChipLlama(ck.random_weights(ck.STORIES260K, seed=SEED), device, max_tokens=512)
    odd = ck.Config(dim=48, hidden_dim=64, n_layers=1, n_heads=6, n_kv_heads=2, vocab_size=64, seq_len=32)
    with pytest.raises(cm.ModelError, match="dim 48 is not a multiple of 32"):
        cm.ChipLlama(ck.random_weights(odd, seed=1), device, max_tokens=4)
