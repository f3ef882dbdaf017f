"""The ``aep2`` command: a thin shell over the library."""

from __future__ import annotations

import typer

from aep2.cli import (
    agent_key,
    alerts,
    ceremony,
    demo,
    devnet,
    evidence,
    mandate,
    pay,
    payee,
    payer,
    verifier,
    worker,
)
from aep2.cli._errors import run_reporting_errors

app = typer.Typer(help="aep2: per-call payments for AI agents.", no_args_is_help=True)
app.add_typer(mandate.app, name="mandate")
app.command(name="pay")(pay.pay)
app.add_typer(agent_key.agent_key_app, name="agent-key")
app.add_typer(payee.payee_app, name="payee")
app.add_typer(payer.payer_app, name="payer")
app.command(name="worker")(worker.worker)
app.command(name="settle")(worker.settle)
app.command(name="status")(worker.status)
app.command(name="demo")(demo.run)
app.add_typer(devnet.devnet_app, name="devnet")
app.add_typer(evidence.evidence_app, name="evidence")
app.add_typer(alerts.alerts_app, name="alerts")
app.add_typer(ceremony.ceremony_app, name="ceremony")
app.add_typer(verifier.verifier_app, name="verifier")


def main() -> None:
    """The ``aep2`` entry point: the Typer app, with user errors reported on one line."""
    run_reporting_errors(app)


__all__ = ["app", "main"]
