"""The pipeline's steps on a real anvil, escrow and SQLite store; proofs by the attestation stand-in.

Each test ends with every mandate settled or failed with a reason, and the chain's balances,
high-water marks and the payee's credit exactly what the settled mandates add up to. The crash
and fault tests run for both mandate kinds: EIP-712 mandates on ``batch`` circuits, agent-key
mandates on ``agent`` circuits (settled through ``settleMany``'s agent arrays).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hexbytes import HexBytes
from sqlalchemy.orm import Session

from aep2.chain import AgentSettlement, SettlementResult
from aep2.settlement.models import ChunkRow, WindowRow, WindowState
from aep2.settlement.pipeline import close_window, prove_chunk, reconcile, submit_window
from aep2.settlement.planner import BATCH, CircuitSize
from aep2.settlement.proving import AnyProofJob, AttestationProver, ProofJob, witness_request
from aep2.settlement.records import chunk_settlement
from tests.settlement_support import ChainParts, World, attested_chain, world_with_store

DELAY = 3600
SIZES = (CircuitSize(1, 2, 1), CircuitSize(2, 4, 2), CircuitSize(9, 4, 2, "agent"))
KINDS = ("eip712", "agent")


@pytest.fixture(scope="module")
def chain_parts() -> Iterator[ChainParts]:
    with attested_chain(SIZES, DELAY) as parts:
        yield parts


@pytest.fixture
def world(chain_parts: ChainParts, tmp_path: Path) -> World:
    return world_with_store(chain_parts, tmp_path / "payee.db", SIZES)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def by_hand(world: World, chunk: ChunkRow) -> SettlementResult:
    """Send a stored chunk's proof and settlement in a ``settleMany`` of our own, in its family's arrays."""
    proof, settlement = bytes.fromhex(str(chunk.proof)[2:]), chunk_settlement(chunk)
    if isinstance(settlement, AgentSettlement):
        return world.escrow.submit_many(
            [], [], world.submitter, agent_proofs=[proof], agent_settlements=[settlement]
        )
    return world.escrow.submit_many([proof], [settlement], world.submitter)


def prover(world: World) -> AttestationProver:
    return AttestationProver(world.attester, world.stack.verifiers)


def run_window(world: World) -> int:
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    for chunk_id in closed.chunk_ids:
        assert prove_chunk(world.engine, chunk_id, prover(world), world.chain).status == "proved"
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert out.status == "settled", out
    return closed.window_id


def test_window_settles_every_pair_in_one_transaction(world: World) -> None:
    payers = [world.new_account() for _ in range(3)]
    payees = [world.new_payee() for _ in range(2)]
    for p in payers:
        world.fund(p, 10_000_000)
    ids, owed = [], {q: 0 for q in payees}
    for i, p in enumerate(payers):
        for j in range(3):
            payee = payees[(i + j) % 2]
            ids.append(world.accept(world.sign(p, payee, 1000 + j)))
            owed[payee] += 1000 + j
    window_id = run_window(world)
    assert set(world.states(ids).values()) == {"settled"}
    for q in payees:
        assert world.escrow.payee_balance(q, world.token.address) == owed[q]
    for p in payers:
        assert world.escrow.balance(world.address(p), world.token.address) == 10_000_000 - 3003
    for (payer, payee), nonce in world.nonces.items():
        assert world.escrow.high_water(payer, payee) == nonce
    with Session(world.engine) as s:
        window = s.get(WindowRow, window_id)
        assert window is not None and window.state == "settled" and window.gas_used and window.tx_hash
        receipt = world.w3.eth.get_transaction_receipt(window.tx_hash)  # type: ignore[arg-type]
        assert receipt["gasUsed"] == window.gas_used and receipt["status"] == 1
    # every step is idempotent: re-running settles nothing twice
    assert submit_window(world.engine, window_id, world.chain).status == "already"
    assert close_window(world.engine, world.chain, world.sizes).window_id is None


def test_submitter_crash_after_record_is_rebroadcast_by_reconcile(world: World, kind: str) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 500, kind=kind) for _ in range(2)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    for c in closed.chunk_ids:
        prove_chunk(world.engine, c, prover(world), world.chain)

    def crash(_: int) -> None:
        raise KeyboardInterrupt("submitter killed between record and send")

    with pytest.raises(KeyboardInterrupt):
        submit_window(world.engine, closed.window_id, world.chain, after_record=crash)
    assert set(world.states(ids).values()) == {"submitted"}
    report = reconcile(world.engine, world.chain)
    assert report.rebroadcast == [closed.window_id]
    world.w3.eth.wait_for_transaction_receipt(HexBytes(_tx(world, closed.window_id)))
    assert reconcile(world.engine, world.chain).applied == [closed.window_id]
    assert set(world.states(ids).values()) == {"settled"}
    assert world.escrow.payee_balance(payee, world.token.address) == 1000
    assert world.escrow.balance(world.address(payer), world.token.address) == 999_000


def test_submitter_crash_after_send_before_recording_the_result(world: World, kind: str) -> None:
    """The transaction reaches the node, then the submitter dies before it records the receipt:
    reconcile finds the receipt by the recorded hash and settles exactly once."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 250, kind=kind) for _ in range(3)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    for c in closed.chunk_ids:
        prove_chunk(world.engine, c, prover(world), world.chain)

    def send_then_die(window_id: int) -> None:
        with Session(world.engine) as s:
            window = s.get(WindowRow, window_id)
            assert window is not None and window.raw_tx
            world.w3.eth.send_raw_transaction(HexBytes(window.raw_tx))
        raise KeyboardInterrupt("submitter killed after send, before recording the result")

    with pytest.raises(KeyboardInterrupt):
        submit_window(world.engine, closed.window_id, world.chain, after_record=send_then_die)
    world.w3.eth.wait_for_transaction_receipt(HexBytes(_tx(world, closed.window_id)))
    assert set(world.states(ids).values()) == {"submitted"}
    report = reconcile(world.engine, world.chain)
    assert report.applied == [closed.window_id] and report.rebroadcast == []
    assert set(world.states(ids).values()) == {"settled"}
    # a second submit (a redelivered task) changes nothing
    assert submit_window(world.engine, closed.window_id, world.chain).status == "already"
    assert world.escrow.balance(world.address(payer), world.token.address) == 1_000_000 - 750
    assert world.escrow.payee_balance(payee, world.token.address) == 750


def test_dropped_transaction_is_settled_by_events_only(world: World, kind: str) -> None:
    """The recorded transaction never mined and its nonce went to another transaction: pairs
    that no exact PairSettled paid go back to accepted and settle in the next window."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 100, kind=kind)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    prove_chunk(world.engine, closed.chunk_ids[0], prover(world), world.chain)

    def replace_nonce(_: int) -> None:  # something else uses the submitter's nonce first
        sender = world.address(world.submitter)
        world.w3.eth.send_transaction({"from": sender, "to": sender, "value": 0})  # type: ignore[typeddict-item]
        raise KeyboardInterrupt("submitter killed before send")

    with pytest.raises(KeyboardInterrupt):
        submit_window(world.engine, closed.window_id, world.chain, after_record=replace_nonce)
    report = reconcile(world.engine, world.chain)
    assert report.rolled_back == [closed.window_id]
    assert world.states(ids) == {ids[0]: "accepted"}
    assert "dropped" in str(world.reasons(ids[0])[-1])
    run_window(world)
    assert world.states(ids) == {ids[0]: "settled"}
    assert world.escrow.payee_balance(payee, world.token.address) == 100


def test_submitting_twice_settles_once(world: World, kind: str) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 700, kind=kind)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    prove_chunk(world.engine, closed.chunk_ids[0], prover(world), world.chain)
    first = submit_window(world.engine, closed.window_id, world.chain)
    second = submit_window(world.engine, closed.window_id, world.chain)
    assert (first.status, second.status) == ("settled", "already")
    # the same settlement and proof sent again by hand: the escrow skips the pair (nonce moved)
    with Session(world.engine) as s:
        again = by_hand(world, s.query(ChunkRow).filter_by(window_id=closed.window_id).one())
    assert not again.settled and not again.agent_settled
    assert len(again.skipped) + len(again.agent_skipped) == 1
    assert world.states(ids) == {ids[0]: "settled"}
    assert world.escrow.balance(world.address(payer), world.token.address) == 1_000_000 - 700


def test_withdrawn_payer_is_skipped_and_returns_to_accepted(world: World, kind: str) -> None:
    rich, poor = world.new_account(), world.new_account()
    payee = world.new_payee()
    world.fund(rich, 1_000_000)
    world.fund(poor, 1_000)
    rich_ids = [world.pay(rich, payee, 400, kind=kind)]
    poor_ids = [world.pay(poor, payee, 900, kind=kind)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None and len(closed.chunk_ids) == 1
    for c in closed.chunk_ids:
        prove_chunk(world.engine, c, prover(world), world.chain)
    # the poor payer withdraws everything after the delay, before the window is submitted
    world.escrow.request_withdraw(world.token.address, 1_000, poor)
    world.warp(DELAY + 1)
    world.escrow.execute_withdraw(world.token.address, poor)
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert (out.status, out.settled_pairs, out.skipped_pairs) == ("settled", 1, 1)
    assert world.states(rich_ids) == {rich_ids[0]: "settled"}
    assert world.states(poor_ids) == {poor_ids[0]: "accepted"}
    assert "INSUFFICIENT_BALANCE" in str(world.reasons(poor_ids[0])[-1])
    assert world.escrow.payee_balance(payee, world.token.address) == 400
    # the next window does not plan it (no balance): it waits, never silently dropped
    assert close_window(world.engine, world.chain, world.sizes, payee=payee).window_id is None
    assert world.states(poor_ids) == {poor_ids[0]: "accepted"}


class FlakyProver:
    def __init__(self, inner: AttestationProver, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def prove(self, job: AnyProofJob) -> bytes:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("prover crashed")
        return self.inner.prove(job)


def test_prover_failures_retry_then_roll_back_with_reason(world: World, kind: str) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 300, kind=kind)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    flaky = FlakyProver(prover(world), failures=1)
    assert prove_chunk(world.engine, closed.chunk_ids[0], flaky, world.chain).status == "retry"
    assert prove_chunk(world.engine, closed.chunk_ids[0], flaky, world.chain).status == "proved"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"
    assert world.states(ids) == {ids[0]: "settled"}

    more = [world.pay(payer, payee, 300, kind=kind)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    dead = FlakyProver(prover(world), failures=99)
    outcomes = [
        prove_chunk(world.engine, closed.chunk_ids[0], dead, world.chain, max_attempts=2).status
        for _ in range(3)
    ]
    assert outcomes == ["retry", "failed", "skipped"]
    assert world.states(more) == {more[0]: "accepted"}
    assert "failed after 2 attempts" in str(world.reasons(more[0])[-1])
    with Session(world.engine) as s:
        window = s.get(WindowRow, closed.window_id)
        assert window is not None and window.state == WindowState.FAILED.value and window.error


def test_expired_mandate_fails_with_reason(world: World, kind: str) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    soon = world.pay(payer, payee, 100, kind=kind, deadline=int(__import__("time").time()) + 60)
    closed = close_window(world.engine, world.chain, world.sizes, payee=payee)
    assert closed.failed == (soon,)
    assert world.states([soon]) == {soon: "failed"}
    assert world.reasons(soon)[-1] == "planner: expired"


def test_witness_request_matches_the_readme_shape(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    signed = world.sign(payer, payee, 5)
    world.accept(signed)
    from aep2.settlement.pipeline import sessions
    from aep2.settlement.prove import _job

    closed = close_window(world.engine, world.chain, world.sizes, payee=payee)
    assert closed.window_id is None  # unfunded: waits
    world.fund(payer, 10)
    closed = close_window(world.engine, world.chain, world.sizes, payee=payee)
    with sessions(world.engine)() as s:
        chunk = s.get(ChunkRow, closed.chunk_ids[0])
        assert chunk is not None
        job = _job(s, world.chain, chunk, world.escrow.domain_separator())
        assert isinstance(job, ProofJob)
        request = witness_request(job)
    assert request["settlement"]["pairs"][0]["publicKey"] == "0x" + signed.public_key().hex()
    assert request["mandates"][0]["nonce"] == "1" and request["mandates"][0]["pairIndex"] == 0


def _tx(world: World, window_id: int) -> str:
    with Session(world.engine) as s:
        window = s.get(WindowRow, window_id)
        assert window is not None and window.tx_hash
        return window.tx_hash


def test_duplicate_submission_racing_ours_debits_once(world: World, kind: str) -> None:
    """The window's exact settlement and proof go on chain first (a duplicated task on another
    machine with the same approved submitter): ours is skipped on chain, and the ``PairSettled``
    of exactly that range shows the mandates were paid, so they are settled, once."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 800, kind=kind) for _ in range(2)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    prove_chunk(world.engine, closed.chunk_ids[0], prover(world), world.chain)
    with Session(world.engine) as s:
        first = by_hand(world, s.query(ChunkRow).filter_by(window_id=closed.window_id).one())
    assert len(first.settled) + len(first.agent_settled) == 1
    ours = submit_window(world.engine, closed.window_id, world.chain)
    assert (ours.status, ours.settled_pairs, ours.skipped_pairs) == ("settled", 0, 1)
    assert set(world.states(ids).values()) == {"settled"}
    assert "PairSettled" in str(world.reasons(ids[0])[-1])
    assert world.escrow.balance(world.address(payer), world.token.address) == 1_000_000 - 1600
    assert world.escrow.payee_balance(payee, world.token.address) == 1600


def test_settlement_that_would_revert_is_rolled_back_without_gas(world: World, kind: str) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.pay(payer, payee, 90, kind=kind)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    prove_chunk(world.engine, closed.chunk_ids[0], prover(world), world.chain)
    with Session(world.engine) as s, s.begin():
        chunk = s.get(ChunkRow, closed.chunk_ids[0])
        assert chunk is not None
        chunk.proof = "0x" + "00" * 65  # a proof the verifier rejects
    nonce = world.w3.eth.get_transaction_count(world.address(world.submitter))  # type: ignore[arg-type]
    assert submit_window(world.engine, closed.window_id, world.chain).status == "reverted"
    assert world.w3.eth.get_transaction_count(world.address(world.submitter)) == nonce  # type: ignore[arg-type]
    assert world.states(ids) == {ids[0]: "accepted"}
    assert "would revert" in str(world.reasons(ids[0])[-1])
    run_window(world)
    assert world.states(ids) == {ids[0]: "settled"}


def test_agent_mandates_wait_while_no_agent_circuit_is_configured(world: World) -> None:
    """An agent-key row in the store (a payee accepting both kinds) never enters a batch chunk:
    with only EIP-712 sizes configured it waits, and the EIP-712 mandates beside it settle."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    eip712 = world.accept(world.sign(payer, payee, 100))
    agent = world.pay(payer, payee, 200, kind="agent")
    eip712_only = [size for size in world.sizes if size.family == BATCH]
    closed = close_window(world.engine, world.chain, eip712_only, payee=payee)
    assert agent in closed.waiting and agent not in closed.failed
    with Session(world.engine) as s:
        chunk = s.get(ChunkRow, closed.chunk_ids[0])
        assert chunk is not None and len(chunk.settlement["pairs"]) == 1
    assert world.states([eip712, agent]) == {eip712: "batched", agent: "accepted"}
