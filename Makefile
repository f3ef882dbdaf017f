# aep2 — every target installs what it needs, so a fresh machine runs `make test` or `make demo` directly.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
TOOLS := $(ROOT)/tools
TOOLBIN := $(ROOT)/.tools/bin
export PATH := $(TOOLBIN):$(ROOT)/bin:$(VENV)/bin:$(PATH)
export AEP2_REPO := $(ROOT)


.PHONY: help setup venv foundry contracts circuits groth16 redis chromium test test-contracts test-circuits test-python soak demo bench vectors lint gas-snapshot wrk

help:
	@echo "make test    install everything, then lint, forge test, go test and pytest"
	@echo "make demo    install everything, then run the main job end to end"
	@echo "make bench   aep2 against per-call x402 on one anvil: table, JSON and plots in benchmarks/results"
	@echo "make soak    the slow tests: settlement soak (500+ mandates) and real-Groth16 settlement"

setup: venv foundry contracts circuits redis groth16

# --- Python ------------------------------------------------------------------
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# --- Foundry and solc from npm (no foundryup, no GitHub) ----------------------
foundry: $(TOOLBIN)/.installed
$(TOOLBIN)/.installed: tools/package.json tools/package-lock.json
	cd $(TOOLS) && npm install --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(TOOLBIN)
	for tool in forge anvil cast; do \
	  bin=$$(ls $(TOOLS)/node_modules/@foundry-rs/$$tool-linux-*/bin/$$tool | head -n1); \
	  ln -sf "$$bin" $(TOOLBIN)/$$tool; \
	done
	ln -sf $(TOOLS)/solc $(TOOLBIN)/solc
	forge --version | head -n1
	touch $@

contracts: foundry
	cd contracts && forge build --quiet

# --- Go: the circuit, aep2-prover and libaep2agent (agent-key signing, loaded by Python) ---
circuits:
	cd circuits && go build ./... && if [ -d cmd/aep2-prover ]; then go build -o $(ROOT)/bin/aep2-prover ./cmd/aep2-prover; fi
	cd circuits && go build -buildmode=c-shared -o $(ROOT)/bin/libaep2agent.so ./cmd/libaep2agent

# --- Groth16 dev keys for the smallest circuit of each family, and their exported verifiers ---
# Single-party setups (~100 CPU-seconds for the batch family's N=1, ~30 for the agent family's;
# once per machine, cached under $AEP2_HOME) that the tests and the demo prove with. Dev keys only:
# production keys come from gnark's mpcsetup ceremony.
export AEP2_HOME ?= $(HOME)/.aep2
CIRCUIT_VERSION := $(shell sed -n 's/^const Version = "\(.*\)"$$/\1/p' circuits/batch/circuit.go)
AGENT_VERSION := $(shell sed -n 's/^const Version = "\(.*\)"$$/\1/p' circuits/agent/circuit.go)
N1P1_KEYS := $(AEP2_HOME)/circuits/aep2-batch-$(CIRCUIT_VERSION)-n1-p1
AGENT_N1P1_KEYS := $(AEP2_HOME)/circuits/aep2-agent-$(AGENT_VERSION)-n1-p1
# the demo's agent circuit (aep2/demo/prereqs.py AGENT_SIZE): one agent key's 64 calls per proof
AGENT_DEMO_KEYS := $(AEP2_HOME)/circuits/aep2-agent-$(AGENT_VERSION)-n64-p1
GENERATED := contracts/src/generated

groth16: circuits foundry
	test -f $(N1P1_KEYS)/proving.key || aep2-prover setup --dev --n 1 --p 1
	test -f $(AGENT_N1P1_KEYS)/proving.key || aep2-prover setup --dev --family agent --n 1 --p 1
	test -f $(AGENT_DEMO_KEYS)/proving.key || aep2-prover setup --dev --family agent --n 64 --p 1
	mkdir -p $(GENERATED)
	aep2-prover export-solidity --n 1 --p 1 --out $(GENERATED)/BatchVerifierN1P1.sol
	aep2-prover export-solidity --family agent --n 1 --p 1 --out $(GENERATED)/AgentVerifierN1P1.sol
	cd contracts && forge build --quiet

# --- Redis from Debian, if missing --------------------------------------------
redis:
	command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	redis-server --version

# --- Headless Chromium and its driver from Debian, if missing (the console's browser tests) ----
# Selenium is pointed at these two files and never downloads a browser (tests/browser_support.py).
chromium:
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
	/usr/bin/chromedriver --version

# --- wrk from Debian, for python -m benchmarks.payee_http (not needed by make test) --
wrk:
	command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	wrk --version | head -1 || true

# --- Tests ---------------------------------------------------------------------
test: setup lint test-contracts test-circuits test-python

test-contracts: contracts
	cd contracts && forge test

# Rewrites contracts/.gas-snapshot and contracts/snapshots/*.json (commit both).
gas-snapshot: contracts
	cd contracts && forge snapshot --no-match-contract Invariant

test-circuits: circuits
	cd circuits && go vet ./... && go test ./...

test-python: venv contracts circuits redis chromium groth16
	$(PY) scripts/gen_vectors.py --check
	$(PY) scripts/gen_agent_vectors.py --check
	AEP2_REQUIRE_GROTH16=1 AEP2_REQUIRE_BROWSER=1 HYPOTHESIS_PROFILE=ci $(PY) -m pytest

# The slow tests: the 500-mandate settlement soak and the pipeline with real Groth16 at N=1
# (which skips unless the N=1 dev keys and the exported verifier are built; see circuits/README.md).
soak: venv contracts circuits redis
	$(PY) -m pytest -m slow -s tests/test_settlement_soak.py tests/test_settlement_groth16.py

lint: venv
	$(PY) -m ruff check aep2 workers tests benchmarks scripts
	$(PY) -m ruff format --check aep2 workers tests benchmarks scripts
	$(PY) -m mypy aep2

vectors: venv
	$(PY) scripts/gen_vectors.py

# --- The main job -----------------------------------------------------------
demo: venv contracts circuits
	$(VENV)/bin/aep2 demo

# aep2 against per-call x402 on one anvil: writes benchmarks/results/latest.{json,md} and the plots.
# Proving figures per size come from benchmarks/prover_bench.sh (dev setups per size: minutes each).
bench: setup
	$(PY) -m benchmarks
