"""Exact sums of decimal-string amounts, done by the database where it can do them exactly.

Stores keep amounts as decimal strings (they reach 2^96, past 64-bit integers). The consoles poll
their totals every few seconds, often inside a process that also serves payments, so summing rows
one by one in Python as a store grows would compete with the hot path. PostgreSQL sums NUMERIC
exactly. SQLite sums 64-bit integers and raises on overflow, so its sum is used when no amount has
more than 18 digits and nothing overflowed; otherwise the rows are summed in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Numeric, cast, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import QueryableAttribute, Session

Column = ColumnElement[Any] | QueryableAttribute[Any]
Totals = dict[tuple[Any, ...], tuple[int, int]]
"""group key -> (amount, count)"""


def exact_sums(
    db: Session | Connection,
    amount: Column,
    keys: Sequence[Column],
    where: Sequence[ColumnElement[bool]] = (),
) -> Totals:
    """Sum ``amount`` and count rows per ``keys`` among the rows matching ``where``."""
    bind = db.get_bind() if isinstance(db, Session) else db
    postgres = bind.dialect.name == "postgresql"
    total = func.sum(cast(amount, Numeric if postgres else Integer))
    query = select(*keys, total, func.count(), func.max(func.length(amount))).where(*where).group_by(*keys)
    rows: Sequence[Any] | None
    try:
        rows = db.execute(query).all()
    except OperationalError:  # SQLite: integer overflow
        db.rollback()
        rows = None
    n = len(keys)
    if rows is not None and (postgres or all((row[n + 2] or 0) <= 18 for row in rows)):
        return {tuple(row[:n]): (int(row[n] or 0), int(row[n + 1])) for row in rows}
    out: Totals = {}
    for row in db.execute(select(*keys, amount).where(*where)):
        key = tuple(row[:n])
        value, count = out.get(key, (0, 0))
        out[key] = (value + int(row[n] or 0), count + 1)
    return out
