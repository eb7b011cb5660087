"""run-elf: the single-core system, its ELF loader and driver, and the CPU benchmarks."""
