#!/usr/bin/env bash
# Regenerate tests/vectors/settlement_packing.json (packed settlements and their
# public inputs, for the escrow's tests) and tests/vectors/groth16_pipeline.json:
# a verifying key and a proof of
# the small pipeline circuit (circuits/prover/groth16_test.go) that the
# Python py_ecc verifier (aep2/prover/_verify.py) is tested against.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/circuits"
AEP2_WRITE_PIPELINE_FIXTURE="$root/tests/vectors/groth16_pipeline.json" \
  go test -count=1 -run TestGroth16Pipeline ./prover
AEP2_WRITE_PACKING_VECTOR="$root/tests/vectors/settlement_packing.json" \
  go test -count=1 -run TestPackingVector ./witness
