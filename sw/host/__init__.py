"""Tessera's host runtime: tt-metal's nouns in plain, synchronous Python (docs/runtime.md).

``from tessera import metal as ttm`` gives the public names; this package
holds them by layer: ``core`` (CoreCoord, CoreRange, CoreRangeSet),
``buffer`` (CreateBuffer), ``program`` (CreateProgram, CreateKernel, ...),
``device`` (CreateDevice, the command queue), ``transport`` and
``protocol`` (how the device reaches the chip), ``board`` (a board over
its serial bridge), ``noc_host`` (NoC requests from the host node),
``kernels`` (the compile cache), ``tiles`` (tilize, bfloat16), ``symbols``
(hang reports).
"""
