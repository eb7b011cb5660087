"""The llama2.c transformer on the simulated chip, built from ttnn ops.

One token per forward pass, as llama2.c's ``run.c``, with the key/value
cache in DRAM tensors.  The activations are 32 x dim tiles whose 32 rows
all hold the same vector: a tile row costs the engine the same whatever its
rows hold, and identical rows let the attention keep one query head per row.

Per layer (shapes in brackets; the cache is ``T`` = the run's tokens wide)::

    h   = rms_norm(x, rms_att)                         x: [32, dim], every row the residual
    Q   = h @ Wq                                       [32, dim]
    KV  = h @ [WkE | WvE]                              [32, 2 dim]: keys and values expanded to the
                                                       query heads (head i reads kv head i // kv_mul)
    Qr  = Q @ R_pos,  KVr = KV @ [R_pos .. | I ..]     rotary embedding: one batched matmul over the
                                                       32-column tiles (a 32x32 block of 2x2 rotations)
    qm  = Qr * M / sqrt(head_size)                     row h keeps head h's columns (rows >= n_heads: 0)
    cache += transpose(KVr) @ E_pos                    [2 dim, T]: rows 0..dim-1 keys, dim.. values,
                                                       column pos written (E_pos: a 1 at [0, pos])
    S   = qm @ cache[:dim] + causal_pos                [32, T]: row h = head h's scores; linear's bias
                                                       row puts -30000 after pos
    P   = softmax(S)
    O   = P @ transpose(cache)                         [32, 2 dim]: row h, columns of head h = its output
    x   = J @ ((O * [0 | M]) @ [0 ; Wo]) + x           J sums rows 0..n_heads-1 into every row (the
                                                       heads concatenated), the residual as linear's bias
    h   = rms_norm(x, rms_ffn)
    x   = (silu(h @ W1) * (h @ W3)) @ W2 + x           the residual again as the bias of the last linear

then ``logits = rms_norm(x, rms_final) @ classifier^T``, row 0 read back.
``[0 | M]`` and ``[0 ; Wo]`` pick the value half of O; ``cache[:dim]`` is
a view of the cache's first tile rows (TILE tensors keep their pages in
(batch, tile row, tile col) order, so a view that keeps a prefix of the
pages, or regroups one tile row into a batch of 32-column tiles, moves no
data).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import numpy as np

from .checkpoint import Config, Weights
from .reference import RMS_EPSILON, bf16, check_run, next_token, rope_tables

__all__ = ["ChipLlama", "ModelError", "chip_generate", "dram_plan", "dram_budget", "summary", "rotation_tiles",
           "TILE", "CAUSAL_MASK"]

TILE = 32
#: Added to the scores of positions after the current one (exp of it is 0 in float32).
CAUSAL_MASK = -30000.0


class ModelError(ValueError):
    """The model or run does not fit the chip (shapes, DRAM); the message names the value."""


def _ttnn():
    from tessera import ttnn
    return ttnn


def _view(tensor, shape):
    """A tensor of ``shape`` on ``tensor``'s buffer: the caller guarantees the pages line up (a prefix of
    the pages, or one tile row regrouped as a batch of tiles)."""
    ttnn = _ttnn()
    try:
        return ttnn.view(tensor, shape)   # keeps ``tensor`` alive while the view is
    except ttnn.TtnnError as err:
        raise ModelError(str(err)) from err


def _free(*tensors):
    ttnn = _ttnn()
    for t in tensors:
        if t is not None and t.buffer is not None:
            ttnn.deallocate(t)


def rotation_tiles(cfg: Config, pos: int, width: int) -> np.ndarray:
    """(width / 32, 32, 32): per 32-column tile the matrix R with ``v @ R`` = llama2.c's rotation of the
    pairs (2i, 2i + 1) of v at ``pos``; column c of the vector belongs to head position c % head_size."""
    cos, sin = rope_tables(cfg, [pos])
    tiles = np.zeros((width // TILE, TILE, TILE), dtype=np.float32)
    for t in range(width // TILE):
        for i in range(0, TILE, 2):
            pair = ((t * TILE + i) % cfg.head_size) // 2
            c, s = cos[0, pair], sin[0, pair]
            tiles[t, i, i], tiles[t, i + 1, i] = c, -s
            tiles[t, i, i + 1], tiles[t, i + 1, i + 1] = s, c
    return tiles


class ChipLlama:
    """``weights`` prepared on ``device`` for runs of up to ``max_tokens`` tokens (the cache's width).

    ``math_fidelity``: the matmuls' (default HiFi2: products of the full
    bfloat16 A with 7 bits of B).  ``ffn_dtype``: the three feed-forward
    weights' (bfloat16, or bfloat8_b to halve their DRAM).
    """

    def __init__(self, weights: Weights, device, max_tokens: int, math_fidelity="hifi2", ffn_dtype=None):
        ttnn = _ttnn()
        self.cfg = cfg = weights.config
        self.device = device
        self.fidelity = math_fidelity
        self.ffn_dtype = ffn_dtype or ttnn.bfloat16
        if cfg.dim % TILE:
            raise ModelError(f"dim {cfg.dim} is not a multiple of {TILE}: the rotary and head views regroup "
                             f"whole 32-column tiles")
        if cfg.n_heads > TILE:
            raise ModelError(f"n_heads {cfg.n_heads} exceeds {TILE}: each head is one row of a tile")
        if not 1 <= max_tokens <= cfg.seq_len:
            raise ModelError(f"max_tokens {max_tokens} must be in 1..seq_len {cfg.seq_len}")
        self.max_tokens = max_tokens
        dram = device.allocator(_dram_type())
        plan = dram_plan(cfg, max_tokens, self.ffn_dtype)
        need = plan["weights"] + plan["cache"] + ACTIVATION_RESERVE
        if need > dram.free_bytes:
            raise ModelError(f"the model needs {need:,} bytes of DRAM (weights and constants {plan['weights']:,}, "
                             f"KV cache of {max_tokens} tokens {plan['cache']:,}, {ACTIVATION_RESERVE:,} for a pass's "
                             f"activations); {dram.free_bytes:,} of the device's {dram.size:,} are free: fewer "
                             f"tokens, or ffn_dtype=ttnn.bfloat8_b")
        self._prepare(weights)
        self._new_cache()
        self.weight_bytes, self.cache_bytes = plan["weights"], plan["cache"]
        # rms_norm makes a [32, dim] bfloat16 device copy of each weight on its first use (in the plan)
        norm_copies = (2 * cfg.n_layers + 1) * (cfg.dim // TILE) * _tile_bytes(ttnn.bfloat16)
        self.peak_bytes = _used(dram) + norm_copies
        self.dram_size = dram.size

    # -- preparation (once) -----------------------------------------------------------------------

    def _tile(self, array, dtype=None):
        ttnn = _ttnn()
        return ttnn.from_numpy(np.asarray(array, dtype=np.float32), dtype=dtype or ttnn.bfloat16,
                               layout=ttnn.TILE_LAYOUT, device=self.device)

    def _prepare(self, weights: Weights) -> None:
        ttnn, cfg = _ttnn(), self.cfg
        d, hs = cfg.dim, cfg.head_size
        w = {name: bf16(a) for name, a in weights.arrays.items()}
        # query column j = h * hs + i reads kv column (h // kv_mul) * hs + i
        expand = np.array([(j // hs // cfg.kv_mul) * hs + j % hs for j in range(d)])
        self.layers = []
        for layer in range(cfg.n_layers):
            wk_e = w["wk"][layer].T[:, expand]
            wv_e = w["wv"][layer].T[:, expand]
            wo_ext = np.concatenate([np.zeros((d, d), np.float32), w["wo"][layer].T])
            self.layers.append({
                "rms_att": ttnn.from_numpy(w["rms_att"][layer], layout=ttnn.TILE_LAYOUT),
                "rms_ffn": ttnn.from_numpy(w["rms_ffn"][layer], layout=ttnn.TILE_LAYOUT),
                "wq": self._tile(w["wq"][layer].T),
                "wkv": self._tile(np.concatenate([wk_e, wv_e], axis=1)),
                "wo": self._tile(wo_ext),
                "w1": self._tile(w["w1"][layer].T, self.ffn_dtype),
                "w3": self._tile(w["w3"][layer].T, self.ffn_dtype),
                "w2": self._tile(w["w2"][layer].T, self.ffn_dtype),
            })
        # the norms' weights stay host tensors: rms_norm keeps a [32, dim] device copy of each from its first use
        self.rms_final = ttnn.from_numpy(w["rms_final"], layout=ttnn.TILE_LAYOUT)
        self.embedding = self._tile(w["token_embedding"])
        classifier = w["token_embedding"] if cfg.shared_classifier else w["wcls"]
        self.classifier = self._tile(classifier.T)
        head_of_row = np.arange(TILE)[:, None]
        head_of_col = np.arange(d)[None, :] // hs
        heads = ((head_of_row == head_of_col) & (head_of_row < cfg.n_heads)).astype(np.float32)
        self.query_mask = self._tile(heads / np.sqrt(hs))
        self.value_mask = self._tile(np.concatenate([np.zeros_like(heads), heads], axis=1))
        gather = np.zeros((TILE, TILE), np.float32)
        gather[:, :cfg.n_heads] = 1.0
        self.head_sum = self._tile(gather)

    def _new_cache(self) -> None:
        for layer in self.layers:
            _free(layer.get("cache"))
            layer["cache"] = self._tile(np.zeros((2 * self.cfg.dim, self.max_tokens)))

    def reset(self) -> None:
        """Empty the key/value cache (a new run)."""
        self._new_cache()

    # -- one forward pass -------------------------------------------------------------------------

    def _step_inputs(self, token: int, pos: int) -> dict:
        ttnn, cfg, T = _ttnn(), self.cfg, self.max_tokens
        ids = ttnn.from_numpy(np.full((1, TILE), token, dtype=np.uint32), dtype=ttnn.uint32,
                              layout=ttnn.ROW_MAJOR_LAYOUT, device=self.device)
        d_tiles = cfg.dim // TILE
        rotations = rotation_tiles(cfg, pos, cfg.dim)
        identity = np.broadcast_to(np.eye(TILE, dtype=np.float32), (d_tiles, TILE, TILE))
        select = np.zeros((TILE, T), np.float32)
        select[0, pos] = 1.0
        causal = np.where(np.arange(T) <= pos, 0.0, CAUSAL_MASK).astype(np.float32).reshape(1, T)
        return {"ids": ids, "rot": self._tile(np.concatenate([rotations, identity])),
                "select": self._tile(select), "causal": self._tile(causal)}

    def _matmul(self, a, b, bias=None):
        ttnn = _ttnn()
        if bias is not None:
            return ttnn.linear(a, b, bias=bias, math_fidelity=self.fidelity)
        return ttnn.matmul(a, b, math_fidelity=self.fidelity)

    def _attention(self, layer: dict, x, step: dict):
        ttnn, cfg = _ttnn(), self.cfg
        d, d_tiles, T = cfg.dim, cfg.dim // TILE, self.max_tokens
        h = ttnn.rms_norm(x, weight=layer["rms_att"], epsilon=RMS_EPSILON)
        q = self._matmul(h, layer["wq"])
        kv = self._matmul(h, layer["wkv"])
        _free(h)
        q_rot = self._matmul(_view(q, (d_tiles, TILE, TILE)), _view(step["rot"], (d_tiles, TILE, TILE)))
        kv_rot = self._matmul(_view(kv, (2 * d_tiles, TILE, TILE)), step["rot"])
        _free(q, kv)
        qm = ttnn.multiply(_view(q_rot, (TILE, d)), self.query_mask)
        kv_t = ttnn.transpose(_view(kv_rot, (TILE, 2 * d)), -2, -1)
        _free(q_rot, kv_rot)
        update = self._matmul(kv_t, step["select"])
        cache = ttnn.add(layer["cache"], update)
        _free(kv_t, update, layer["cache"])
        layer["cache"] = cache
        scores = self._matmul(qm, _view(cache, (d, T)), bias=step["causal"])
        probs = ttnn.softmax(scores, dim=-1)
        _free(qm, scores)
        rows = ttnn.transpose(cache, -2, -1)
        heads = self._matmul(probs, rows)
        self._sample_dram()
        _free(probs, rows)
        picked = ttnn.multiply(heads, self.value_mask)
        _free(heads)
        out = self._matmul(picked, layer["wo"])
        _free(picked)
        x_new = self._matmul(self.head_sum, out, bias=_view(x, (1, d)))
        _free(out)
        return x_new

    def _feed_forward(self, layer: dict, x):
        ttnn, d = _ttnn(), self.cfg.dim
        h = ttnn.rms_norm(x, weight=layer["rms_ffn"], epsilon=RMS_EPSILON)
        gate = self._matmul(h, layer["w1"])
        up = self._matmul(h, layer["w3"])
        _free(h)
        act = ttnn.silu(gate)
        _free(gate)
        hidden = ttnn.multiply(act, up)
        _free(act, up)
        x_new = self._matmul(hidden, layer["w2"], bias=_view(x, (1, d)))
        _free(hidden)
        return x_new

    def forward(self, token: int, pos: int) -> np.ndarray:
        """Logits (vocab_size float32) of ``token`` at ``pos``; writes the cache at ``pos``."""
        ttnn, cfg = _ttnn(), self.cfg
        if not 0 <= pos < self.max_tokens:
            raise ModelError(f"position {pos} outside the cache of {self.max_tokens} tokens")
        if not 0 <= token < cfg.vocab_size:
            raise ModelError(f"token {token} outside the vocabulary 0..{cfg.vocab_size - 1}")
        step = self._step_inputs(token, pos)
        rows = ttnn.embedding(step["ids"], self.embedding)
        x = _view(rows, (TILE, cfg.dim))
        for layer in self.layers:
            x_attn = self._attention(layer, x, step)
            _free(x)
            self._sample_dram()
            x = self._feed_forward(layer, x_attn)
            _free(x_attn)
        h = ttnn.rms_norm(x, weight=self.rms_final, epsilon=RMS_EPSILON)
        _free(x)
        logits = self._matmul(h, self.classifier)
        self._sample_dram()
        _free(h, *step.values())
        values = ttnn.to_numpy(logits)[0].astype(np.float32)
        _free(logits)
        return values

    def _sample_dram(self) -> None:
        self.peak_bytes = max(self.peak_bytes, _used(self.device.allocator(_dram_type())))


#: DRAM kept free for one forward pass's intermediate tensors (the stories260K model peaks at about 48 KiB).
ACTIVATION_RESERVE = 64 * 1024


def dram_plan(cfg: Config, max_tokens: int, ffn_dtype=None) -> dict:
    """Bytes of DRAM the prepared model holds: ``weights`` (with the masks and the norms' weight copies)
    and ``cache`` (keys and values of every layer for ``max_tokens`` tokens)."""
    ttnn = _ttnn()
    bf16_tile = _tile_bytes(ttnn.bfloat16)
    ffn_tile = _tile_bytes(ffn_dtype or ttnn.bfloat16)

    def tiles(rows, cols):
        return -(-rows // TILE) * -(-cols // TILE)

    d, hid, v = cfg.dim, cfg.hidden_dim, cfg.vocab_size
    layer = bf16_tile * (tiles(d, d) + tiles(d, 2 * d) + tiles(2 * d, d) + 2 * tiles(TILE, d)) \
        + ffn_tile * (2 * tiles(d, hid) + tiles(hid, d))
    shared = bf16_tile * (tiles(v, d) + tiles(d, v) + tiles(TILE, d) + tiles(TILE, d) + tiles(TILE, 2 * d)
                          + tiles(TILE, TILE))
    return {"weights": cfg.n_layers * layer + shared,
            "cache": cfg.n_layers * bf16_tile * tiles(2 * d, max_tokens)}


def _tile_bytes(dtype) -> int:
    from tessera.sw.host.tiles import tile_bytes
    return tile_bytes(dtype.data_format)


def _dram_type():
    from tessera.sw.host.buffer import BufferType
    return BufferType.DRAM


def _used(allocator) -> int:
    return sum(allocator.used.values())


@contextmanager
def _trace_dir(path):
    """Every program run inside gets a timeline in ``path`` (the runtime's $TESSERA_TRACE_DIR)."""
    if path is None:
        yield
        return
    os.makedirs(path, exist_ok=True)
    old = os.environ.get("TESSERA_TRACE_DIR")
    os.environ["TESSERA_TRACE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TESSERA_TRACE_DIR", None)
        else:
            os.environ["TESSERA_TRACE_DIR"] = old


def model_macs(cfg: Config, pos: int) -> int:
    """Multiply-accumulates of one forward pass at ``pos`` as run.c does them (no padding, one row)."""
    d, kv, hid = cfg.dim, cfg.kv_dim, cfg.hidden_dim
    per_layer = d * d + 2 * d * kv + d * d + 3 * d * hid + 2 * cfg.n_heads * cfg.head_size * (pos + 1)
    return cfg.n_layers * per_layer + d * cfg.vocab_size


def chip_generate(model: ChipLlama, prompt, n_tokens: int, trace=None, progress=None) -> dict:
    """Greedy generation on the chip as :func:`tessera.sw.models.reference.greedy_generate`, plus per pass
    ``steps``: position, token fed, phase (prompt / generate), cycles, engine MACs, DRAM bytes,
    program runs, wall seconds.  ``trace``: a folder that gets the timeline of every program of the last
    pass, and ``ops.json`` there lists those programs' ops in order."""
    ttnn = _ttnn()
    cfg = model.cfg
    prompt = check_run(cfg, prompt, n_tokens)
    passes = len(prompt) + n_tokens - 1
    if passes > model.max_tokens:
        raise ModelError(f"{passes} forward passes need a cache of {passes} tokens; the model was prepared for "
                         f"{model.max_tokens}")
    model.reset()
    ttnn.reset_op_log(model.device)
    token, generated, logits, steps = prompt[0], [], [], []
    for pos in range(passes):
        first = len(ttnn.op_log(model.device))
        start = time.monotonic()
        with _trace_dir(trace if pos == passes - 1 else None):
            out = model.forward(token, pos)
        log = ttnn.op_log(model.device)[first:]
        steps.append({"pos": pos, "token": token, "phase": "prompt" if pos + 1 < len(prompt) else "generate",
                      "cycles": sum(e["cycles"] for e in log), "macs": sum(e["macs"] for e in log),
                      "model_macs": model_macs(cfg, pos), "dram_bytes": sum(e["dram_bytes"] for e in log),
                      "programs": len(log), "wall_seconds": round(time.monotonic() - start, 3)})
        if trace is not None and pos == passes - 1:
            _write_trace_index(trace, log)
        logits.append(out)
        token = next_token(prompt, pos, out)
        if pos + 1 >= len(prompt):
            generated.append(token)
        if progress:
            progress(steps[-1], token)
    return {"tokens": generated, "logits": np.array(logits, dtype=np.float32).reshape(-1, cfg.vocab_size),
            "steps": steps, "op_log": ttnn.op_log(model.device)}


def _write_trace_index(folder, log: list) -> None:
    """``ops.json`` beside the timelines: each program of the pass, its op, cycles and trace files, in order."""
    import json
    entries = [{"op": e["op"], "cycles": e["cycles"], "trace": e.get("trace")} for e in log]
    with open(os.path.join(folder, "ops.json"), "w") as handle:
        json.dump(entries, handle, indent=1)
        handle.write("\n")


def dram_budget(model: ChipLlama) -> dict:
    """Bytes of DRAM: weights and constants, the cache, the peak of a run, the DRAM's size."""
    return {"weights": model.weight_bytes, "cache": model.cache_bytes, "peak": model.peak_bytes,
            "size": model.dram_size}


def summary(steps: list, op_log: list, peak_macs_per_cycle: int) -> dict:
    """Per phase: passes, cycles per token, MAC utilisation; and the op breakdown (calls, cycles, share)."""
    out = {}
    for phase in ("prompt", "generate"):
        chosen = [s for s in steps if s["phase"] == phase]
        if not chosen:
            continue
        cycles = sum(s["cycles"] for s in chosen)
        out[phase] = {"passes": len(chosen), "cycles_per_token": cycles / len(chosen),
                      "engine_mac_utilisation": sum(s["macs"] for s in chosen) / (cycles * peak_macs_per_cycle),
                      "model_mac_utilisation": sum(s["model_macs"] for s in chosen) / (cycles * peak_macs_per_cycle),
                      "dram_bytes_per_token": sum(s["dram_bytes"] for s in chosen) / len(chosen),
                      "wall_seconds_per_token": sum(s["wall_seconds"] for s in chosen) / len(chosen)}
    total = sum(e["cycles"] for e in op_log) or 1
    groups = {}
    for e in op_log:
        g = groups.setdefault(e["op"], {"op": e["op"], "calls": 0, "cycles": 0, "macs": 0, "dram_bytes": 0,
                                        "wall_seconds": 0.0})
        g["calls"] += 1
        for key in ("cycles", "macs", "dram_bytes", "wall_seconds"):
            g[key] += e[key]
    breakdown = sorted(groups.values(), key=lambda g: -g["cycles"])
    for g in breakdown:
        g["share"] = g["cycles"] / total
        g["wall_seconds"] = round(g["wall_seconds"], 2)
    out["ops"] = breakdown
    return out
