"""The simulated clock period, shared by the runner and the testbenches.

A module of its own so that cocotb test modules, which run inside the
simulator process, can read it without importing the Verilator harness (and
with it the Verilog exporter).
"""

#: Period of ``clk`` in every cocotb run; simulated cycles = simulated ns / this.
CLOCK_PERIOD_NS = 10
