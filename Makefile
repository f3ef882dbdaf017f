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

.PHONY: help setup venv foundry contracts circuits redis test test-contracts test-circuits test-python demo bench vectors lint gas-snapshot

help:
	@echo "make test    install everything, then forge test, go test and pytest"
	@echo "make demo    install everything, then run the main job end to end"
	@echo "make bench   benchmarks (aep2 against per-call x402)"

setup: venv foundry contracts circuits redis

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

# --- Go: the circuit and aep2-prover ----------------------------------------
circuits:
	cd circuits && go build ./... && if [ -d cmd/aep2-prover ]; then go build -o $(ROOT)/bin/aep2-prover ./cmd/aep2-prover; fi

# --- Redis from Debian, if missing --------------------------------------------
redis:
	command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	redis-server --version

# --- Tests ---------------------------------------------------------------------
test: setup test-contracts test-circuits test-python

test-contracts: contracts
	cd contracts && forge test

# Rewrites contracts/.gas-snapshot and contracts/snapshots/*.json (commit both).
gas-snapshot: contracts
	cd contracts && forge snapshot --no-match-contract Invariant

test-circuits: circuits
	cd circuits && go vet ./... && go test ./...

test-python: venv contracts circuits redis
	$(PY) scripts/gen_vectors.py --check
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check aep2 workers tests benchmarks scripts
	$(PY) -m ruff format --check aep2 workers tests benchmarks scripts
	$(PY) -m mypy aep2

vectors: venv
	$(PY) scripts/gen_vectors.py

# --- The main job -----------------------------------------------------------
demo: venv contracts circuits
	$(VENV)/bin/aep2 demo

bench: venv contracts circuits redis
	$(PY) -m benchmarks
