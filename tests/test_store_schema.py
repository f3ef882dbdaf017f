"""The store's schema: migrations equal the models (SQLite and PostgreSQL); audit log and transitions."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# The settlement tables share the store's metadata and its Alembic history (revision 0002).
import aep2.settlement.models  # noqa: F401
from aep2.store import (
    AuditEntryRow,
    Base,
    MandateState,
    StateTransitionRow,
    append_audit,
    create_schema,
    list_audit,
    make_engine,
    transition,
)
from aep2.store.engine import database_url, normalise_url, upgrade_to_head
from aep2.store.mandates import insert_accepted, lock_exposure
from aep2.store.models import uint64_key
from tests.pg_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]


def alembic_upgrade(url: str) -> None:
    """Through the repository's alembic.ini, as ``alembic upgrade head`` would."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def assert_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_alembic_head_equals_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    alembic_upgrade(url)
    engine = make_engine(url)
    assert_matches_models(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_packaged_upgrade_equals_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'packaged.db'}"
    upgrade_to_head(url)
    upgrade_to_head(url)  # idempotent: a second run finds head already applied
    assert_matches_models(make_engine(url))


def test_alembic_head_equals_models_on_postgresql(postgres: PostgresServer) -> None:
    alembic_upgrade(postgres.url)
    engine = make_engine(postgres.url)
    assert_matches_models(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def test_database_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEP2_DATABASE_URL", "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("AEP2_DATABASE_URL")
    assert database_url().endswith("/.aep2/payee.db")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def _mandate_fields(nonce: int) -> dict[str, object]:
    payer = "0x" + "11" * 20
    return {
        "chain_id": 1, "escrow": "0x" + "22" * 20, "payer": payer, "payee": "0x" + "33" * 20,
        "token": "0x" + "44" * 20, "amount": "5", "nonce": uint64_key(nonce), "deadline": uint64_key(9),
        "ref": "0x" + "00" * 32, "signature": "0x" + "00" * 65, "digest": f"0x{nonce:064x}",
        "header": "h", "transport": "test",
    }  # fmt: skip


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    create_schema(engine)
    return engine


def test_unique_payer_payee_nonce(engine: Engine) -> None:
    fields = _mandate_fields(1)
    with Session(engine) as session, session.begin():
        exposure = lock_exposure(session=session, payer=str(fields["payer"]), token=str(fields["token"]))
        insert_accepted(session=session, exposure=exposure, fields=fields)
    with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
        insert_accepted(session=session, exposure=0, fields=fields | {"digest": "0x" + "ab" * 32})


def test_transitions_are_recorded_and_release_exposure(engine: Engine) -> None:
    fields = _mandate_fields(1)
    with Session(engine) as session, session.begin():
        mandate_id = insert_accepted(session=session, exposure=0, fields=fields)
        exposure = lock_exposure(session=session, payer=str(fields["payer"]), token=str(fields["token"]))
        assert exposure == 0  # the row was created on demand by lock_exposure, after the insert
    with Session(engine) as session, session.begin():
        session.execute(text("UPDATE exposures SET unsettled = '5'"))
    steps = [MandateState.BATCHED, MandateState.PROVING, MandateState.PROVED, MandateState.SUBMITTED]
    for state in [*steps, MandateState.SETTLED]:
        with Session(engine) as session, session.begin():
            assert transition(session=session, mandate_ids=[mandate_id], to=state) == 1
    with Session(engine) as session:
        history = session.query(StateTransitionRow.from_state, StateTransitionRow.to_state).all()
        assert [h[1] for h in history] == ["accepted", *[s.value for s in steps], "settled"]
        assert session.execute(text("SELECT unsettled FROM exposures")).scalar_one() == "0"


def test_audit_is_append_only_and_generic(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        details = {"amount": "5", "payee": "0x" + "33" * 20}
        append_audit(
            session=session,
            actor="payer",
            action="sign",
            outcome="rejected",
            reason="max_per_payment",
            details=details,
        )
        append_audit(session=session, actor="payee", action="serve", outcome="ok")
    with Session(engine) as session:
        entries = list_audit(session=session)
        assert [e.actor for e in entries] == ["payee", "payer"]
        assert entries[1].details == {"amount": "5", "payee": "0x" + "33" * 20}
        assert list_audit(session=session, actor="payer")[0].reason == "max_per_payment"
    assert {c["name"] for c in inspect(engine).get_columns(AuditEntryRow.__tablename__)} == {
        "id", "actor", "action", "outcome", "reason", "details", "created_at"
    }  # fmt: skip


def _synchronous(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_payee_store_is_durable_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #14, defect 12: a served receipt's mandate survives power loss (FULL = 2, NORMAL = 1)."""
    monkeypatch.delenv("AEP2_SQLITE_SYNCHRONOUS", raising=False)
    assert _synchronous(make_engine(f"sqlite:///{tmp_path / 'full.db'}")) == 2
    monkeypatch.setenv("AEP2_SQLITE_SYNCHRONOUS", "normal")
    assert _synchronous(make_engine(f"sqlite:///{tmp_path / 'normal.db'}")) == 1
    monkeypatch.setenv("AEP2_SQLITE_SYNCHRONOUS", "OFF")
    with pytest.raises(ValueError, match="AEP2_SQLITE_SYNCHRONOUS"):
        _synchronous(make_engine(f"sqlite:///{tmp_path / 'off.db'}"))
