"""``aep2 payer console``: the payer's console on this machine, over its database and policy.

A thin shell over :func:`aep2.console.payer_console.create_payer_console`. It refuses to start
without a token (``--token`` or ``AEP2_CONSOLE_TOKEN``), and binds 127.0.0.1 unless told otherwise
with both ``--host`` and ``--allow-remote`` (docs/console.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from aep2.console.access import ConsoleAccess, configured_token, how_to_enable
from aep2.console.payer_console import create_payer_console
from aep2.console.queries_payer import KeyInfoOf, open_read_only
from aep2.payer import GrantRecord, default_path, open_engine, sidecar_path

BlockTime = Callable[[], float]

payer_app = typer.Typer(help="The payer's own tools.", no_args_is_help=True)


def _chain(rpc_url: str | None, grants: list[Path]) -> tuple[KeyInfoOf | None, BlockTime | None]:
    """The escrow's record of each key and the latest block's time, read through ``rpc_url`` (the
    grants name the escrow); neither without one."""
    if rpc_url is None or not grants:
        return None, None
    from web3 import Web3

    from aep2.chain import EscrowClient

    escrow = GrantRecord.read(grants[0]).domain.escrow
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))

    def block_time() -> float:
        return float(w3.eth.get_block("latest")["timestamp"])

    return EscrowClient.at(w3, escrow).agent_key, block_time


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@payer_app.command()
def console(
    policy: Annotated[
        Path,
        typer.Option("--policy", envvar="AEP2_PAYER_POLICY", exists=True, dir_okay=False, help="policy YAML"),
    ],
    db: Annotated[
        Path | None, typer.Option("--db", envvar="AEP2_PAYER_DB", help="payer database [~/.aep2/payer.db]")
    ] = None,
    agent_key: Annotated[
        list[Path] | None,
        typer.Option("--agent-key", help="an agent key file (its grant beside it); repeatable"),
    ] = None,
    rpc_url: Annotated[
        str | None, typer.Option(help="read each key's cap, spent and revocation from chain")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="AEP2_CONSOLE_TOKEN", help="the console's access token")
    ] = None,
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8403,
    allow_remote: Annotated[bool, typer.Option(help="answer clients off this machine")] = False,
) -> None:
    """Serve the payer console: spend against each policy cap, the audit log, approvals, agent keys."""
    secret = configured_token(token)
    if secret is None:
        typer.echo(f"aep2 payer console: {how_to_enable('--token')}", err=True)
        raise typer.Exit(3)
    if not _loopback(host) and not allow_remote:
        typer.echo(
            f"aep2 payer console: --host {host} is not loopback; add --allow-remote to mean it", err=True
        )
        raise typer.Exit(3)
    try:
        access = ConsoleAccess(secret, allow_remote)
    except ValueError as exc:
        typer.echo(f"aep2 payer console: {exc}", err=True)
        raise typer.Exit(3) from None
    grants = [sidecar_path(path) for path in agent_key or []]
    path = db if db is not None else default_path()
    open_engine(path).dispose()  # create or upgrade it as the SDK would, then read it read-only
    engine = open_read_only(path)
    key_info, chain_now = _chain(rpc_url, grants)
    app = create_payer_console(
        engine, access, policy=policy, grants=grants, key_info=key_info, chain_now=chain_now
    )
    typer.echo(f"aep2 payer console on http://{host}:{port}/console")
    uvicorn.run(app, host=host, port=port, log_level="warning")
