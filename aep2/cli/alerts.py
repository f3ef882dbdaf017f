"""``aep2 alerts send``, ``aep2 alerts list`` and ``aep2 alerts new-secret`` (docs/alerts.md).

``send`` delivers one outbox: the payee's store (``--db``, ``--config payee.yaml`` or
``AEP2_DATABASE_URL``), or with ``--payer-db`` the payer's database, whose audit log it first
turns into alerts. It runs until stopped, or with ``--once`` delivers what is due now and exits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, inspect, select

from aep2.alerts import AlertRow, Sender, SenderConfig, new_secret
from aep2.alerts.config import sender_config
from aep2.errors import ConfigurationError

alerts_app = typer.Typer(help="Deliver and inspect alert webhooks (docs/alerts.md).", no_args_is_help=True)
console = Console()

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="a payee.yaml: its store and its alert_webhook_*")
]
DbOption = Annotated[str | None, typer.Option("--db", help="the payee store's URL (wins over --config)")]
PayerDbOption = Annotated[
    Path | None, typer.Option("--payer-db", help="deliver the payer's alerts, from its audit log, instead")
]


def _outbox(db: str | None, config: Path | None, payer_db: Path | None) -> Engine:
    """The engine holding the outbox to work on; never a new, empty database."""
    if payer_db is not None:
        if db is not None or config is not None:
            raise ConfigurationError("--payer-db names the payer's outbox; leave out --db and --config")
        from aep2.alerts.payer_log import open_payer_outbox

        return open_payer_outbox(payer_db)
    from aep2.cli.worker import existing_store

    engine = existing_store(db, config)
    if not inspect(engine).has_table(AlertRow.__tablename__):
        raise ConfigurationError(
            "this store has no alert_outbox yet: apply the migrations (`aep2 payee serve` does on start)"
        )
    return engine


def _sender_config(config: Path | None, url: str | None) -> SenderConfig:
    secret = None
    if config is not None:
        from aep2.payee.config import load_settings

        settings = load_settings(config)
        url = url or settings.alert_webhook_url
        if settings.alert_webhook_secret is not None:
            secret = settings.alert_webhook_secret.get_secret_value()
    resolved = sender_config(url, secret)
    if resolved is None:
        raise ConfigurationError(
            "no alert webhook URL: pass --url, set alert_webhook_url in payee.yaml or AEP2_ALERT_WEBHOOK_URL"
        )
    return resolved


@alerts_app.command()
def send(
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
    payer_db: PayerDbOption = None,
    url: Annotated[
        str | None, typer.Option(help="the receiver (default: the config's, or the env's)")
    ] = None,
    poll: Annotated[float, typer.Option(help="seconds between passes when nothing is due")] = 1.0,
) -> None:
    """POST the outbox's due alerts, signed (Standard Webhooks), retrying with backoff."""
    engine = _outbox(db, config, payer_db)
    sender = Sender(engine, _sender_config(config, url))

    def collect() -> None:
        if payer_db is not None:
            from aep2.alerts.payer_log import collect as collect_payer

            collect_payer(engine)

    try:
        if once:
            collect()
            report = sender.send_due(limit=10_000)
            print(json.dumps({k: len(v) for k, v in vars(report).items()}))
        else:
            sender.run(poll=poll, before_pass=collect)
    except KeyboardInterrupt:  # at-least-once: an interrupted request is retried by the next run
        pass
    finally:
        sender.close()


@alerts_app.command(name="list")
def list_alerts(
    config: ConfigOption = None,
    db: DbOption = None,
    payer_db: PayerDbOption = None,
    status: Annotated[str | None, typer.Option(help="pending, delivered or dead (default: all)")] = None,
    limit: Annotated[int, typer.Option(help="the newest N")] = 20,
) -> None:
    """The outbox's newest alerts: type, status, attempts, next attempt and last error."""
    engine = _outbox(db, config, payer_db)
    query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
    if status is not None:
        query = query.where(AlertRow.status == status)
    table = Table(title="alerts")
    for column in ("id", "webhook-id", "type", "status", "attempts", "next attempt", "last error"):
        table.add_column(column)
    with engine.connect() as conn:
        for row in conn.execute(query):
            error = (row.last_error or "-")[:80]
            table.add_row(str(row.id), row.webhook_id, row.type, row.status, str(row.attempts),
                          str(row.next_attempt_at), error)  # fmt: skip
    console.print(table)


@alerts_app.command(name="new-secret")
def new_secret_command() -> None:
    """Print a fresh whsec_ secret for AEP2_ALERT_WEBHOOK_SECRET (and the receiver)."""
    print(new_secret())
