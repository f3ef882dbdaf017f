"""gnark's exported Groth16 verifier per circuit size: found as a forge artefact, or exported and built.

A size is *real* when its dev keys exist under ``$AEP2_HOME/circuits`` (``aep2-prover setup``) and
its verifier ``BatchVerifierN{N}P{P}`` builds; exporting writes ``contracts/src/generated/``, the
generated folder ``make groth16`` writes for N=1, P=1, and never committed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from aep2.chain import Artifact, load_artifact
from aep2.devnet import find_tool, repo_root
from aep2.errors import ConfigurationError
from aep2.prover import default_binary


def keys_dir(n: int, p: int) -> Path:
    """Where ``aep2-prover setup --n N --p P`` caches the size's keys."""
    home = Path(os.environ.get("AEP2_HOME", Path.home() / ".aep2"))
    return home / "circuits" / f"aep2-batch-v1-n{n}-p{p}"


def _run(args: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-500:]
        raise ConfigurationError(f"{' '.join(args[:2])} failed ({done.returncode}): {tail}")


def groth16_artifact(n: int, p: int) -> Artifact:
    """The size's verifier artefact, exported from its keys and built by forge if not yet built.

    Raises :class:`ConfigurationError` (keys missing, export or build failed) with the reason.
    """
    name = f"BatchVerifierN{n}P{p}"
    if not (keys_dir(n, p) / "proving.key").exists():
        raise ConfigurationError(f"no proving key in {keys_dir(n, p)}")
    try:
        return load_artifact(name)
    except ConfigurationError:
        pass
    source = repo_root() / "contracts" / "src" / "generated" / f"{name}.sol"
    source.parent.mkdir(parents=True, exist_ok=True)
    binary = str(default_binary())  # its ProverError is a ConfigurationError
    _run([binary, "export-solidity", "--n", str(n), "--p", str(p), "--out", str(source)])
    _run([find_tool("forge"), "build", "--quiet"], cwd=repo_root() / "contracts")
    return load_artifact(name)
