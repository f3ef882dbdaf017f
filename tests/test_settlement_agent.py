"""Agent-key mandates through the pipeline on a real anvil and escrow: planned per (key, payee) onto
``agent`` circuits, proved (attestation stand-in), settled in ``settleMany``'s agent arrays beside
EIP-712 chunks, and every on-chain skip of an agent pair handled: revoked keys, lowered caps.

Each test checks the chain as well as the store: the payer's balance, the key's ``spent``, the
(key, payee) high-water mark and the payee's credit add up to exactly the settled mandates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from aep2.settlement.config import parse_sizes
from aep2.settlement.models import ChunkRow, WindowRow
from aep2.settlement.pipeline import close_window, prove_chunk, sessions, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.prove import _job, _with_keys
from aep2.settlement.proving import AgentProofJob, AttestationProver, agent_witness_request
from aep2.settlement.records import chunk_settlement
from aep2.store.models import MandateRow
from tests.settlement_support import ChainParts, World, attested_chain, world_with_store

DELAY = 3600
AGENT_SIZE = CircuitSize(9, 4, 2, "agent")
SIZES = (CircuitSize(1, 2, 1), CircuitSize(2, 4, 2), CircuitSize(8, 1, 1, "agent"), AGENT_SIZE)


@pytest.fixture(scope="module")
def chain_parts() -> Iterator[ChainParts]:
    with attested_chain(SIZES, DELAY, revoke_delay=DELAY) as parts:
        yield parts


@pytest.fixture
def world(chain_parts: ChainParts, tmp_path: Path) -> World:
    return world_with_store(chain_parts, tmp_path / "payee.db", SIZES)


def settle(world: World) -> tuple[int, list[ChunkRow]]:
    """Close, prove and submit one window; its id and chunks (in ``settleMany`` order)."""
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    attest = AttestationProver(world.attester, world.stack.verifiers)
    for chunk_id in closed.chunk_ids:
        assert prove_chunk(world.engine, chunk_id, attest, world.chain).status == "proved"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"
    with Session(world.engine) as s:
        chunks = s.query(ChunkRow).filter_by(window_id=closed.window_id).order_by(ChunkRow.index).all()
    return closed.window_id, chunks


def test_both_kinds_settle_in_one_settle_many(world: World) -> None:
    agent_payer, eip712_payer, payee = world.new_account(), world.new_account(), world.new_payee()
    world.fund(agent_payer, 100_000)
    world.fund(eip712_payer, 100_000)
    agent_ids = [world.pay(agent_payer, payee, 100 + i, kind="agent") for i in range(3)]
    eip712_ids = [world.pay(eip712_payer, payee, 1_000, kind="eip712") for _ in range(2)]
    window_id, chunks = settle(world)
    assert [c.family for c in chunks] == ["batch", "agent"]
    assert (chunks[1].verifier_id, chunks[1].n, chunks[1].p) == (9, 4, 2)  # smallest agent size that fits
    assert set(world.states(agent_ids + eip712_ids).values()) == {"settled"}
    key_id = world.key_of(agent_payer)
    info = world.escrow.agent_key(key_id)
    assert info is not None and info.spent == 303
    assert world.escrow.agent_high_water(key_id, payee) == 3
    assert world.escrow.balance(world.address(agent_payer), world.token.address) == 100_000 - 303
    assert world.escrow.payee_balance(payee, world.token.address) == 303 + 2_000
    with Session(world.engine) as s:
        window = s.get(WindowRow, window_id)
        assert window is not None and window.tx_hash
    receipt = world.w3.eth.get_transaction_receipt(window.tx_hash)  # type: ignore[arg-type]
    assert receipt["status"] == 1  # one transaction carried both families


def test_a_long_run_of_one_key_splits_into_consecutive_agent_chunks(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 100_000)
    ids = [world.pay(payer, payee, 10, kind="agent") for _ in range(6)]
    _, chunks = settle(world)
    settlements = [chunk_settlement(c) for c in chunks]
    runs = [(p.from_nonce, p.to_nonce, p.total) for s in settlements for p in s.pairs]
    assert runs == [(0, 4, 40), (4, 6, 20)]  # the second piece starts where the first ended
    assert set(world.states(ids).values()) == {"settled"}
    assert world.escrow.agent_high_water(world.key_of(payer), payee) == 6


def test_key_revoked_mid_window_is_skipped_then_its_mandates_fail_with_the_reason(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 100_000)
    ids = [world.pay(payer, payee, 50, kind="agent") for _ in range(2)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    attest = AttestationProver(world.attester, world.stack.verifiers)
    for chunk_id in closed.chunk_ids:
        prove_chunk(world.engine, chunk_id, attest, world.chain)
    key_id = world.key_of(payer)
    world.escrow.revoke_agent_key(key_id, payer)
    world.warp(DELAY + 1)  # the revocation takes effect before the window lands
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert (out.status, out.settled_pairs, out.skipped_pairs) == ("settled", 0, 1)
    assert set(world.states(ids).values()) == {"accepted"}
    assert world.reasons(ids[0])[-1] == "skipped on chain: AGENT_KEY_REVOKED"
    # the next window fails them for good, naming the key, instead of retrying forever
    again = close_window(world.engine, world.chain, world.sizes, payee=payee)
    assert again.window_id is None and set(again.failed) == set(ids)
    assert f"agent key {key_id} is revoked" in str(world.reasons(ids[1])[-1])
    assert world.escrow.balance(world.address(payer), world.token.address) == 100_000
    assert world.escrow.payee_balance(payee, world.token.address) == 0


def test_mandates_over_the_keys_cap_wait_and_the_rest_settles(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 100_000)
    key_id = world.new_agent_key(payer, cap=250)
    ids = [world.accept_agent(world.sign_agent(key_id, payee, 100)) for _ in range(3)]
    settle(world)
    assert world.states(ids) == {ids[0]: "settled", ids[1]: "settled", ids[2]: "accepted"}
    info = world.escrow.agent_key(key_id)
    assert info is not None and info.spent == 200 and info.spent <= info.cap
    waiting = close_window(world.engine, world.chain, world.sizes, payee=payee)
    assert waiting.window_id is None and waiting.waiting == (ids[2],)


def test_cap_lowered_mid_window_is_skipped_and_waits(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 100_000)
    key_id = world.new_agent_key(payer, cap=10_000)
    ids = [world.accept_agent(world.sign_agent(key_id, payee, 400)) for _ in range(2)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    attest = AttestationProver(world.attester, world.stack.verifiers)
    for chunk_id in closed.chunk_ids:
        prove_chunk(world.engine, chunk_id, attest, world.chain)
    world.escrow.lower_agent_key_cap(key_id, 500, payer)
    world.warp(DELAY + 1)
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert (out.settled_pairs, out.skipped_pairs) == (0, 1)
    assert world.reasons(ids[0])[-1] == "skipped on chain: AGENT_KEY_CAP_EXCEEDED"
    # replanned under the lowered cap: the first fits, the second waits behind it
    _, chunks = settle(world)
    assert [p.total for p in chunk_settlement(chunks[0]).pairs] == [400]
    assert world.states(ids) == {ids[0]: "settled", ids[1]: "accepted"}
    assert world.escrow.payee_balance(payee, world.token.address) == 400


def test_unknown_family_size_is_not_used(world: World) -> None:
    """A size configured as agent whose verifier the escrow registered for EIP-712 is unusable:
    nothing is planned onto it (the escrow would refuse the settlement)."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 10_000)
    ids = [world.pay(payer, payee, 10, kind="agent")]
    wrong = [CircuitSize(1, 2, 1, "agent")]  # verifier 1 is registered for the batch family
    closed = close_window(world.engine, world.chain, wrong, payee=payee)
    assert closed.window_id is None and closed.waiting == tuple(ids)


def test_agent_witness_request_is_built_from_stored_rows_and_the_escrows_keys(world: World) -> None:
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 10_000)
    signed = [world.sign_agent(world.key_of(payer), payee, 7 + i) for i in range(2)]
    ids = [world.accept_agent(m) for m in signed]
    closed = close_window(world.engine, world.chain, world.sizes, payee=payee)
    separator = world.escrow.domain_separator()
    with sessions(world.engine).begin() as s:
        chunk = s.get(ChunkRow, closed.chunk_ids[0])
        assert chunk is not None and chunk.family == "agent"
        job = _with_keys(_job(s, world.chain, chunk, separator), world.chain)
        assert isinstance(job, AgentProofJob)
        request = agent_witness_request(job)
        key = world.agent_keys[world.key_of(payer)][0].public_key
        assert request["settlement"]["pairs"][0]["key"] == "0x" + key.hex()
        assert [m["nonce"] for m in request["mandates"]] == ["1", "2"]
        assert request["mandates"][1]["signature"] == "0x" + signed[1].signature.hex()
        assert job.public_input == world.escrow.agent_public_input_of(job.settlement)
        # a stored row that no longer adds up to the stored settlement is never proved
        row = s.get(MandateRow, ids[1])
        assert row is not None
        row.amount = "9"
        s.flush()
        tampered = _with_keys(_job(s, world.chain, chunk, separator), world.chain)
        assert isinstance(tampered, AgentProofJob)
        with pytest.raises(ValueError, match="not the stored settlement"):
            agent_witness_request(tampered)
        s.rollback()


def test_circuit_list_names_each_sizes_family() -> None:
    sizes = parse_sizes("1:1:1, 9:64:8:agent,2:4:2:batch")
    assert sizes == (CircuitSize(1, 1, 1), CircuitSize(9, 64, 8, "agent"), CircuitSize(2, 4, 2))


@pytest.mark.parametrize("spec", ["1:1", "1:1:1:eip712", "x:1:1", "0:1:1", "1:0:1:agent", "1:1:1:agent:2"])
def test_a_bad_circuit_list_is_refused_naming_the_item(spec: str) -> None:
    with pytest.raises(ValueError, match="AEP2_CIRCUITS item"):
        parse_sizes(spec)
