"""The payer's own database: an append-only audit log and the nonce counters.

Separate from the payee's store on purpose (``~/.aep2/payer.db`` by default):
the payer's ledger of what it authorised must not depend on anyone it pays.

Every transaction starts with SQLite's ``BEGIN IMMEDIATE``, which takes the
write lock up front. That serialises "check the policy against the audit log,
allocate a nonce, record the decision" across threads *and* processes, so two
concurrent payments can neither share a nonce nor both squeeze under a limit.
Triggers make the audit table append-only inside SQLite itself.

Columns added since a file was created are added in place when it is opened
(:func:`upgrade`): nullable, so the rows already there keep their meaning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
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
)

agent_nonces = Table(
    "payer_agent_nonces",
    metadata,
    Column("chain_id", BigInteger, primary_key=True),
    Column("escrow", String(42), primary_key=True),
    Column("key_id", BigInteger, primary_key=True, doc="key ids are per escrow (and chain)"),
    Column("payee", String(42), primary_key=True),
    Column("last_nonce", BigInteger, nullable=False, doc="highest nonce ever handed out for the sequence"),
)

_APPEND_ONLY = (
    "CREATE TRIGGER IF NOT EXISTS payer_audit_no_update BEFORE UPDATE ON payer_audit "
    "BEGIN SELECT RAISE(ABORT, 'payer_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS payer_audit_no_delete BEFORE DELETE ON payer_audit "
    "BEGIN SELECT RAISE(ABORT, 'payer_audit is append-only'); END",
)

DEFAULT_PATH = Path("~/.aep2/payer.db")


def default_path() -> Path:
    """``$AEP2_PAYER_DB`` if set, else ``~/.aep2/payer.db``."""
    return Path(os.environ.get("AEP2_PAYER_DB", str(DEFAULT_PATH))).expanduser()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed nonce survives power loss, not just a crash
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
        metadata.create_all(conn)
        upgrade(conn)
        for statement in _APPEND_ONLY:
            conn.exec_driver_sql(statement)
    return engine


def upgrade(conn: Connection) -> None:
    """Add the columns a payer database created by an older aep2 lacks (``create_all`` adds only
    missing tables). Each is nullable, so no existing row is rewritten: the log stays append-only."""
    for table in (audit,):
        present = {column["name"] for column in inspect(conn).get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=conn.dialect)
                conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')
