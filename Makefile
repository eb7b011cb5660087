# Tessera — two commands on a fresh machine:
#   make sim    set up if needed, run the simulation regression, print the summary table
#   make test   set up if needed, run every test in parallel (deprecations are errors)

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tessera-setup-stamp
JOBS ?= auto
PRESET ?= tiny
BLOCK ?= all
PYTEST := $(PY) -m pytest -n $(JOBS) --dist loadgroup -q -rfE

.PHONY: setup sim test verilog fpga bench-harness bench-noc bench-cpu bench-cpu-random bench-engine bench-sim bench-fuzz bench-matmul bench-ttnn bench-llama clean help

help:
	@echo "make sim | test | verilog | fpga | bench-harness | bench-noc | bench-cpu | bench-cpu-random | bench-engine | bench-sim | bench-fuzz | bench-matmul | bench-ttnn | bench-llama | clean"

# Re-run setup only when the dependency pins or the setup script change.
$(STAMP): pyproject.toml sim/setup.sh
	bash sim/setup.sh
	@touch $(STAMP)

setup: $(STAMP)

# Main regression: every simulable block on Verilator, the summary table, then every reference
# program of examples/ on the tiny chip and their table (build/results/examples-tiny.json).
sim: $(STAMP)
	@rm -f build/results/ledger.jsonl build/results/pytest.json
	$(PYTEST) tb ; status=$$? ; $(PY) -m tessera.sim.summary ; \
	  $(VENV)/bin/tessera run-example all || status=1 ; exit $$status

# All tests: cocotb on Verilator, Amaranth-simulator unit tests, toolchain tests.
test: $(STAMP)
	@rm -f build/results/ledger.jsonl build/results/pytest.json
	$(PYTEST) ; status=$$? ; $(PY) -m tessera.sim.summary ; exit $$status

verilog: $(STAMP)
	$(VENV)/bin/tessera verilog --preset $(PRESET) --block $(BLOCK) -o build/verilog/$(PRESET)

fpga: $(STAMP)
	$(VENV)/bin/tessera fpga --preset $(PRESET) --block $(if $(filter all,$(BLOCK)),stream_fifo,$(BLOCK)) --json build/fpga/$(PRESET)-report.json

bench-harness: $(STAMP)
	$(VENV)/bin/tessera harness-bench

# Four networks x four patterns x 8 loads, two networks at a time; about 25 min of
# simulation with cached models (8x8 models: ~25 min more to export and build once).
bench-noc: $(STAMP)
	$(VENV)/bin/tessera noc-bench --jobs 2

bench-cpu: $(STAMP)
	$(VENV)/bin/tessera cpu-bench

# Long lock-step run: 240 random programs (about a million instructions) against unicorn.
bench-cpu-random: $(STAMP)
	CORE_RANDOM_PROGRAMS=240 $(PY) -m pytest -q -n $(JOBS) tb/core -k random

bench-engine: $(STAMP)
	$(VENV)/bin/tessera engine-bench

# Simulated cycles per second of the l1, engine, tile and chip models, idle and busy, on one
# and two Verilator threads (builds the models it lacks: about 10 min on 2 cores the first time).
bench-sim: $(STAMP)
	$(VENV)/bin/tessera sim-bench --threads 1,2

# Mutation fuzz of the ELF readers and the image parser: 20000 cases per target (about 10 min);
# FUZZ_SEED=N replays a run, FUZZ_CASES=N sets the count. Table and build/bench/fuzz/fuzz-tiny.json.
FUZZ_CASES ?= 20000
bench-fuzz: $(STAMP)
	$(PY) -m tb.fw.fuzz --cases $(FUZZ_CASES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

# Multi-core matmul from DRAM on every Tensix tile: fraction of the engine peak, multicast against
# reuse (table and build/bench/matmul/matmul-tiny.json; under a minute with the chip model cached).
bench-matmul: $(STAMP)
	$(VENV)/bin/tessera matmul-bench

# The ttnn ops (eltwise, matmul, normalization, data movement) at 128x128 on 1, 2 and 4 Tensix cores:
# cycles, tiles/cycle, share of the engine peak and of DRAM (table and build/bench/ttnn/ttnn-tiny.json;
# about 15 min with the chip model cached, `tessera ttnn-bench --quick` about 1 min).
bench-ttnn: $(STAMP)
	$(VENV)/bin/tessera ttnn-bench

# The whole stories260K (5 layers, random weights) on the chip: a 2-token prompt and 2 generated tokens
# at HiFi2, cycles per token, MAC utilisation, per-op breakdown (build/bench/llama/llama-tiny.json).
# A long run (about 15-20 minutes); not part of make test.
bench-llama: $(STAMP)
	$(VENV)/bin/tessera llama --prompt 1,200 --tokens 2 --fidelity hifi2 --json build/bench/llama/llama-tiny.json

clean:
	rm -rf build
