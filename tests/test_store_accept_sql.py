"""The accept transaction on the DBAPI cursor writes what the session functions write (issue #15, item 5).

``aep2.store.accept_sql`` is the payee's hot path; ``aep2.store.mandates`` stays the API for
sessions. Both insert one mandate here, on SQLite and PostgreSQL, and every stored column,
the transition, the receipt and the exposure must read back alike. Also: the background
checkpointer keeps the WAL from growing without a checkpoint inside any commit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from aep2.store import (
    MandateRow,
    ReceiptRow,
    StateTransitionRow,
    create_schema,
    insert_accepted,
    insert_receipt,
    lock_exposure,
    lock_key_exposure,
    make_engine,
)
from aep2.store.accept_sql import AcceptStatements
from aep2.store.checkpoint import start_checkpointer
from aep2.store.driver import write_transaction
from aep2.store.mandates import highest_in_flight_nonce
from aep2.store.models import uint64_key
from tests.pg_server import store_engine

PAYER, PAYEE, TOKEN = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40
AT = datetime(2026, 11, 29, 4, 5, 6, 789000, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from store_engine(request, tmp_path)


def fields(nonce: int, key_id: int = 0) -> dict[str, Any]:
    row = {
        "chain_id": 31337, "escrow": "0x" + "d" * 40, "payer": PAYER, "payee": PAYEE, "token": TOKEN,
        "amount": "1000", "nonce": uint64_key(nonce), "deadline": uint64_key(2**40),
        "ref": "0x" + "01" * 32, "signature": "0x" + "02" * 65, "digest": f"0x{nonce:064x}",
        "header": "h", "transport": "http", "descriptor": '{"m":"GET"}', "accepted_at": AT, "updated_at": AT,
    }  # fmt: skip
    if key_id:
        row |= {"kind": "agent", "key_id": uint64_key(key_id)}
    return row


RECEIPT = {"receipt": {"digest": "0x01", "amount": "1000"}, "signature": "0x" + "03" * 65}


def _columns(row: Any) -> dict[str, Any]:
    values = {k: v for k, v in row._mapping.items() if k not in ("id", "mandate_id")}
    return {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v for k, v in values.items()}


def test_driver_rows_equal_session_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        exposure = lock_exposure(session=connection, payer=PAYER, token=TOKEN)
        first = insert_accepted(session=connection, exposure=exposure, fields=fields(1))
        insert_receipt(session=connection, mandate_id=first, signed=RECEIPT)
    sql = AcceptStatements(engine.dialect)
    with write_transaction(engine) as cursor:
        exposure = sql.lock_exposure(cursor, payer=PAYER, token=TOKEN)
        assert exposure == 1000
        assert sql.highest_in_flight_nonce(cursor, payer=PAYER, payee=PAYEE, key_id=0) == 0
        second = sql.insert_accepted(cursor, exposure=exposure, fields=fields(2))
        sql.insert_receipt(cursor, mandate_id=second, signed=RECEIPT)
    with engine.begin() as connection:
        rows = connection.execute(select(MandateRow).order_by(MandateRow.id)).all()
        old, new = (_columns(r) for r in rows)
        assert {k: v for k, v in old.items() if k not in ("nonce", "digest")} == {
            k: v for k, v in new.items() if k not in ("nonce", "digest")
        }
        transitions = connection.execute(select(StateTransitionRow).order_by(StateTransitionRow.id)).all()
        first_transition, second_transition = (_columns(t) for t in transitions)
        assert first_transition == second_transition
        receipts = connection.execute(select(ReceiptRow.receipt, ReceiptRow.signature)).all()
        assert receipts[0] == receipts[1] == (RECEIPT["receipt"], RECEIPT["signature"])
        assert connection.execute(text("SELECT unsettled FROM exposures")).scalar_one() == "2000"
        connection.execute(text("UPDATE mandates SET state = 'batched' WHERE id = :i"), {"i": second})
        assert highest_in_flight_nonce(session=connection, payer=PAYER, payee=PAYEE) == 2
    with write_transaction(engine) as cursor:
        assert sql.highest_in_flight_nonce(cursor, payer=PAYER, payee=PAYEE, key_id=0) == 2


def test_driver_agent_mandate_raises_the_keys_exposure(engine: Engine) -> None:
    sql = AcceptStatements(engine.dialect)
    with write_transaction(engine) as cursor:
        exposure = sql.lock_exposure(cursor, payer=PAYER, token=TOKEN)
        key_exposure = sql.lock_key_exposure(cursor, key_id=7)
        sql.insert_accepted(cursor, exposure=exposure, key_exposure=key_exposure, fields=fields(1, key_id=7))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT unsettled FROM key_exposures")).scalar_one() == "1000"


def test_driver_rolls_back_and_raises_the_drivers_integrity_error(engine: Engine) -> None:
    sql = AcceptStatements(engine.dialect)
    for _ in range(2):
        try:
            with write_transaction(engine) as cursor:
                exposure = sql.lock_exposure(cursor, payer=PAYER, token=TOKEN)
                sql.insert_accepted(cursor, exposure=exposure, fields=fields(1))
        except engine.dialect.loaded_dbapi.IntegrityError:
            pass
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM mandates")).scalar_one() == 1
        assert connection.execute(text("SELECT unsettled FROM exposures")).scalar_one() == "1000"


class _Owner:
    pass


def test_background_checkpointer_restarts_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "payee.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    owner = _Owner()
    checkpointer = start_checkpointer(engine, owner=owner, restart_frames=8)
    assert checkpointer is not None
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 0
    sql = AcceptStatements(engine.dialect)
    for nonce in range(1, 60):
        with write_transaction(engine) as cursor:
            exposure = sql.lock_exposure(cursor, payer=PAYER, token=TOKEN)
            sql.insert_accepted(cursor, exposure=exposure, fields=fields(nonce))
    deadline = time.monotonic() + 20
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert checkpointer.checkpoints > 0
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT count(*) FROM mandates").fetchone()[0] == 59
    del owner  # the owner gone, the thread stops by itself
    checkpointer.join(timeout=10)
    assert not checkpointer.is_alive()
    engine.dispose()


def test_in_flight_nonce_is_the_highest_in_flight_of_its_sequence_only(engine: Engine) -> None:
    states = {1: "settled", 2: "submitted", 3: "batched", 11: "proving", 12: "accepted", 13: "failed"}
    with engine.begin() as connection:
        for nonce, state in states.items():
            exposure = lock_exposure(session=connection, payer=PAYER, token=TOKEN)
            mandate = insert_accepted(session=connection, exposure=exposure, fields=fields(nonce))
            connection.execute(
                text("UPDATE mandates SET state = :s WHERE id = :i"), {"s": state, "i": mandate}
            )
        exposure = lock_exposure(session=connection, payer=PAYER, token=TOKEN)
        key_exposure = lock_key_exposure(session=connection, key_id=9)
        agent = insert_accepted(
            session=connection, exposure=exposure, key_exposure=key_exposure, fields=fields(40, key_id=9)
        )
        connection.execute(text("UPDATE mandates SET state = 'proved' WHERE id = :i"), {"i": agent})
        assert highest_in_flight_nonce(session=connection, payer=PAYER, payee=PAYEE) == 11
        assert highest_in_flight_nonce(session=connection, payer=PAYER, payee=PAYEE, key_id=9) == 40
        assert highest_in_flight_nonce(session=connection, payer=PAYEE, payee=PAYEE) == 0
    sql = AcceptStatements(engine.dialect)
    with write_transaction(engine) as cursor:
        assert sql.highest_in_flight_nonce(cursor, payer=PAYER, payee=PAYEE, key_id=0) == 11
        assert sql.highest_in_flight_nonce(cursor, payer=PAYER, payee=PAYEE, key_id=9) == 40
        assert sql.highest_in_flight_nonce(cursor, payer=PAYEE, payee=PAYEE, key_id=0) == 0


def test_in_flight_lookup_reads_the_in_flight_rows_not_the_history(tmp_path: Path) -> None:
    """The accept path's lookup seeks (sequence, state): its cost must not grow with the number
    of accepted or settled mandates of the sequence (it once walked all of them, newest first)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    sql = AcceptStatements(engine.dialect)
    raw = engine.raw_connection()
    try:
        explain = f"EXPLAIN QUERY PLAN {sql._in_flight.sql}"
        plan = raw.cursor().execute(explain, (PAYER, "0", PAYEE)).fetchall()
    finally:
        raw.close()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_mandates_sequence_state_nonce" in details and "state=?" in details, details
