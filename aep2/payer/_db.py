"""The payer's own database: the append-only audit log, the nonce journals and the budget ledger.

Separate from the payee's store on purpose (``~/.aep2/payer.db`` by default):
the payer's ledger of what it authorised must not depend on anyone it pays.

Every write transaction starts with SQLite's ``BEGIN IMMEDIATE``, which takes the
write lock up front, so threads *and* processes sharing the file are serialised:
two payers can neither share a nonce nor both squeeze under a limit. Commits run
with ``synchronous=NORMAL``: in WAL mode a committed transaction survives the
process being killed, and only a power loss or an OS crash can undo the last ones.
A transaction that reserves a block of nonces or of spending budget is followed by
an fsync of the WAL (what ``synchronous=FULL`` does at every commit) before anything
is signed from it (``docs/payer.md``, "Durability").
Triggers make the audit table append-only inside SQLite itself.

Columns and tables added since a file was created are added in place when it is
opened (:func:`upgrade`): nullable, so the rows already there keep their meaning;
a budget ledger added to an older file is seeded from its audit log.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
)

metadata = MetaData()

audit = Table(
    "payer_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True, doc="unix seconds of the decision"),
    Column("decision", String(16), nullable=False, doc="approved | rejected"),
    Column("reason", String(64), nullable=False, doc="'approved' or an aep2.errors.Reason"),
    Column("message", Text, nullable=False),
    Column("payer", String(42), nullable=False, index=True),
    Column("payee", String(42)),
    Column("token", String(42)),
    Column("amount", String(40), doc="decimal string: amounts reach 2^96, past SQLite's integers"),
    Column("chain_id", BigInteger),
    Column("escrow", String(42)),
    Column("nonce", BigInteger),
    Column("deadline", BigInteger),
    Column("ref", String(66)),
    Column("digest", String(66)),
    Column("resource", Text),
    Column("kind", String(8), doc="eip712 | agent for a mandate; NULL before one was chosen (or older rows)"),
    Column("key_id", BigInteger, doc="the agent key's id for an agent mandate"),
)

nonces = Table(
    "payer_nonces",
    metadata,
    Column("payer", String(42), primary_key=True),
    Column("payee", String(42), primary_key=True),
    Column("last_nonce", BigInteger, nullable=False, doc="highest nonce ever handed out for the pair"),
    Column("reserved", BigInteger, doc="end of the highest block reserved (fsynced); NULL: last_nonce"),
)

agent_nonces = Table(
    "payer_agent_nonces",
    metadata,
    Column("chain_id", BigInteger, primary_key=True),
    Column("escrow", String(42), primary_key=True),
    Column("key_id", BigInteger, primary_key=True, doc="key ids are per escrow (and chain)"),
    Column("payee", String(42), primary_key=True),
    Column("last_nonce", BigInteger, nullable=False, doc="highest nonce ever handed out for the sequence"),
    Column("reserved", BigInteger, doc="end of the highest block reserved (fsynced); NULL: last_nonce"),
)

budget = Table(
    "payer_budget",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payer", String(42), nullable=False),
    Column("token", String(42), nullable=False),
    Column("at", Float, nullable=False, doc="unix seconds the event was written"),
    Column("until", Float, nullable=False, doc="the lease's end: counted in windows starting before it"),
    Column("amount", String(41), nullable=False, doc="signed decimal: a reservation, or minus a release"),
    Column("count", BigInteger, nullable=False, doc="payments reserved (or, negative, released)"),
    Index("ix_payer_budget_until", "payer", "until"),
)

budget_totals = Table(
    "payer_budget_totals",
    metadata,
    Column("payer", String(42), primary_key=True),
    Column("token", String(42), primary_key=True),
    Column("width", Integer, primary_key=True, doc="seconds per bucket: 60 or 3600"),
    Column("start", BigInteger, primary_key=True, doc="holds the events with start <= until < start + width"),
    Column("amount", String(48), nullable=False),
    Column("count", BigInteger, nullable=False),
    Index("ix_payer_budget_totals_span", "payer", "width", "start"),
)

_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS payer_audit_no_update BEFORE UPDATE ON payer_audit "
    "BEGIN SELECT RAISE(ABORT, 'payer_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS payer_audit_no_delete BEFORE DELETE ON payer_audit "
    "BEGIN SELECT RAISE(ABORT, 'payer_audit is append-only'); END",
)

DEFAULT_PATH = Path("~/.aep2/payer.db")
SEED_SPAN = 86400.0
"""How far back an older audit log is read into a new budget ledger: the longest policy window."""


def default_path() -> Path:
    """``$AEP2_PAYER_DB`` if set, else ``~/.aep2/payer.db``."""
    return Path(os.environ.get("AEP2_PAYER_DB", str(DEFAULT_PATH))).expanduser()


PAGE_SIZE = 1024
"""Bytes per page of a new payer database. A decision dirties about five pages (the audit row, its two
indexes, the nonce row), each written whole to the WAL, and the fsync after a reservation flushes every
page written since the last one: at SQLite's default of 4 KiB that was 20 KiB a mandate, and the fsyncs
took 29-58 us a mandate by the clock; at 1 KiB, 14 us (docs/payer.md, "Performance"). An audit row is
a few hundred bytes, so it still fits in one page. A file created earlier keeps its page size (a WAL
database cannot change it)."""


def configure(connection: Any) -> None:
    """WAL, ``synchronous=NORMAL`` (reservations are fsynced on their own: see above), a 30 s busy
    timeout; transactions are begun explicitly (pysqlite's own BEGIN would be deferred). A new file
    gets :data:`PAGE_SIZE` (the pragma changes nothing in a file that has pages already)."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    configure(dbapi_connection)  # SQLAlchemy's "begin" event then issues BEGIN IMMEDIATE


def _on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(path: str | Path | None = None) -> Engine:
    """An engine on the payer database at ``path`` (created with its tables if missing)."""
    db = Path(path).expanduser() if path is not None else default_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{db}", connect_args={"timeout": 30})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    with engine.begin() as conn:
        seed = not inspect(conn).has_table(budget.name)
        metadata.create_all(conn)
        upgrade(conn)
        if seed:
            seed_budget(conn)
        for statement in _APPEND_ONLY:
            conn.exec_driver_sql(statement)
    if seed:  # the seeded events are reservations: durable before the first payment counts on them
        sync_wal(db)
    return engine


def sync_wal(db: Path | str) -> None:
    """fsync the WAL of ``db``: what ``synchronous=FULL`` does at each commit, once."""
    wal = os.open(f"{db}-wal", os.O_RDONLY)
    try:
        os.fdatasync(wal)
    finally:
        os.close(wal)


def upgrade(conn: Connection) -> None:
    """Add the columns a payer database created by an older aep2 lacks (``create_all`` adds only
    missing tables). Each is nullable, so no existing row is rewritten: the log stays append-only."""
    for table in (audit, nonces, agent_nonces):
        present = {column["name"] for column in inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')


# --- the budget ledger: events and their rolled-up buckets ------------------------------------------
#
# An event reserves (or, negative, releases) budget of one lease, counted in a policy window that
# starts at ``since`` while ``until > since``. Each event is also added to a minute and an hour
# bucket, so a window's total is the exact events of the minute holding ``since``, then at most 59
# minute buckets up to the next whole hour, then the hour buckets: a bounded read, however long the
# history. Amounts are decimal strings (they pass 2^63) summed in Python.

BUCKETS = (60, 3600)
_INSERT_EVENT = (
    f"INSERT INTO {budget.name} (payer, token, at, until, amount, count) VALUES (?, ?, ?, ?, ?, ?)"
)
_READ_BUCKET = (
    f"SELECT amount, count FROM {budget_totals.name} "
    "WHERE payer = ? AND token = ? AND width = ? AND start = ?"
)
_WRITE_BUCKET = (
    f"INSERT OR REPLACE INTO {budget_totals.name} (payer, token, width, start, amount, count) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def _window_queries(token: bool) -> tuple[str, str, str]:
    of_token = " AND token = ?" if token else ""
    return (
        f"SELECT amount, count FROM {budget.name} WHERE payer = ?{of_token} AND until > ? AND until < ?",
        f"SELECT amount, count FROM {budget_totals.name} WHERE payer = ?{of_token} AND width = 60 "
        "AND start >= ? AND start < ?",
        f"SELECT amount, count FROM {budget_totals.name} WHERE payer = ?{of_token} AND width = 3600 "
        "AND start >= ?",
    )


_WINDOW_OF_TOKEN = _window_queries(True)
_WINDOW_OF_PAYER = _window_queries(False)


def append_event(
    cursor: Any, *, payer: str, token: str, at: float, until: float, amount: int, count: int
) -> None:
    """Write one ledger event and add it to its buckets, inside the caller's transaction."""
    cursor.execute(_INSERT_EVENT, (payer, token, at, until, str(amount), count))
    for width in BUCKETS:
        start = math.floor(until / width) * width
        row = cursor.execute(_READ_BUCKET, (payer, token, width, start)).fetchone()
        total, payments = (int(row[0]), row[1]) if row is not None else (0, 0)
        cursor.execute(_WRITE_BUCKET, (payer, token, width, start, str(total + amount), payments + count))


def window_totals(cursor: Any, *, payer: str, token: str | None, since: float) -> tuple[int, int]:
    """(amount, count) of the events with ``until > since``: of ``token``, or (count) of every token."""
    edge = math.floor(since / 60) * 60 + 60  # the first whole minute after ``since``
    hour = math.ceil(edge / 3600) * 3600  # the first whole hour from there
    raw, minutes, hours = _WINDOW_OF_TOKEN if token is not None else _WINDOW_OF_PAYER
    who = (payer, token) if token is not None else (payer,)
    amount = count = 0
    for query, bounds in ((raw, (since, edge)), (minutes, (edge, hour)), (hours, (hour,))):
        for value, payments in cursor.execute(query, (*who, *bounds)):
            amount += int(value)
            count += payments
    return amount, count


def seed_budget(conn: Connection, *, now: float | None = None) -> None:
    """Carry an older audit log's approved payments of the last day into a new budget ledger.

    The policy windows used to be summed from the audit log; now they are summed from the ledger,
    so without this an upgrade would forget what was spent. Payments are grouped per payer, token
    and second, each group counted until the end of its second (never less than the log counted);
    the groups and their buckets are written in bulk (the ledger is new, so nothing is there yet).
    """
    since = (time.time() if now is None else now) - SEED_SPAN
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    events: dict[tuple[str, str, int], list[int]] = {}
    for payer, token, until, amount, count in _approved_per_second(cursor, since):
        event = events.setdefault((payer, token, until), [0, 0])
        event[0] += int(amount or 0)
        event[1] += count
    buckets: dict[tuple[str, str, int, int], list[int]] = {}
    for (payer, token, until), (amount, count) in events.items():
        for width in BUCKETS:
            bucket = buckets.setdefault((payer, token, width, until // width * width), [0, 0])
            bucket[0] += amount
            bucket[1] += count
    written = since + SEED_SPAN
    cursor.executemany(_INSERT_EVENT, [(p, t, written, u, str(a), c) for (p, t, u), (a, c) in events.items()])
    cursor.executemany(_WRITE_BUCKET, [(*key, str(a), c) for key, (a, c) in buckets.items()])


_APPROVED_SINCE = f"FROM {audit.name} WHERE decision = 'approved' AND at >= ? AND token IS NOT NULL"


def _approved_per_second(cursor: Any, since: float) -> Any:
    """(payer, token, end of the second, amount, count) of the approved payments since ``since``:
    summed by SQLite where every amount has at most 18 digits (an integer sum there raises rather
    than wraps), else one row per payment, summed by the caller."""
    try:
        groups = cursor.execute(
            "SELECT payer, token, CAST(at AS INTEGER) + 1 AS until, SUM(CAST(amount AS INTEGER)), "
            f"COUNT(*), MAX(LENGTH(amount)) {_APPROVED_SINCE} GROUP BY payer, token, until",
            (since,),
        ).fetchall()
        if all(digits is None or digits <= 18 for *_, digits in groups):
            return [group[:5] for group in groups]
    except sqlite3.OperationalError:  # integer overflow
        pass
    return cursor.execute(
        f"SELECT payer, token, CAST(at AS INTEGER) + 1, amount, 1 {_APPROVED_SINCE}", (since,)
    )
