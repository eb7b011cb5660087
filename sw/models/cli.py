"""``tessera llama``: greedy generation of a llama2.c model on the simulated chip, checked against the
numpy reference, with cycles per token, MAC utilisation, DRAM use and traffic and the per-op breakdown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from . import checkpoint as ck

DEFAULT_PROMPT = [1]        # llama2.c starts every sequence with BOS


def _parse_prompt(text: str) -> list:
    from tessera.sim.cli import UsageError
    try:
        ids = [int(part, 0) for part in text.replace(",", " ").split()]
    except ValueError:
        raise UsageError(f"--prompt {text!r}: expected token ids separated by commas (e.g. 1,200,300)") from None
    if not ids:
        raise UsageError(f"--prompt {text!r}: no token ids")
    return ids


def parse_grid(text, preset_name: str):
    """``--grid XxY`` -> (x, y) within the preset's Tensix grid; None (no option) -> the whole grid."""
    from tessera.hw.config import preset
    from tessera.sim.cli import UsageError
    from tessera.sw.host.core import ComputeGrid
    full = ComputeGrid(preset(preset_name)).size
    if text is None:
        return (full.x, full.y)
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError(f"--grid {text!r}: expected XxY (e.g. 1x1, 2x1, {full.x}x{full.y})")
    x, y = (int(p) for p in parts)
    if not (1 <= x <= full.x and 1 <= y <= full.y):
        raise UsageError(f"--grid {text!r}: the {full.x}x{full.y} Tensix grid of preset {preset_name!r} allows "
                         f"1..{full.x} by 1..{full.y}")
    return (x, y)


def load_weights(args) -> ck.Weights:
    from tessera.sim.cli import UsageError
    if args.checkpoint:
        if args.layers is not None:
            raise UsageError("--layers shortens the random stories260K-shaped model; a --checkpoint keeps its own")
        try:
            return ck.read_checkpoint(args.checkpoint)
        except ck.CheckpointError as exc:
            raise UsageError(f"--checkpoint: {exc}") from None
    cfg = ck.STORIES260K
    if args.layers is not None:
        cfg = ck.Config(**{**cfg.__dict__, "n_layers": args.layers})
    return ck.random_weights(cfg, seed=args.seed)


def _pcc(a, b) -> float:
    from tessera.sim.examples import pcc
    return pcc(a, b)


def _table(rows: list, header: tuple) -> str:
    cells = [header] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_llama(args) -> int:
    from tessera import ttnn
    from tessera.sim.cli import UsageError
    from tessera.sim.examples import engine_peak
    from tessera.sim.harness import BUILD_ROOT

    from . import model as cm
    from . import reference as ref

    grid = parse_grid(args.grid, args.preset)
    weights = load_weights(args)
    cfg = weights.config
    prompt = _parse_prompt(args.prompt) if args.prompt else list(DEFAULT_PROMPT)
    try:
        prompt = ref.check_run(cfg, prompt, args.tokens)
    except ValueError as exc:
        raise UsageError(f"--prompt/--tokens: {exc}") from None
    passes = len(prompt) + args.tokens - 1
    if passes < 1:
        raise UsageError("--tokens 0 with a one-token prompt runs no forward pass; ask for at least one token")
    source = f"checkpoint {args.checkpoint}" if args.checkpoint else f"random weights, seed {args.seed}"
    print(f"compute grid {grid[0]}x{grid[1]}; model: dim {cfg.dim}, hidden {cfg.hidden_dim}, {cfg.n_layers} layers, "
          f"{cfg.n_heads} heads / {cfg.n_kv_heads} KV heads, vocab {cfg.vocab_size}, seq_len {cfg.seq_len} "
          f"({'shared' if cfg.shared_classifier else 'separate'} classifier; {source})")
    want = ref.greedy_generate(weights, prompt, args.tokens)

    ffn_dtype = {"bfloat16": ttnn.bfloat16, "bfloat8_b": ttnn.bfloat8_b}[args.ffn_dtype]
    start = time.monotonic()
    with ttnn.manage_device(0, preset_name=args.preset, poll_cycles=args.poll, compute_grid=grid) as device:
        model = cm.ChipLlama(weights, device, max_tokens=passes, math_fidelity=args.fidelity, ffn_dtype=ffn_dtype)

        def progress(step, token):
            print(f"  pos {step['pos']:3d} token {step['token']:4d} ({step['phase']}): {step['cycles']:,} cycles, "
                  f"{step['programs']} programs, {step['wall_seconds']:.1f} s -> {token}", flush=True)

        got = cm.chip_generate(model, prompt, args.tokens, trace=args.trace, progress=progress)
        # the peak of the cores the ops use: each Tensix tile adds one engine's worth
        peak = engine_peak(device.cfg) * grid[0] * grid[1] // len(device.cfg.nodes_of("tensix"))
        budget = cm.dram_budget(model)
    wall = time.monotonic() - start
    pccs = [_pcc(a, b) for a, b in zip(got["logits"], want["logits"])]
    match = got["tokens"] == want["tokens"]
    stats = cm.summary(got["steps"], got["op_log"], peak)

    print(f"prompt {prompt} -> generated {got['tokens']}")
    print(f"numpy reference: {want['tokens']} ({'same tokens' if match else 'DIFFERENT tokens'}); logits PCC "
          f"min {min(pccs):.6f} over {len(pccs)} passes")
    for phase in ("prompt", "generate"):
        if phase in stats:
            s = stats[phase]
            print(f"{phase}: {s['cycles_per_token']:,.0f} cycles/token over {s['passes']} passes, "
                  f"{s['wall_seconds_per_token']:.1f} s/token; MAC utilisation "
                  f"{100 * s['engine_mac_utilisation']:.2f} % (engine MACs of the tiles issued; the model's own "
                  f"MACs: {100 * s['model_mac_utilisation']:.3f} %) of {peak} MACs/cycle; DRAM traffic "
                  f"{s['dram_bytes_per_token'] / 1024:,.0f} KiB/token")
    print(f"DRAM: weights and constants {budget['weights'] / 1024:.0f} KiB, KV cache {budget['cache'] / 1024:.0f} KiB "
          f"({passes} tokens), peak in use {budget['peak'] / 1024:.0f} KiB of {budget['size'] / 1024:.0f} KiB")
    rows = [(o["op"], o["calls"], f"{o['cycles']:,}", f"{100 * o['share']:.1f}", f"{o['macs']:,}",
             f"{o['dram_bytes']:,}", f"{o['wall_seconds']:.1f}") for o in stats["ops"]]
    print(_table(rows, ("op", "calls", "cycles", "% cycles", "MACs", "DRAM bytes", "wall s")))
    out = Path(args.json) if args.json else BUILD_ROOT / "results" / "llama.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"config": {**cfg.__dict__}, "source": source, "prompt": prompt, "tokens": got["tokens"],
              "reference_tokens": want["tokens"], "tokens_match": match, "logits_pcc": pccs,
              "math_fidelity": args.fidelity, "ffn_dtype": args.ffn_dtype, "preset": args.preset,
              "compute_grid": f"{grid[0]}x{grid[1]}",
              "peak_macs_per_cycle": peak, "dram": budget, "steps": got["steps"],
              # per phase under its own key: a top-level "prompt" is the prompt's token ids
              "phases": {k: v for k, v in stats.items() if k != "ops"}, "ops": stats["ops"],
              "op_log": got["op_log"],
              "wall_seconds": round(wall, 1), "trace": str(args.trace) if args.trace else None}
    out.write_text(json.dumps(record, indent=2, default=_json_default) + "\n")
    print(f"wrote {out}" + (f"; timelines of the last pass in {args.trace}" if args.trace else ""))
    return 0 if match and min(pccs) >= 0.99 else 1


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def register(subparsers) -> None:
    from tessera.hw.config import preset_names
    from tessera.sim.cli import int_at_least
    p = subparsers.add_parser("llama", help="greedy generation of a llama2.c model on the simulated chip "
                                            "(cycles per token, MAC utilisation, per-op breakdown)")
    p.add_argument("--tokens", type=int_at_least(0), required=True, help="tokens to generate")
    p.add_argument("--prompt", default=None, help="prompt token ids, comma separated (default 1: BOS)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the random weights (default 0)")
    p.add_argument("--checkpoint", default=None, help="a llama2.c checkpoint (legacy version-0 .bin) instead of "
                                                      "random stories260K-shaped weights")
    p.add_argument("--layers", type=int_at_least(1), default=None,
                   help="layers of the random model (default stories260K's 5)")
    p.add_argument("--fidelity", default="hifi2", choices=("lofi", "hifi2", "hifi3", "hifi4"),
                   help="math fidelity of the matmuls (default hifi2)")
    p.add_argument("--ffn-dtype", default="bfloat16", choices=("bfloat16", "bfloat8_b"),
                   help="data type of the feed-forward weights on the chip (default bfloat16)")
    p.add_argument("--preset", default="tiny", choices=preset_names(), help="chip configuration (default tiny)")
    p.add_argument("--grid", default=None, metavar="XxY",
                   help="use only the X-by-Y corner of the Tensix grid (e.g. 1x1, 2x1; default the whole grid)")
    p.add_argument("--poll", type=int_at_least(1), default=200,
                   help="longest wait between re-reads of an exit word a core has not written yet "
                        "(cores report their exit by waypoint; default 200)")
    p.add_argument("--trace", default=None, metavar="DIR",
                   help="write the Perfetto timeline of every program of the last forward pass into DIR")
    p.add_argument("--json", default=None, help="results file (default build/results/llama.json)")
    p.set_defaults(func=_cmd_llama)
