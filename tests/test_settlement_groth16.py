"""The pipeline with the real prover: gnark Groth16 at N=1, P=1 and its exported Solidity verifiers,
one per circuit family (EIP-712 mandates, agent-key mandates).

A proof costs tens of CPU-seconds; the dev keys and the built verifier come from ``make groth16``
(see ``tests/groth16_support.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from aep2.chain import Stack, VerifierFamily, VerifierSpec, deploy_stack
from aep2.devnet import Anvil, RedisServer
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import AgentCredential, LocalKeySigner, Payer, Policy
from aep2.prover import ProverProcess
from aep2.settlement.models import ChunkRow, WindowRow
from aep2.settlement.pipeline import close_window, prove_chunk, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.proving import GnarkProver
from aep2.store import MandateRow, create_schema, make_engine
from aep2.transports.httpx_auth import Aep2Auth
from tests.groth16_support import N1P1, agent_verifier_artifact, groth16_verifier_spec
from tests.payee_support import serve
from tests.settlement_support import WorkerProcess, World, wait_until
from workers.celery import make_app

pytestmark = pytest.mark.groth16

AGENT_N1P1 = CircuitSize(2, 1, 1, "agent")
SIZES = (N1P1, AGENT_N1P1)
PRICE = 1_000


@pytest.fixture(scope="module")
def world_parts() -> Iterator[tuple[Web3, Stack, list[bytes]]]:
    agent = VerifierSpec(AGENT_N1P1.verifier_id, 1, 1, agent_verifier_artifact(), family=VerifierFamily.AGENT)
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        stack = deploy_stack(w3, node.private_keys[0], verifiers=[groth16_verifier_spec(), agent])
        yield w3, stack, node.private_keys


@pytest.fixture
def world(world_parts: tuple[Web3, Stack, list[bytes]], tmp_path: Path) -> World:
    import aep2.settlement.models  # noqa: F401

    w3, stack, accounts = world_parts
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    return World.on(w3, stack, accounts, engine, SIZES)


def _worker_env(world: World, broker_url: str) -> dict[str, str]:
    return {
        "AEP2_BROKER_URL": broker_url,
        "AEP2_DATABASE_URL": str(world.engine.url),
        "AEP2_RPC_URL": str(world.w3.provider.endpoint_uri),  # type: ignore[attr-defined]
        "AEP2_ESCROW": world.escrow.address,
        "AEP2_SUBMITTER_KEY": world.submitter.hex(),
        "AEP2_CIRCUITS": "1:1:1,2:1:1:agent",
        "AEP2_SETTLEMENT_PROVER": "gnark",
    }


@contextmanager
def _payee(world: World) -> Iterator[tuple[str, str]]:
    """A real payee server writing ``world``'s store: (its URL, its address)."""
    key = world.new_payee_key()
    settings = Settings(
        chain_id=world.w3.eth.chain_id,
        escrow=world.escrow.address,
        tokens=[world.token.address],
        payee_key="0x" + key.hex(),
        settlement_horizon_seconds=3600,
        mandate_kinds=["eip712", "agent"],
        routes=[Route(path="/weather", price=PRICE)],
    )
    view = Web3ChainView(world.w3, world.escrow.address)
    app = create_app(settings=settings, engine=world.engine, chain=view, agent_keys=view)
    with serve(app) as server:
        yield server.url, world.address(key)


def _paid_call(world: World, url: str, tmp_path: Path) -> str:
    key = world.new_account()
    world.fund(key, 1_000_000)
    payer = Payer(LocalKeySigner(key), Policy(), db=tmp_path / "payer.db")
    response = httpx.get(f"{url}/weather", auth=Aep2Auth(payer), timeout=30)
    assert response.status_code == 200, response.text
    return payer.address


def _agent_paid_call(world: World, url: str, tmp_path: Path) -> tuple[str, int]:
    """One paid call signed with a fresh agent key of a funded payer: (the payer, the key id)."""
    key = world.new_account()
    world.fund(key, 1_000_000)
    key_id = world.new_agent_key(key)
    agent_key, domain = world.agent_keys[key_id][0], world.escrow.domain()
    credential = AgentCredential(agent_key, key_id, domain, world.grants[key_id])
    payer = Payer(None, Policy(), agent=credential, db=tmp_path / "agent-payer.db")
    response = httpx.get(f"{url}/weather", auth=Aep2Auth(payer), timeout=30)
    assert response.status_code == 200, response.text
    return world.address(key), key_id


def test_both_kinds_proved_with_groth16_by_the_worker_settle_in_one_transaction(
    world: World, tmp_path: Path
) -> None:
    """An EIP-712 payer and an agent-key payer each pay one call; the worker proves one chunk per
    family with the real prover and the escrow's real verifiers check both in one ``settleMany``."""
    with _payee(world) as (url, payee), RedisServer() as redis:
        payer = _paid_call(world, url, tmp_path)
        agent_payer, key_id = _agent_paid_call(world, url, tmp_path)
        worker = WorkerProcess(_worker_env(world, redis.url), tmp_path / "worker.log").start()
        try:
            started = time.monotonic()
            closed = close_window(world.engine, world.chain, SIZES)
            assert closed.window_id is not None and len(closed.chunk_ids) == 2
            for chunk_id in closed.chunk_ids:
                make_app(redis.url).send_task("aep2.prove_chunk", args=[chunk_id])
            wait_until(_all_in(world, "settled"), 900, "settled", log=worker.log)
            print(f"groth16 N=1, both families: window close -> settled {time.monotonic() - started:.1f}s")
        finally:
            worker.stop()
    with Session(world.engine) as s:
        families = s.execute(select(ChunkRow.family).where(ChunkRow.window_id == closed.window_id)).scalars()
        assert sorted(families) == ["agent", "batch"]
        window = s.get(WindowRow, closed.window_id)
        assert window is not None and window.state == "settled"
    assert world.escrow.payee_balance(payee, world.token.address) == 2 * PRICE
    assert world.escrow.high_water(payer, payee) == 1
    assert world.escrow.agent_high_water(key_id, payee) == 1
    assert world.escrow.balance(payer, world.token.address) == 1_000_000 - PRICE
    assert world.escrow.balance(agent_payer, world.token.address) == 1_000_000 - PRICE


def test_worker_killed_mid_groth16_proof_is_reconciled(world: World, tmp_path: Path) -> None:
    with _payee(world) as (url, payee), RedisServer() as redis:
        payer = _paid_call(world, url, tmp_path)
        worker = WorkerProcess(_worker_env(world, redis.url), tmp_path / "worker.log").start()
        try:
            closed = close_window(world.engine, world.chain, SIZES)
            assert closed.window_id is not None
            make_app(redis.url).send_task("aep2.prove_chunk", args=[closed.chunk_ids[0]])
            wait_until(_all_in(world, "proving"), 120, "proving", log=worker.log)
            time.sleep(10)  # inside gnark's prove
            worker.kill()  # the Celery parent, its pool child and the aep2-prover child
            worker.start()
            make_app(redis.url).send_task("aep2.reconcile", kwargs={"stuck_after": 0})
            wait_until(_all_in(world, "settled"), 900, "settled", log=worker.log)
        finally:
            worker.stop()
    assert world.escrow.payee_balance(payee, world.token.address) == PRICE
    assert world.escrow.balance(payer, world.token.address) == 1_000_000 - PRICE


def _all_in(world: World, state: str) -> Callable[[], bool]:
    """Whether every mandate in ``world``'s store (each test has its own) is in ``state``."""

    def check() -> bool:
        with Session(world.engine) as s:
            return set(s.execute(select(MandateRow.state)).scalars()) == {state}

    return check


def test_prover_subprocess_killed_mid_proof_is_retried(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.accept(world.sign(payer, payee, 77))]
    closed = close_window(world.engine, world.chain, SIZES)
    assert closed.window_id is not None
    with ProverProcess() as process:
        prover = GnarkProver(process)
        outcome: list[str] = []
        thread = threading.Thread(
            target=lambda: outcome.append(
                prove_chunk(world.engine, closed.chunk_ids[0], prover, world.chain).status
            )
        )
        thread.start()
        wait_until(lambda: process._proc is not None, 60, "the prover to start")
        time.sleep(5)  # inside the proof (witness solving alone takes several seconds)
        assert process._proc is not None
        process._proc.kill()
        thread.join(timeout=120)
        assert outcome == ["retry"] and world.states(ids) == {ids[0]: "proving"}
        assert prove_chunk(world.engine, closed.chunk_ids[0], prover, world.chain).status == "proved"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"
    assert world.states(ids) == {ids[0]: "settled"}
    assert world.escrow.payee_balance(payee, world.token.address) == 77
    assert world.escrow.high_water(world.address(payer), payee) == 1
