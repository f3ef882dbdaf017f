"""Soak: many payers pay several payees over HTTP; windows close while calls go on; a final audit.

``make test`` runs the short version; ``make soak`` (``pytest -m slow``) the long one: 500+
mandates from 20 payers to 3 payees. Proofs come from the attestation stand-in, because this
exercises the pipeline's bookkeeping at volume, not the circuit (Groth16 at N=1 is ~90 CPU-s
per mandate on this machine). The audit: every mandate settled, each payee's on-chain credit
equals the sum of its settled mandates, each payer debited exactly its own, high-water marks
at the last nonce, and the store's exposure back to zero.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

import aep2.settlement.models  # noqa: F401
from aep2.chain import attestation_verifier, deploy_stack
from aep2.devnet import Anvil, RedisServer
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.settlement.models import WindowRow
from aep2.settlement.pipeline import close_window
from aep2.settlement.planner import CircuitSize
from aep2.store import ExposureRow, MandateRow, create_schema, make_engine
from aep2.transports.httpx_auth import Aep2Auth
from tests.payee_support import serve
from tests.settlement_support import WorkerProcess, World, wait_until
from workers.celery import make_app

SIZES = (CircuitSize(1, 8, 4), CircuitSize(2, 32, 8))
PRICE = 1_000
DEPOSIT = 10**9


def soak(tmp_path: Path, *, payers: int, payees: int, calls_per_payer: int, windows: int) -> None:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        owner, submitter, attester, *keys = node.private_keys
        specs = [
            attestation_verifier(s.verifier_id, s.mandates, s.pairs, Account.from_key(attester).address)
            for s in SIZES
        ]
        stack = deploy_stack(w3, owner, verifiers=specs)
        db_url = f"sqlite:///{tmp_path / 'payee.db'}"
        engine = make_engine(db_url)
        create_schema(engine)
        world = World.on(w3, stack, [owner, submitter, attester, *keys], engine, SIZES)
        payee_keys = [world.new_payee_key() for _ in range(payees)]
        with RedisServer() as redis, _servers(world, payee_keys) as urls:
            env = {
                "AEP2_BROKER_URL": redis.url,
                "AEP2_DATABASE_URL": db_url,
                "AEP2_RPC_URL": node.rpc_url,
                "AEP2_ESCROW": stack.escrow,
                "AEP2_SUBMITTER_KEY": submitter.hex(),
                "AEP2_CIRCUITS": ",".join(f"{s.verifier_id}:{s.mandates}:{s.pairs}" for s in SIZES),
                "AEP2_SETTLEMENT_PROVER": "attestation:" + attester.hex(),
            }
            worker = WorkerProcess(env, tmp_path / "worker.log").start()
            app = make_app(redis.url)
            try:
                accounts = []
                for i in range(payers):
                    key = world.new_account()
                    world.fund(key, DEPOSIT)
                    accounts.append(Payer(LocalKeySigner(key), Policy(), db=tmp_path / f"payer{i}.db"))
                clients = [httpx.Client(auth=Aep2Auth(p), timeout=60) for p in accounts]
                started = time.monotonic()
                per_window = max(1, calls_per_payer // windows)
                for round_ in range(calls_per_payer):
                    for i, client in enumerate(clients):
                        url = urls[(i + round_) % len(urls)]
                        response = client.get(f"{url}/weather")
                        assert response.status_code == 200, response.text
                    if (round_ + 1) % per_window == 0:
                        _close(world, app)
                for client in clients:
                    client.close()

                def done() -> bool:
                    with Session(engine) as s:
                        states = set(s.execute(select(MandateRow.state)).scalars())
                    if states <= {"settled"}:
                        return True
                    if "accepted" in states and not _open_windows(world):
                        _close(world, app)
                    return False

                wait_until(done, 600, "every mandate settled", log=worker.log)
                print(
                    f"soak: {payers * calls_per_payer} mandates settled in {time.monotonic() - started:.1f}s"
                )
            finally:
                worker.stop()
            _audit(world, accounts, [world.address(k) for k in payee_keys], payers * calls_per_payer)
        engine.dispose()


def _close(world: World, app: object) -> None:
    closed = close_window(world.engine, world.chain, SIZES)
    for chunk_id in closed.chunk_ids:
        app.send_task("aep2.prove_chunk", args=[chunk_id])  # type: ignore[attr-defined]


def _open_windows(world: World) -> bool:
    with Session(world.engine) as s:
        states = set(s.execute(select(WindowRow.state)).scalars())
    return bool(states & {"proving", "proved", "submitted"})


def _audit(world: World, payers: list[Payer], payees: list[str], expected: int) -> None:
    token = world.token.address
    with Session(world.engine) as s:
        rows = s.execute(select(MandateRow)).scalars().all()
        exposures = s.execute(select(ExposureRow.unsettled)).scalars().all()
        windows = s.execute(select(WindowRow)).scalars().all()
    assert len(rows) == expected and {r.state for r in rows} == {"settled"}
    assert len(windows) >= 2 and all(w.state == "settled" for w in windows)
    for payee in payees:
        owed = sum(int(r.amount) for r in rows if r.payee == payee)
        assert world.escrow.payee_balance(payee, token) == owed
    for payer in payers:
        mine = [r for r in rows if r.payer == payer.address]
        assert world.escrow.balance(payer.address, token) == DEPOSIT - sum(int(r.amount) for r in mine)
        for payee in payees:
            nonces = [int(r.nonce) for r in mine if r.payee == payee]
            assert world.escrow.high_water(payer.address, payee) == max(nonces, default=0)
    on_chain = sum(world.escrow.payee_balance(p, token) for p in payees)
    assert on_chain == sum(int(r.amount) for r in rows) == expected * PRICE
    assert all(e == "0" for e in exposures)


@contextmanager
def _servers(world: World, payee_keys: list[bytes]) -> Iterator[list[str]]:
    """One real payee server per payee key, all writing the same store."""
    with ExitStack() as stack:
        urls = []
        for key in payee_keys:
            settings = Settings(
                chain_id=world.w3.eth.chain_id,
                escrow=world.escrow.address,
                tokens=[world.token.address],
                payee_key="0x" + key.hex(),
                settlement_horizon_seconds=3600,
                routes=[Route(path="/weather", price=PRICE)],
            )
            app = create_app(
                settings=settings, engine=world.engine, chain=Web3ChainView(world.w3, world.escrow.address)
            )
            urls.append(stack.enter_context(serve(app)).url)
        yield urls


def test_soak_short(tmp_path: Path) -> None:
    soak(tmp_path, payers=4, payees=3, calls_per_payer=6, windows=3)


@pytest.mark.slow
def test_soak_500_mandates_20_payers_3_payees(tmp_path: Path) -> None:
    soak(tmp_path, payers=20, payees=3, calls_per_payer=26, windows=4)
