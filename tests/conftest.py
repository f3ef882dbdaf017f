"""Shared fixtures: real anvil and Redis processes on 127.0.0.1, stopped by PID at the end."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import Engine
from web3 import Web3

from aep2.devnet import Anvil, RedisServer
from aep2.store import create_schema, make_engine
from tests.pg_server import PostgresServer, start_postgres
from tests.test_payer_stub import PayeeStub, make_app, serve_app

# `make test` (and so CI) runs the "ci" profile: the same examples on every run, so a red CI is
# a regression, not a new random draw; plain `pytest` keeps exploring with fresh examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

VECTORS = Path(__file__).parent / "vectors" / "mandates.json"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL per test module; skips the module's PostgreSQL cases if none can start."""
    server = start_postgres()
    if isinstance(server, str):
        pytest.skip(f"PostgreSQL tests skipped: {server}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    with Anvil() as chain:
        yield chain


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="session")
def deployer_key(anvil: Anvil) -> bytes:
    return anvil.private_keys[0]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


# --- payer SDK (tests/test_payer_*.py, tests/test_policy_*.py) --------------------------------------

PAYER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
"""anvil's second account: a well-known devnet key, never a real one."""
PAYEE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ESCROW = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def aep2_requirement(**overrides: Any) -> dict[str, Any]:
    """A PaymentRequirements of scheme aep2 as a payee would send it (camelCase JSON)."""
    extra = {"escrow": ESCROW, "minDeadlineSeconds": 600, "ref": "0x" + "ab" * 32}
    extra.update(overrides.pop("extra", {}))
    requirement = {
        "scheme": "aep2",
        "network": "eip155:31337",
        "asset": TOKEN,
        "amount": "1000",
        "payTo": PAYEE,
        "maxTimeoutSeconds": 60,
        "extra": extra,
    }
    requirement.update(overrides)
    return requirement


@pytest.fixture
def payer_db(tmp_path: Path) -> Path:
    return tmp_path / "payer.db"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh payee store (SQLite file, schema created); modules needing another store override it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    return engine


@pytest.fixture
def stub() -> PayeeStub:
    """The payer tests' in-process payee (x402 v2 challenges, records what it was paid)."""
    return PayeeStub()


@pytest.fixture
def base_url(stub: PayeeStub) -> Iterator[str]:
    """``stub`` served by uvicorn on 127.0.0.1."""
    with serve_app(make_app(stub)) as url:
        yield url
