"""A cross-process queue for a SQLite file's writers: ``flock`` on a file beside the database.

Payee processes sharing one SQLite file (``aep2 payee serve --workers K``) meet at its write lock,
and SQLite's busy handler waits for a taken lock by sleeping and retrying (1 to 100 ms steps): a
commit that takes a millisecond can cost the next process tens of them, which made the paid p99
at two workers seconds long. Each process's group commit also takes an exclusive ``flock`` on
``<database>-writers.lock`` around its write transaction: the kernel wakes the next waiter the
moment the lock is released, so the processes take turns instead of polling. SQLite's own lock
still decides who writes; the ``flock`` only orders those that hold it (other writers, such as
the settlement pipeline, keep queueing on ``busy_timeout``). A process that dies holding it
releases it with its file descriptor.
"""

from __future__ import annotations

import fcntl
import os
import weakref
from contextlib import AbstractContextManager
from types import TracebackType


class WriterQueue(AbstractContextManager["WriterQueue"]):
    """An exclusive ``flock`` on ``<database>-writers.lock``; enter and exit from one thread at a time.

    ``flock`` locks belong to the open file, which the threads of a process share, so it orders
    processes only: the group commit's in-process gate orders the threads first.
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}-writers.lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._closer = weakref.finalize(self, os.close, self._fd)

    def __enter__(self) -> WriterQueue:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the lock file now (otherwise when the queue is collected)."""
        self._closer()
