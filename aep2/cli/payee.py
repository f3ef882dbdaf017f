"""``aep2 payee init | serve``: write a commented ``payee.yaml``, then serve it.

``serve`` serves the config's paid HTTP routes, its MCP tools at ``/mcp``, its A2A skill at
``/a2a/``, plus ``/health`` and ``/metrics``. ``init`` writes the config (every field explained,
docs/payee.md) and a key file. A thin shell: everything is a library call (``load_settings``,
``write_payee_config``, ``make_engine``, ``create_app``, ``mount_paid_transports``, ``Web3ChainView``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine
from web3 import Web3

from aep2.chain import EscrowClient
from aep2.console import TOKEN_ENV, ConsoleAccess, configured_token, headroom_from_chain, mount_payee_console
from aep2.devnet.state import read_state
from aep2.errors import ConfigurationError
from aep2.payee import Settings, create_app, load_settings
from aep2.payee.chain_view import ChainView
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payee.headroom import Headroom
from aep2.payee.heap import freeze_startup_heap
from aep2.payee.init_config import PayeeInit, write_payee_config
from aep2.settlement.metrics import mount_metrics
from aep2.settlement.timing import SettlementTiming, check_timing
from aep2.store import make_engine
from aep2.store.engine import upgrade_to_head

CONFIG_ENV, BASE_URL_ENV = "AEP2_PAYEE_CONFIG", "AEP2_PAYEE_BASE_URL"
"""How ``serve --workers`` hands its config and URL to the worker processes uvicorn spawns."""
WORKER_APP = "aep2.cli.payee_worker:create_worker_app"
WORKER_START_SECONDS = 120
"""How long uvicorn waits for a worker's first health answer. A spawned worker re-imports this
module (the parent's ``__main__``) before it can answer, seconds of CPU for the whole stack, so
uvicorn's 5 s default kills and respawns workers forever on a busy machine."""

payee_app = typer.Typer(help="The payee: serve a paid API that accepts aep2 mandates.", no_args_is_help=True)


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


def mount_console(app: FastAPI, settings: Settings, engine: Engine, view: ChainView) -> str:
    """Mount ``/console`` (disabled without a token); what to tell the operator about it."""
    secret = settings.console_token.get_secret_value() if settings.console_token else None
    token = configured_token(secret)
    access = ConsoleAccess(token, settings.console_allow_remote) if token else None
    rule = Headroom(settings.settlement_horizon_seconds, settings.require_reservations,
                    settings.max_exposure_per_payer)  # fmt: skip
    mount_payee_console(
        app, engine, access, broker_url=os.environ.get("AEP2_BROKER_URL"),
        headroom_of=headroom_from_chain(view, rule, settings.payee),
    )  # fmt: skip
    return "/console" if access else f"disabled (set {TOKEN_ENV} or console_token to enable)"


def build_served_app(settings: Settings, base_url: str) -> tuple[FastAPI, str]:
    """The app ``serve`` runs (in each worker process with ``--workers``); what to say of the console."""
    from aep2.transports.paid_app import mount_paid_transports  # the MCP and A2A servers: serve only

    view = chain_view(settings)
    engine = make_engine(settings.database_url)
    agent_keys = view if "agent" in settings.mandate_kinds else None
    app = create_app(settings=settings, engine=engine, chain=view, agent_keys=agent_keys)
    mount_paid_transports(app, settings, base_url)
    mount_metrics(app, engine, os.environ.get("AEP2_BROKER_URL"))
    return app, mount_console(app, settings, engine, view)


@payee_app.command()
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", exists=True, dir_okay=False, help="YAML config")],
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8402,
    workers: Annotated[
        int, typer.Option(min=1, help="server processes on the one store (docs/payee.md, 'Several workers')")
    ] = 1,
) -> None:
    """Serve the routes of CONFIG, each charging its price per call."""
    settings = load_settings(config)
    check_settlement_fits(settings, chain_view(settings).w3)
    migrate(make_engine(settings.database_url))
    base_url = settings.public_url or f"http://{host}:{port}"
    if workers > 1:
        # Each worker builds its own app, engine and chain view (aep2.cli.payee_worker); the
        # store's locks, not anything in memory, keep them from accepting a mandate twice.
        os.environ[CONFIG_ENV], os.environ[BASE_URL_ENV] = str(config.resolve()), base_url
        typer.echo(f"aep2 payee {settings.payee} on {base_url}: {workers} worker processes")
        uvicorn.run(
            WORKER_APP, factory=True, workers=workers, host=host, port=port, log_level="warning",
            timeout_worker_healthcheck=WORKER_START_SECONDS,
        )  # fmt: skip
        return
    app, console = build_served_app(settings, base_url)
    typer.echo(
        f"aep2 payee {settings.payee} on {base_url}: {len(settings.routes)} paid route(s), "
        f"{len(settings.tools)} MCP tool(s) at /mcp, {len(settings.skills)} A2A skill(s) at /a2a/; "
        f"mandate kinds: {', '.join(settings.mandate_kinds)}; console: {console}"
    )
    freeze_startup_heap()
    uvicorn.run(app, host=host, port=port, log_level="warning")


@payee_app.command()
def init(
    folder: Annotated[
        Path, typer.Option("--dir", file_okay=False, help="where to write payee.yaml and payee.key")
    ] = Path(),
    from_devnet: Annotated[
        Path | None,
        typer.Option("--from-devnet", dir_okay=False, help="a devnet file: its chain and payee key"),
    ] = None,
    chain_id: Annotated[int | None, typer.Option(help="chain id of the escrow's EIP-712 domain")] = None,
    rpc_url: Annotated[str | None, typer.Option(help="JSON-RPC endpoint")] = None,
    escrow: Annotated[str | None, typer.Option(help="escrow address")] = None,
    token: Annotated[str | None, typer.Option(help="accepted token address")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing payee.yaml and payee.key")] = False,
) -> None:
    """Write a commented payee.yaml and a payee.key (generated, or the devnet's payee key)."""
    init = _init_values(from_devnet, chain_id, rpc_url, escrow, token)
    config, key_file = write_payee_config(folder, init, force=force)
    typer.echo(f"wrote {config} and {key_file}; next: aep2 payee serve --config {config}")


def _init_values(
    devnet: Path | None, chain_id: int | None, rpc_url: str | None, escrow: str | None, token: str | None
) -> PayeeInit:
    """The devnet's values, each overridden by an explicit option; all four required without one."""
    if devnet is not None:
        state = read_state(devnet)
        agent = any(v.family == "agent" for v in state.verifiers)  # its agent mandates can settle
        return PayeeInit(
            chain_id=chain_id or state.chain_id, rpc_url=rpc_url or state.rpc_url,
            escrow=escrow or state.escrow, token=token or state.token, key=state.payee.key_bytes,
            mandate_kinds=("eip712", "agent") if agent else ("eip712",),
        )  # fmt: skip
    if chain_id is None or rpc_url is None or escrow is None or token is None:
        raise ConfigurationError(
            "pass --from-devnet FILE, or all of --chain-id, --rpc-url, --escrow and --token"
        )
    return PayeeInit(chain_id=chain_id, rpc_url=rpc_url, escrow=escrow, token=token)


if __name__ == "__main__":
    payee_app()
