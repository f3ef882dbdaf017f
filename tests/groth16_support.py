"""The smallest real circuit (N=1, P=1) for tests that prove with gnark Groth16.

``make groth16`` (part of ``make test`` and ``make demo``) runs the one-time single-party dev
setup (~500 CPU-seconds, cached under ``$AEP2_HOME/circuits``) and exports and builds the
Solidity verifier. Without them these tests skip with that instruction, except under
``make test``, which sets ``AEP2_REQUIRE_GROTH16=1`` so a missing step fails instead of hiding.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from aep2.chain import VerifierSpec
from aep2.chain.artifacts import Artifact
from aep2.devnet.verifier import verifier_artifact
from aep2.errors import ConfigurationError
from aep2.prover import circuit_id, default_binary, verifier_contract
from aep2.prover import keys_dir as prover_keys_dir
from aep2.settlement.planner import CircuitSize

N1P1 = CircuitSize(verifier_id=1, mandates=1, pairs=1)
CIRCUIT_ID = circuit_id(1, 1)
VERIFIER_ARTIFACT = "BatchVerifierN1P1"


def keys_dir() -> Path:
    return prover_keys_dir(1, 1)


def _missing(message: str) -> None:
    if os.environ.get("AEP2_REQUIRE_GROTH16") == "1":
        pytest.fail(f"{message} (make test ran `make groth16` first, so this is a bug)")
    pytest.skip(f"{message}: run `make groth16` once (~500 CPU-seconds)")


def groth16_verifier_spec(verifier_id: int = N1P1.verifier_id) -> VerifierSpec:
    """The exported N=1,P=1 verifier of the keys the prover will use, ready for ``deploy_stack``.

    Re-exported and rebuilt when the built one came from other keys (``verifier_artifact``), so a
    verifier left by another key cache never makes every proof revert; skips or fails without keys.
    """
    if not (keys_dir() / "proving.key").exists():
        _missing(f"no Groth16 dev keys in {keys_dir()}")
    try:
        artifact = verifier_artifact(1, 1)
    except ConfigurationError as exc:
        _missing(f"{VERIFIER_ARTIFACT} could not be exported and built: {exc}")
    return VerifierSpec(verifier_id, N1P1.mandates, N1P1.pairs, artifact)


def verifying_key_json() -> dict[str, Any]:
    """The verifying key as ``aep2-prover export-vk`` prints it, for the independent py_ecc check."""
    out = subprocess.run(
        [str(default_binary()), "export-vk", "--n", "1", "--p", "1"],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


# --- the agent family --------------------------------------------------------------------------

AGENT_VERIFIER_ARTIFACT = verifier_contract(1, 1, "agent")


def agent_keys_dir() -> Path:
    return prover_keys_dir(1, 1, "agent")


def agent_verifier_artifact() -> Artifact:
    """The exported agent verifier of N=1, P=1 for the keys in use; skips or fails without keys."""
    if not (agent_keys_dir() / "proving.key").exists():
        _missing(f"no agent Groth16 dev keys in {agent_keys_dir()}")
    try:
        return verifier_artifact(1, 1, "agent")
    except ConfigurationError as exc:
        _missing(f"{AGENT_VERIFIER_ARTIFACT} could not be exported and built: {exc}")
        raise


def agent_verifying_key_json() -> dict[str, Any]:
    """The agent N=1 verifying key as ``aep2-prover export-vk --family agent`` prints it."""
    out = subprocess.run(
        [str(default_binary()), "export-vk", "--family", "agent", "--n", "1", "--p", "1"],
        check=True,
        capture_output=True,
        timeout=120,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]
