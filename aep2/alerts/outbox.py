"""The outbox: alerts as rows, enqueued in the transaction of the change they report.

Contract: :func:`enqueue` runs inside the caller's transaction, so an alert exists if and only if
the state change that caused it committed (never lost to a crash after the change, never sent for
a change that rolled back), and its dedupe key is unique, so a pipeline step that runs again
enqueues nothing new. Delivery happens later, outside that transaction (:mod:`aep2.alerts.sender`).

A row is ``pending`` until delivered (``delivered``) or given up (``dead``). A sender claims a
due row by pushing ``next_attempt_at`` one lease ahead and counting the attempt, in a committed
transaction, before it POSTs: a sender that dies mid-request leaves a pending row that falls due
again when the lease runs out. Delivery is therefore at least once, under one ``webhook_id``.

The table lives in the payee's store (migration 0006) and, for payer-side alerts, in the payer's
own SQLite database (:mod:`aep2.alerts.payer_log`), created there by :func:`create_outbox`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Executable, Index, Integer, String, Text, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from aep2.alerts.kinds import Alert
from aep2.store.models import Base, utcnow

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class AlertRow(Base):
    """One alert to deliver: its body exactly as it will be signed and sent, and its delivery state."""

    __tablename__ = "alert_outbox"
    __table_args__ = (Index("ix_alert_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(40), unique=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def create_outbox(bind: Engine | Connection) -> None:
    """Create the outbox table where migrations do not run (the payer's database, tests)."""
    AlertRow.__table__.create(bind, checkfirst=True)  # type: ignore[attr-defined]


def enqueue(session: Session | Connection, alert: Alert) -> bool:
    """Add ``alert`` inside the caller's transaction; False if its dedupe key is already there.

    ``INSERT ... ON CONFLICT DO NOTHING`` rather than a lookup first: two transactions enqueuing
    the same key at once (PostgreSQL) must not fail the state change they belong to.
    """
    now = utcnow()
    values = {
        "webhook_id": "msg_" + uuid.uuid4().hex,
        "dedupe_key": alert.key[:200],
        "type": alert.type,
        "body": alert.body().decode(),
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
    dialect = (session.get_bind() if isinstance(session, Session) else session).dialect.name
    statement: Executable
    if dialect in ("postgresql", "sqlite"):
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = upsert(AlertRow).values(**values).on_conflict_do_nothing()
    else:  # a store aep2 does not ship: look first (racy, but only between duplicates)
        taken = select(AlertRow.id).where(AlertRow.dedupe_key == values["dedupe_key"])
        if session.execute(taken).first() is not None:
            return False
        statement = insert(AlertRow).values(**values)
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """A row this sender holds until ``lease_until``: what to send, and the attempt it is."""

    id: int
    webhook_id: str
    type: str
    body: bytes
    attempt: int


def claim(engine: Engine, *, now: datetime, lease: float, max_attempts: int) -> Claimed | None:
    """Take the next due pending row (oldest due first), or None. A row whose last attempt died
    mid-request with no attempts left is marked dead here instead of being tried again."""
    with Session(engine) as session, session.begin():
        while True:
            due = (
                select(AlertRow)
                .where(AlertRow.status == PENDING, AlertRow.next_attempt_at <= now)
                .order_by(AlertRow.next_attempt_at, AlertRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            row = session.execute(due).scalars().first()
            if row is None:
                return None
            if row.attempts >= max_attempts:
                row.status = DEAD
                row.last_error = f"{row.last_error or ''} (no attempts left)".strip()[:2000]
                continue
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=lease)
            return Claimed(row.id, row.webhook_id, row.type, row.body.encode(), row.attempts)


def mark_delivered(engine: Engine, claimed: Claimed, *, now: datetime) -> None:
    """Delivered, whatever another sender recorded meanwhile: a 2xx is the receiver's word."""
    with engine.begin() as conn:
        conn.execute(
            update(AlertRow)
            .where(AlertRow.id == claimed.id)
            .values(status=DELIVERED, delivered_at=now, last_error=None)
        )


def mark_failed(engine: Engine, claimed: Claimed, error: str, *, retry_at: datetime | None) -> None:
    """Schedule the next attempt at ``retry_at``, or mark the row dead when None. Only while the row
    is still this claim's (a sender whose lease ran out does not overwrite a newer attempt)."""
    values: dict[str, object] = {"last_error": error[:2000]}
    values |= {"next_attempt_at": retry_at} if retry_at is not None else {"status": DEAD}
    with engine.begin() as conn:
        conn.execute(
            update(AlertRow)
            .where(
                AlertRow.id == claimed.id,
                AlertRow.status == PENDING,
                AlertRow.attempts == claimed.attempt,
            )
            .values(**values)
        )
