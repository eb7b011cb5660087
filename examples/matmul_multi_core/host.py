"""Matmul over every Tensix core: C = A @ B with the output tiles split between the cores.

The kernels and the host code are ``matmul_single_core``'s: each core gets a
contiguous range of output tiles and, for each, reads its K pairs of input
tiles from DRAM (no reuse: every A and B tile is read once per output tile that
needs it).  Bit-exact against the engine's golden, PCC against float64.

Run it: ``python examples/matmul_multi_core/host.py [--mt 4 --kt 4 --nt 4] [--fidelity lofi]``
or ``tessera run-example matmul_multi_core``.
"""

from __future__ import annotations

import sys

from tessera import metal as ttm
from tessera.sim import examples as ex

single = ex.load("matmul_single_core")


def run(device, mt: int = 4, kt: int = 4, nt: int = 4, fidelity: str = "lofi", seed: int = 0) -> dict:
    return single.run(device, mt, kt, nt, fidelity, seed, cores=None)


def main(argv=None) -> int:
    args = single.arguments(__doc__, 4, 4, 4).parse_args(argv)
    with ttm.CreateDevice(0) as device:
        result = run(device, args.mt, args.kt, args.nt, args.fidelity, args.seed)
    print(ex.summary_line("matmul on every core", result))
    return 0 if result["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
