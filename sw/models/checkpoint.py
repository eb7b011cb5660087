"""llama2.c checkpoints: the configuration, the weights, and the legacy (version 0) file format.

The file is what llama2.c's ``run.c`` memory-maps (``export.py --version 0``):
a header of seven little-endian int32 -- ``dim, hidden_dim, n_layers,
n_heads, n_kv_heads, vocab_size, seq_len`` -- then float32 arrays, each
row-major in PyTorch's ``(out_features, in_features)`` order (``run.c``
computes ``W @ x``):

==================  ========================================
token_embedding     vocab_size x dim
rms_att             n_layers x dim
wq                  n_layers x dim x (n_heads * head_size)
wk, wv              n_layers x dim x (n_kv_heads * head_size) (stored out x in: kv_dim x dim)
wo                  n_layers x (n_heads * head_size) x dim (stored out x in: dim x dim)
rms_ffn             n_layers x dim
w1, w3              n_layers x hidden_dim x dim
w2                  n_layers x dim x hidden_dim
rms_final           dim
freq_cis_real/imag  seq_len x head_size / 2 each (written, skipped on reading: run.c computes them)
wcls                vocab_size x dim, only when the classifier is not shared
==================  ========================================

A negative ``vocab_size`` in the header means a separate classifier
``wcls`` (``run.c``: ``shared_weights = vocab_size > 0``); a positive one
means the classifier is the token embedding.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np

__all__ = ["CheckpointError", "Config", "Weights", "STORIES260K", "read_checkpoint", "write_checkpoint",
           "random_weights", "WEIGHT_NAMES"]

HEADER = struct.Struct("<7i")
HEADER_FIELDS = ("dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len")

#: First int32 of llama2.c's newer export formats (``export.py --version 1/2``): b"ak42".
NEW_FORMAT_MAGIC = 0x616B3432


class CheckpointError(ValueError):
    """A checkpoint file or a configuration was refused; the message names the file, the field and the value."""


@dataclasses.dataclass(frozen=True)
class Config:
    """llama2.c's ``Config``: the header fields, and whether the classifier is the token embedding."""

    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    seq_len: int
    shared_classifier: bool = True

    def __post_init__(self):
        for name in HEADER_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise CheckpointError(f"config {name} must be a positive integer, got {value!r}")
        if self.dim % self.n_heads:
            raise CheckpointError(f"config dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise CheckpointError(f"config n_heads {self.n_heads} is not a multiple of n_kv_heads "
                                  f"{self.n_kv_heads}")
        if self.head_size % 2:
            raise CheckpointError(f"config head size dim / n_heads = {self.head_size} is odd; rotary "
                                  f"embeddings rotate pairs of values")

    @property
    def head_size(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.head_size * self.n_kv_heads

    @property
    def kv_mul(self) -> int:
        """Query heads per key/value head (grouped-query attention)."""
        return self.n_heads // self.n_kv_heads

    def header(self) -> tuple:
        """The seven header ints; the vocabulary size is negative for a separate classifier."""
        vocab = self.vocab_size if self.shared_classifier else -self.vocab_size
        return (self.dim, self.hidden_dim, self.n_layers, self.n_heads, self.n_kv_heads, vocab, self.seq_len)

    def shapes(self) -> dict:
        """Shape of every weight array (the file's order; ``wcls`` only with a separate classifier)."""
        d, h, n, v = self.dim, self.hidden_dim, self.n_layers, self.vocab_size
        shapes = {"token_embedding": (v, d), "rms_att": (n, d), "wq": (n, self.n_heads * self.head_size, d),
                  "wk": (n, self.kv_dim, d), "wv": (n, self.kv_dim, d), "wo": (n, d, self.n_heads * self.head_size),
                  "rms_ffn": (n, d), "w1": (n, h, d), "w2": (n, d, h), "w3": (n, h, d), "rms_final": (d,)}
        if not self.shared_classifier:
            shapes["wcls"] = (v, d)
        return shapes

    def parameters(self) -> int:
        return sum(int(np.prod(s)) for s in self.shapes().values())


#: llama2.c's smallest TinyStories model (stories260K: ``train.py`` with dim 64, 5 layers, 8 heads,
#: 4 KV heads, vocabulary 512, max_seq_len 512 and multiple_of 4).  hidden_dim follows llama2.c's
#: FeedForward: 4 * dim = 256, two thirds of it 170, rounded up to a multiple of 4: 172.
STORIES260K = Config(dim=64, hidden_dim=172, n_layers=5, n_heads=8, n_kv_heads=4, vocab_size=512, seq_len=512)

#: The weight arrays in file order (``wcls`` last, present only for a separate classifier).
WEIGHT_NAMES = ("token_embedding", "rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3", "rms_final",
                "wcls")


@dataclasses.dataclass
class Weights:
    """The float32 weights of a model, in llama2.c's layouts (see the module docstring)."""

    config: Config
    arrays: dict

    def __post_init__(self):
        shapes = self.config.shapes()
        missing = [name for name in shapes if name not in self.arrays]
        extra = [name for name in self.arrays if name not in shapes]
        if missing or extra:
            raise CheckpointError(f"weights: missing {missing or 'none'}, unexpected {extra or 'none'} "
                                  f"(a {'shared' if self.config.shared_classifier else 'separate'} classifier)")
        for name, shape in shapes.items():
            array = np.asarray(self.arrays[name], dtype=np.float32)
            if array.shape != shape:
                raise CheckpointError(f"weights: {name} has shape {array.shape}, the config needs {shape}")
            self.arrays[name] = array

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def classifier(self) -> np.ndarray:
        """The (vocab_size, dim) classifier: ``wcls`` or the token embedding."""
        return self.arrays["token_embedding"] if self.config.shared_classifier else self.arrays["wcls"]


def rope_frequencies(config: Config) -> np.ndarray:
    """The rotation frequency of each pair of a head, as llama2.c: 1 / 10000 ** (2 i / head_size)."""
    return 1.0 / 10000.0 ** (np.arange(0, config.head_size, 2, dtype=np.float64) / config.head_size)


def _freq_cis(config: Config) -> tuple:
    """freq_cis_real / imag of the file (cos and sin of position x frequency), as export.py writes them."""
    angles = np.outer(np.arange(config.seq_len, dtype=np.float64), rope_frequencies(config))
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def write_checkpoint(path, weights: Weights) -> Path:
    """Write ``weights`` as a legacy (version 0) llama2.c checkpoint."""
    path = Path(path)
    cfg = weights.config
    cos, sin = _freq_cis(cfg)
    with open(path, "wb") as handle:
        handle.write(HEADER.pack(*cfg.header()))
        for name in WEIGHT_NAMES[:-1]:
            handle.write(np.ascontiguousarray(weights[name], dtype="<f4").tobytes())
        handle.write(cos.astype("<f4").tobytes())
        handle.write(sin.astype("<f4").tobytes())
        if not cfg.shared_classifier:
            handle.write(np.ascontiguousarray(weights["wcls"], dtype="<f4").tobytes())
    return path


def _layout(cfg: Config) -> list:
    """(name, shape, skipped) of every array of the file, in order."""
    shapes = cfg.shapes()
    items = [(name, shapes[name], False) for name in WEIGHT_NAMES[:-1]]
    freq = (cfg.seq_len, cfg.head_size // 2)
    items += [("freq_cis_real", freq, True), ("freq_cis_imag", freq, True)]
    if not cfg.shared_classifier:
        items.append(("wcls", shapes["wcls"], False))
    return items


def expected_size(cfg: Config) -> int:
    """Bytes of a version-0 file of ``cfg``."""
    return HEADER.size + 4 * sum(int(np.prod(shape)) for _, shape, _ in _layout(cfg))


def read_checkpoint(path) -> Weights:
    """Read a legacy (version 0) llama2.c checkpoint; refuses short, long and malformed files by name."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"checkpoint {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) < HEADER.size:
        raise CheckpointError(f"checkpoint {path}: {len(data)} bytes, shorter than the {HEADER.size}-byte header "
                              f"(seven int32: {', '.join(HEADER_FIELDS)})")
    header = HEADER.unpack_from(data)
    if header[0] == NEW_FORMAT_MAGIC:
        version = struct.unpack_from("<i", data, 4)[0] if len(data) >= 8 else "?"
        raise CheckpointError(f"checkpoint {path}: llama2.c export format version {version} (magic 'ak42'); "
                              f"only the legacy version-0 files run.c reads are supported")
    fields = dict(zip(HEADER_FIELDS, header))
    for name, value in fields.items():
        if value == 0 or (value < 0 and name != "vocab_size"):
            raise CheckpointError(f"checkpoint {path}: header field {name} is {value}; it must be positive"
                                  f"{' (negative: a separate classifier)' if name == 'vocab_size' else ''}")
    shared = fields["vocab_size"] > 0
    fields["vocab_size"] = abs(fields["vocab_size"])
    try:
        cfg = Config(**fields, shared_classifier=shared)
    except CheckpointError as exc:
        raise CheckpointError(f"checkpoint {path}: {exc}") from None
    size = expected_size(cfg)
    offset = HEADER.size
    arrays = {}
    for name, shape, skipped in _layout(cfg):
        count = int(np.prod(shape))
        end = offset + 4 * count
        if end > len(data):
            raise CheckpointError(f"checkpoint {path}: truncated: {len(data)} bytes, the header's configuration "
                                  f"needs {size}; {name} {shape} would end at byte {end}")
        if not skipped:
            array = np.frombuffer(data, dtype="<f4", count=count, offset=offset).reshape(shape).astype(np.float32)
            if not np.isfinite(array).all():
                bad = int(np.count_nonzero(~np.isfinite(array)))
                raise CheckpointError(f"checkpoint {path}: {name} holds {bad} non-finite values (NaN or inf)")
            arrays[name] = array
        offset = end
    if len(data) != size:
        raise CheckpointError(f"checkpoint {path}: {len(data) - size} bytes past the end of the last array: "
                              f"{len(data)} bytes, the header's configuration needs {size} "
                              f"(not a legacy version-0 file, or a wrong header)")
    return Weights(cfg, arrays)


def random_weights(cfg: Config, seed: int = 0) -> Weights:
    """Seeded random weights of ``cfg``.

    Projections are normal with a standard deviation of 1 / sqrt(fan in)
    (activations keep unit size through every layer), the norms' gains
    1 +- 0.1, and the token embedding (the classifier too, when shared)
    unit normal: the logits then spread over several units, so the top two
    of a greedy step are well apart compared to bfloat16 rounding.
    """
    rng = np.random.default_rng(seed)

    def normal(shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    shapes = cfg.shapes()
    arrays = {}
    for name, shape in shapes.items():
        if name in ("token_embedding", "wcls"):
            arrays[name] = rng.standard_normal(shape).astype(np.float32)
        elif name.startswith("rms"):
            arrays[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            arrays[name] = normal(shape, shape[-1])
    return Weights(cfg, arrays)
