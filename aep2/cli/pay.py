"""``aep2 pay URL``: fetch a URL, paying its 402 with an aep2 mandate, and print the receipt.

A thin shell over :class:`~aep2.payer.Payer` and :class:`~aep2.transports.httpx_auth.Aep2Auth`.
The body goes to stdout and the receipt to stderr (``--json`` prints one
object with both), so ``aep2 pay URL > out`` keeps the body clean.

Exit codes: 0 served (paid with a valid receipt, or free), 1 served or
answered without a valid receipt, 2 refused by the payer (policy, approval,
ref), 3 bad usage or setup.

Wire it into the main CLI with ``app.command("pay")(pay)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from aep2.errors import Aep2Error, PayerError
from aep2.payer import LocalKeySigner, Payer
from aep2.payer._wire import Payment
from aep2.transports.httpx_auth import PAYMENT_EXTENSION, Aep2Auth

app = typer.Typer(help="Pay for HTTP calls with aep2 mandates.")


def _summary(response: httpx.Response, payment: Payment | None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": response.status_code, "paid": payment is not None}
    if payment is not None:
        m = payment.mandate.mandate
        out["mandate"] = {
            "digest": "0x" + payment.mandate.digest.hex(), "payee": m.payee, "token": m.token,
            "amount": str(m.amount), "nonce": str(m.nonce), "deadline": str(m.deadline),
        }  # fmt: skip
        out["receipt"] = None if payment.receipt is None else payment.receipt.model_dump()
        out["error"] = payment.error
    return out


@app.command("pay")
def pay(
    url: Annotated[str, typer.Argument(help="the URL to fetch")],
    key_file: Annotated[
        Path,
        typer.Option("--key-file", envvar="AEP2_PAYER_KEY_FILE", help="file holding the payer's hex key"),
    ],
    policy: Annotated[
        Path, typer.Option("--policy", envvar="AEP2_PAYER_POLICY", help="spending policy YAML (required)")
    ],
    db: Annotated[
        Path | None, typer.Option("--db", envvar="AEP2_PAYER_DB", help="payer database [~/.aep2/payer.db]")
    ] = None,
    chain: Annotated[int | None, typer.Option("--chain", help="pay only on this chain id")] = None,
    method: Annotated[str, typer.Option("--method", "-X", help="HTTP method")] = "GET",
    data: Annotated[str | None, typer.Option("--data", "-d", help="request body")] = None,
    verify_ref: Annotated[bool, typer.Option(help="refuse a payee that bills another call")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 30.0,
) -> None:
    """Fetch URL; if it answers 402, pay it with an aep2 mandate under the policy, then print the receipt."""
    try:
        payer = Payer(LocalKeySigner.from_file(key_file), policy, db=db)
    except (OSError, ValueError) as exc:
        typer.echo(f"aep2 pay: cannot set up the payer: {exc}", err=True)
        raise typer.Exit(3) from None
    auth = Aep2Auth(payer, chain_id=chain, verify_ref=verify_ref)
    try:
        with httpx.Client(auth=auth, timeout=timeout) as client:
            response = client.request(method, url, content=None if data is None else data.encode())
    except PayerError as exc:
        typer.echo(
            json.dumps({"refused": exc.to_dict()}) if as_json else f"aep2 pay: refused: {exc}",
            err=not as_json,
        )
        raise typer.Exit(2) from None
    except (Aep2Error, httpx.HTTPError) as exc:
        typer.echo(f"aep2 pay: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        payer.close()
    payment = response.extensions.get(PAYMENT_EXTENSION)
    summary = _summary(response, payment if isinstance(payment, Payment) else None)
    if as_json:
        typer.echo(json.dumps({**summary, "body": response.text}, indent=2))
    else:
        sys.stdout.write(response.text)
        typer.echo(json.dumps(summary, indent=2), err=True)
    served = response.is_success and (payment is None or summary.get("receipt") is not None)
    raise typer.Exit(0 if served else 1)
