"""The demo's one-time prerequisites: Groth16 dev keys and exported verifiers for its two circuits.

The demo proves agent-key mandates on the ``agent`` circuit of :data:`AGENT_SIZE` (one agent key
streaming to one payee fills it) and EIP-712 mandates on the ``batch`` circuit of
:data:`BATCH_SIZE`. Keys and verifiers are slow to make or need tools, so they are made once and
cached (keys under ``$AEP2_HOME/circuits``, verifiers as forge artefacts); a machine with nothing
configured gets them on first run, announced as the single-party dev setup they are.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.console import Console

from aep2.chain import Artifact
from aep2.devnet.verifier import verifier_artifact
from aep2.errors import ConfigurationError
from aep2.prover import Family, default_binary, verifier_contract
from aep2.prover import keys_dir as prover_keys_dir

BATCH_SIZE = (1, 1)
"""(N, P) of the demo's EIP-712 circuit: one mandate per proof (602k constraints each)."""
AGENT_SIZE = (64, 1)
"""(N, P) of the demo's agent circuit: 64 mandates of one (agent key, payee) pair per proof."""
N, P = BATCH_SIZE
SETUP_CPU_SECONDS = {"batch": 100, "agent": 65}  # measured for the sizes above on two cores


def size_of(family: Family) -> tuple[int, int]:
    return AGENT_SIZE if family == "agent" else BATCH_SIZE


def keys_dir(family: Family = "batch") -> Path:
    return prover_keys_dir(*size_of(family), family)


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


def ensure_keys(console: Console, family: Family = "batch") -> Path:
    """The family's cached dev keys, or a fresh single-party setup said out loud."""
    n, p = size_of(family)
    keys = keys_dir(family)
    if (keys / "proving.key").exists():
        console.print(f"Groth16 keys, {family} circuit N={n} P={p}: cached in {keys}")
        return keys
    console.rule("[bold red]SINGLE-PARTY DEV SETUP", style="red")
    console.print(
        f"[bold red]No Groth16 keys for the {family} circuit N={n} P={p}: generating them with "
        "`aep2-prover setup --dev`, a single-party development setup whose toxic waste this "
        "machine saw. Fine for a local demo, NEVER for production (use a multi-party ceremony). "
        f"About {SETUP_CPU_SECONDS[family]} CPU-seconds, once.[/]"
    )
    args = [str(default_binary()), "setup", "--dev", "--family", family, "--n", str(n), "--p", str(p)]
    _run(console, args, f"trusted setup ({family} N={n} P={p})")
    return keys


def ensure_verifier(console: Console, family: Family = "batch") -> Artifact:
    """The exported Solidity verifier of the family's cached keys; re-exported and built if it is
    missing or was built from other keys (a new circuit version or setup would reject every proof)."""
    n, p = size_of(family)
    with console.status(f"checking {verifier_contract(n, p, family)} against the keys …", spinner="dots"):
        return verifier_artifact(n, p, family)
