"""The pipeline with the real prover: gnark Groth16 at N=1, P=1 and its exported Solidity verifier.

Slow (a proof is ~90 CPU-seconds, see circuits/README.md) and needs the dev keys cached under
``$AEP2_HOME/circuits`` (``aep2-prover setup --dev --n 1 --p 1``, ~650 CPU-seconds once) and
the exported verifier compiled (``aep2-prover export-solidity --n 1 --p 1 --out
contracts/src/generated/BatchVerifierN1P1.sol`` then ``forge build``); skipped with that
message otherwise.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from aep2.chain import Stack, VerifierSpec, deploy_stack, load_artifact
from aep2.devnet import Anvil, RedisServer
from aep2.errors import ConfigurationError
from aep2.prover import ProverProcess
from aep2.settlement.pipeline import close_window, prove_chunk, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.proving import GnarkProver
from aep2.store import create_schema, make_engine
from tests.settlement_support import WorkerProcess, World, wait_until

pytestmark = pytest.mark.slow

SIZES = (CircuitSize(1, 1, 1),)
KEYS = Path(os.environ.get("AEP2_HOME", Path.home() / ".aep2")) / "circuits" / "aep2-batch-v1-n1-p1"


@pytest.fixture(scope="module")
def world_parts() -> Iterator[tuple[Web3, Stack, list[bytes]]]:
    if not (KEYS / "proving.key").exists():
        pytest.skip(f"no Groth16 keys in {KEYS}: run `aep2-prover setup --dev --n 1 --p 1`")
    try:
        artifact = load_artifact("BatchVerifierN1P1")
    except ConfigurationError:
        pytest.skip("BatchVerifierN1P1 not built: aep2-prover export-solidity, then forge build")
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        stack = deploy_stack(w3, node.private_keys[0], verifiers=[VerifierSpec(1, 1, 1, artifact)])
        yield w3, stack, node.private_keys


@pytest.fixture
def world(world_parts: tuple[Web3, Stack, list[bytes]], tmp_path: Path) -> World:
    import aep2.settlement.models  # noqa: F401

    w3, stack, (owner, submitter, attester, *keys) = world_parts
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    return World(
        w3,
        stack,
        stack.escrow_client(w3),
        stack.token_client(w3),
        owner,
        submitter,
        attester,
        keys,
        engine,
        SIZES,
    )


def test_worker_proves_with_groth16_and_one_transaction_settles(world: World, tmp_path: Path) -> None:
    payer, payee = world.new_account(), world.address(world.new_account(0))
    world.fund(payer, 1_000_000)
    ids = [world.accept(world.sign(payer, payee, 1234))]
    rpc_url = str(world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with RedisServer() as redis:
        env = {
            "AEP2_BROKER_URL": redis.url,
            "AEP2_DATABASE_URL": str(world.engine.url),
            "AEP2_RPC_URL": rpc_url,
            "AEP2_ESCROW": world.escrow.address,
            "AEP2_SUBMITTER_KEY": world.submitter.hex(),
            "AEP2_CIRCUITS": "1:1:1",
            "AEP2_SETTLEMENT_PROVER": "gnark",
        }
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        try:
            from workers.celery import make_app

            started = time.monotonic()
            closed = close_window(world.engine, world.chain, SIZES)
            assert closed.window_id is not None
            make_app(redis.url).send_task("aep2.prove_chunk", args=[closed.chunk_ids[0]])
            wait_until(lambda: world.states(ids) == {ids[0]: "settled"}, 900, "settled", log=worker.log)
            print(f"groth16 N=1: window close -> settled {time.monotonic() - started:.1f}s")
        finally:
            worker.stop()
    assert world.escrow.payee_balance(payee, world.token.address) == 1234
    assert world.escrow.high_water(world.address(payer), payee) == 1
    assert world.escrow.balance(world.address(payer), world.token.address) == 1_000_000 - 1234


def test_prover_subprocess_killed_mid_proof_is_retried(world: World) -> None:
    payer, payee = world.new_account(), world.address(world.new_account(0))
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
