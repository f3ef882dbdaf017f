"""Engine factory: SQLite with WAL by default, PostgreSQL (psycopg 3) through ``AEP2_DATABASE_URL``.

SQLite transactions are opened with ``BEGIN IMMEDIATE``: the payee's check reads
the headroom and inserts in one transaction, and a deferred transaction would
let two writers read the same headroom before either writes. Immediate takes
the write lock up front, so concurrent checks queue (``busy_timeout``) instead.

Durability: ``synchronous=FULL`` by default, so a mandate whose receipt was
served survives a power loss (WAL with ``NORMAL`` may lose the last commits).
``AEP2_SQLITE_SYNCHRONOUS=NORMAL`` trades that for a cheaper commit: a crash of
the process still loses nothing, a crash of the machine may.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path.home() / ".aep2" / "payee.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(explicit: str | None = None) -> str:
    """``explicit``, else ``AEP2_DATABASE_URL``, else SQLite at ``~/.aep2/payee.db``."""
    url = explicit or os.environ.get("AEP2_DATABASE_URL")
    if url:
        return normalise_url(url)
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to psycopg 3, the only PostgreSQL driver aep2 ships."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


SYNCHRONOUS_MODES = ("FULL", "NORMAL")


def sqlite_synchronous() -> str:
    """``AEP2_SQLITE_SYNCHRONOUS`` (``FULL`` or ``NORMAL``), ``FULL`` when unset."""
    mode = os.environ.get("AEP2_SQLITE_SYNCHRONOUS", "FULL").upper()
    if mode not in SYNCHRONOUS_MODES:
        raise ValueError(f"AEP2_SQLITE_SYNCHRONOUS={mode!r}: use one of {', '.join(SYNCHRONOUS_MODES)}")
    return mode


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite's deferred one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`), configured for the payee's check."""
    resolved = database_url(url)
    if make_url(resolved).get_backend_name() == "sqlite":
        engine = create_engine(resolved, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolved, **kwargs)


def create_schema(engine: Engine) -> None:
    """Create every table directly from the models (tests, quick starts); production runs Alembic."""
    from aep2.store.models import Base

    Base.metadata.create_all(engine)


def upgrade_to_head(url: str) -> None:
    """``alembic upgrade head`` on ``url`` with the migrations in this package (no alembic.ini needed)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")
