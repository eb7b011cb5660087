"""Tessera: an open RTL model of a Tensix-style AI accelerator.

The package is assembled from the repository's folders: ``tessera.hw`` (the
Amaranth hardware), ``tessera.sim`` (Verilog export, Verilator harness,
golden models, benches, the ``tessera`` command line) and ``tessera.sw``
(firmware toolchain, device C headers, kernels, runtime).  Tests live in the
repository's ``tb/`` folder and are not part of the installed package.
"""

from importlib import metadata as _metadata

try:  # one version, pyproject.toml's, as installed
    __version__ = _metadata.version("tessera")
except _metadata.PackageNotFoundError:  # sources on sys.path without an install
    __version__ = "unknown"
