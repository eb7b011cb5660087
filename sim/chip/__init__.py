"""Chip-level simulation: the host driver, the cocotb benches' helpers and ``tessera chip-bench``."""
