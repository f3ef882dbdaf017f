"""``aep2 verifier check``: is an escrow's registered verifier the one a ceremony's transcript
seals? (``docs/ceremony.md`` "Checking a deployment").

Exit codes: 0 it is; 1 it is not (why on stderr); 2 the check could not run (RPC unreachable,
no such verifier or transcript circuit, forge missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import Web3Exception

from aep2.ceremony import check_verifier, verify_transcript
from aep2.cli._errors import USER_ERROR_EXIT, one_line
from aep2.errors import Aep2Error

verifier_app = typer.Typer(help="Check the verifiers an escrow uses.", no_args_is_help=True)

REFUSED_EXIT = 1


@verifier_app.command()
def check(
    rpc: Annotated[str, typer.Option("--rpc", envvar="AEP2_RPC_URL", help="the chain's JSON-RPC URL")],
    escrow: Annotated[str, typer.Option("--escrow", help="the escrow's address")],
    verifier_id: Annotated[int, typer.Option("--verifier-id", help="the verifier id to check")],
    transcript: Annotated[Path, typer.Option("--transcript", help="the ceremony's transcript directory")],
    circuit: Annotated[
        str | None,
        typer.Option("--circuit", help="compare with this transcript circuit, not the registered one"),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--verify-transcript", help="first re-check the whole transcript (minutes, real sizes)"),
    ] = False,
) -> None:
    """Compare the verifier's deployed code with the transcript's verifier for its circuit."""
    try:
        if full:
            verify_transcript(transcript, key_cache=False)
            typer.echo(f"ok: transcript {transcript} verifies")
        w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
        result = check_verifier(w3, escrow, verifier_id, transcript, circuit=circuit)
    except (Aep2Error, OSError, ValueError, RequestException, Web3Exception) as exc:
        typer.echo(f"aep2: {one_line(exc)}", err=True)
        raise typer.Exit(USER_ERROR_EXIT) from None
    if not result.ok:
        typer.echo(result.lines()[0], err=True)
        typer.echo(f"aep2: {one_line(result.failure())}", err=True)
        raise typer.Exit(REFUSED_EXIT)
    typer.echo("\n".join(result.lines()))
