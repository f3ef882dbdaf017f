"""Races over real HTTP: the same nonce, or one payer's headroom, sent concurrently.

Two uvicorn servers share one database (two payee processes in miniature), and
a burst of concurrent requests hits both; exactly the right number may win, on
SQLite (``BEGIN IMMEDIATE``) and on PostgreSQL (``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from aep2.errors import Reason
from aep2.mandate import encode
from aep2.payee import StaticChainView, create_app
from aep2.protocol.call_ref import http_ref
from aep2.store import create_schema, make_engine
from tests import payee_support as s
from tests.pg_server import PostgresServer, start_postgres

BURST = 24


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    if isinstance(server, str):
        pytest.skip(f"PostgreSQL tests skipped: {server}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        engine = make_engine(server.url, pool_size=BURST)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def chain() -> StaticChainView:
    return StaticChainView()


@pytest.fixture
def servers(engine: Engine, chain: StaticChainView) -> Iterator[list[s.RunningServer]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(s.serve(create_app(settings=s.settings(), engine=engine, chain=chain)))
            for _ in range(2)
        ]


def burst(servers: list[s.RunningServer], mandate_headers: list[str]) -> Counter[str]:
    """Send every mandate at once, alternating servers; count outcomes (200 or the 402 reason)."""
    accepted = {
        "scheme": "aep2", "network": f"eip155:{s.CHAIN_ID}", "asset": s.TOKEN, "amount": str(s.PRICE),
        "payTo": s.PAYEE, "maxTimeoutSeconds": 60,
        "extra": {"escrow": s.ESCROW, "minDeadlineSeconds": s.HORIZON},
    }  # fmt: skip

    async def one(client: httpx.AsyncClient, url: str, header: str) -> str:
        response = await client.get(url, headers={"PAYMENT-SIGNATURE": s.x402_header(header, accepted)})
        if response.status_code == 200:
            return "accepted"
        assert response.status_code == 402, response.text
        return str(response.json()["error"])

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=BURST * 2)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            jobs = [
                one(client, servers[i % len(servers)].url + "/weather", header)
                for i, header in enumerate(mandate_headers)
            ]
            return await asyncio.gather(*jobs)

    return Counter(asyncio.run(run()))


def ref_for(server: s.RunningServer) -> bytes:
    return http_ref("GET", server.url + "/weather")


def test_same_nonce_race_accepts_exactly_one(
    servers: list[s.RunningServer], engine: Engine, chain: StaticChainView
) -> None:
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    # Each copy pays a different amount, so the digests differ and only the nonce collides.
    headers = [
        encode(s.sign(ref=ref_for(servers[i % 2]), nonce=42, amount=s.PRICE + i)) for i in range(BURST)
    ]
    outcomes = burst(servers, headers)
    assert outcomes == Counter({"accepted": 1, Reason.NONCE_REPLAYED.value: BURST - 1})
    assert s.stored(engine) == (1, 1, 1)


def test_headroom_race_never_overdraws(
    servers: list[s.RunningServer], engine: Engine, chain: StaticChainView
) -> None:
    fits = 5
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=fits * s.PRICE + s.PRICE // 2)
    headers = [encode(s.sign(ref=ref_for(servers[i % 2]), nonce=i + 1)) for i in range(BURST)]
    outcomes = burst(servers, headers)
    assert outcomes == Counter({"accepted": fits, Reason.INSUFFICIENT_HEADROOM.value: BURST - fits})
    assert s.stored(engine) == (fits, fits, fits)
    with engine.connect() as connection:
        unsettled = connection.execute(text("SELECT unsettled FROM exposures")).scalar_one()
    assert int(unsettled) == fits * s.PRICE
