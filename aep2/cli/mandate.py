"""``aep2 mandate``: digest, sign and verify mandates held in JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aep2.cli._io import read_private_key, read_signed, read_unsigned
from aep2.errors import Aep2Error
from aep2.mandate import encode, to_wire

app = typer.Typer(help="Digest, sign and verify payment mandates.", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="mandate as JSON")]


def _fail(exc: Aep2Error) -> None:
    typer.echo(f"rejected: {exc.reason}: {exc.message}", err=True)
    raise typer.Exit(code=1)


@app.command()
def digest(file: FileArg) -> None:
    """Print the EIP-712 digest the payer signs."""
    try:
        domain, mandate = read_unsigned(file)
    except Aep2Error as exc:
        _fail(exc)
        return
    typer.echo("0x" + mandate.digest(domain).hex())


@app.command()
def sign(
    file: FileArg,
    key_file: Annotated[
        Path, typer.Option("--key-file", exists=True, dir_okay=False, help="hex private key")
    ],
    header: Annotated[bool, typer.Option("--header", help="print the base64 header instead of JSON")] = False,
) -> None:
    """Sign a mandate with a local key and print the signed mandate."""
    try:
        domain, mandate = read_unsigned(file)
        signed = mandate.sign(domain, read_private_key(key_file))
    except Aep2Error as exc:
        _fail(exc)
        return
    if signed.recover() != mandate.payer:
        typer.echo(
            f"warning: the key signs as {signed.recover()}, not as the payer {mandate.payer}", err=True
        )
    typer.echo(encode(signed) if header else json.dumps(to_wire(signed), indent=2, sort_keys=True))


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="signed mandate: JSON or header")],
) -> None:
    """Check a signed mandate's fields and signature; exit 1 with the reason if it is bad."""
    try:
        signed = read_signed(file)
        signed.verify()
    except Aep2Error as exc:
        _fail(exc)
        return
    typer.echo(f"valid: signed by the payer {signed.mandate.payer}, digest 0x{signed.digest.hex()}")
