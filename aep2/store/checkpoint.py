"""A background WAL checkpointer for a SQLite store, so no paid call pays for a checkpoint.

SQLite's default checkpoints inside whichever commit pushes the WAL past 1000 pages: it copies
pages into the database file and fsyncs it, stalling that one call for milliseconds to tens of
milliseconds. :func:`start_checkpointer` turns the automatic checkpoint off on the engine's
connections and runs ``PRAGMA wal_checkpoint(PASSIVE)`` from a daemon thread instead (SQLite
does the copying outside the GIL, beside the writers). A passive checkpoint never waits for a
writer, so under steady writes it never catches the WAL's end and the WAL would only grow; once
it holds ``restart_frames``, the thread checkpoints once more holding ``gate`` (the writers'
in-process lock), which copies only what was committed meanwhile and lets the next commit start
the WAL over. Writers in other processes do not take ``gate``; they find idle moments instead.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, event

CHECKPOINT_SECONDS = 0.5
RESTART_FRAMES = 4096
"""16 MiB of WAL (4 KiB pages), a few thousand accepted mandates."""


class Checkpointer(threading.Thread):
    """Checkpoints one SQLite file every ``CHECKPOINT_SECONDS`` while :meth:`stop` is not called."""

    def __init__(self, path: str, gate: AbstractContextManager[object], restart_frames: int) -> None:
        super().__init__(name="aep2-store-checkpoint", daemon=True)
        self.path = path
        self.gate = gate
        self.restart_frames = restart_frames
        self.stopped = threading.Event()
        self.checkpoints = 0

    def run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error:
            return  # the file went away with its owner (a test's temporary directory)
        try:
            while not self.stopped.wait(CHECKPOINT_SECONDS):
                _, frames, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames >= self.restart_frames:
                    with self.gate:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.checkpoints += 1
        except sqlite3.Error:
            pass  # as above: nothing left to checkpoint into
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        if threading.current_thread() is not self and self.is_alive():
            self.join()


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def start_checkpointer(
    engine: Engine,
    *,
    owner: object,
    gate: AbstractContextManager[object] | None = None,
    restart_frames: int = RESTART_FRAMES,
) -> Checkpointer | None:
    """Checkpoint ``engine``'s SQLite file in the background for as long as ``owner`` lives.

    Returns None (and changes nothing) for anything but a SQLite file: PostgreSQL checkpoints in
    its own processes, and an in-memory database has no WAL.
    """
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    if not event.contains(engine, "connect", _no_autocheckpoint):
        event.listen(engine, "connect", _no_autocheckpoint)
        engine.pool.dispose()  # connections made before the listener would still checkpoint inline
    checkpointer = Checkpointer(path, gate or nullcontext(), restart_frames)
    checkpointer.start()
    # Only signal: a finalizer may run on a writer thread that holds ``gate``, so it must not join.
    weakref.finalize(owner, checkpointer.stopped.set)
    return checkpointer
