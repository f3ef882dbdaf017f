"""Store functions for mandates: the atomic accept, exposure bookkeeping and state transitions.

Keyword-only ``(*, session, ...)`` functions; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aep2.store.models import (
    UNSETTLED_STATES,
    ExposureRow,
    MandateRow,
    MandateState,
    ReceiptRow,
    StateTransitionRow,
    uint64_key,
    utcnow,
)


def lock_exposure(*, session: Session, payer: str, token: str) -> int:
    """Lock the (payer, token) exposure row for this transaction and return its unsettled total.

    On PostgreSQL this is ``SELECT … FOR UPDATE`` on a row created on demand, so
    two checks draining one payer's headroom serialise while other payers run in
    parallel. On SQLite the transaction already holds the database write lock
    (``BEGIN IMMEDIATE``), and ``FOR UPDATE`` is omitted by the dialect.
    """
    dialect = session.get_bind().dialect.name
    values = {"payer": payer, "token": token, "unsettled": "0"}
    if dialect == "postgresql":
        session.execute(postgresql.insert(ExposureRow).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite.insert(ExposureRow).values(values).on_conflict_do_nothing())
    query = select(ExposureRow.unsettled).where(ExposureRow.payer == payer, ExposureRow.token == token)
    return int(session.execute(query.with_for_update()).scalar_one())


def exposure_of(*, session: Session, payer: str, token: str) -> int:
    """The (payer, token) unsettled total without locking (for read-only pre-checks)."""
    query = select(ExposureRow.unsettled).where(ExposureRow.payer == payer, ExposureRow.token == token)
    value = session.execute(query).scalar_one_or_none()
    return int(value) if value is not None else 0


def nonce_seen(*, session: Session, payer: str, payee: str, nonce: int) -> bool:
    query = select(MandateRow.id).where(
        MandateRow.payer == payer, MandateRow.payee == payee, MandateRow.nonce == uint64_key(nonce)
    )
    return session.execute(query).first() is not None


def insert_accepted(*, session: Session, exposure: int, fields: dict[str, Any]) -> MandateRow:
    """Insert an accepted mandate and raise its (payer, token) exposure; the row's id is flushed."""
    row = MandateRow(state=MandateState.ACCEPTED.value, **fields)
    session.add(row)
    session.flush()
    session.execute(
        ExposureRow.__table__.update()
        .where(ExposureRow.payer == row.payer, ExposureRow.token == row.token)
        .values(unsettled=str(exposure + int(row.amount)))
    )
    session.add(StateTransitionRow(mandate_id=row.id, from_state=None, to_state=row.state, at=row.accepted_at))
    return row


def insert_receipt(*, session: Session, mandate_id: int, signed: dict[str, Any]) -> ReceiptRow:
    row = ReceiptRow(mandate_id=mandate_id, receipt=signed["receipt"], signature=signed["signature"])
    session.add(row)
    return row


def transition(
    *, session: Session, mandate_ids: Iterable[int], to: MandateState, reason: str | None = None
) -> int:
    """Move mandates to ``to``, recording each change; leaving the unsettled states releases exposure.

    Returns how many mandates changed state. The settlement pipeline calls this.
    """
    now: datetime = utcnow()
    rows = session.execute(select(MandateRow).where(MandateRow.id.in_(list(mandate_ids)))).scalars().all()
    changed = 0
    for row in rows:
        if row.state == to.value:
            continue
        if row.state in UNSETTLED_STATES and to not in UNSETTLED_STATES:
            exposure = lock_exposure(session=session, payer=row.payer, token=row.token)
            session.execute(
                ExposureRow.__table__.update()
                .where(ExposureRow.payer == row.payer, ExposureRow.token == row.token)
                .values(unsettled=str(exposure - int(row.amount)))
            )
        session.add(StateTransitionRow(mandate_id=row.id, from_state=row.state, to_state=to.value, at=now, reason=reason))
        row.state, row.updated_at = to.value, now
        changed += 1
    return changed


def count_mandates(*, session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM mandates")).scalar_one())
