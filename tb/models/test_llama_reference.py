"""The llama2.c checkpoint reader and writer and the numpy reference model, without a chip.

The reference is checked against a float64 transcription of run.c's
``forward`` written here loop by loop (rmsnorm, the pairwise rotation, each
head's attention over the cache, SwiGLU), on the same bfloat16 weights.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from tessera.sw.models import checkpoint as ck
from tessera.sw.models import reference as ref

#: A model small enough to run the loop-by-loop float64 forward pass quickly, with grouped KV heads.
SMALL = ck.Config(dim=16, hidden_dim=40, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=32, seq_len=16)


def runc_forward(w: dict, cfg: ck.Config, token: int, pos: int, key_cache, value_cache) -> np.ndarray:
    """run.c's forward pass in float64, statement by statement."""
    dim, hs, kv_dim = cfg.dim, cfg.head_size, cfg.kv_dim

    def rmsnorm(x, weight):
        ss = sum(v * v for v in x) / len(x) + 1e-5
        return [weight[j] * (x[j] / math.sqrt(ss)) for j in range(len(x))]

    def matmul(matrix, x):
        return [sum(matrix[i][j] * x[j] for j in range(len(x))) for i in range(len(matrix))]

    x = list(w["token_embedding"][token])
    for layer in range(cfg.n_layers):
        xb = rmsnorm(x, w["rms_att"][layer])
        q = matmul(w["wq"][layer], xb)
        k = matmul(w["wk"][layer], xb)
        v = matmul(w["wv"][layer], xb)
        for i in range(0, dim, 2):
            freq = 1.0 / 10000.0 ** ((i % hs) / hs)
            fcr, fci = math.cos(pos * freq), math.sin(pos * freq)
            for vec in ((q, k) if i < kv_dim else (q,)):
                v0, v1 = vec[i], vec[i + 1]
                vec[i], vec[i + 1] = v0 * fcr - v1 * fci, v0 * fci + v1 * fcr
        key_cache[layer][pos] = k
        value_cache[layer][pos] = v
        out = [0.0] * dim
        for h in range(cfg.n_heads):
            kv = h // cfg.kv_mul
            scores = [sum(q[h * hs + i] * key_cache[layer][t][kv * hs + i] for i in range(hs)) / math.sqrt(hs)
                      for t in range(pos + 1)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            att = [e / sum(exps) for e in exps]
            for t in range(pos + 1):
                for i in range(hs):
                    out[h * hs + i] += att[t] * value_cache[layer][t][kv * hs + i]
        x = [a + b for a, b in zip(x, matmul(w["wo"][layer], out))]
        xb = rmsnorm(x, w["rms_ffn"][layer])
        h1, h3 = matmul(w["w1"][layer], xb), matmul(w["w3"][layer], xb)
        hidden = [a / (1.0 + math.exp(-a)) * b for a, b in zip(h1, h3)]
        x = [a + b for a, b in zip(x, matmul(w["w2"][layer], hidden))]
    x = rmsnorm(x, w["rms_final"])
    classifier = w["token_embedding"] if cfg.shared_classifier else w["wcls"]
    return np.array(matmul(classifier, x))


def runc_generate(weights: ck.Weights, prompt: list, n_tokens: int) -> tuple:
    cfg = weights.config
    w = {name: ref.bf16(a).astype(np.float64).tolist() for name, a in weights.arrays.items()}
    steps = len(prompt) + n_tokens
    key_cache = [[None] * steps for _ in range(cfg.n_layers)]
    value_cache = [[None] * steps for _ in range(cfg.n_layers)]
    token, generated, all_logits = prompt[0], [], []
    for pos in range(steps - 1):
        logits = runc_forward(w, cfg, token, pos, key_cache, value_cache)
        all_logits.append(logits)
        token = prompt[pos + 1] if pos + 1 < len(prompt) else int(np.argmax(logits))
        if pos + 1 >= len(prompt):
            generated.append(token)
    return generated, np.array(all_logits)


# ---- the checkpoint file ------------------------------------------------------------------------

@pytest.mark.parametrize("shared", [True, False])
def test_checkpoint_round_trip(tmp_path, shared):
    cfg = ck.Config(**{**SMALL.__dict__, "shared_classifier": shared})
    weights = ck.random_weights(cfg, seed=5)
    path = ck.write_checkpoint(tmp_path / "model.bin", weights)
    assert path.stat().st_size == ck.expected_size(cfg)
    header = struct.unpack_from("<7i", path.read_bytes())
    assert header == (16, 40, 2, 4, 2, 32 if shared else -32, 16)
    back = ck.read_checkpoint(path)
    assert back.config == cfg
    assert sorted(back.arrays) == sorted(weights.arrays)
    for name, array in weights.arrays.items():
        assert np.array_equal(back[name], array), name
    assert np.array_equal(back.classifier, weights["token_embedding"] if shared else weights["wcls"])


def test_checkpoint_layout_is_run_c_order(tmp_path):
    """Each array at the byte offset run.c's memory_map_weights gives it (freq_cis in between)."""
    cfg = ck.Config(**{**SMALL.__dict__, "shared_classifier": False})
    weights = ck.random_weights(cfg, seed=2)
    raw = ck.write_checkpoint(tmp_path / "m.bin", weights).read_bytes()
    floats = np.frombuffer(raw[28:], dtype="<f4")
    offset = 0
    L, d, h, v, kv = cfg.n_layers, cfg.dim, cfg.hidden_dim, cfg.vocab_size, cfg.kv_dim
    expected = [("token_embedding", v * d), ("rms_att", L * d), ("wq", L * d * d), ("wk", L * d * kv),
                ("wv", L * d * kv), ("wo", L * d * d), ("rms_ffn", L * d), ("w1", L * d * h), ("w2", L * h * d),
                ("w3", L * d * h), ("rms_final", d), ("freq_cis", 2 * cfg.seq_len * cfg.head_size // 2),
                ("wcls", v * d)]
    for name, count in expected:
        if name == "freq_cis":
            cos = floats[offset:offset + count // 2].reshape(cfg.seq_len, -1)
            assert np.allclose(cos[3, 1], math.cos(3 / 10000 ** (2 / cfg.head_size)), atol=1e-6)
        else:
            assert np.array_equal(floats[offset:offset + count], weights[name].ravel()), name
        offset += count
    assert offset == floats.size


def test_stories260k_shapes():
    cfg = ck.STORIES260K
    assert cfg.header() == (64, 172, 5, 8, 4, 512, 512)
    assert (cfg.head_size, cfg.kv_dim, cfg.kv_mul) == (8, 32, 2)
    # llama2.c's FeedForward: hidden = multiple_of * ceil(int(2 * 4 * dim / 3) / multiple_of), multiple_of 4
    assert cfg.hidden_dim == 4 * ((int(2 * 4 * cfg.dim / 3) + 3) // 4)
    # 260K parameters (the name's): embedding shared with the classifier
    assert 250_000 < cfg.parameters() < 270_000


def _write_raw(path, header, floats: int):
    path.write_bytes(struct.pack("<7i", *header) + np.zeros(floats, dtype="<f4").tobytes())
    return path


@pytest.mark.parametrize("header,message", [
    ((0, 40, 2, 4, 2, 32, 16), "dim is 0"),
    ((16, 40, -2, 4, 2, 32, 16), "n_layers is -2"),
    ((16, 40, 2, 4, 2, 0, 16), "vocab_size is 0"),
    ((18, 40, 2, 4, 2, 32, 16), "dim 18 is not a multiple of n_heads 4"),
    ((16, 40, 2, 4, 3, 32, 16), "n_heads 4 is not a multiple of n_kv_heads 3"),
    ((16, 40, 2, 16, 2, 32, 16), "head size dim / n_heads = 1 is odd"),
])
def test_malformed_header_is_refused(tmp_path, header, message):
    path = _write_raw(tmp_path / "bad.bin", header, 100)
    with pytest.raises(ck.CheckpointError, match=message):
        ck.read_checkpoint(path)


def test_truncated_file_is_refused_naming_the_array(tmp_path):
    path = ck.write_checkpoint(tmp_path / "m.bin", ck.random_weights(SMALL, seed=1))
    raw = path.read_bytes()
    size = ck.expected_size(SMALL)
    path.write_bytes(raw[:size - 4])
    with pytest.raises(ck.CheckpointError, match=rf"truncated: {size - 4} bytes, .* needs {size}; freq_cis_imag"):
        ck.read_checkpoint(path)
    path.write_bytes(raw[:28 + 4 * 32 * 16 + 8])           # token embedding whole, rms_att cut
    with pytest.raises(ck.CheckpointError, match="rms_att"):
        ck.read_checkpoint(path)
    path.write_bytes(raw[:20])
    with pytest.raises(ck.CheckpointError, match="20 bytes, shorter than the 28-byte header"):
        ck.read_checkpoint(path)


def test_trailing_bytes_are_refused(tmp_path):
    path = ck.write_checkpoint(tmp_path / "m.bin", ck.random_weights(SMALL, seed=1))
    path.write_bytes(path.read_bytes() + b"\0" * 8)
    with pytest.raises(ck.CheckpointError, match="8 bytes past the end"):
        ck.read_checkpoint(path)


def test_new_export_format_is_refused(tmp_path):
    path = tmp_path / "v1.bin"
    path.write_bytes(struct.pack("<ii", ck.NEW_FORMAT_MAGIC, 1) + b"\0" * 256)
    with pytest.raises(ck.CheckpointError, match="format version 1 .* legacy version-0"):
        ck.read_checkpoint(path)


def test_non_finite_weights_and_missing_file_are_refused(tmp_path):
    weights = ck.random_weights(SMALL, seed=1)
    weights.arrays["w2"][1, 3, 4] = np.nan
    path = ck.write_checkpoint(tmp_path / "nan.bin", weights)
    with pytest.raises(ck.CheckpointError, match="w2 holds 1 non-finite"):
        ck.read_checkpoint(path)
    with pytest.raises(ck.CheckpointError, match="cannot read"):
        ck.read_checkpoint(tmp_path / "absent.bin")


def test_weights_of_the_wrong_shape_are_refused():
    arrays = dict(ck.random_weights(SMALL, seed=1).arrays)
    arrays["wk"] = arrays["wk"][:, :4]
    with pytest.raises(ck.CheckpointError, match=r"wk has shape \(2, 4, 16\), the config needs \(2, 8, 16\)"):
        ck.Weights(SMALL, arrays)
    arrays = dict(ck.random_weights(SMALL, seed=1).arrays, wcls=np.zeros((32, 16)))
    with pytest.raises(ck.CheckpointError, match="unexpected \\['wcls'\\]"):
        ck.Weights(SMALL, arrays)


# ---- the reference model ------------------------------------------------------------------------

@pytest.mark.parametrize("shared,seed", [(True, 11), (False, 12)])
def test_reference_matches_run_c_in_float64(shared, seed):
    cfg = ck.Config(**{**SMALL.__dict__, "shared_classifier": shared})
    weights = ck.random_weights(cfg, seed=seed)
    prompt, n_tokens = [1, 7, 3], 4
    got = ref.greedy_generate(weights, prompt, n_tokens)
    want_tokens, want_logits = runc_generate(weights, prompt, n_tokens)
    assert got["logits"].shape == (len(prompt) + n_tokens - 1, cfg.vocab_size)
    err = np.abs(got["logits"] - want_logits).max()
    assert err < 2e-4 * np.abs(want_logits).max(), f"seed {seed}: max |error| {err}"
    assert got["tokens"] == want_tokens, f"seed {seed}"


def test_reference_stories260k_step_matches_run_c():
    """Two positions of the full stories260K shapes (8 heads sharing 4 KV heads)."""
    weights = ck.random_weights(ck.STORIES260K, seed=3)
    got = ref.greedy_generate(weights, [1], 2)
    want_tokens, want_logits = runc_generate(weights, [1], 2)
    assert np.abs(got["logits"] - want_logits).max() < 2e-4 * np.abs(want_logits).max()
    assert got["tokens"] == want_tokens


def test_greedy_generation_is_deterministic_and_follows_the_prompt():
    weights = ck.random_weights(SMALL, seed=21)
    a = ref.greedy_generate(weights, [1, 5], 6)
    b = ref.greedy_generate(ck.random_weights(SMALL, seed=21), [1, 5], 6)
    assert a["tokens"] == b["tokens"] and np.array_equal(a["logits"], b["logits"])
    assert len(a["tokens"]) == 6
    assert a["tokens"][0] == int(np.argmax(a["logits"][1]))      # the first pass after the prompt decides
    other = ref.greedy_generate(ck.random_weights(SMALL, seed=22), [1, 5], 6)
    assert not np.array_equal(other["logits"], a["logits"])


def test_random_weights_give_well_separated_logits():
    weights = ck.random_weights(ck.STORIES260K, seed=0)
    logits = ref.greedy_generate(weights, [1], 3)["logits"]
    assert logits.std(axis=1).min() > 2.0, logits.std(axis=1)


def test_bad_runs_are_refused():
    weights = ck.random_weights(SMALL, seed=1)
    with pytest.raises(ValueError, match="at least one token"):
        ref.greedy_generate(weights, [], 2)
    with pytest.raises(ValueError, match="token 32 is outside the vocabulary 0..31"):
        ref.greedy_generate(weights, [1, 32], 2)
    with pytest.raises(ValueError, match="exceeds seq_len 16"):
        ref.greedy_generate(weights, [1, 2], 15)


def test_bf16_rounds_to_nearest_even():
    assert ref.bf16(np.float32(1 + 2 ** -8))[()] == 1.0                    # tie: to even
    assert ref.bf16(np.float32(1 + 3 * 2 ** -8))[()] == 1 + 2 ** -6        # tie: to even (up)
    assert ref.bf16(np.float32(1 + 2 ** -8 + 2 ** -12))[()] == 1 + 2 ** -7


# ---- pieces of the chip model that need no chip -------------------------------------------------

def test_rotation_tiles_apply_llama2c_rotation():
    from tessera.sw.models.model import rotation_tiles
    cfg = ck.STORIES260K
    rng = np.random.default_rng(4)
    vec = rng.standard_normal(cfg.dim).astype(np.float32)
    model = ref.ReferenceModel(ck.random_weights(ck.Config(**{**cfg.__dict__, "n_layers": 1}), seed=0),
                               max_tokens=8)
    for pos in (0, 1, 7):
        tiles = rotation_tiles(cfg, pos, cfg.dim)
        got = np.concatenate([vec[32 * t:32 * t + 32] @ tiles[t] for t in range(tiles.shape[0])])
        assert np.allclose(got, model.rotate(vec, pos), atol=1e-6), pos


# ---- the command line (refusals: no chip is started) ----------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["--tokens", "2", "--prompt", "1,512"], "token 512 is outside the vocabulary 0..511"),
    (["--tokens", "2", "--prompt", "1,x"], "expected token ids separated by commas"),
    (["--tokens", "600"], "exceeds seq_len 512"),
    (["--tokens", "0"], "runs no forward pass"),
    (["--tokens", "1", "--checkpoint", "absent.bin"], "--checkpoint: checkpoint absent.bin: cannot read it"),
    (["--tokens", "1", "--checkpoint", "absent.bin", "--layers", "1"], "--layers shortens the random"),
    (["--tokens", "1", "--grid", "3x1"], "--grid '3x1': the 2x2 Tensix grid of preset 'tiny' allows 1..2 by 1..2"),
    (["--tokens", "1", "--grid", "1x0"], "--grid '1x0': the 2x2 Tensix grid"),
    (["--tokens", "1", "--grid", "2"], "--grid '2': expected XxY"),
    (["--tokens", "1", "--grid", "2x-1"], "--grid '2x-1': expected XxY"),
])
def test_llama_command_refuses_bad_input(capsys, argv, message):
    from tessera.sim.cli import main
    assert main(["llama", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_llama_grid_option_names_a_corner_of_the_tensix_grid():
    from tessera.sw.models.cli import parse_grid
    assert parse_grid(None, "tiny") == (2, 2)
    assert parse_grid("1x1", "tiny") == (1, 1)
    assert parse_grid("2X1", "tiny") == (2, 1)
    assert parse_grid("1x2", "tiny") == (1, 2)


def test_llama_command_refuses_bad_options(capsys):
    from tessera.sim.cli import main
    with pytest.raises(SystemExit) as exit_info:
        main(["llama", "--tokens", "-1"])
    assert exit_info.value.code == 2
    assert "--tokens: must be at least 0, got -1" in capsys.readouterr().err


def test_llama_command_refuses_a_malformed_checkpoint(tmp_path, capsys):
    from tessera.sim.cli import main
    path = _write_raw(tmp_path / "bad.bin", (64, 172, 5, 8, 3, 512, 512), 10)
    assert main(["llama", "--tokens", "1", "--checkpoint", str(path)]) == 2
    assert "n_heads 8 is not a multiple of n_kv_heads 3" in capsys.readouterr().err


def test_dram_plan_of_stories260k():
    """The budget of the tiny chip's 1 MiB DRAM: bfloat16 tiles of 2,048 bytes, bfloat8_b of 1,088."""
    from tessera import ttnn
    from tessera.sw.models.model import dram_plan
    plan = dram_plan(ck.STORIES260K, 32)
    per_layer = 2048 * (4 + 8 + 8 + 2 * 2 + 3 * 12)          # wq, wk|wv, [0; wo], norm copies, w1 w3 w2
    shared = 2048 * (32 + 32 + 2 + 2 + 4 + 1)                  # embedding, classifier, final norm, masks, head sum
    assert plan == {"weights": 5 * per_layer + shared, "cache": 5 * 2048 * 4}
    assert dram_plan(ck.STORIES260K, 33)["cache"] == 2 * plan["cache"]
    small = dram_plan(ck.STORIES260K, 32, ttnn.bfloat8_b)
    assert plan["weights"] - small["weights"] == 5 * 36 * (2048 - 1088)
