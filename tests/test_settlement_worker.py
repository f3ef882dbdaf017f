"""The pipeline as deployed: paid HTTP calls to a real payee, Redis, a Celery worker *process*, anvil.

Proofs come from the escrow's ``AttestationVerifier`` stand-in so these run in seconds; the
Groth16 path is ``tests/test_settlement_groth16.py`` (slow). Every test ends with each mandate
settled (or failed with a reason) and the chain's totals equal to the settled mandates' sum.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

import aep2.settlement.models  # noqa: F401  (registers the settlement tables)
from aep2.chain import Stack, attestation_verifier, deploy_stack
from aep2.devnet import Anvil, RedisServer
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.settlement.metrics import mount_metrics
from aep2.settlement.models import ChunkRow, WindowRow
from aep2.settlement.pipeline import close_window
from aep2.settlement.planner import CircuitSize
from aep2.store import MandateRow, create_schema, make_engine
from aep2.transports.httpx_auth import Aep2Auth
from tests.payee_support import serve
from tests.settlement_support import WorkerProcess, World, wait_until
from workers.celery import make_app

SIZES = (CircuitSize(1, 2, 1), CircuitSize(2, 4, 2))
PRICE = 1_000


@dataclass
class Rig:
    world: World
    redis: RedisServer
    worker: WorkerProcess
    payee_url: str
    payee_key: bytes
    tmp: Path

    @property
    def payee(self) -> str:
        return self.world.address(self.payee_key)

    def celery(self) -> Any:
        return make_app(self.redis.url)

    def payer(self, deposit: int) -> Payer:
        key = self.world.new_account()
        self.world.fund(key, deposit)
        return Payer(LocalKeySigner(key), Policy(), db=self.tmp / f"payer-{Account.from_key(key).address}.db")

    def pay(self, payer: Payer, calls: int) -> None:
        with httpx.Client(auth=Aep2Auth(payer), timeout=30) as client:
            for _ in range(calls):
                response = client.get(f"{self.payee_url}/weather")
                assert response.status_code == 200, response.text

    def close_and_enqueue(self) -> int:
        """Close a window (committed), then enqueue its chunks, as ``workers.tasks`` does."""
        closed = close_window(self.world.engine, self.world.chain, SIZES)
        assert closed.window_id is not None, closed
        app = self.celery()
        for chunk_id in closed.chunk_ids:
            app.send_task("aep2.prove_chunk", args=[chunk_id])
        return closed.window_id

    def window_state(self, window_id: int) -> str:
        with Session(self.world.engine) as s:
            window = s.get(WindowRow, window_id)
            assert window is not None
            return window.state

    def mandate_states(self) -> dict[str, int]:
        with Session(self.world.engine) as s:
            out: dict[str, int] = {}
            for state in s.execute(select(MandateRow.state)).scalars():
                out[state] = out.get(state, 0) + 1
            return out

    def audit(self, payers: list[Payer]) -> None:
        """On-chain totals equal the sum of the settled mandates; no payer debited twice."""
        token = self.world.token.address
        with Session(self.world.engine) as s:
            rows = s.execute(select(MandateRow)).scalars().all()
        settled = [r for r in rows if r.state == "settled"]
        assert all(r.state in ("settled", "failed") for r in rows), self.mandate_states()
        assert self.world.escrow.payee_balance(self.payee, token) == sum(int(r.amount) for r in settled)
        for payer in payers:
            mine = [r for r in settled if r.payer == payer.address]
            assert self.world.escrow.balance(payer.address, token) == 10**9 - sum(int(r.amount) for r in mine)
            if mine:
                assert self.world.escrow.high_water(payer.address, self.payee) == max(
                    int(r.nonce) for r in mine
                )


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[Web3, Stack, list[bytes]]]:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        owner, submitter, attester, *keys = node.private_keys
        specs = [
            attestation_verifier(s.verifier_id, s.mandates, s.pairs, Account.from_key(attester).address)
            for s in SIZES
        ]
        stack = deploy_stack(w3, owner, verifiers=specs)
        yield w3, stack, [owner, submitter, attester, *keys]


@pytest.fixture
def rig(deployed: tuple[Web3, Stack, list[bytes]], tmp_path: Path) -> Iterator[Rig]:
    w3, stack, (owner, submitter, attester, *keys) = deployed
    db_url = f"sqlite:///{tmp_path / 'payee.db'}"
    engine = make_engine(db_url)
    create_schema(engine)
    world = World.on(w3, stack, [owner, submitter, attester, *keys], engine, SIZES)
    payee_key = world.new_payee_key()
    settings = Settings(
        chain_id=w3.eth.chain_id,
        escrow=stack.escrow,
        tokens=[stack.token],
        payee_key="0x" + payee_key.hex(),
        settlement_horizon_seconds=3600,
        routes=[Route(path="/weather", price=PRICE)],
    )
    rpc_url = str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    app = create_app(settings=settings, engine=engine, chain=Web3ChainView(w3, stack.escrow))
    with RedisServer() as redis, ExitStack() as stack_:
        mount_metrics(app, engine, redis.url)
        server = stack_.enter_context(serve(app))
        env = {
            "AEP2_BROKER_URL": redis.url,
            "AEP2_DATABASE_URL": db_url,
            "AEP2_RPC_URL": rpc_url,
            "AEP2_ESCROW": stack.escrow,
            "AEP2_SUBMITTER_KEY": submitter.hex(),
            "AEP2_CIRCUITS": ",".join(f"{s.verifier_id}:{s.mandates}:{s.pairs}" for s in SIZES),
            "AEP2_SETTLEMENT_PROVER": "attestation:" + attester.hex(),
            "AEP2_SETTLEMENT_PROVER_DELAY": "3",
        }
        worker = WorkerProcess(env, tmp_path / "worker.log")
        try:
            yield Rig(world, redis, worker, server.url, payee_key, tmp_path)
        finally:
            worker.stop()
            engine.dispose()


def test_paid_calls_settle_in_one_transaction_through_the_worker(rig: Rig) -> None:
    payers = [rig.payer(10**9) for _ in range(2)]
    for p in payers:
        rig.pay(p, 3)
    assert rig.mandate_states() == {"accepted": 6}
    rig.worker.start()
    started = time.monotonic()
    window_id = rig.close_and_enqueue()
    wait_until(lambda: rig.window_state(window_id) == "settled", 90, "window settled", log=rig.worker.log)
    elapsed = time.monotonic() - started
    print(f"window close -> settled: {elapsed:.1f}s")
    assert rig.mandate_states() == {"settled": 6}
    with Session(rig.world.engine) as s:
        window = s.get(WindowRow, window_id)
        assert window is not None and window.tx_hash is not None and window.gas_used
        chunks = s.execute(select(ChunkRow).where(ChunkRow.window_id == window_id)).scalars().all()
        assert len(chunks) == 2 and all(c.state == "proved" and c.attempts == 1 for c in chunks)
    receipt = rig.world.w3.eth.get_transaction_receipt(window.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 1 and receipt["to"] == rig.world.escrow.address
    assert rig.world.escrow.payee_balance(rig.payee, rig.world.token.address) == 6 * PRICE
    rig.audit(payers)
    metrics = httpx.get(f"{rig.payee_url}/metrics").text
    assert 'aep2_mandates{state="settled"} 6.0' in metrics
    assert f"aep2_settlement_gas_sum {float(window.gas_used)}" in metrics
    assert "aep2_proving_seconds_count 2.0" in metrics
    assert 'aep2_queue_depth{queue="prove"} 0.0' in metrics


def test_worker_killed_mid_proof_then_reconciled(rig: Rig) -> None:
    payer = rig.payer(10**9)
    rig.pay(payer, 2)
    rig.worker.start()
    window_id = rig.close_and_enqueue()

    def proving() -> bool:
        with Session(rig.world.engine) as s:
            return (
                s.execute(select(ChunkRow.state).where(ChunkRow.window_id == window_id)).scalar_one()
                == "proving"
            )

    wait_until(proving, 60, "the chunk to be proving", log=rig.worker.log)
    rig.worker.kill()  # SIGKILL parent and pool child while the proof is running
    assert rig.mandate_states() == {"proving": 2}
    rig.worker.start()
    # the message is unacknowledged until the visibility timeout; reconcile re-enqueues at once
    rig.celery().send_task("aep2.reconcile", kwargs={"stuck_after": 0})
    wait_until(lambda: rig.window_state(window_id) == "settled", 90, "window settled", log=rig.worker.log)
    assert rig.mandate_states() == {"settled": 2}
    rig.audit([payer])


def test_redis_restart_between_tasks_loses_the_queue_and_reconcile_recovers(rig: Rig) -> None:
    payer = rig.payer(10**9)
    rig.pay(payer, 2)
    window_id = rig.close_and_enqueue()  # queued while no worker runs
    rig.redis.restart()  # no persistence: the queued prove task is gone
    rig.worker.start()
    rig.celery().send_task("aep2.reconcile", kwargs={"stuck_after": 0})
    wait_until(lambda: rig.window_state(window_id) == "settled", 90, "window settled", log=rig.worker.log)
    # the worker keeps going across another outage
    rig.redis.restart()
    rig.pay(payer, 1)
    second = rig.close_and_enqueue()
    wait_until(
        lambda: rig.window_state(second) == "settled", 120, "second window settled", log=rig.worker.log
    )
    assert rig.mandate_states() == {"settled": 3}
    rig.audit([payer])


def test_beat_closes_due_windows_without_anyone_asking(rig: Rig) -> None:
    """``aep2.tick`` (Celery beat) closes a payee's window once it holds ``max_count`` mandates."""
    payer = rig.payer(10**9)
    rig.worker.env |= {"AEP2_TICK_SECONDS": "1", "AEP2_WINDOW_MAX_COUNT": "3", "AEP2_WINDOW_MAX_AGE": "3600"}
    rig.worker.beat = True
    rig.worker.start()
    rig.pay(payer, 2)
    time.sleep(3)
    assert rig.mandate_states() == {"accepted": 2}  # below the count, younger than the age bound
    rig.pay(payer, 1)
    wait_until(lambda: rig.mandate_states() == {"settled": 3}, 90, "settled by the tick", log=rig.worker.log)
    rig.audit([payer])
