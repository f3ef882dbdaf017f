"""Issue #14, defect 7: a payer whose nonce journal is behind the payee resumes above ``nonceFloor``.

A payer that lost its journal (a restored backup, a second process on one key) used to fail once
for every nonce it had already used; now the first refusal tells it where to resume and it signs
once more above the floor. Real payee app (uvicorn), real payer SDK, real SQLite on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.fastmcp import FastMCP
from sqlalchemy import Engine

from aep2.payee import PayeeCheck, StaticChainView, create_app
from aep2.payer import APPROVED, REFUSED, LocalKeySigner, Payer, Policy
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from aep2.transports.mcp_client import PaidToolResult, call_tool_paid
from aep2.transports.mcp_server import add_paid_tool
from tests import payee_support as s


@pytest.fixture
def server(engine: Engine) -> Iterator[s.RunningServer]:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=100 * s.PRICE)
    with s.serve(create_app(settings=s.settings(), engine=engine, chain=chain)) as running:
        yield running


def payer_at(db: Path, *, margin: int = 60) -> Payer:
    return Payer(LocalKeySigner(s.PAYER_KEY), Policy(max_per_payment=s.PRICE), db=db, deadline_margin=margin)


def test_a_payer_that_lost_its_journal_resumes_above_the_floor(
    server: s.RunningServer, engine: Engine, tmp_path: Path
) -> None:
    old = payer_at(tmp_path / "old.db", margin=120)
    for _ in range(3):
        assert httpx.get(server.url + "/weather", auth=Aep2Auth(old)).status_code == 200
    old.close()
    fresh = payer_at(tmp_path / "restored.db")  # the journal is gone: it starts again at nonce 1
    response = httpx.get(server.url + "/weather", auth=Aep2Auth(fresh))
    assert response.status_code == 200, response.text
    receipt = payment_of(response).receipt
    assert receipt is not None and receipt.nonce == "4"
    assert s.stored(engine)[0] == 4
    signed = [e.nonce for e in fresh.audit.entries() if e.decision == APPROVED]
    assert signed == [1, 4], "one refusal, then one mandate above the payee's floor"
    # and from then on the journal is ahead again: no refusal at all
    again = httpx.get(server.url + "/weather", auth=Aep2Auth(fresh))
    assert payment_of(again).receipt.nonce == "5"  # type: ignore[union-attr]
    fresh.close()


def test_the_async_client_resumes_too(server: s.RunningServer, tmp_path: Path) -> None:
    old = payer_at(tmp_path / "old.db", margin=120)
    httpx.get(server.url + "/weather", auth=Aep2Auth(old))
    old.close()
    fresh = payer_at(tmp_path / "restored.db")

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(auth=Aep2Auth(fresh)) as client:
            return await client.get(server.url + "/weather")

    response = anyio.run(call)
    assert response.status_code == 200 and payment_of(response).receipt.nonce == "2"  # type: ignore[union-attr]
    fresh.close()


def test_other_refusals_are_not_retried(server: s.RunningServer, tmp_path: Path) -> None:
    poor = StaticChainView()  # a payee that sees no balance refuses with insufficient_headroom, once
    with s.serve(create_app(settings=s.settings(), engine=server_engine(tmp_path), chain=poor)) as running:
        payer = payer_at(tmp_path / "payer.db")
        response = httpx.get(running.url + "/weather", auth=Aep2Auth(payer))
        assert response.status_code == 402
        assert [e.nonce for e in payer.audit.entries() if e.decision == APPROVED] == [1]
        payer.close()


def server_engine(tmp_path: Path) -> Engine:
    from aep2.store import create_schema, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'poor.db'}")
    create_schema(engine)
    return engine


def get_weather(city: str) -> dict[str, str]:
    """The weather for a city."""
    return {"city": city, "weather": "sunny"}


def test_the_mcp_client_resumes_too(engine: Engine, tmp_path: Path) -> None:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=100 * s.PRICE)
    mcp = FastMCP("weather", stateless_http=True, json_response=True)
    check = PayeeCheck(settings=s.settings(), engine=engine, chain=chain)
    add_paid_tool(mcp, get_weather, check=check, price=s.PRICE)

    def call(url: str, payer: Payer) -> PaidToolResult:
        async def run() -> PaidToolResult:
            async with (
                streamable_http_client(url + "/mcp") as (read, write, _),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await call_tool_paid(session, payer, "get_weather", {"city": "Paris"})

        return anyio.run(run)

    with s.serve(mcp.streamable_http_app()) as running:
        old = payer_at(tmp_path / "old.db", margin=120)
        call(running.url, old)
        call(running.url, old)
        old.close()
        fresh = payer_at(tmp_path / "restored.db")
        result = call(running.url, fresh)
        fresh.close()
    assert not result.result.isError
    assert result.payment is not None and result.payment.receipt is not None
    assert result.payment.receipt.nonce == "3"


def test_a_refusal_is_in_the_audit_log_and_still_counts(server: s.RunningServer, tmp_path: Path) -> None:
    """A refused mandate is logged as refused_by_payee and keeps counting against the limits (fail
    closed: the payer cannot check the payee's word, and a kept mandate could still be settled)."""
    old = payer_at(tmp_path / "old.db", margin=120)
    httpx.get(server.url + "/weather", auth=Aep2Auth(old))
    old.close()
    fresh = payer_at(tmp_path / "restored.db")
    httpx.get(server.url + "/weather", auth=Aep2Auth(fresh))
    decisions = [(e.decision, e.nonce) for e in fresh.audit.entries()]
    assert decisions == [(APPROVED, 1), (REFUSED, 1), (APPROVED, 2)]
    fresh.close()
