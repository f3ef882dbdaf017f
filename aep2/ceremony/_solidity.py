"""The verifier a transcript's final key gives: gnark's exported Solidity, compiled as the
repository compiles its contracts (``contracts/foundry.toml``: its solc, optimizer and EVM
version), so its runtime code can be compared with a deployed verifier's byte for byte."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aep2.ceremony._prover import run_prover
from aep2.chain import Artifact
from aep2.devnet import repo_root
from aep2.devnet._tools import find_tool
from aep2.errors import CeremonyError, ConfigurationError

_CIRCUIT_ID = re.compile(r"^aep2-([a-z]+)-(v\d+)-n(\d+)-p(\d+)$")
_CONTRACT = re.compile(r"^contract (\w+) ", re.MULTILINE)


@dataclass(frozen=True)
class CompiledVerifier:
    """An exported verifier compiled by forge: what to deploy, and the runtime code it leaves."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # creation code, 0x-hex
    deployed: bytes  # runtime code

    @property
    def artifact(self) -> Artifact:
        return Artifact(self.name, self.abi, self.bytecode)


def parse_circuit_id(circuit: str) -> tuple[str, int, int]:
    """``aep2-<family>-<version>-n<N>-p<P>`` → (family, N, P)."""
    m = _CIRCUIT_ID.match(circuit)
    if not m:
        raise CeremonyError(f"{circuit!r} is not a circuit id (aep2-<family>-<version>-n<N>-p<P>)")
    return m[1], int(m[3]), int(m[4])


def final_key_path(transcript: Path, circuit: str) -> Path:
    """The transcript's final verifying key of ``circuit``; raises if that phase 2 is not sealed."""
    path = transcript / "phase2" / circuit / "verifying.key"
    if not path.is_file():
        sealed = sorted(p.parent.name for p in transcript.glob("phase2/*/verifying.key"))
        raise CeremonyError(
            f"{transcript} has no sealed phase 2 for {circuit} (sealed: {', '.join(sealed) or 'none'})"
        )
    return path


def transcript_verifier(transcript: Path, circuit: str) -> CompiledVerifier:
    """gnark's verifier for the transcript's final key of ``circuit``, compiled."""
    family, n, p = parse_circuit_id(circuit)
    vk = final_key_path(transcript, circuit)
    size = ["--family", family, "--n", str(n), "--p", str(p)]
    return compile_verifier(run_prover(["export-solidity", "--vk", str(vk), *size, "--out", "-"]))


def compile_verifier(source: str) -> CompiledVerifier:
    """Compile one exported verifier with forge and the contracts' foundry.toml, in a scratch
    output folder (the project's own build is untouched)."""
    m = _CONTRACT.search(source)
    if not m:
        raise ConfigurationError("no contract declaration in the exported verifier")
    name = m[1]
    with tempfile.TemporaryDirectory(prefix="aep2-verifier-") as tmp:
        path = Path(tmp) / f"{name}.sol"
        path.write_text(source)
        args = [find_tool("forge"), "build", str(path), "--out", f"{tmp}/out", "--cache-path", f"{tmp}/cache"]
        done = subprocess.run(
            args, cwd=repo_root() / "contracts", capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0:
            raise ConfigurationError(f"forge build {name} failed: {(done.stderr or done.stdout)[-500:]}")
        data = json.loads((Path(tmp) / "out" / f"{name}.sol" / f"{name}.json").read_text())
    return CompiledVerifier(
        name,
        data["abi"],
        data["bytecode"]["object"],
        bytes.fromhex(data["deployedBytecode"]["object"].removeprefix("0x")),
    )


def without_metadata(code: bytes) -> bytes:
    """Runtime code less solc's CBOR metadata (its last two bytes give its length), which hashes
    the source's path and the project's settings rather than anything the code does."""
    if len(code) < 2:
        return code
    n = int.from_bytes(code[-2:], "big")
    return code[: -(n + 2)] if n + 2 <= len(code) else code
