"""Payer-side alerts, derived from the payer's append-only audit log rather than raised in place.

The payer SDK records every decision in ``payer_audit`` (:mod:`aep2.payer`'s audit log) in the
transaction that takes it, so the log already is a durable, ordered stream of what happened; a
second write path inside the SDK would only duplicate it. :func:`collect` reads the entries past a
cursor, enqueues a :data:`~aep2.alerts.kinds.POLICY_DENIED` or
:data:`~aep2.alerts.kinds.APPROVAL_REQUIRED` alert for each rejection a person should hear about,
and moves the cursor, all in one transaction.

The cursor and the outbox live in the payer's own SQLite file, beside the log (tables
``alert_cursors`` and ``alert_outbox``), not in a sidecar file: one transaction then covers reading
the log, enqueuing and advancing, so a crash can neither skip an entry nor enqueue one twice, and
the alerts travel with the log they come from when the file is copied or backed up. The cost is a
write lock for a few milliseconds per pass, taken the way the SDK takes it (``BEGIN IMMEDIATE``),
so a payment waits for it rather than failing. The payer's own tables are not touched.

A cursor starts at the beginning of the log: the first run reports the rejections already in it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, inspect, select, text
from sqlalchemy.dialects.sqlite import insert

from aep2.alerts import kinds
from aep2.alerts.outbox import create_outbox, enqueue
from aep2.errors import ConfigurationError
from aep2.payer import REJECTED, AuditEntry
from aep2.store.engine import make_engine

AUDIT_TABLE = "payer_audit"
CURSOR = "payer_audit"

_metadata = MetaData()
cursors = Table(
    "alert_cursors",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("position", Integer, nullable=False, doc="the last audit id turned into alerts (or skipped)"),
)

APPROVAL_REASONS = frozenset({"approval_required"})
DENIAL_PREFIX = "policy_"
DENIAL_REASONS = frozenset({"approval_denied"})


def alert_type(entry: AuditEntry) -> str | None:
    """The alert a log entry raises: a policy rule or an approver refused (``policy.denied``), or
    the amount needs a person (``policy.approval_required``); None for anything else."""
    if entry.decision != REJECTED:
        return None
    if entry.reason in APPROVAL_REASONS:
        return kinds.APPROVAL_REQUIRED
    if entry.reason.startswith(DENIAL_PREFIX) or entry.reason in DENIAL_REASONS:
        return kinds.POLICY_DENIED
    return None


def open_payer_outbox(path: Path) -> Engine:
    """An engine on an existing payer database, with the outbox and cursor tables created in it."""
    db = path.expanduser()
    if not db.is_file():
        raise ConfigurationError(f"no payer database at {db} (pass --payer-db, or set AEP2_PAYER_DB)")
    engine = make_engine(f"sqlite:///{db}")
    if not inspect(engine).has_table(AUDIT_TABLE):
        raise ConfigurationError(f"{db} is not a payer database (no {AUDIT_TABLE} table)")
    with engine.begin() as conn:
        create_outbox(conn)
        cursors.create(conn, checkfirst=True)
    return engine


def collect(engine: Engine, *, batch: int = 500) -> int:
    """Turn the audit entries past the cursor into alerts (at most ``batch`` per call); how many
    alerts were enqueued."""
    enqueued = 0
    with engine.begin() as conn:
        position = conn.execute(select(cursors.c.position).where(cursors.c.name == CURSOR)).scalar() or 0
        rows = conn.execute(
            text(f"SELECT * FROM {AUDIT_TABLE} WHERE id > :after ORDER BY id LIMIT :n"),
            {"after": position, "n": batch},
        ).all()
        for row in rows:
            entry = AuditEntry.from_row(row)
            type_ = alert_type(entry)
            if type_ is not None and entry.id is not None:
                at = datetime.fromtimestamp(entry.at, UTC)
                alert = kinds.payer_decision(type_, audit_id=entry.id, at=at, fields=vars(entry))
                enqueued += enqueue(conn, alert)
        if rows:
            last = int(rows[-1].id)
            upsert = insert(cursors).values(name=CURSOR, position=last)
            conn.execute(upsert.on_conflict_do_update(index_elements=["name"], set_={"position": last}))
    return enqueued
