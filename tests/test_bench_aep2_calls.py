"""The per-call aep2 harness: the payer SDK against the real payee app over HTTP, on a real anvil.

A smoke run of :func:`run_aep2_calls` must leave exactly one accepted mandate per paid call in the
payee's store, in nonce order per payer, and move nothing on chain; the payee it runs must refuse
an unpaid call and a payer without a deposit.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from aep2.chain import Stack, attestation_verifier, deploy_stack
from aep2.devnet import Anvil
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.store import MandateRow, make_engine
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from benchmarks._server import SERVER_TIMING
from benchmarks.aep2_calls import Aep2CallsResult, derived_key, run_aep2_calls
from benchmarks.aep2_calls._run import create_store, payee_server

PRICE = 1_000
CALLS, CONCURRENCY = 5, 2
PAID_CALLS = 2 + 2 * CALLS  # warm-up, sequential, concurrent


@pytest.fixture(scope="module")
def stack(w3: Web3, deployer_key: bytes) -> Stack:
    attester = Account.from_key(derived_key("test attester")).address
    return deploy_stack(w3, deployer_key, verifiers=[attestation_verifier(1, 1, 1, attester)])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("aep2-calls") / "payee.db"


@pytest.fixture(scope="module")
def result(anvil: Anvil, stack: Stack, store: Path) -> Aep2CallsResult:
    return run_aep2_calls(
        anvil, stack.escrow, stack.token, calls=CALLS, concurrency=CONCURRENCY, price=PRICE, db_path=store
    )


def test_every_paid_call_left_one_accepted_mandate(
    result: Aep2CallsResult, stack: Stack, store: Path
) -> None:
    assert result.paid_calls == PAID_CALLS
    assert result.accepted_mandates == PAID_CALLS
    assert result.db_path == str(store.resolve())
    engine = make_engine(f"sqlite:///{store}")
    try:
        with Session(engine) as session:
            rows = session.scalars(select(MandateRow)).all()
    finally:
        engine.dispose()
    nonces: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        assert (row.payee, row.escrow, row.token) == (result.payee_address, stack.escrow, stack.token)
        assert (row.amount, row.state, row.transport) == (str(PRICE), "accepted", "http")
        nonces[row.payer].append(int(row.nonce))
    # payer 0 pays the warm-up, the sequential phase and the larger share of the concurrent one
    first, second = result.payer_addresses
    assert {p: sorted(n) for p, n in nonces.items()} == {
        first: list(range(1, 2 + CALLS + 3 + 1)),
        second: list(range(1, 2 + 1)),
    }


def test_nothing_moves_on_chain_until_settlement(result: Aep2CallsResult, w3: Web3, stack: Stack) -> None:
    escrow = stack.escrow_client(w3)
    assert result.transactions_during_calls == 0
    assert result.deposit_per_payer == PRICE * PAID_CALLS
    for payer in result.payer_addresses:
        assert escrow.balance(payer, stack.token) == result.deposit_per_payer
        assert escrow.high_water(payer, result.payee_address) == 0
    assert escrow.payee_balance(result.payee_address, stack.token) == 0


def test_timings_are_recorded(result: Aep2CallsResult) -> None:
    assert result.payee_paid.runs == CALLS and result.client_paid.runs == CALLS
    assert result.payee_unpaid.runs >= 20
    for d in (result.payee_unpaid, result.payee_paid, result.client_unpaid, result.client_paid):
        assert 0 <= d.min_ms <= d.median_ms <= d.p99_ms <= d.max_ms
    # a paid call runs the payee's check and commits a mandate; an unpaid one does neither
    assert result.payee_paid.median_ms > result.payee_unpaid.median_ms
    assert result.client_paid.median_ms >= result.payee_paid.median_ms
    assert result.sequential_calls_per_s > 0 and result.concurrent_calls_per_s > 0
    summary = result.to_dict()
    assert "paid_payee_ms" not in summary and summary["payee_paid"]["runs"] == CALLS
    samples = json.loads(json.dumps(result.to_dict(samples=True)))
    assert len(samples["paid_payee_ms"]) == len(samples["paid_client_ms"]) == 2 * CALLS
    assert len(samples["unpaid_payee_ms"]) == result.payee_unpaid.runs


def test_payee_refuses_unpaid_and_unfunded_calls(anvil: Anvil, stack: Stack, tmp_path: Path) -> None:
    payee_key = derived_key("refusal payee")
    database_url = create_store(tmp_path / "payee.db")
    server = payee_server(anvil, stack.escrow, stack.token, payee_key, price=PRICE, database_url=database_url)
    broke = Payer(LocalKeySigner(derived_key("unfunded payer")), Policy(), db=tmp_path / "payer.db")
    try:
        with server as payee_url:
            free = httpx.get(f"{payee_url}/free")
            assert free.status_code == 200 and float(free.headers[SERVER_TIMING].split("dur=")[1]) >= 0

            unpaid = httpx.get(f"{payee_url}/paid")
            assert unpaid.status_code == 402
            [offer] = json.loads(base64.b64decode(unpaid.headers["payment-required"]))["accepts"]
            assert (offer["scheme"], offer["network"], offer["amount"]) == (
                "aep2",
                "eip155:31337",
                str(PRICE),
            )
            assert (offer["asset"], offer["payTo"]) == (stack.token, Account.from_key(payee_key).address)
            assert offer["extra"]["escrow"] == stack.escrow

            refused = httpx.get(f"{payee_url}/paid", auth=Aep2Auth(broke))
            assert refused.status_code == 402
            assert "insufficient_headroom" in str(payment_of(refused).error)
    finally:
        broke.close()
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            assert session.scalars(select(MandateRow)).all() == []
    finally:
        engine.dispose()


def test_run_refuses_an_empty_run_and_a_used_store(anvil: Anvil, stack: Stack, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        run_aep2_calls(anvil, stack.escrow, stack.token, calls=0)
    used = tmp_path / "payee.db"
    used.touch()
    with pytest.raises(FileExistsError, match="must start empty"):
        run_aep2_calls(anvil, stack.escrow, stack.token, calls=1, db_path=used)
