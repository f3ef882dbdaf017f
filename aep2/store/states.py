"""The life of an accepted mandate, as committed rows: which transitions exist and why.

    accepted ─► batched ─► proving ─► proved ─► submitted ─► settled
       ▲           │          │          │          │
       └───────────┴──────────┴──────────┴──────────┘  back to accepted: a chunk failed to
                                                       prove, a transaction was dropped, or
                                                       the chain skipped the pair
    any state before settled ─► failed  (can never settle: past its deadline, stale nonce)

The chain is the source of truth: ``settled`` is only entered from what the
escrow's events or high-water marks say, never from a sent transaction alone.
The map lives in the store, next to the one function that writes states
(:func:`aep2.store.transition`), so no caller can move a mandate along an edge
that does not exist here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from aep2.errors import Aep2Error, Reason


class MandateState(StrEnum):
    """Settlement states of an accepted mandate (DESIGN "Settlement pipeline")."""

    ACCEPTED = "accepted"
    BATCHED = "batched"
    PROVING = "proving"
    PROVED = "proved"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    FAILED = "failed"


_S = MandateState
TRANSITIONS: Final[dict[MandateState, frozenset[MandateState]]] = {
    _S.ACCEPTED: frozenset({_S.BATCHED, _S.FAILED}),
    _S.BATCHED: frozenset({_S.PROVING, _S.ACCEPTED, _S.FAILED}),
    _S.PROVING: frozenset({_S.PROVED, _S.ACCEPTED, _S.FAILED}),
    _S.PROVED: frozenset({_S.SUBMITTED, _S.ACCEPTED, _S.FAILED}),
    # a submitted pair may be confirmed by the chain (settled) or skipped / dropped (accepted)
    _S.SUBMITTED: frozenset({_S.SETTLED, _S.ACCEPTED, _S.FAILED}),
    _S.SETTLED: frozenset(),
    _S.FAILED: frozenset(),
}
TERMINAL: Final = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)

UNSETTLED_STATES: Final[frozenset[MandateState]] = frozenset(MandateState) - TERMINAL
"""States whose amount still counts against the payer's headroom."""

IN_FLIGHT_STATES: Final[frozenset[MandateState]] = UNSETTLED_STATES - {MandateState.ACCEPTED}
"""States of a mandate in a closed window whose settlement is not known yet."""


class InvalidTransition(Aep2Error):
    """A state change the pipeline never makes: a bug or a corrupted row, never ignored."""

    default_reason = Reason.CONFIGURATION


def check_transition(current: MandateState, target: MandateState) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            f"a mandate cannot go from {current} to {target}", current=current, target=target
        )
