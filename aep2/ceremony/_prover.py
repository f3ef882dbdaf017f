"""Running ``aep2-prover ceremony`` and ``export-solidity``: JSON on stdout, the reason on stderr."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from aep2.errors import CeremonyError, Reason
from aep2.prover import default_binary


def run_prover(
    args: list[str], *, stdin: bytes | None = None, reason: Reason = Reason.CEREMONY_REFUSED
) -> str:
    """Run ``aep2-prover <args>`` to completion (contributions take minutes to hours: no timeout)
    and return its stdout; a failure raises :class:`CeremonyError` with the prover's own message."""
    done = subprocess.run([str(default_binary()), *args], input=stdin, capture_output=True, check=False)
    if done.returncode != 0:
        stderr = done.stderr.decode(errors="replace")
        lines = [ln for ln in stderr.splitlines() if ln.startswith("aep2-prover")]
        message = lines[-1] if lines else stderr.strip()[-500:]
        message = message.removeprefix("aep2-prover ").removeprefix(f"{args[0]}: ")
        raise CeremonyError(message, reason=reason, args=args[:3])
    return done.stdout.decode()


def run_json(args: list[str], **kwargs: Any) -> Any:
    """:func:`run_prover` for a command that prints one JSON document."""
    return json.loads(run_prover(args, **kwargs))
