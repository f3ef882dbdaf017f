"""The one writer of a payer database in this process: a gate for threads, then SQLite's lock.

Every :class:`~aep2.payer.Payer` of a process on the same file shares one :class:`Journal`
(:func:`attach`): its gate, its connection, and what the process holds reserved, the nonce
blocks and budget leases. So threads queue on the gate (a plain lock, held for a few hundred
microseconds) instead of meeting in SQLite's busy handler, which sleeps for milliseconds at a
time, and two payer objects never split one sequence into blocks; other processes still meet at
``BEGIN IMMEDIATE``. The writer speaks plain SQL to its own connection: SQLAlchemy's statement
machinery would cost more than the write.

The writer does not checkpoint the WAL after its commits (SQLite's default): a checkpoint copies
pages and fsyncs twice, tens of milliseconds on a busy disk, and would stall whichever payment
crossed the threshold. A daemon thread does, every ``CHECKPOINT_SECONDS`` while payments are
written, beside the writer (SQLite runs it outside the GIL). Once the WAL holds
``RESTART_FRAMES``, it checkpoints once more under the gate, which copies only what was committed
meanwhile, so the checkpoint completes and the next commit starts the WAL over (a WAL that only
grows makes every commit dearer); that stall, two fsyncs, comes once per some thousand payments.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from aep2.payer import _db
from aep2.payer._audit import COLUMNS, AuditEntry
from aep2.payer._budget import Budget
from aep2.payer._nonces import Nonces

CHECKPOINT_SECONDS = 0.5
RESTART_FRAMES = 4096
"""16 MiB of WAL (4 KiB pages): about a thousand payments."""
_INSERT_AUDIT = (
    f"INSERT INTO {_db.audit.name} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    _db.configure(connection)
    return connection


class _Checkpointer(threading.Thread):
    """Copies the WAL into the database file, mostly while the writer goes on."""

    def __init__(self, path: str, gate: threading.Lock) -> None:
        super().__init__(name="aep2-payer-checkpoint", daemon=True)
        self.path = path
        self.gate = gate
        self.written = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = _connect(self.path)
        try:
            while not self.stopped.is_set():
                self.written.wait()
                self.written.clear()
                if self.stopped.is_set():
                    break
                _, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames >= RESTART_FRAMES:
                    with self.gate:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.stopped.wait(CHECKPOINT_SECONDS)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.written.set()
        if threading.current_thread() is not self:
            self.join()


class _Files:
    """A journal's writer connection, WAL descriptor and checkpointer, opened on first use; closed
    by :meth:`Journal.close`, or when the journal is collected (a payer nobody closed)."""

    def __init__(self, path: str, gate: threading.Lock) -> None:
        self.path = path
        self.gate = gate
        self.connection: sqlite3.Connection | None = None
        self.checkpointer: _Checkpointer | None = None
        self.wal: int | None = None

    def writer(self) -> sqlite3.Connection:
        if self.connection is None:
            self.connection = _connect(self.path)
            self.connection.execute("PRAGMA wal_autocheckpoint=0")
            self.checkpointer = _Checkpointer(self.path, self.gate)
            self.checkpointer.start()
        return self.connection

    def committed(self) -> None:
        # Still set: the checkpointer has not woken for an earlier commit yet, and when it does, it
        # clears the flag before checkpointing, so its checkpoint covers this commit too.
        if self.checkpointer is not None and not self.checkpointer.written.is_set():
            self.checkpointer.written.set()

    def sync(self) -> None:
        if self.wal is None:
            self.wal = os.open(self.path + "-wal", os.O_RDONLY)
        os.fdatasync(self.wal)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None
        if self.wal is not None:
            os.close(self.wal)
            self.wal = None
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Journal:
    """This process's writer of one payer database, and what it holds reserved there.

    Use :meth:`transaction` under :attr:`gate`; ``nonces`` and :meth:`budget` belong to the gate too.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.gate = threading.Lock()
        self.nonces = Nonces()
        self.budgets: dict[str, Budget] = {}
        self.users = 0
        self._files = _Files(path, self.gate)
        weakref.finalize(self, self._files.close)

    def budget(self, payer: str) -> Budget:
        """``payer``'s leases (created empty on first use)."""
        return self.budgets.setdefault(payer, Budget(payer))

    def forget(self) -> None:
        """Drop every block and lease this process holds (after a failed transaction: the database is
        the truth, and what it reserved for them stays reserved)."""
        self.nonces.blocks.clear()
        for budget in self.budgets.values():
            budget.leases.clear()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A ``BEGIN IMMEDIATE`` transaction, committed with ``synchronous=NORMAL``. Hold :attr:`gate`."""
        connection = self._files.writer()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
            cursor.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.rollback()
            raise
        self._files.committed()

    def sync(self) -> None:
        """Make every transaction committed so far survive a power loss: fsync the WAL, as
        ``synchronous=FULL`` does at each commit. Called, under :attr:`gate`, after a transaction
        that reserved something (it knows only then), before anything is signed from it."""
        self._files.sync()

    def append(self, cursor: sqlite3.Cursor, entry: AuditEntry | tuple[object, ...]) -> None:
        """Insert one audit entry (or its :meth:`AuditEntry.values`) inside the current transaction."""
        cursor.execute(_INSERT_AUDIT, entry if isinstance(entry, tuple) else entry.values())

    def record(self, entry: AuditEntry) -> None:
        """Append ``entry`` in a transaction of its own."""
        with self.gate, self.transaction() as cursor:
            self.append(cursor, entry)

    def give_back(self, now: float) -> None:
        """Return what this process reserved and did not use: the rest of each nonce block (unless
        another process reserved above it), each lease's unspent budget."""
        with self.gate:
            leases = any(budget.leases for budget in self.budgets.values())
            if self.nonces.blocks or leases:
                with self.transaction() as cursor:
                    self.nonces.give_back(cursor)
                    for budget in self.budgets.values():
                        budget.release(cursor, now, every=True)

    def close(self) -> None:
        """Stop the checkpointer and close the writer's connection (not under :attr:`gate`)."""
        self._files.close()


_journals: weakref.WeakValueDictionary[tuple[int, str], Journal] = weakref.WeakValueDictionary()
"""Held by their payers: a journal no payer holds any more is collected, and its files closed."""
_journals_lock = threading.Lock()


def attach(database: str | Path) -> Journal:
    """The journal of ``database`` in this process (one per file and process), with one more user."""
    key = (os.getpid(), str(Path(database).resolve()))  # a forked child opens its own
    with _journals_lock:
        journal = _journals.get(key)
        if journal is None:
            journal = _journals[key] = Journal(key[1])
        journal.users += 1
    return journal


def detach(journal: Journal, clock: Callable[[], float]) -> None:
    """One user fewer; the last gives back what the process reserved and closes the journal."""
    with _journals_lock:
        journal.users -= 1
        last = journal.users == 0
        if last:
            _journals.pop((os.getpid(), journal.path), None)
    if last:
        journal.give_back(clock())
        journal.close()
