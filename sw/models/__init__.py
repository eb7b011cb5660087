"""Models built on the ttnn layer: a llama2.c-architecture transformer (checkpoint files, a numpy
reference and the implementation on the simulated chip)."""
