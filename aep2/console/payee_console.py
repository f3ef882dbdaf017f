"""The payee's console: five pages over the payee's store, mounted on the payee's own app.

``aep2 payee serve`` mounts it when a console token is configured (``console_token`` in
payee.yaml or ``AEP2_CONSOLE_TOKEN``); without one, ``/console`` answers 503 and says how to
enable it. The pages are a table (:data:`Page`), so the routes, the JSON API and the tests that
refuse every route without the credential all come from the same list.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Engine

from aep2.console.access import ConsoleAccess, how_to_enable
from aep2.console.queries_health import gas, health
from aep2.console.queries_payee import HeadroomOf, overview, problems, window_detail, windows
from aep2.console.shell import Console, Page, mount_console
from aep2.payee.chain_view import ChainView
from aep2.payee.headroom import Headroom


@dataclass(frozen=True)
class X402Reference:
    """Gas of one per-call x402 ``exact`` payment, and where the figure comes from."""

    gas: int
    source: str

    @classmethod
    def default(cls) -> X402Reference:
        """The benchmark's measurement when the repo has one, else the demo's recorded constant."""
        from aep2.demo.summary import x402_gas_per_payment

        return cls(*x402_gas_per_payment())


def headroom_from_chain(chain: ChainView, rule: Headroom, payee: str) -> HeadroomOf:
    """Headroom as the check computes it: what the escrow lets ``payee`` debit, less what it holds."""

    def headroom(payer: str, token: str, unsettled: int) -> int:
        position = chain.position(payer=payer, payee=payee, token=token)
        return rule.debitable(position, now=int(time.time())) - unsettled

    return headroom


def payee_pages(
    engine: Engine, *, broker_url: str | None, x402: X402Reference, headroom_of: HeadroomOf | None = None
) -> list[Page]:
    return [
        Page("overview", "", "Overview", "payee_overview.html", lambda: overview(engine, headroom_of)),
        Page("windows", "/windows", "Windows", "payee_windows.html", lambda: windows(engine)),
        Page("window", "/windows/{window_id:int}", "Window", "payee_window.html",
             lambda window_id: window_detail(engine, window_id)),
        Page("problems", "/problems", "Skipped & failed", "payee_problems.html", lambda: problems(engine)),
        Page("health", "/health", "Provers & workers", "payee_health.html",
             lambda: health(engine, broker_url)),
        Page("gas", "/gas", "Gas", "payee_gas.html",
             lambda: gas(engine, x402_gas=x402.gas, x402_source=x402.source)),
    ]  # fmt: skip


def mount_payee_console(
    app: FastAPI,
    engine: Engine,
    access: ConsoleAccess | None,
    *,
    broker_url: str | None = None,
    x402: X402Reference | None = None,
    headroom_of: HeadroomOf | None = None,
    refresh_seconds: float = 2.0,
) -> None:
    """Mount the payee console on ``app`` under ``/console``; disabled when ``access`` is None."""
    console = None
    if access is not None:
        pages = payee_pages(engine, broker_url=broker_url, x402=x402 or X402Reference.default(),
                            headroom_of=headroom_of)  # fmt: skip
        console = Console("aep2 payee", pages, access, refresh_seconds)
    mount_console(app, console, disabled_message=how_to_enable("console_token in payee.yaml"))
