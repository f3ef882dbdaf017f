"""Issue #10's attacks on settlement, on a real anvil, escrow and store: each one now fails.

Proofs come from the attestation stand-in, which models a valid Groth16 proof: in the real
attack the payer proves its own, validly signed mandate with the (necessarily shared) key.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy.orm import Session

from aep2.chain import (
    DEFAULT_WITHDRAW_DELAY,
    Pair,
    Settlement,
    SkipReason,
    attestation_verifier,
    deploy_stack,
    deploy_verifier,
)
from aep2.chain.attestation import unsafe_attestation_proof
from aep2.settlement.models import ChunkRow
from aep2.settlement.pipeline import close_window, prove_chunk, settlement_of, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.proving import AttestationProver
from tests.settlement_support import ChainParts, World, attested_chain, world_with_store

DELAY = 3600
SIZES = (CircuitSize(1, 2, 1), CircuitSize(2, 4, 2))


@pytest.fixture(scope="module")
def chain_parts() -> Iterator[ChainParts]:
    with attested_chain(SIZES, DELAY) as parts:
        yield parts


@pytest.fixture
def world(chain_parts: ChainParts, tmp_path: Path) -> World:
    return world_with_store(chain_parts, tmp_path / "payee.db", SIZES)


def proved(world: World, settlement: Settlement) -> bytes:
    verifier = world.stack.verifiers[settlement.verifier_id]
    public_input = world.escrow.public_input_of(settlement)
    return unsafe_attestation_proof(world.attester, verifier, world.w3.eth.chain_id, public_input)


def settle_window(world: World) -> int:
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None, closed
    for chunk_id in closed.chunk_ids:
        prover = AttestationProver(world.attester, world.stack.verifiers)
        assert prove_chunk(world.engine, chunk_id, prover, world.chain).status == "proved"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"
    return closed.window_id


def test_payer_cannot_void_its_debts_with_its_own_high_nonce_settlement(world: World) -> None:
    """Finding 1 (critical): the payer settles a 1-unit mandate to the payee with a nonce above
    every accepted one. The escrow skips it (the payer is not the payee's approved submitter), the
    mark does not move, and the payee's own window is paid in full."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 1_000_000)
    ids = [world.accept(world.sign(payer, payee, 1_000)) for _ in range(3)]
    deadline = int(time.time()) + 86_400
    own = Settlement(1, world.token.address, deadline, (Pair(world.address(payer), payee, 0, 10**6, 1),))
    result = world.escrow.submit_settlement(proved(world, own), own, payer)
    assert [p.reason for p in result.skipped] == [SkipReason.SUBMITTER_NOT_APPROVED]
    assert world.escrow.high_water(world.address(payer), payee) == 0
    settle_window(world)
    assert set(world.states(ids).values()) == {"settled"}
    assert world.escrow.payee_balance(payee, world.token.address) == 3_000


def test_a_moved_high_water_mark_does_not_settle_mandates(world: World) -> None:
    """Finding 1, pipeline side: only a ``PairSettled`` for exactly the pair's range settles its
    mandates. Here the payee's own key settles another range first (say a second store of the
    same payee); the window's pair is skipped and its mandates are *not* marked settled."""
    payer, payee_key = world.new_account(), world.new_payee_key()
    payee = world.address(payee_key)
    world.fund(payer, 1_000_000)
    ids = [world.accept(world.sign(payer, payee, 500)) for _ in range(2)]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert closed.window_id is not None
    prover = AttestationProver(world.attester, world.stack.verifiers)
    prove_chunk(world.engine, closed.chunk_ids[0], prover, world.chain)
    other = Settlement(
        1, world.token.address, int(time.time()) + 86_400, (Pair(world.address(payer), payee, 0, 9, 7),)
    )
    world.escrow.submit_settlement(proved(world, other), other, payee_key)
    assert world.escrow.high_water(world.address(payer), payee) == 9
    out = submit_window(world.engine, closed.window_id, world.chain)
    assert (out.settled_pairs, out.skipped_pairs) == (0, 1)
    assert "settled" not in set(world.states(ids).values())
    assert "NONCE_MISMATCH" in str(world.reasons(ids[0])[-1])


def test_pending_withdrawal_does_not_strand_accepted_mandates(world: World) -> None:
    """Finding 2: after ``requestWithdraw(all)`` the planner still budgets the whole balance (it
    stays debitable until executed), so the window settles before the withdrawal can execute."""
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 3_000)
    ids = [world.accept(world.sign(payer, payee, 1_000)) for _ in range(3)]
    world.escrow.request_withdraw(world.token.address, 3_000, payer)
    settle_window(world)
    assert set(world.states(ids).values()) == {"settled"}
    world.warp(DELAY + 1)
    world.escrow.execute_withdraw(world.token.address, payer)
    assert world.escrow.payee_balance(payee, world.token.address) == 3_000
    assert world.escrow.balance(world.address(payer), world.token.address) == 0


def test_payers_with_a_pending_withdrawal_are_settled_first(world: World) -> None:
    staying, leaving = world.new_account(), world.new_account()
    payee = world.new_payee()
    for key in (staying, leaving):
        world.fund(key, 10_000)
    for _ in range(2):
        world.accept(world.sign(staying, payee, 100, deadline=int(time.time()) + 7_200))
        world.accept(world.sign(leaving, payee, 100))
    world.escrow.request_withdraw(world.token.address, 10_000, leaving)
    closed = close_window(world.engine, world.chain, world.sizes)
    with Session(world.engine) as s:
        first = s.query(ChunkRow).filter_by(window_id=closed.window_id, index=0).one()
        assert settlement_of(first.settlement).pairs[0].payer == world.address(leaving)


def test_reservation_is_debited_first_and_only_by_its_payee(world: World) -> None:
    """Finding 5: a reservation backs one payee without credit risk; another payee's window cannot
    touch it, and the reserved payee's settlement draws it down before the free balance."""
    payer = world.new_account()
    reserved_payee, other_payee = world.new_payee(), world.new_payee()
    world.fund(payer, 5_000)
    world.escrow.reserve(reserved_payee, world.token.address, 4_000, payer)
    mine = [world.accept(world.sign(payer, reserved_payee, 1_500)) for _ in range(2)]
    theirs = [world.accept(world.sign(payer, other_payee, 1_500))]
    settle_window(world)
    assert set(world.states(mine).values()) == {"settled"}
    assert world.states(theirs) == {theirs[0]: "accepted"}  # 1,000 free < 1,500: it waits
    payer_address = world.address(payer)
    assert world.escrow.reservation(payer_address, reserved_payee, world.token.address) == 1_000
    assert world.escrow.balance(payer_address, world.token.address) == 1_000


def test_unapproved_payee_waits_instead_of_being_skipped(world: World) -> None:
    payer, payee_key = world.new_account(), world.new_account(10**17)
    payee = world.address(payee_key)
    world.fund(payer, 10_000)
    ids = [world.accept(world.sign(payer, payee, 100))]
    closed = close_window(world.engine, world.chain, world.sizes)
    assert (closed.window_id, closed.waiting) == (None, tuple(ids))
    world.escrow.approve_submitter(world.address(world.submitter), True, payee_key)
    settle_window(world)
    assert world.states(ids) == {ids[0]: "settled"}


def test_verifier_settles_only_after_its_delay_and_retiring_strands_nothing(
    chain_parts: ChainParts, tmp_path: Path
) -> None:
    """Finding 6: a verifier the owner registers later waits two ``withdrawDelay`` (mandates wait with
    it); retiring one mid-window rolls the window back and the mandates settle at the size left."""
    w3, _, (owner, submitter, attester, *keys) = chain_parts
    attester_address = Account.from_key(attester).address
    stack = deploy_stack(w3, owner, verifiers=[attestation_verifier(1, 2, 1, attester_address)])
    late = str(deploy_verifier(w3, owner, attestation_verifier(5, 4, 2, attester_address)).address)
    stack = replace(stack, verifiers={**stack.verifiers, 5: late})
    world = world_with_store((w3, stack, [owner, submitter, attester, *keys]), tmp_path / "payee.db", SIZES)
    engine = world.engine
    world.escrow.register_verifier(5, late, 4, 2, owner)
    info = world.escrow.verifier_info(5)
    # one withdrawDelay to notice the announcement, one for the withdrawal to become executable
    assert info is not None and info.active_at == world.chain_now() + 2 * DEFAULT_WITHDRAW_DELAY
    payer, payee = world.new_account(), world.new_payee()
    world.fund(payer, 100_000)
    ids = [
        world.accept(world.sign(payer, payee, 10, deadline=int(time.time()) + 3 * 86_400)) for _ in range(3)
    ]
    only_late = (CircuitSize(5, 4, 2),)
    closed = close_window(engine, world.chain, only_late)
    assert closed.window_id is None and set(closed.waiting) == set(ids)
    world.warp(2 * DEFAULT_WITHDRAW_DELAY)
    closed = close_window(engine, world.chain, (CircuitSize(1, 2, 1), *only_late))
    assert closed.window_id is not None
    prover = AttestationProver(world.attester, stack.verifiers)
    for chunk_id in closed.chunk_ids:
        prove_chunk(engine, chunk_id, prover, world.chain)
    with Session(engine) as s:
        assert {c.verifier_id for c in s.query(ChunkRow).filter_by(window_id=closed.window_id)} == {5}
    world.escrow.retire_verifier(5, owner)
    assert submit_window(engine, closed.window_id, world.chain).status == "reverted"
    assert set(world.states(ids).values()) == {"accepted"}
    world.sizes = (CircuitSize(1, 2, 1), *only_late)
    settle_window(world)
    assert set(world.states(ids).values()) == {"settled"}
