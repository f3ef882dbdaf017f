"""gnark's exported Groth16 verifier per circuit size, built from the keys the prover will use.

The demo, the devnet, the benchmarks and the tests register ``BatchVerifierN{N}P{P}`` (EIP-712
mandates) and ``AgentVerifierN{N}P{P}`` (agent-key mandates) for the dev keys in
``aep2.prover.keys_dir`` (``aep2-prover setup [--family agent]``). The forge artefact is used only
if it was compiled from exactly what ``aep2-prover export-solidity`` writes for those keys now (forge
records each source's keccak256 in the artefact's metadata): a verifier left from older keys or an
older circuit version would reject every proof. Otherwise the source is exported into
``contracts/src/generated/`` (the folder ``make groth16`` writes, never committed) and forge builds it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from eth_hash.auto import keccak

from aep2.chain import Artifact, load_artifact
from aep2.chain.artifacts import artifacts_dir
from aep2.devnet._tools import find_tool, repo_root
from aep2.errors import ConfigurationError
from aep2.prover import Family, default_binary, keys_dir, verifier_contract


def _run(args: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-500:]
        raise ConfigurationError(f"{' '.join(args[:2])} failed ({done.returncode}): {tail}")
    return done.stdout


def _built_from(name: str) -> str | None:
    """The keccak256 (0x-hex) of the source the artefact ``name`` was compiled from, if it exists."""
    path = artifacts_dir() / f"{name}.sol" / f"{name}.json"
    if not path.exists():
        return None
    sources = json.loads(path.read_text())["metadata"]["sources"]
    return next((s["keccak256"] for key, s in sources.items() if key.endswith(f"/{name}.sol")), None)


def verifier_artifact(n: int, p: int, family: Family = "batch") -> Artifact:
    """The size's verifier artefact for its current keys, exported and built by forge if need be.

    Raises :class:`ConfigurationError` (keys missing, export or build failed) with the reason.
    """
    name = verifier_contract(n, p, family)
    if not (keys_dir(n, p, family) / "proving.key").exists():
        raise ConfigurationError(f"no proving key in {keys_dir(n, p, family)}")
    args = [str(default_binary()), "export-solidity", "--family", family, "--n", str(n), "--p", str(p)]
    args += ["--out", "-"]
    source = _run(args)
    digest = "0x" + keccak(source.encode()).hex()
    if _built_from(name) != digest:
        path = repo_root() / "contracts" / "src" / "generated" / f"{name}.sol"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        _run([find_tool("forge"), "build", "--quiet"], cwd=repo_root() / "contracts")
        if _built_from(name) != digest:
            raise ConfigurationError(f"forge did not build {path} into {name}'s artefact")
    return load_artifact(name)
