"""Group commit (aep2.store.group_commit): queued writes share a transaction, refusals stay their own.

Real SQLite files (and the real PostgreSQL of ``tests/pg_server.py``, where each item is its own
transaction), real threads; a scratch table so the grouping is tested apart from the payee.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from aep2.errors import MandateError, Reason
from aep2.store import make_engine
from aep2.store.group_commit import GroupCommit
from tests.pg_server import PostgresServer


def _scratch(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS scratch"))
        connection.execute(text("CREATE TABLE scratch (k VARCHAR(32) PRIMARY KEY, v INTEGER NOT NULL)"))
    return engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    return _scratch(f"sqlite:///{tmp_path / 'group.db'}")


_INSERT = "INSERT INTO scratch (k, v) VALUES ({mark}, {mark})"


def _insert(key: str, value: int = 1, mark: str = "?") -> Callable[[Any], str]:
    """Inserts one row; ``mark`` is the driver's placeholder (sqlite3 ``?``, psycopg ``%s``)."""

    def work(cursor: Any) -> str:
        cursor.execute(_INSERT.format(mark=mark), (key, value))
        return key

    return work


def _rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {k: v for k, v in connection.execute(text("SELECT k, v FROM scratch"))}


def _refused(key: str, mark: str = "?") -> Callable[[Any], str]:
    """Writes, then refuses: its savepoint must take the write back."""

    def work(cursor: Any) -> str:
        cursor.execute(_INSERT.format(mark=mark), (key, 1))
        raise MandateError(f"{key} refused", reason=Reason.INSUFFICIENT_HEADROOM)

    return work


def _run_queued(
    group: GroupCommit, first: Callable[[Any], Any], others: list[Callable[[Any], Any]]
) -> list[Any]:
    """Run ``first`` and, while it holds the gate, queue ``others`` from threads: one batch for them.

    Returns each call's result or exception, ``first`` first.
    """
    outcomes: list[Any] = [None] * (1 + len(others))
    queued = threading.Event()

    def leader_work(cursor: Any) -> Any:
        deadline = time.monotonic() + 30
        while len(group._queue) < len(others) and time.monotonic() < deadline:
            time.sleep(0.005)
        queued.set()
        return first(cursor)

    def call(index: int, work: Callable[[Any], Any]) -> None:
        try:
            outcomes[index] = group.run(work)
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc

    leader = threading.Thread(target=call, args=(0, leader_work))
    leader.start()
    while not group.gate.locked():  # type: ignore[attr-defined]
        time.sleep(0.001)
    followers = [threading.Thread(target=call, args=(i + 1, w)) for i, w in enumerate(others)]
    for thread in followers:
        thread.start()
    for thread in [leader, *followers]:
        thread.join(timeout=60)
    assert queued.is_set()
    return outcomes


def test_alone_a_write_is_its_own_committed_transaction(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    assert group.run(_insert("a")) == "a"
    assert _rows(sqlite_engine) == {"a": 1}
    assert (group.transactions, group.items) == (1, 1)


def test_writes_queued_behind_a_commit_share_the_next_transaction(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    others = [_insert(f"k{i}") for i in range(7)]
    outcomes = _run_queued(group, _insert("first"), others)
    assert outcomes == ["first", *[f"k{i}" for i in range(7)]]
    assert _rows(sqlite_engine) == {"first": 1, **{f"k{i}": 1 for i in range(7)}}
    assert (group.transactions, group.items) == (2, 8)


def test_a_refusal_rolls_back_its_own_writes_only(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    outcomes = _run_queued(group, _insert("first"), [_insert("a"), _refused("bad"), _insert("b")])
    assert outcomes[:2] == ["first", "a"] and outcomes[3] == "b"
    assert isinstance(outcomes[2], MandateError) and outcomes[2].reason == Reason.INSUFFICIENT_HEADROOM
    assert _rows(sqlite_engine) == {"first": 1, "a": 1, "b": 1}
    assert group.transactions == 2


def test_a_driver_refusal_listed_as_such_stays_in_its_savepoint(sqlite_engine: Engine) -> None:
    """A replayed key (the driver's IntegrityError) refuses that item; the batch commits."""
    group = GroupCommit(sqlite_engine, refusals=(sqlite3.IntegrityError,))
    group.run(_insert("dup"))
    outcomes = _run_queued(group, _insert("first"), [_insert("dup", 2), _insert("c")])
    assert outcomes[0] == "first" and outcomes[2] == "c"
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert _rows(sqlite_engine) == {"dup": 1, "first": 1, "c": 1}


def test_any_other_error_aborts_the_batch_and_every_caller_hears_it(sqlite_engine: Engine) -> None:
    """Not a refusal (here, the driver's IntegrityError not listed as one): nothing of the batch is
    committed, and each of its callers gets the error rather than a result for an unwritten row."""
    group = GroupCommit(sqlite_engine)
    group.run(_insert("dup"))
    outcomes = _run_queued(group, _insert("first"), [_insert("a"), _insert("dup", 2), _insert("b")])
    assert outcomes[0] == "first"
    assert all(isinstance(o, sqlite3.IntegrityError) for o in outcomes[1:])
    assert _rows(sqlite_engine) == {"dup": 1, "first": 1}
    # the group goes on: the next write commits
    assert group.run(_insert("after")) == "after"
    assert "after" in _rows(sqlite_engine)


def test_many_threads_lose_and_duplicate_nothing(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        for i in range(40):
            try:
                assert group.run(_insert(f"{t}-{i}", i)) == f"{t}-{i}"
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert _rows(sqlite_engine) == {f"{t}-{i}": i for t in range(8) for i in range(40)}
    assert group.items == 320 and group.transactions <= 320


def test_postgresql_runs_each_write_in_its_own_transaction(postgres: PostgresServer) -> None:
    engine = _scratch(postgres.url)
    group = GroupCommit(engine)
    assert not group.grouped
    assert group.run(_insert("a", mark="%s")) == "a"
    with pytest.raises(MandateError):
        group.run(_refused("bad", mark="%s"))
    assert group.run(_insert("b", mark="%s")) == "b"
    assert _rows(engine) == {"a": 1, "b": 1}
    engine.dispose()


def test_alone_a_refusal_takes_its_whole_transaction_back(sqlite_engine: Engine) -> None:
    group = GroupCommit(sqlite_engine)
    with pytest.raises(MandateError):
        group.run(_refused("bad"))
    assert _rows(sqlite_engine) == {}
    assert group.run(_insert("next")) == "next"
    assert _rows(sqlite_engine) == {"next": 1}


_HOLDER = """
import sys
from aep2.store.writer_queue import WriterQueue
queue = WriterQueue(sys.argv[1])
with queue:
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_the_writer_queue_orders_processes_on_one_file(tmp_path: Path) -> None:
    """While another process holds the queue, this one cannot take it; once it lets go, it can."""
    import fcntl
    import os
    import subprocess
    import sys

    database = str(tmp_path / "payee.db")
    with subprocess.Popen(
        [sys.executable, "-c", _HOLDER, database], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        fd = os.open(f"{database}-writers.lock", os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free now
        os.close(fd)


def test_a_group_commit_on_a_file_takes_the_writer_queue(sqlite_engine: Engine) -> None:
    import fcntl
    import os

    group = GroupCommit(sqlite_engine)
    seen: list[bool] = []
    fd = os.open(f"{sqlite_engine.url.database}-writers.lock", os.O_RDWR)

    def probe(cursor: Any) -> str:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another open file: refused while held
        except BlockingIOError:
            seen.append(True)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            seen.append(False)
        return "probed"

    assert group.run(probe) == "probed"
    assert seen == [True]
    os.close(fd)
