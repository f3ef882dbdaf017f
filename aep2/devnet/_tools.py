"""Finding the binaries aep2 runs (anvil, forge, redis-server, aep2-prover) and the repository."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from aep2.errors import ConfigurationError


def repo_root() -> Path:
    """The source checkout: ``AEP2_REPO`` if set, else the directory above this package."""
    env = os.environ.get("AEP2_REPO")
    return Path(env) if env else Path(__file__).resolve().parents[2]


def find_tool(name: str) -> str:
    """``AEP2_<NAME>`` if set, else ``PATH``, else the repo's ``.tools/bin`` and ``bin`` (``make``)."""
    override = os.environ.get(f"AEP2_{name.upper().replace('-', '_')}")
    if override:
        return override
    found = shutil.which(name)
    if found:
        return found
    for folder in (repo_root() / ".tools" / "bin", repo_root() / "bin"):
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    raise ConfigurationError(
        f"{name} not found on PATH nor in .tools/bin or bin; run `make setup`", tool=name
    )
