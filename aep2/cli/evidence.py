"""``aep2 evidence export`` and ``aep2 evidence verify``: one mandate's dispute evidence.

Exit codes of ``verify``: 0 every check of the parts present passed; 1 a check failed (its code
and message on stderr, ``docs/errors.md`` "Dispute evidence"); 2 the checks could not run (no
such file, the RPC unreachable, contract artefacts missing). ``export`` exits 2 on any error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from requests.exceptions import RequestException
from sqlalchemy.exc import SQLAlchemyError
from web3 import Web3
from web3.exceptions import Web3Exception

from aep2.cli._errors import USER_ERROR_EXIT, one_line
from aep2.errors import Aep2Error, EvidenceError
from aep2.evidence import export_evidence, offline_checks, on_chain_checks, read_evidence

evidence_app = typer.Typer(
    help="Export one mandate's dispute evidence, or verify an evidence file.", no_args_is_help=True
)

REFUSED_EXIT = 1
_CANNOT_CHECK = (Aep2Error, OSError, ValueError, SQLAlchemyError, RequestException, Web3Exception)


def _web3(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))


@evidence_app.command()
def export(
    digest: Annotated[str, typer.Argument(help="the mandate's digest, as its receipt names it")],
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="the payee's store (default: AEP2_DATABASE_URL)")
    ] = None,
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", envvar="AEP2_RPC_URL", help="the chain (agent mandates need it)"),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of stdout")] = None,
) -> None:
    """Write the evidence of one stored mandate: mandate, call, receipt and settlement."""
    from aep2.cli.worker import existing_store

    try:
        engine = existing_store(database_url, None)
        evidence = export_evidence(engine, digest, w3=_web3(rpc_url) if rpc_url else None)
        text = evidence.dumps()
        if out is not None:
            out.write_text(text)
    except _CANNOT_CHECK as exc:
        typer.echo(f"aep2: {one_line(exc)}", err=True)
        raise typer.Exit(USER_ERROR_EXIT) from None
    if out is None:
        typer.echo(text, nl=False)
        return
    absent = f"; absent: {', '.join(evidence.absent)}" if evidence.absent else ""
    typer.echo(f"wrote {out}: {', '.join(evidence.present)}{absent}", err=True)


@evidence_app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="an evidence file (aep2 evidence export)")],
    rpc_url: Annotated[
        str | None, typer.Option("--rpc-url", help="also check the settlement on this chain")
    ] = None,
) -> None:
    """Re-check every part of an evidence file offline, and on chain given --rpc-url."""
    try:
        evidence = read_evidence(file)
        for check in offline_checks(evidence):
            typer.echo(check.line())
        if rpc_url is not None:
            for check in on_chain_checks(evidence, _web3(rpc_url)):
                typer.echo(check.line())
    except EvidenceError as exc:
        typer.echo(f"FAILED  {exc.reason}: {exc.message}", err=True)
        raise typer.Exit(REFUSED_EXIT) from None
    except _CANNOT_CHECK as exc:
        typer.echo(f"aep2: could not check: {one_line(exc)}", err=True)
        raise typer.Exit(USER_ERROR_EXIT) from None
    for part in evidence.absent:
        typer.echo(f"absent  {part}")
    where = "offline and on chain" if rpc_url is not None else "offline (--rpc-url checks the chain too)"
    typer.echo(f"verified {where}: {', '.join(evidence.present)}")
