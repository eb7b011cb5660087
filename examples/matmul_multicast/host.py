"""Matmul with multicast: ``matmul_reuse`` with each A row read from DRAM once per row of cores
and multicast along it, each B column read once per column and multicast down it.

The core at the left of each row of the Tensix grid reads the A rows of that
row's blocks and multicasts them to the other cores of the row; the core at the
top of each column does the same for the B columns, down the column.  Senders
and receivers agree per strip with two semaphores each, the handshake of
tt-metal's data_mcast example (``kernels/reader_mcast.c``).  Compute and writer
kernels are ``matmul_reuse``'s.  The DRAM traffic drops from
(gx Mt + gy Nt) Kt to (Mt + Nt) Kt tiles; the multicasts add (Mt + Nt) Kt tiles
of NoC injection, each put on the NoC once however many cores receive it.

Bit-exact against the engine's golden, PCC against float64.

Run it: ``python examples/matmul_multicast/host.py [--mt 4 --kt 4 --nt 4] [--fidelity lofi]``
or ``tessera run-example matmul_multicast``.
"""

from __future__ import annotations

import sys

from tessera import metal as ttm
from tessera.sim import examples as ex

reuse = ex.load("matmul_reuse")


def run(device, mt: int = 4, kt: int = 4, nt: int = 4, fidelity: str = "lofi", seed: int = 0,
        out_pages: int = 2) -> dict:
    return reuse.run_blocked(device, mt, kt, nt, fidelity, seed, multicast=True, out_pages=out_pages)


def main(argv=None) -> int:
    args = ex.load("matmul_single_core").arguments(__doc__, 4, 4, 4).parse_args(argv)
    with ttm.CreateDevice(0) as device:
        result = run(device, args.mt, args.kt, args.nt, args.fidelity, args.seed)
    print(ex.summary_line("matmul with multicast", result))
    return 0 if result["mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
