"""The append-only audit log: every attempt, approved or rejected, with its reason.

Spending windows and the rate limit are computed from this log, so a restart
never resets a limit and the log is the single record of what was authorised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from aep2.payer import _db

APPROVED = "approved"
REJECTED = "rejected"
REFUSED = "refused_by_payee"
"""The payee answered a signed mandate with a refusal (recorded for people; the mandate still
counts against the limits, see :func:`spent_since`)."""


@dataclass(frozen=True)
class AuditEntry:
    """One decision of the payer SDK (amount as an int; ``None`` where the request was unusable).

    ``kind`` is the mandate's kind (``eip712`` or ``agent``, with the agent key's ``key_id``) once
    the payer chose one; ``None`` before (and in rows written before aep2 had agent keys).
    """

    at: float
    decision: str
    reason: str
    message: str
    payer: str
    payee: str | None = None
    token: str | None = None
    amount: int | None = None
    chain_id: int | None = None
    escrow: str | None = None
    nonce: int | None = None
    deadline: int | None = None
    ref: str | None = None
    digest: str | None = None
    resource: str | None = None
    kind: str | None = None
    key_id: int | None = None
    id: int | None = None

    def row(self) -> dict[str, Any]:
        values = asdict(self)
        values.pop("id")
        values["amount"] = None if self.amount is None else str(self.amount)
        return values

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        values = dict(row._mapping)
        values["amount"] = None if values["amount"] is None else int(values["amount"])
        return cls(**values)


def append(conn: Connection, entry: AuditEntry) -> None:
    """Insert one entry inside the caller's transaction."""
    conn.execute(insert(_db.audit).values(**entry.row()))


def spent_since(conn: Connection, *, payer: str, token: str, since: float) -> int:
    """Sum of approved amounts of ``token`` since ``since`` (summed in Python: amounts exceed int64).

    Mandates the payee refused count too (fail closed): the payer cannot check a refusal, and a
    payee that kept a "refused" mandate could still settle it.
    """
    rows = conn.execute(
        select(_db.audit.c.amount).where(
            _db.audit.c.payer == payer,
            _db.audit.c.token == token,
            _db.audit.c.decision == APPROVED,
            _db.audit.c.at >= since,
        )
    )
    return sum(int(amount) for (amount,) in rows)


def approved_count_since(conn: Connection, *, payer: str, since: float) -> int:
    """How many payments were approved since ``since`` (all payees and tokens)."""
    query = select(func.count()).where(
        _db.audit.c.payer == payer, _db.audit.c.decision == APPROVED, _db.audit.c.at >= since
    )
    return int(conn.execute(query).scalar_one())


class AuditLog:
    """Read access to the log for people and tests; writes happen only inside :class:`Payer`."""

    def __init__(self, engine: Engine | str | Path | None = None) -> None:
        self.engine = engine if isinstance(engine, Engine) else _db.open_engine(engine)

    def entries(self, *, payer: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Entries oldest first (optionally one payer's, optionally the last ``limit``)."""
        query = select(_db.audit).order_by(_db.audit.c.id.desc())
        if payer is not None:
            query = query.where(_db.audit.c.payer == payer)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [AuditEntry.from_row(row) for row in reversed(rows)]
