"""The demo's one-time prerequisites: the N=1, P=1 Groth16 dev keys and the exported verifier.

Both are slow or need tools, so they are made once and cached (keys under ``$AEP2_HOME/circuits``,
the verifier as a forge artefact); a machine with nothing configured gets them on first run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.console import Console

from aep2.chain import Artifact
from aep2.devnet.verifier import verifier_artifact
from aep2.errors import ConfigurationError
from aep2.prover import default_binary
from aep2.prover import keys_dir as prover_keys_dir

N, P = 1, 1
VERIFIER = f"BatchVerifierN{N}P{P}"


def keys_dir() -> Path:
    return prover_keys_dir(N, P)


def _run(console: Console, args: list[str], what: str, cwd: Path | None = None) -> None:
    """Run a tool under a spinner; the child is killed if we are interrupted (Ctrl-C)."""
    with (
        console.status(f"{what} …", spinner="dots"),
        subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc,
    ):
        try:
            out, _ = proc.communicate()
        except BaseException:
            proc.kill()
            raise
    if proc.returncode != 0:
        raise ConfigurationError(f"{what} failed:\n{out.decode(errors='replace')[-2000:]}")


def ensure_keys(console: Console) -> Path:
    """The cached dev keys, or a fresh single-party setup (about 100 CPU-seconds) said out loud."""
    keys = keys_dir()
    if (keys / "proving.key").exists():
        console.print(f"Groth16 keys N={N} P={P}: cached in {keys}")
        return keys
    console.rule("[bold red]SINGLE-PARTY DEV SETUP", style="red")
    console.print(
        "[bold red]No Groth16 keys found. Generating them with `aep2-prover setup --dev`: a single-party\n"
        "development setup whose toxic waste this machine saw. Fine for a local demo, NEVER for\n"
        "production (use a multi-party ceremony). This takes about 100 CPU-seconds, once.[/]"
    )
    _run(console, [str(default_binary()), "setup", "--dev", "--n", str(N), "--p", str(P)], "trusted setup")
    return keys


def ensure_verifier(console: Console) -> Artifact:
    """The exported Solidity verifier of the cached keys; re-exported and built if it is missing or
    was built from other keys (a new circuit version or a new setup would reject every proof)."""
    with console.status(f"checking {VERIFIER} against the keys …", spinner="dots"):
        return verifier_artifact(N, P)
