"""What the pipeline tells people: alerts enqueued in the transaction of the change they report.

Each function is called by one pipeline step, inside the session whose commit makes the change,
so the alert commits (or rolls back) with it (:mod:`aep2.alerts.outbox`). They only read what the
step already holds or the chain already answered, and never change the step's outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aep2.alerts import enqueue, kinds
from aep2.chain.agent_settlement import AgentPair
from aep2.chain.settlement import Pair
from aep2.settlement.chain_access import Chain
from aep2.settlement.funds import Funds
from aep2.settlement.models import ChunkRow, WindowRow
from aep2.store.models import UNSETTLED_STATES, MandateRow, uint64_key
from aep2.store.states import MandateState

MISSING = "MISSING"
"""``pair_skipped``'s reason when the window's own transaction did not carry the pair (dropped)."""


def window_failed(session: Session, window: WindowRow, reason: str, mandates: int) -> None:
    """``window`` failed with ``reason``; ``mandates`` went back to accepted."""
    alert = kinds.window_failed(
        window_id=window.id, chain_id=window.chain_id, escrow=window.escrow, payee=window.payee,
        tx_hash=window.tx_hash, reason=reason, mandates=mandates,
    )  # fmt: skip
    enqueue(session, alert)


def pair_skipped(
    session: Session,
    window: WindowRow,
    chunk: ChunkRow,
    pair: Pair | AgentPair,
    skip_reason: str | None,
    message: str,
    rows: Sequence[MandateRow],
) -> None:
    """A pair of ``window`` was not paid; ``rows`` are its mandates, already moved back (to accepted,
    or failed when their deadline left no time)."""
    failed = sum(r.state == MandateState.FAILED.value for r in rows)
    # an agent pair names its key; the payer is the key's payer on record, as each row stores it
    payer = pair.payer if isinstance(pair, Pair) else (rows[0].payer if rows else "")
    alert = kinds.pair_skipped(
        window_id=window.id, chunk_id=chunk.id, tx_hash=window.tx_hash, family=chunk.family,
        payer=payer, key_id=pair.key_id if isinstance(pair, AgentPair) else None, payee=pair.payee,
        from_nonce=pair.from_nonce, to_nonce=pair.to_nonce, total=pair.total,
        reason=skip_reason or MISSING, message=message,
        mandates_returned=len(rows) - failed, mandates_failed=failed,
    )  # fmt: skip
    enqueue(session, alert)


def proof_failed(session: Session, chunk: ChunkRow, attempt: int, max_attempts: int, error: str) -> None:
    alert = kinds.proof_failed(
        chunk_id=chunk.id, window_id=chunk.window_id, family=chunk.family, verifier_id=chunk.verifier_id,
        attempt=attempt, max_attempts=max_attempts, error=error,
    )  # fmt: skip
    enqueue(session, alert)


def chunk_stuck(session: Session, chunk: ChunkRow, idle_seconds: float, stuck_after: float) -> None:
    updated = chunk.updated_at if chunk.updated_at.tzinfo else chunk.updated_at.replace(tzinfo=UTC)
    since = updated.astimezone(UTC).isoformat()  # names the episode: the same on every reconcile pass
    alert = kinds.chunk_stuck(
        chunk_id=chunk.id, window_id=chunk.window_id, state=chunk.state, attempts=chunk.attempts,
        idle_seconds=int(idle_seconds), stuck_after=stuck_after, since=since,
    )  # fmt: skip
    enqueue(session, alert)


def revocations_pending(session: Session, chain: Chain, key_ids: Iterable[int]) -> None:
    """For each agent key in ``key_ids`` whose revocation is scheduled (or in effect), one alert per
    scheduled time naming what the store still holds unsettled on it."""
    ids = sorted(set(key_ids))
    if not ids:
        return
    unsettled = session.execute(
        select(MandateRow.key_id, MandateRow.amount).where(
            MandateRow.key_id.in_([uint64_key(k) for k in ids]),
            MandateRow.state.in_([s.value for s in UNSETTLED_STATES]),
        )
    ).all()
    count: dict[int, int] = defaultdict(int)
    amount: dict[int, int] = defaultdict(int)
    for stored, value in unsettled:
        count[int(stored)] += 1
        amount[int(stored)] += int(value)
    for key_id in ids:
        info = chain.escrow.agent_key(key_id)
        if info is None or not info.revoke_at or not count[key_id]:
            continue
        alert = kinds.key_revocation_pending(
            key_id=key_id, payer=info.payer, token=info.token, revoke_at=info.revoke_at,
            mandates=count[key_id], amount=amount[key_id],
        )  # fmt: skip
        enqueue(session, alert)


def low_headroom(
    session: Session, funds: Funds, rows: Sequence[MandateRow], threshold: int | None, *, now: float
) -> None:
    """Per (payer, token) of the mandates being planned: what the payer can be debited for this
    store's payees (free balance net of what is in flight, plus their reservations) less what is
    accepted and not yet in flight. Below ``threshold``: one alert per payer, token and UTC day."""
    if threshold is None:
        return
    unsettled: dict[tuple[str, str], int] = defaultdict(int)
    payees: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows:
        unsettled[(r.payer, r.token)] += int(r.amount)
        payees[(r.payer, r.token)].add(r.payee)
    day = datetime.fromtimestamp(now, UTC).date().isoformat()
    for (payer, token), owed in sorted(unsettled.items()):
        balance = funds.free.get((payer, token), 0)
        reserved = sum(funds.reserved.get((payer, payee, token), 0) for payee in payees[(payer, token)])
        headroom = balance + reserved - owed
        if headroom < threshold:
            alert = kinds.headroom_low(
                payer=payer, token=token, headroom=headroom, threshold=threshold, balance=balance,
                reserved=reserved, unsettled=owed, day=day,
            )  # fmt: skip
            enqueue(session, alert)
