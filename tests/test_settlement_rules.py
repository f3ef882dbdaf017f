"""State transitions and window closing rules."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from aep2.settlement.states import TERMINAL, TRANSITIONS, InvalidTransition, MandateState, check_transition
from aep2.settlement.window import WindowPolicy
from aep2.store import create_schema, insert_accepted, make_engine, transition

S = MandateState
HAPPY_PATH = [S.ACCEPTED, S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED, S.SETTLED]


def test_happy_path_is_allowed() -> None:
    for current, target in pairwise(HAPPY_PATH):
        check_transition(current, target)


@pytest.mark.parametrize("state", [S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED])
def test_in_flight_work_can_roll_back_to_accepted(state: MandateState) -> None:
    check_transition(state, S.ACCEPTED)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.SETTLED, S.ACCEPTED),
        (S.FAILED, S.ACCEPTED),
        (S.ACCEPTED, S.SETTLED),
        (S.BATCHED, S.SUBMITTED),
        (S.ACCEPTED, S.PROVED),
        (S.SETTLED, S.FAILED),
    ],
)
def test_skipping_or_leaving_terminal_states_is_refused(current: MandateState, target: MandateState) -> None:
    with pytest.raises(InvalidTransition):
        check_transition(current, target)


def test_terminal_states_are_settled_and_failed() -> None:
    assert {S.SETTLED, S.FAILED} == TERMINAL
    assert all(S.FAILED in TRANSITIONS[s] for s in S if s not in TERMINAL)


def test_window_closes_by_count_or_age() -> None:
    policy = WindowPolicy(max_age_seconds=60, max_count=3)
    assert not policy.should_close(pending=0, oldest_accepted_at=None, now=100)
    assert not policy.should_close(pending=2, oldest_accepted_at=50, now=100)
    assert policy.should_close(pending=3, oldest_accepted_at=99, now=100)
    assert policy.should_close(pending=1, oldest_accepted_at=40, now=100)


def test_window_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        WindowPolicy(max_age_seconds=0)


def test_store_transition_refuses_edges_not_in_the_map(tmp_path: Path) -> None:
    """The store's ``transition`` is the only writer of states, so it enforces the map itself."""
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    create_schema(engine)
    fields = {
        "chain_id": 1,
        "escrow": "0x" + "00" * 20,
        "payer": "0x" + "01" * 20,
        "payee": "0x" + "02" * 20,
        "token": "0x" + "03" * 20,
        "amount": "5",
        "nonce": "1".zfill(20),
        "deadline": "9".zfill(20),
        "ref": "0x" + "00" * 32,
        "signature": "0x",
        "digest": "0x" + "04" * 32,
        "header": "",
        "transport": "http",
    }
    with Session(engine) as session, session.begin():
        mandate_id = insert_accepted(session=session, exposure=0, fields=fields)
    with Session(engine) as session, session.begin(), pytest.raises(InvalidTransition):
        transition(session=session, mandate_ids=[mandate_id], to=S.SETTLED)
    with Session(engine) as session, session.begin():
        assert transition(session=session, mandate_ids=[mandate_id], to=S.FAILED, reason="test") == 1
        assert transition(session=session, mandate_ids=[mandate_id], to=S.FAILED) == 0  # already there
    with Session(engine) as session, session.begin(), pytest.raises(InvalidTransition):
        transition(session=session, mandate_ids=[mandate_id], to=S.ACCEPTED)
