"""Races over real HTTP: the same nonce, or one payer's headroom, sent concurrently.

Two uvicorn servers share one database (two payee processes in miniature), and
a burst of concurrent requests hits both; exactly the right number may win, on
SQLite (``BEGIN IMMEDIATE``) and on PostgreSQL (``SELECT … FOR UPDATE``).
Then the same races against ``uvicorn --workers K``: K real processes on one store,
which share no lock in memory, only the database's.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from aep2.devnet._process import free_port
from aep2.errors import Reason
from aep2.mandate import encode
from aep2.payee import StaticChainView, create_app
from aep2.protocol.call_ref import http_ref
from tests import payee_support as s
from tests.payee_worker_app import BALANCE_ENV, DATABASE_ENV
from tests.pg_server import store_engine

ROOT = Path(__file__).parents[1]

BURST = 24


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from store_engine(request, tmp_path, pool_size=BURST)


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


def burst(urls: list[str], mandate_headers: list[str], pids: set[str] | None = None) -> Counter[str]:
    """Send every mandate at once, alternating servers; count outcomes (200 or the 402 reason).

    ``pids`` collects the ``X-Worker-Pid`` of every answer, where the server names itself.
    """
    accepted = {
        "scheme": "aep2", "network": f"eip155:{s.CHAIN_ID}", "asset": s.TOKEN, "amount": str(s.PRICE),
        "payTo": s.PAYEE, "maxTimeoutSeconds": 60,
        "extra": {"escrow": s.ESCROW, "minDeadlineSeconds": s.HORIZON},
    }  # fmt: skip

    async def one(client: httpx.AsyncClient, url: str, header: str) -> str:
        response = await client.get(url, headers={"PAYMENT-SIGNATURE": s.x402_header(header, accepted)})
        if pids is not None:
            pids.add(response.headers.get("x-worker-pid", ""))
        if response.status_code == 200:
            return "accepted"
        assert response.status_code == 402, response.text
        return str(response.json()["error"])

    async def run() -> list[str]:
        limits = httpx.Limits(max_connections=BURST * 2)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            jobs = [
                one(client, urls[i % len(urls)] + "/weather", header)
                for i, header in enumerate(mandate_headers)
            ]
            return await asyncio.gather(*jobs)

    return Counter(asyncio.run(run()))


def ref_for(server: s.RunningServer | str) -> bytes:
    url = server if isinstance(server, str) else server.url
    return http_ref("GET", url + "/weather")


def test_same_nonce_race_accepts_exactly_one(
    servers: list[s.RunningServer], engine: Engine, chain: StaticChainView
) -> None:
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    # Each copy pays a different amount, so the digests differ and only the nonce collides.
    headers = [
        encode(s.sign(ref=ref_for(servers[i % 2]), nonce=42, amount=s.PRICE + i)) for i in range(BURST)
    ]
    outcomes = burst([x.url for x in servers], headers)
    assert outcomes == Counter({"accepted": 1, Reason.NONCE_REPLAYED.value: BURST - 1})
    assert s.stored(engine) == (1, 1, 1)


def test_headroom_race_never_overdraws(
    servers: list[s.RunningServer], engine: Engine, chain: StaticChainView
) -> None:
    fits = 5
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=fits * s.PRICE + s.PRICE // 2)
    headers = [encode(s.sign(ref=ref_for(servers[i % 2]), nonce=i + 1)) for i in range(BURST)]
    outcomes = burst([x.url for x in servers], headers)
    assert outcomes == Counter({"accepted": fits, Reason.INSUFFICIENT_HEADROOM.value: BURST - fits})
    assert s.stored(engine) == (fits, fits, fits)
    with engine.connect() as connection:
        unsettled = connection.execute(text("SELECT unsettled FROM exposures")).scalar_one()
    assert int(unsettled) == fits * s.PRICE


WORKERS = 2


@contextmanager
def worker_processes(engine: Engine, balance: int) -> Iterator[str]:
    """``uvicorn --workers 2`` over ``engine``'s database; yields its URL once both workers answer."""
    port = free_port()
    env = os.environ | {
        DATABASE_ENV: engine.url.render_as_string(hide_password=False),
        BALANCE_ENV: str(balance),
        "PYTHONWARNINGS": "ignore",
    }
    factory = "tests.payee_worker_app:create_app_from_env"
    args = [sys.executable, "-m", "uvicorn", "--factory", factory, "--workers", str(WORKERS),
            "--port", str(port), "--log-level", "warning", "--app-dir", str(ROOT),
            "--timeout-worker-healthcheck", "120"]  # fmt: skip
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 240  # two processes importing the stack on a loaded machine
        while len(seen) < WORKERS:  # fresh connections until each worker has answered one
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, f"workers answering: {seen}"
            try:
                seen.add(httpx.get(url + "/health", headers={"Connection": "close"}).headers["x-worker-pid"])
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def test_same_nonce_race_across_worker_processes_accepts_exactly_one(engine: Engine) -> None:
    with worker_processes(engine, balance=10**9) as url:
        headers = [encode(s.sign(ref=ref_for(url), nonce=42, amount=s.PRICE + i)) for i in range(BURST)]
        outcomes = burst([url], headers)
    assert outcomes == Counter({"accepted": 1, Reason.NONCE_REPLAYED.value: BURST - 1})
    assert s.stored(engine) == (1, 1, 1)


def test_headroom_race_across_worker_processes_never_overdraws(engine: Engine) -> None:
    fits = 5
    with worker_processes(engine, balance=fits * s.PRICE + s.PRICE // 2) as url:
        headers = [encode(s.sign(ref=ref_for(url), nonce=i + 1)) for i in range(BURST)]
        pids: set[str] = set()
        outcomes = burst([url], headers, pids)
    assert outcomes == Counter({"accepted": fits, Reason.INSUFFICIENT_HEADROOM.value: BURST - fits})
    assert s.stored(engine) == (fits, fits, fits)
    with engine.connect() as connection:
        unsettled = connection.execute(text("SELECT unsettled FROM exposures")).scalar_one()
    assert int(unsettled) == fits * s.PRICE
