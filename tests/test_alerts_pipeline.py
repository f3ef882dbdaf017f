"""The settlement pipeline's alerts on a real anvil, escrow and SQLite store (attestation proofs).

Each fault is made the way it happens (a bad proof, a payer who withdrew, a prover that crashes, a
chunk nobody proves, a key revoked by its payer, a payer short of funds), each step is run again,
and each produces exactly one alert of its type, with the fields a person needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aep2.alerts import AlertRow, new_secret
from aep2.settlement.models import ChunkRow
from aep2.settlement.pipeline import close_window, prove_chunk, reconcile, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.proving import AnyProofJob, AttestationProver
from aep2.store.models import utcnow
from tests.alert_receiver import receiving, verify_standard_webhook
from tests.settlement_support import ChainParts, World, attested_chain, world_with_store

DELAY = 3600
SIZES = (CircuitSize(1, 2, 1), CircuitSize(9, 4, 2, "agent"))
SECRET = new_secret()


@pytest.fixture(scope="module")
def chain_parts() -> Iterator[ChainParts]:
    with attested_chain(SIZES, DELAY, revoke_delay=DELAY) as parts:
        yield parts


@pytest.fixture
def world(chain_parts: ChainParts, tmp_path: Path) -> World:
    return world_with_store(chain_parts, tmp_path / "payee.db", SIZES)


def alerts(world: World, type_: str | None = None) -> list[dict[str, Any]]:
    """The outbox's bodies (of ``type_``), oldest first."""
    query = select(AlertRow.body).order_by(AlertRow.id)
    if type_ is not None:
        query = query.where(AlertRow.type == type_)
    with Session(world.engine) as s:
        return [json.loads(body) for body in s.execute(query).scalars()]


def prover(world: World) -> AttestationProver:
    return AttestationProver(world.attester, world.stack.verifiers)


class FailingProver:
    def __init__(self, inner: AttestationProver, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def prove(self, job: AnyProofJob) -> bytes:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("prover crashed")
        return self.inner.prove(job)


def test_a_rolled_back_window_alerts_once_and_the_workers_deliver_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    world.pay(payer, payee, 90)
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    prove_chunk(world.engine, closed.chunk_ids[0], prover(world), world.chain)
    with Session(world.engine) as s, s.begin():
        chunk = s.get(ChunkRow, closed.chunk_ids[0])
        assert chunk is not None
        chunk.proof = "0x" + "00" * 65  # a proof the verifier rejects: settleMany would revert
    assert submit_window(world.engine, closed.window_id, world.chain).status == "reverted"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "already"
    (alert,) = alerts(world)
    assert alert["type"] == "settlement.window_failed"
    data = alert["data"]
    assert (data["window_id"], data["mandates"], data["escrow"]) == (
        closed.window_id,
        1,
        world.escrow.address,
    )
    assert "would revert" in data["reason"]
    with receiving() as receiver:
        got = _deliver_with_the_worker_task(world, receiver.url, monkeypatch)
        assert got == {"delivered": 1, "retrying": 0, "dead": 0}
        (received,) = receiver.wait_for(1)
    verify_standard_webhook(SECRET, received)
    assert received.json() == alert


def _deliver_with_the_worker_task(world: World, url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Run ``aep2.send_alerts`` in this process, configured as a worker would be (its environment)."""
    import workers.tasks as tasks

    assert "aep2-send-alerts" in tasks.beat_schedule({"AEP2_ALERT_WEBHOOK_URL": url})
    assert "aep2-send-alerts" not in tasks.beat_schedule({})
    env = {
        "AEP2_DATABASE_URL": str(world.engine.url),
        "AEP2_RPC_URL": str(world.w3.provider.endpoint_uri),  # type: ignore[attr-defined]
        "AEP2_ESCROW": world.escrow.address,
        "AEP2_SUBMITTER_KEY": world.submitter.hex(),
        "AEP2_ALERT_WEBHOOK_URL": url,
        "AEP2_ALERT_WEBHOOK_SECRET": SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    caches = (tasks._config, tasks._engine, tasks._alert_sender)
    for cached in caches:
        cached.cache_clear()
    try:
        report = tasks.send_alerts()
    finally:
        sender = tasks._alert_sender()
        if sender is not None:
            sender.close()
        for cached in caches:
            cached.cache_clear()
    return {k: len(v) for k, v in report.items()}


def test_a_skipped_pair_alerts_once_with_the_escrows_reason(world: World) -> None:
    rich, poor, payee = world.new_account(), world.new_account(), world.new_payee()
    world.fund(rich, 1_000_000)
    world.fund(poor, 1_000)
    world.pay(rich, payee, 400)
    world.pay(poor, payee, 900)
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    for chunk_id in closed.chunk_ids:
        prove_chunk(world.engine, chunk_id, prover(world), world.chain)
    world.escrow.request_withdraw(world.token.address, 1_000, poor)  # leaves before the window lands
    world.warp(DELAY + 1)
    world.escrow.execute_withdraw(world.token.address, poor)
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert (out.status, out.skipped_pairs) == ("settled", 1)
    assert submit_window(world.engine, closed.window_id, world.chain).status == "already"
    assert reconcile(world.engine, world.chain).applied == []
    (alert,) = alerts(world)
    assert alert["type"] == "settlement.pair_skipped"
    data = alert["data"]
    assert (data["payer"], data["payee"], data["family"], data["key_id"]) == (
        world.address(poor), payee, "batch", None
    )  # fmt: skip
    assert (data["reason"], data["total"], data["from_nonce"], data["to_nonce"]) == (
        "INSUFFICIENT_BALANCE", "900", "0", "1"
    )  # fmt: skip
    assert (data["mandates_returned"], data["mandates_failed"]) == (1, 0)


def test_a_failed_proof_attempt_alerts_once(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    world.pay(payer, payee, 300, kind="agent")
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    flaky = FailingProver(prover(world), failures=1)
    assert prove_chunk(world.engine, closed.chunk_ids[0], flaky, world.chain).status == "retry"
    assert prove_chunk(world.engine, closed.chunk_ids[0], flaky, world.chain).status == "proved"
    assert prove_chunk(world.engine, closed.chunk_ids[0], flaky, world.chain).status == "already"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"
    (alert,) = alerts(world)
    assert alert["type"] == "settlement.proof_failed"
    data = alert["data"]
    assert (data["chunk_id"], data["family"], data["verifier_id"]) == (closed.chunk_ids[0], "agent", 9)
    assert (data["attempt"], data["will_retry"], data["error"]) == (1, True, "RuntimeError: prover crashed")


def test_a_stuck_chunk_alerts_once_per_episode(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    world.pay(payer, payee, 100)
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None  # its proving task is lost: nobody proves the chunk
    assert reconcile(world.engine, world.chain, stuck_after=900).to_prove == []
    later = utcnow() + timedelta(seconds=1000)
    for _ in range(3):  # every tick's reconcile sees it; one alert
        assert reconcile(world.engine, world.chain, stuck_after=900, now=later).to_prove == [
            closed.chunk_ids[0]
        ]
    (alert,) = alerts(world)
    assert alert["type"] == "settlement.chunk_stuck"
    data = alert["data"]
    assert (data["chunk_id"], data["state"], data["attempts"], data["stuck_after"]) == (
        closed.chunk_ids[0], "batched", 0, 900
    )  # fmt: skip
    assert data["idle_seconds"] >= 1000


def test_a_key_revoked_with_unsettled_mandates_alerts_once(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 50, kind="agent") for _ in range(2)]
    key_id = world.key_of(payer)
    world.escrow.revoke_agent_key(key_id, payer)  # takes effect after revokeDelay: still settleable
    info = world.escrow.agent_key(key_id)
    assert info is not None and info.revoke_at
    first = close_window(world.engine, world.chain, world.sizes)
    assert first.window_id is not None and first.failed == ()
    world.pay(payer, payee, 50, kind="agent")  # another one waits while the window is in flight
    assert close_window(world.engine, world.chain, world.sizes).window_id is None
    (alert,) = alerts(world)
    assert alert["type"] == "agent_key.revocation_pending"
    data = alert["data"]
    assert (data["key_id"], data["payer"], data["revoke_at"]) == (
        str(key_id),
        world.address(payer),
        info.revoke_at,
    )
    assert (data["mandates"], data["amount"]) == (len(ids), "100")
    for chunk_id in first.chunk_ids:
        prove_chunk(world.engine, chunk_id, prover(world), world.chain)
    assert submit_window(world.engine, first.window_id, world.chain).status == "settled"
    assert set(world.states(ids).values()) == {"settled"}
    assert close_window(world.engine, world.chain, world.sizes).window_id is not None
    assert len(alerts(world, "agent_key.revocation_pending")) == 1  # same revocation: no second alert


def test_a_payer_short_of_headroom_alerts_once_a_day(world: World) -> None:
    payer, payee, other = world.new_account(), world.new_payee(), world.new_payee()
    world.fund(payer, 1_000)
    world.pay(payer, payee, 700)
    assert close_window(world.engine, world.chain, world.sizes, headroom_below=500).window_id is not None
    world.pay(payer, other, 100)  # lower still (1000 - 700 in flight - 100), the same day
    assert close_window(world.engine, world.chain, world.sizes, headroom_below=500).window_id is not None
    (alert,) = alerts(world)
    assert alert["type"] == "payer.headroom_low"
    data = alert["data"]
    assert (data["payer"], data["headroom"], data["balance"], data["unsettled"], data["threshold"]) == (
        world.address(payer), "300", "1000", "700", "500"
    )  # fmt: skip
    assert close_window(world.engine, world.chain, world.sizes).window_id is None  # no threshold: none
