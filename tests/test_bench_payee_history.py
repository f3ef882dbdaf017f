"""The payee history benchmark's store is what it claims: the measured payer's sequence, its states
and exposure, and a check that accepts the next mandate and refuses an old nonce."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from aep2.errors import MandateError, Reason
from aep2.payee import PayeeCheck
from aep2.protocol.call_ref import http_ref
from aep2.store import create_schema, make_engine
from benchmarks.payee_history import measure, seed
from benchmarks.payee_latency import PRICE, _chain, _mandates, _payer, _settings


def test_seeded_history_is_one_sequence_in_the_stated_states(tmp_path: Path) -> None:
    db = tmp_path / "payee.db"
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    engine.dispose()
    history = seed(db, 300)
    assert history == {"settled": 294, "batched": 3, "accepted": 3, "high_water": 294}
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        states = dict(connection.execute(text("SELECT state, count(*) FROM mandates GROUP BY state")).all())
        sequences = connection.execute(text("SELECT count(DISTINCT payer || payee || key_id) FROM mandates"))
        exposure = connection.execute(text("SELECT unsettled FROM exposures")).scalar_one()
        receipts = connection.execute(text("SELECT count(*) FROM receipts")).scalar_one()
    assert states == {"settled": 294, "batched": 3, "accepted": 3}
    assert sequences.scalar_one() == 1 and receipts == 300
    assert int(exposure) == 6 * PRICE

    settings = _settings()
    chain = _chain(_payer())
    chain.set_high_water(payer=_payer(), payee=settings.payee, nonce=history["high_water"])
    check = PayeeCheck(settings=settings, engine=engine, chain=chain)
    ref = http_ref("GET", "http://127.0.0.1/paid")
    old, batched, fresh = (_mandates(1, ref, settings.payee, first_nonce=n)[0] for n in (10, 296, 301))
    with pytest.raises(MandateError) as below:
        check.accept(old, price=PRICE, ref=ref, transport="bench")
    assert below.value.reason == Reason.NONCE_BELOW_HIGH_WATER
    with pytest.raises(MandateError) as in_window:
        check.accept(batched, price=PRICE, ref=ref, transport="bench")
    assert in_window.value.reason == Reason.NONCE_BELOW_BATCHED
    assert check.accept(fresh, price=PRICE, ref=ref, transport="bench").mandate_id == 301
    engine.dispose()


def test_measure_reports_one_row_per_size() -> None:
    row = measure(200, 5)
    assert row["history_rows"] == 200 and row["calls"] == 5
    assert 0 < row["cpu_median_ms"] <= row["cpu_p99_ms"]
    assert 0 < row["wall_median_ms"] <= row["wall_p99_ms"]
