"""A numpy reference of the llama2.c forward pass: float32 arithmetic, weights rounded to bfloat16.

The same computation as llama2.c's ``run.c`` ``forward``, one token at a
time with a key/value cache: RMSNorm (epsilon 1e-5), rotary embeddings
rotating the pairs (2i, 2i + 1) of each head by position x 10000 **
(-2i / head_size), multi-head attention whose query heads share key/value
heads in groups of n_heads / n_kv_heads, a SwiGLU feed-forward
(w2 (silu(w1 x) * w3 x)) and the classifier.  The weights are rounded to
bfloat16 once (what the chip stores); activations stay float32.
"""

from __future__ import annotations

import numpy as np

from .checkpoint import Config, Weights, rope_frequencies

__all__ = ["RMS_EPSILON", "bf16", "rope_tables", "ReferenceModel", "greedy_generate", "next_token"]

#: llama2.c's rmsnorm epsilon.
RMS_EPSILON = 1e-5


def bf16(x) -> np.ndarray:
    """``x`` rounded to bfloat16 (nearest even), as float32."""
    import ml_dtypes
    return np.asarray(x, dtype=np.float32).astype(ml_dtypes.bfloat16).astype(np.float32)


def rope_tables(cfg: Config, positions) -> tuple:
    """cos and sin, float32 (len(positions), head_size / 2): the angle of each pair of a head at each position."""
    angles = np.outer(np.asarray(positions, dtype=np.float64), rope_frequencies(cfg))
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def next_token(prompt: list, pos: int, logits: np.ndarray) -> int:
    """run.c's choice after the forward pass at ``pos``: the prompt's next token while there is one, else argmax."""
    if pos + 1 < len(prompt):
        return int(prompt[pos + 1])
    return int(np.argmax(logits))


def check_run(cfg: Config, prompt, n_tokens: int) -> list:
    """The prompt as a list of token ids, refused if empty, out of the vocabulary or longer than seq_len."""
    prompt = [int(t) for t in prompt]
    if not prompt:
        raise ValueError("prompt: at least one token is needed (llama2.c starts with BOS, token 1)")
    bad = [t for t in prompt if not 0 <= t < cfg.vocab_size]
    if bad:
        raise ValueError(f"prompt: token {bad[0]} is outside the vocabulary 0..{cfg.vocab_size - 1}")
    if n_tokens < 0:
        raise ValueError(f"tokens: must be at least 0, got {n_tokens}")
    if len(prompt) + n_tokens > cfg.seq_len:
        raise ValueError(f"prompt of {len(prompt)} tokens + {n_tokens} generated exceeds seq_len {cfg.seq_len}")
    return prompt


class ReferenceModel:
    """The forward pass of ``weights`` with a key/value cache of ``max_tokens`` positions."""

    def __init__(self, weights: Weights, max_tokens: int | None = None):
        self.cfg = cfg = weights.config
        self.max_tokens = max_tokens or cfg.seq_len
        w = {name: bf16(weights[name]) for name in weights.arrays}
        self.embedding = w["token_embedding"]
        self.classifier = w["token_embedding"] if cfg.shared_classifier else w["wcls"]
        self.layers = [{name: w[name][layer] for name in ("rms_att", "wq", "wk", "wv", "wo", "rms_ffn",
                                                           "w1", "w2", "w3")} for layer in range(cfg.n_layers)]
        self.rms_final = w["rms_final"]
        shape = (cfg.n_layers, self.max_tokens, cfg.kv_dim)
        self.key_cache = np.zeros(shape, dtype=np.float32)
        self.value_cache = np.zeros(shape, dtype=np.float32)

    @staticmethod
    def rmsnorm(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        scale = np.float32(1.0) / np.sqrt(np.mean(x * x, dtype=np.float32) + np.float32(RMS_EPSILON))
        return (weight * (x * scale)).astype(np.float32)

    def rotate(self, vec: np.ndarray, pos: int) -> np.ndarray:
        """Rotary embedding of ``vec`` (heads of head_size values, concatenated) at ``pos``."""
        cos, sin = rope_tables(self.cfg, [pos])
        pairs = vec.reshape(-1, self.cfg.head_size // 2, 2)
        even, odd = pairs[..., 0], pairs[..., 1]
        out = np.stack([even * cos[0] - odd * sin[0], even * sin[0] + odd * cos[0]], axis=-1)
        return out.reshape(vec.shape).astype(np.float32)

    def forward(self, token: int, pos: int) -> np.ndarray:
        """Logits (vocab_size float32) of the token at position ``pos``; fills the cache at ``pos``."""
        cfg = self.cfg
        if not 0 <= pos < self.max_tokens:
            raise ValueError(f"position {pos} outside the cache of {self.max_tokens} tokens")
        hs = cfg.head_size
        x = self.embedding[token].copy()
        for layer, w in enumerate(self.layers):
            h = self.rmsnorm(x, w["rms_att"])
            q = self.rotate(w["wq"] @ h, pos)
            self.key_cache[layer, pos] = self.rotate(w["wk"] @ h, pos)
            self.value_cache[layer, pos] = w["wv"] @ h
            keys = self.key_cache[layer, :pos + 1].reshape(pos + 1, cfg.n_kv_heads, hs)
            values = self.value_cache[layer, :pos + 1].reshape(pos + 1, cfg.n_kv_heads, hs)
            heads = q.reshape(cfg.n_heads, hs)
            group = np.arange(cfg.n_heads) // cfg.kv_mul          # the key/value head of each query head
            scores = np.einsum("hd,thd->ht", heads, keys[:, group]) / np.float32(np.sqrt(hs))
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs = (scores / scores.sum(axis=1, keepdims=True)).astype(np.float32)
            att = np.einsum("ht,thd->hd", probs, values[:, group]).reshape(cfg.dim)
            x = x + w["wo"] @ att
            h = self.rmsnorm(x, w["rms_ffn"])
            gate = w["w1"] @ h
            hidden = gate / (np.float32(1.0) + np.exp(-gate)) * (w["w3"] @ h)
            x = (x + w["w2"] @ hidden).astype(np.float32)
        return (self.classifier @ self.rmsnorm(x, self.rms_final)).astype(np.float32)


def greedy_generate(weights: Weights, prompt, n_tokens: int) -> dict:
    """Feed ``prompt`` and generate ``n_tokens`` greedily, as run.c with temperature 0.

    Returns ``tokens`` (the generated ids), ``logits`` (one vocab_size row
    per forward pass: len(prompt) + n_tokens - 1 passes; the last generated
    token is not fed back) and ``positions``.
    """
    prompt = check_run(weights.config, prompt, n_tokens)
    model = ReferenceModel(weights, max_tokens=len(prompt) + n_tokens)
    token, generated, logits = prompt[0], [], []
    for pos in range(len(prompt) + n_tokens - 1):
        out = model.forward(token, pos)
        logits.append(out)
        token = next_token(prompt, pos, out)
        if pos + 1 >= len(prompt):
            generated.append(token)
    return {"tokens": generated, "logits": np.array(logits, dtype=np.float32).reshape(-1, weights.config.vocab_size),
            "positions": list(range(len(logits)))}
