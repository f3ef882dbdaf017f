"""Contract artefacts built by ``forge build`` (``contracts/out``), loaded by name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aep2.devnet import repo_root
from aep2.errors import ConfigurationError


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def artifacts_dir() -> Path:
    return repo_root() / "contracts" / "out"


def load_artifact(name: str, source: str | None = None) -> Artifact:
    """The ABI and creation bytecode of contract ``name`` from ``<source or name>.sol``."""
    path = artifacts_dir() / f"{source or name}.sol" / f"{name}.json"
    if not path.exists():
        raise ConfigurationError(f"no artefact {path}; run `make contracts` (forge build)", artifact=name)
    data = json.loads(path.read_text())
    return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"]["object"])
