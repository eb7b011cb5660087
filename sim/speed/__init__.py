"""``tessera sim-bench``: simulated cycles per wall second of each Verilator model."""
