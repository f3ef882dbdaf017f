"""Core statements compiled once per dialect and run on the DBAPI cursor: the payee's write path.

Profiling ``PayeeCheck.accept`` showed SQLAlchemy's per-execution machinery (context set-up,
event dispatch, result wrapping, the ``BEGIN IMMEDIATE`` issued through a ``begin`` event)
costing about three times what SQLite itself spends on the transaction's six statements. The
statements are still written as SQLAlchemy Core (so the SQL, the dialect's quoting and the
column types' bind processors stay SQLAlchemy's); only their execution skips the engine. The
DBAPI caches prepared statements per connection (``sqlite3``'s statement cache, psycopg's
automatic prepare), so the SQL is parsed once per pooled connection.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import Compiled

Processor = Callable[[Any], Any]


class DriverStatement:
    """One Core statement compiled for ``dialect``: SQL text, parameter order, bind processors."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled: Compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        binds = getattr(compiled, "binds", {})
        self._defaults = {name: bind.effective_value for name, bind in binds.items() if not bind.required}
        self._processors: dict[str, Processor] = {}
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor
        positions = getattr(compiled, "positiontup", None)
        self._order: tuple[str, ...] | None = tuple(positions) if positions else None
        # Positional drivers (sqlite3): the slots read in one C call, then only the processed ones
        # touched; this runs for every statement of every paid call.
        order = self._order or ()
        self._read = operator.itemgetter(*order) if len(order) > 1 else None
        self._processed = tuple(
            (index, self._processors[name]) for index, name in enumerate(order) if name in self._processors
        )

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """``values`` (by bind name) with literal defaults, processed, in the driver's paramstyle."""
        if self._order is None:
            named = {**self._defaults, **values}
            for name, processor in self._processors.items():
                if name in named:
                    named[name] = processor(named[name])
            return named
        merged = {**self._defaults, **values} if self._defaults else values
        row = list(self._read(merged)) if self._read is not None else [merged[name] for name in self._order]
        for index, processor in self._processed:
            row[index] = processor(row[index])
        return tuple(row)

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        """Run on ``cursor`` (a DBAPI cursor inside the caller's transaction); returns the cursor."""
        cursor.execute(self.sql, self.parameters(values))
        return cursor


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Any]:
    """A DBAPI cursor in a write transaction on a pooled connection, committed on a clean exit.

    SQLite: ``BEGIN IMMEDIATE`` (the write lock up front, as :func:`aep2.store.make_engine`'s
    transactions take it), so a concurrent writer queues on ``busy_timeout`` rather than failing
    to upgrade a read lock. PostgreSQL: the driver's implicit transaction; row locks come from
    the statements (``INSERT … ON CONFLICT DO UPDATE`` locks the exposure row).
    Driver errors propagate as the driver's own (``engine.dialect.loaded_dbapi.IntegrityError``).
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            if engine.dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        finally:
            cursor.close()
    finally:
        raw.close()
