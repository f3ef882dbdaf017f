"""Circuit ids: where ``aep2-prover`` caches each size's keys (``$AEP2_HOME/circuits/<id>``).

A circuit id names its family (``batch`` for EIP-712 mandates, ``agent`` for agent-key mandates),
the family's statement version and the size: ``aep2-<family>-<version>-n<N>-p<P>``.
``CIRCUIT_VERSION`` mirrors ``batch.Version`` in ``circuits/batch/circuit.go`` and
``AGENT_CIRCUIT_VERSION`` ``agent.Version`` in ``circuits/agent/circuit.go``; a test keeps them
equal, so a new circuit never loads keys made for another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

Family = Literal["batch", "agent"]

CIRCUIT_VERSION: Final = "v3"
AGENT_CIRCUIT_VERSION: Final = "v4"
FAMILY_VERSIONS: Final[dict[str, str]] = {"batch": CIRCUIT_VERSION, "agent": AGENT_CIRCUIT_VERSION}


def circuit_id(n: int, p: int, family: Family = "batch") -> str:
    return f"aep2-{family}-{FAMILY_VERSIONS[family]}-n{n}-p{p}"


def verifier_contract(n: int, p: int, family: Family = "batch") -> str:
    """The exported Solidity verifier's contract name (``aep2-prover export-solidity``)."""
    return f"{family.capitalize()}VerifierN{n}P{p}"


def keys_dir(n: int, p: int, family: Family = "batch") -> Path:
    """The key cache of one size: ``$AEP2_HOME`` (default ``~/.aep2``)``/circuits/<id>``."""
    home = Path(os.environ.get("AEP2_HOME", Path.home() / ".aep2"))
    return home / "circuits" / circuit_id(n, p, family)
