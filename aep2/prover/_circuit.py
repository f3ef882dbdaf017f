"""Circuit ids: where ``aep2-prover`` caches each size's keys (``$AEP2_HOME/circuits/<id>``).

``CIRCUIT_VERSION`` mirrors ``batch.Version`` in ``circuits/batch/circuit.go``; a test keeps the
two equal, so a new circuit never loads keys made for another.
"""

from __future__ import annotations

import os
from pathlib import Path

CIRCUIT_VERSION = "v3"


def circuit_id(n: int, p: int) -> str:
    return f"aep2-batch-{CIRCUIT_VERSION}-n{n}-p{p}"


def keys_dir(n: int, p: int) -> Path:
    """The key cache of one size: ``$AEP2_HOME`` (default ``~/.aep2``)``/circuits/<id>``."""
    return Path(os.environ.get("AEP2_HOME", Path.home() / ".aep2")) / "circuits" / circuit_id(n, p)
