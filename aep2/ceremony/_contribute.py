"""A participant's contribution in one call, and the coordinator's full re-check of a transcript."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aep2.ceremony._prover import run_json
from aep2.ceremony._status import read_status
from aep2.errors import CeremonyError, Reason

_STATE = re.compile(r"^(\d{4})\.(ph1|ph2)$")


@dataclass(frozen=True)
class Receipt:
    """What a contribution wrote: the new state, and the hash its contributor publishes."""

    phase: int
    file: Path
    contributor: str
    hash: str
    follows: str
    seconds: float


def contribute(path: Path, *, name: str, entropy: bytes | None = None, circuit: str | None = None) -> Receipt:
    """Contribute to the state at ``path`` and write the next one beside it.

    ``path`` is the state file a participant was handed (``0002.ph1`` → writes ``0003.ph1`` and
    its receipt ``0003.json``), or a ceremony directory, whose open phase is contributed to
    (``circuit`` picks among several open phase 2s). ``entropy`` is mixed with 64 bytes of the
    OS's randomness; neither is stored. Blocks for the whole contribution (minutes at real sizes).
    """
    args = [*_contribution_args(path, circuit), "--name", name]
    stdin = None
    if entropy:
        args.append("--entropy")
        stdin = entropy.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n"
    d = run_json(args, stdin=stdin)
    out = _written(path, args, d["file"])
    return Receipt(d["phase"], out, d.get("contributor", ""), d["hash"], d["follows"], d["seconds"])


def _contribution_args(path: Path, circuit: str | None) -> list[str]:
    if path.is_dir():
        return _directory_args(path, circuit)
    m = _STATE.match(path.name)
    if not m or not path.is_file():
        raise CeremonyError(f"{path} is neither a ceremony directory nor a state file (NNNN.ph1, NNNN.ph2)")
    out = path.with_name(f"{int(m[1]) + 1:04d}.{m[2]}")
    phase = "phase1" if m[2] == "ph1" else "phase2"
    return ["ceremony", phase, "contribute", "--in", str(path), "--out", str(out)]


def _directory_args(directory: Path, circuit: str | None) -> list[str]:
    open_phases = read_status(directory).open_phases()
    if not open_phases:
        raise CeremonyError(f"{directory}: no phase takes contributions (not started, or every phase sealed)")
    if open_phases[0].phase == 1:
        return ["ceremony", "phase1", "contribute", "--dir", str(directory)]
    ids = [p.circuit_id for p in open_phases]
    if circuit is None and len(ids) == 1:
        circuit = ids[0]
    if circuit not in ids:
        names = ", ".join(map(str, ids))
        raise CeremonyError(f"{directory}: name the circuit to contribute to, one of {names}")
    return ["ceremony", "phase2", "contribute", "--dir", str(directory), "--circuit", str(circuit)]


def _written(path: Path, args: list[str], name: str) -> Path:
    if "--out" in args:
        return Path(args[args.index("--out") + 1])
    phase_dir = "phase1" if args[1] == "phase1" else f"phase2/{args[args.index('--circuit') + 1]}"
    return path / phase_dir / name


def verify_transcript(
    directory: Path, *, home: Path | None = None, key_cache: bool = True, recompute: bool = False
) -> Any:
    """Re-check the whole transcript, first file to final keys (and the key cache under ``home``,
    default ``$AEP2_HOME``, unless ``key_cache`` is false); returns the prover's report.

    Raises :class:`CeremonyError` (``transcript_invalid``) naming the first step that fails.
    The seals and each circuit's points at τ are checked by random linear combinations (minutes
    at real sizes); ``recompute`` recomputes them as the coordinator did (hours).
    """
    args = ["ceremony", "verify-transcript", "--dir", str(directory)]
    if home is not None:
        args += ["--home", str(home)]
    if not key_cache:
        args.append("--no-key-cache")
    if recompute:
        args.append("--recompute")
    return run_json(args, reason=Reason.TRANSCRIPT_INVALID)
