"""Engine simulation support: cocotb environment, test data, workloads and the engine-bench CLI."""
