"""The payer's console: four pages over the payer's database, policy and agent key grants.

Unlike the payee's it is its own small app (``aep2 payer console``): a payer has no server of
its own to mount it on. Same shell, same rules: a token or no console, loopback unless allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine

from aep2.console.access import ConsoleAccess, how_to_enable
from aep2.console.queries_payer import (
    AgentKeyStatus,
    KeyInfoOf,
    agent_keys,
    approvals_waiting,
    audit_log,
    spend,
)
from aep2.console.shell import Console, Page, mount_console


def payer_pages(
    engine: Engine,
    *,
    policy: Path,
    grants: Sequence[Path],
    key_info: KeyInfoOf | None,
    chain_now: Callable[[], float] | None = None,
) -> list[Page]:
    """The page table; ``chain_now`` (the latest block's time) judges the keys' validity as the
    escrow does, this machine's clock without it."""

    def keys() -> list[AgentKeyStatus]:
        return agent_keys(engine, grants, key_info, now=chain_now() if chain_now is not None else None)

    return [
        Page("spend", "", "Spend vs caps", "payer_spend.html", lambda: spend(engine, policy)),
        Page("audit", "/audit", "Audit log", "payer_audit.html", lambda: audit_log(engine)),
        Page("approvals", "/approvals", "Approvals waiting", "payer_approvals.html",
             lambda: approvals_waiting(engine)),
        Page("keys", "/keys", "Agent keys", "payer_keys.html", keys),
    ]  # fmt: skip


def create_payer_console(
    engine: Engine,
    access: ConsoleAccess | None,
    *,
    policy: Path,
    grants: Sequence[Path] = (),
    key_info: KeyInfoOf | None = None,
    chain_now: Callable[[], float] | None = None,
    refresh_seconds: float = 2.0,
) -> FastAPI:
    """The payer console's app (everything under ``/console``); disabled when ``access`` is None."""
    app = FastAPI(title="aep2 payer console", docs_url=None, redoc_url=None, openapi_url=None)
    console = None
    if access is not None:
        pages = payer_pages(engine, policy=policy, grants=grants, key_info=key_info, chain_now=chain_now)
        console = Console("aep2 payer", pages, access, refresh_seconds)
    mount_console(app, console, disabled_message=how_to_enable("--token"))
    return app
