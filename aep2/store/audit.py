"""The append-only audit log: one generic table for the payer's policy decisions and the payee's events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aep2.store.models import AuditEntryRow


def append_audit(
    *,
    session: Session,
    actor: str,
    action: str,
    outcome: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntryRow:
    """Add one entry; there is deliberately no update or delete function."""
    row = AuditEntryRow(actor=actor, action=action, outcome=outcome, reason=reason, details=details or {})
    session.add(row)
    return row


def list_audit(*, session: Session, actor: str | None = None, limit: int = 100) -> list[AuditEntryRow]:
    query = select(AuditEntryRow).order_by(AuditEntryRow.id.desc()).limit(limit)
    if actor is not None:
        query = query.where(AuditEntryRow.actor == actor)
    return list(session.execute(query).scalars())
