"""``aep2 ceremony``: a coordinator's view of a trusted-setup ceremony, a participant's one-command
contribution, and the full re-check of a transcript (``docs/ceremony.md``).

Exit codes: 0 done; 1 the transcript does not verify (the first bad step on stderr); 2 the command
could not run (no such directory, a refused contribution, the prover missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aep2.ceremony import Phase, contribute, read_status, verify_transcript
from aep2.cli._errors import USER_ERROR_EXIT, one_line
from aep2.errors import Aep2Error, CeremonyError, Reason

ceremony_app = typer.Typer(
    help="Run a trusted-setup ceremony: status, contribute, verify.", no_args_is_help=True
)

REFUSED_EXIT = 1


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"aep2: {one_line(exc)}", err=True)
    invalid = isinstance(exc, CeremonyError) and exc.reason == Reason.TRANSCRIPT_INVALID
    return typer.Exit(REFUSED_EXIT if invalid else USER_ERROR_EXIT)


def _phase_lines(p: Phase) -> list[str]:
    seal = f"sealed with {p.beacon['source']} ({p.beacon['value']})" if p.beacon else "open"
    lines = [f"{p.name} (2^{p.power}): {len(p.contributions)} contributions, {seal}"]
    for s in p.states:
        who = s.contributor or ("initial state" if s.index == 0 else "(no receipt)")
        took = f"  {s.seconds:.1f} s" if s.seconds is not None else ""
        lines.append(f"  {s.file}  {s.hash}  {who}{took}")
    lines += [f"  PROBLEM: {problem}" for problem in p.problems]
    return lines


@ceremony_app.command()
def status(directory: Annotated[Path, typer.Argument(help="the ceremony's directory")]) -> None:
    """Each phase's states, who contributed them, their hashes, and the file expected next."""
    try:
        st = read_status(directory)
    except (Aep2Error, OSError) as exc:
        raise _fail(exc) from None
    for phase in st.phases:
        typer.echo("\n".join(_phase_lines(phase)))
    typer.echo(f"next: {st.expected()}")


@ceremony_app.command(name="contribute")
def contribute_command(
    path: Annotated[Path, typer.Argument(help="the state file you were handed, or a ceremony directory")],
    name: Annotated[str, typer.Option("--name", help="your name as the transcript records it")],
    entropy: Annotated[
        bool, typer.Option("--entropy", help="also type some random text, mixed with the OS's randomness")
    ] = False,
    circuit: Annotated[
        str | None, typer.Option("--circuit", help="with a directory: which open phase 2")
    ] = None,
) -> None:
    """Contribute: read the state, mix in fresh secrets, write the next state and its receipt."""
    typed = typer.prompt("Random text (not echoed)", hide_input=True).encode() if entropy else None
    try:
        receipt = contribute(path, name=name, entropy=typed, circuit=circuit)
    except (Aep2Error, OSError) as exc:
        raise _fail(exc) from None
    typer.echo(f"wrote {receipt.file} and its receipt in {receipt.seconds:.0f} s")
    typer.echo(f"publish this SHA-256 of your contribution:\n\n    {receipt.hash}\n")
    typer.echo("then return the file and its .json receipt to the coordinator")


@ceremony_app.command()
def verify(
    directory: Annotated[Path, typer.Argument(help="the ceremony's directory")],
    home: Annotated[Path | None, typer.Option("--home", help="key cache root (default $AEP2_HOME)")] = None,
    key_cache: Annotated[
        bool, typer.Option("--key-cache/--no-key-cache", help="also require the key cache to hold its keys")
    ] = True,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute", help="recompute the seals and circuits' points at τ (hours at real sizes)"
        ),
    ] = False,
) -> None:
    """Re-check the whole transcript, first file to final keys (minutes at real sizes)."""
    try:
        report = verify_transcript(directory, home=home, key_cache=key_cache, recompute=recompute)
    except (Aep2Error, OSError) as exc:
        raise _fail(exc) from None
    typer.echo("\n".join(_report_lines(report)))


_HOW = {"checked": "checked by random linear combinations", "recomputed": "recomputed from phase 1"}


def _report_lines(report: dict[str, Any]) -> list[str]:
    def who(phase: dict[str, Any]) -> str:
        return ", ".join(c.get("contributor") or "(unnamed)" for c in phase["contributions"]) or "nobody"

    p1 = report["phase1"]
    lines = [f"phase 1 (2^{p1['power']}) by {who(p1)}; sealed with {p1['beacon']['source']}"]
    for p in report["phase2"]:
        lines.append(
            f"phase 2 of {p['circuitId']} by {who(p)}; sealed with {p['beacon']['source']}; "
            f"verifying key sha256 {p['verifyingKey']}; its points at τ {_HOW[p['evaluations']]}"
        )
    lines += [f"key cache {d} holds {cid}'s keys" for cid, d in (report.get("keys") or {}).items()]
    return ["ok: the transcript verifies", *lines]
