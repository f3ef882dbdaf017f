"""State transitions and window closing rules."""

from __future__ import annotations

from itertools import pairwise

import pytest

from aep2.settlement.states import TERMINAL, TRANSITIONS, InvalidTransition, MandateState, check_transition
from aep2.settlement.window import WindowPolicy

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
