"""``aep2 payee …``: run an example paid API from a YAML config.

    chain_id: 31337
    rpc_url: http://127.0.0.1:8545
    escrow: "0x…"
    tokens: ["0x…"]
    payee_key_file: payee.key        # relative to the config file; holds 0x-hex
    settlement_horizon_seconds: 3600  # must cover the pipeline's worst case, below withdrawDelay
    require_reservations: false       # true: accept only against payers' reservations for us
    max_exposure_per_payer: 1000000   # most of a payer's free balance to accept against
    database_url: sqlite:///payee.db  # else AEP2_DATABASE_URL, else ~/.aep2/payee.db
    routes:
      - {path: /weather, price: 1000, description: "today's weather"}

A thin shell: everything it does is a library call (``load_settings``,
``make_engine``, ``create_app``, ``Web3ChainView``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import Engine
from web3 import Web3

from aep2.chain import EscrowClient
from aep2.errors import ConfigurationError
from aep2.payee import Settings, create_app, load_settings
from aep2.payee.chain_web3 import Web3ChainView
from aep2.settlement.metrics import mount_metrics
from aep2.settlement.timing import SettlementTiming, check_timing
from aep2.store import make_engine
from aep2.store.engine import upgrade_to_head

payee_app = typer.Typer(help="The payee: serve a paid API that accepts aep2 mandates.", no_args_is_help=True)


@payee_app.callback()
def _payee() -> None:
    """Keeps ``serve`` a subcommand (``aep2 payee serve``) even while it is the only one."""


def migrate(engine: Engine) -> None:
    """``alembic upgrade head`` with the migrations shipped in ``aep2.store.migrations``."""
    upgrade_to_head(engine.url.render_as_string(hide_password=False))


def chain_view(settings: Settings) -> Web3ChainView:
    if settings.rpc_url is None:
        raise ConfigurationError("rpc_url is required: the check reads balances and nonces from the escrow")
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 10}))
    return Web3ChainView(
        w3=w3, escrow=settings.escrow, max_age=min(60.0, settings.settlement_horizon_seconds)
    )


def check_settlement_fits(settings: Settings, w3: Web3) -> None:
    """Refuse to start when the horizon and the pipeline's bounds do not fit the escrow's withdrawDelay."""
    try:
        delay = EscrowClient.at(w3, settings.escrow).withdraw_delay()
    except Exception as exc:  # any RPC or ABI failure: the payee cannot check, so it does not start
        raise ConfigurationError(f"cannot read withdrawDelay of the escrow {settings.escrow}: {exc}") from exc
    check_timing(
        horizon=settings.settlement_horizon_seconds, timing=SettlementTiming.from_env(), withdraw_delay=delay
    )


@payee_app.command()
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", exists=True, dir_okay=False, help="YAML config")],
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8402,
) -> None:
    """Serve the routes of CONFIG, each charging its price per call."""
    settings = load_settings(config)
    view = chain_view(settings)
    check_settlement_fits(settings, view.w3)
    engine = make_engine(settings.database_url)
    migrate(engine)
    app = create_app(settings=settings, engine=engine, chain=view)
    mount_metrics(app, engine, os.environ.get("AEP2_BROKER_URL"))
    typer.echo(f"aep2 payee {settings.payee} on http://{host}:{port} ({len(settings.routes)} paid routes)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    payee_app()
