"""A new payer database is written in small pages (each decision writes its pages whole to the WAL, and
fsyncs flush them); a file created earlier keeps its own page size and works as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aep2.mandate import decode
from aep2.payer import APPROVED, LocalKeySigner, Payer, Policy
from aep2.payer._db import PAGE_SIZE
from tests.conftest import PAYER_KEY, aep2_requirement


def _pragma(db: Path, name: str) -> object:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


def test_a_new_payer_database_has_small_pages(payer_db: Path) -> None:
    with Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db) as payer:
        decode(payer.pay(aep2_requirement())).verify()
    assert PAGE_SIZE < 4096
    assert _pragma(payer_db, "page_size") == PAGE_SIZE
    assert _pragma(payer_db, "journal_mode") == "wal"


def test_a_file_with_other_pages_keeps_them(payer_db: Path) -> None:
    with sqlite3.connect(payer_db) as connection:
        connection.execute("PRAGMA page_size=4096")
        connection.execute("CREATE TABLE someone_elses (x)")  # the file has pages before the payer opens it
    with Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db) as payer:
        nonces = [decode(payer.pay(aep2_requirement())).mandate.nonce for _ in range(20)]
        assert nonces == list(range(1, 21))
        assert [e.decision for e in payer.audit.entries()] == [APPROVED] * 20
    assert _pragma(payer_db, "page_size") == 4096
    assert _pragma(payer_db, "integrity_check") == "ok"
