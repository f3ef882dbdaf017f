"""The append-only audit log: every attempt, approved or rejected, with its reason.

It is the record of what was authorised, written before anything is signed. The spending
windows are summed from the budget ledger instead (``aep2.payer._budget``), which holds the same
payments rolled up per lease, so a check costs the same however long the log grows.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from aep2.payer import _db

APPROVED = "approved"
REJECTED = "rejected"
REFUSED = "refused_by_payee"
"""The payee answered a signed mandate with a refusal (recorded for people; the mandate still
counts against the limits: the payer cannot check a refusal, and a payee that kept a "refused"
mandate could still settle it)."""
COLUMNS = tuple(column.name for column in _db.audit.columns if column.name != "id")
"""The audit table's columns as a writer fills them (``id`` is SQLite's)."""
_ROW = operator.attrgetter(*COLUMNS)
_AMOUNT = COLUMNS.index("amount")
_ROW_OF = operator.itemgetter(*COLUMNS)
_NO_VALUES = dict.fromkeys(COLUMNS)


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

    def values(self) -> tuple[Any, ...]:
        """The row's values in the order of :data:`COLUMNS` (``amount`` as its decimal string)."""
        row: tuple[Any, ...] = _ROW(self)
        if self.amount is None:
            return row
        return (*row[:_AMOUNT], str(self.amount), *row[_AMOUNT + 1 :])

    @classmethod
    def row_of(cls, fields: dict[str, Any]) -> tuple[Any, ...]:
        """``cls(**fields).values()`` without building the entry: the row of every payment, where a
        frozen dataclass of 17 fields costs more than the row's insert statement."""
        values = _NO_VALUES | fields
        if values["amount"] is not None:
            values["amount"] = str(values["amount"])
        row: tuple[Any, ...] = _ROW_OF(values)
        return row

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        values = dict(row._mapping)
        values["amount"] = None if values["amount"] is None else int(values["amount"])
        return cls(**values)


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
