"""Group commit: the acceptances queued while one commits share the next transaction.

On SQLite every write transaction holds the database's one write lock, so a payee's paid calls
queue for it and its throughput is one over the transaction's length; most of that length is the
commit (the WAL pages written, and under ``synchronous=FULL`` an fsync), which is the same for one
mandate or fifty. :class:`GroupCommit` is a leader/follower queue: a caller enqueues its work and
takes the writers' gate; whoever holds it runs *everything* queued so far in one transaction, each
item inside its own savepoint, commits once and hands each caller its outcome. A caller that
finds its item already done when it gets the gate just returns. Alone, a caller runs its own item
at once, so one connection's latency is unchanged.

An item's refusal (a :class:`~aep2.errors.MandateError`, or the driver's ``IntegrityError`` of a
replayed nonce) rolls back to its savepoint only: the others stand, and the caller gets the
exception. Anything else (the disk, the driver) aborts the whole transaction and every item of
the batch gets that exception: nothing of the batch was committed. No outcome is handed out
before the commit returns, so an accepted mandate is durable before its call is served.

Processes sharing the file (``serve --workers K``) take turns through a ``flock``
(:mod:`aep2.store.writer_queue`) rather than SQLite's sleeping busy handler.

PostgreSQL locks per payer row and commits transactions in parallel (and groups their WAL
flushes itself), so there each item is its own transaction and no gate is taken.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

from aep2.errors import MandateError
from aep2.store.driver import write_transaction
from aep2.store.writer_queue import WriterQueue

T = TypeVar("T")
Work = Callable[[Any], T]
"""One item's statements, run on the transaction's DBAPI cursor; returns the item's result."""

MAX_BATCH = 256
"""Most items in one transaction, so a leader under a flood still answers its own caller soon."""


def _is_file(database: str) -> bool:
    """A plain path to a SQLite file (not in memory, not a ``file:`` URI): where a queue file can sit."""
    return database != ":memory:" and not database.startswith("file:")


@dataclass(eq=False)
class _Item(Generic[T]):
    work: Work[T]
    done: bool = False
    result: T | None = None
    error: BaseException | None = None


class GroupCommit:
    """Runs write work items for one engine, grouping those that queue into one transaction.

    ``refusals`` are the exceptions that refuse one item only (besides ``MandateError``).
    """

    def __init__(self, engine: Engine, *, refusals: tuple[type[BaseException], ...] = ()) -> None:
        self.engine = engine
        self.grouped = engine.dialect.name == "sqlite"
        database = engine.url.database
        self._processes: AbstractContextManager[object] = (
            WriterQueue(database) if self.grouped and database and _is_file(database) else nullcontext()
        )
        """Orders this process's batches with other processes' on the same file (``flock``)."""
        self.gate: AbstractContextManager[object] = threading.Lock() if self.grouped else nullcontext()
        """The writers' gate (SQLite): held while a batch runs; the WAL checkpointer takes it too."""
        self._refusals: tuple[type[BaseException], ...] = (MandateError, *refusals)
        self._queue: list[_Item[Any]] = []
        self._queue_lock = threading.Lock()
        self.transactions = 0
        """Transactions committed or aborted so far (SQLite), for benchmarks and tests."""
        self.items = 0

    def run(self, work: Work[T]) -> T:
        """Run ``work`` in a committed transaction (perhaps with others') and return its result.

        Raises what ``work`` raised (its savepoint rolled back, the batch's others committed), or
        what aborted the whole transaction.
        """
        if not self.grouped:
            with write_transaction(self.engine) as cursor:
                return work(cursor)
        item: _Item[T] = _Item(work)
        with self._queue_lock:
            self._queue.append(item)
        with self.gate:
            while not item.done:
                self._lead()
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]

    def _lead(self) -> None:
        """Run what is queued in one transaction; the caller holds the gate."""
        with self._queue_lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            with self._processes, write_transaction(self.engine) as cursor:
                if len(batch) == 1:  # alone, a refusal may take the whole transaction back
                    batch[0].result = batch[0].work(cursor)
                else:
                    for item in batch:
                        self._run_one(cursor, item)
        except BaseException as exc:  # nothing of the batch was committed: every caller hears why
            for item in batch:
                item.result, item.error = None, exc
        finally:
            for item in batch:
                item.done = True
            self.transactions += 1
            self.items += len(batch)

    def _run_one(self, cursor: Any, item: _Item[Any]) -> None:
        """One item inside its own savepoint: a refusal undoes that item alone."""
        cursor.execute("SAVEPOINT accept_item")
        try:
            item.result = item.work(cursor)
        except self._refusals as exc:
            cursor.execute("ROLLBACK TO accept_item")
            item.error = exc
        cursor.execute("RELEASE accept_item")
