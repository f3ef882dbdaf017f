"""Step 6's batched floor and step 7's headroom: reservations, exposure limits, pending withdrawals.

Issue #10's findings 3 and 5 on the payee side, against a real SQLite store and a
:class:`StaticChainView` (the escrow's own reservation rules are tested on anvil and in forge).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aep2.errors import MandateError, Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck, StaticChainView
from aep2.payee.chain_view import PayerPosition
from aep2.payee.headroom import Headroom
from aep2.protocol.call_ref import http_ref
from aep2.store import MandateState, transition
from tests import payee_support as s

REF = http_ref("GET", "http://127.0.0.1/weather")


def accept(check: PayeeCheck, nonce: int, amount: int = s.PRICE) -> int:
    header = encode(s.sign(ref=REF, nonce=nonce, amount=amount))
    return check.accept(header, price=s.PRICE, ref=REF, transport="test").mandate_id


def refused(check: PayeeCheck, nonce: int, amount: int = s.PRICE) -> MandateError:
    before = s.stored(check.engine)
    with pytest.raises(MandateError) as caught:
        check.accept(
            encode(s.sign(ref=REF, nonce=nonce, amount=amount)), price=s.PRICE, ref=REF, transport="t"
        )
    assert s.stored(check.engine) == before, "a rejected mandate wrote something"
    return caught.value


def batch(engine: Engine, *ids: int) -> None:
    with Session(engine) as session, session.begin():
        transition(session=session, mandate_ids=list(ids), to=MandateState.BATCHED, reason="test window")


def check_for(engine: Engine, chain: StaticChainView, **overrides: object) -> PayeeCheck:
    return PayeeCheck(settings=s.settings(**overrides), engine=engine, chain=chain)


def funded(balance: int = 10 * s.PRICE) -> StaticChainView:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=balance)
    return chain


def test_nonce_below_a_closed_window_is_refused_with_where_to_resume(engine: Engine) -> None:
    """Finding 3: a payer that sends a high nonce first and counts down was served free while the
    window proved (the lower nonces failed as stale once it settled). Now they are refused."""
    check = check_for(engine, funded())
    high = accept(check, 5)
    accept(check, 3)  # below an *accepted* nonce is fine: both go into the next window in order
    batch(engine, high)
    error = refused(check, 4)
    assert error.reason == Reason.NONCE_BELOW_BATCHED
    assert error.context["nonce_floor"] == 5
    with pytest.raises(MandateError) as verified:
        check.verify(encode(s.sign(ref=REF, nonce=4)), price=s.PRICE, ref=REF)
    assert verified.value.reason == Reason.NONCE_BELOW_BATCHED
    accept(check, 6)


def test_batched_floor_is_per_pair_and_drops_when_the_window_is_done(engine: Engine) -> None:
    chain = funded()
    chain.set(payer=s.sign(ref=REF, key=s.OTHER_KEY).mandate.payer, token=s.TOKEN, balance=10 * s.PRICE)
    check = check_for(engine, chain)
    high = accept(check, 9)
    batch(engine, high)
    other_payer = encode(s.sign(ref=REF, nonce=1, key=s.OTHER_KEY))
    check.accept(other_payer, price=s.PRICE, ref=REF, transport="t")  # another pair: no floor
    assert refused(check, 2).reason == Reason.NONCE_BELOW_BATCHED
    with Session(engine) as session, session.begin():  # its window gave up: nothing is in flight
        transition(session=session, mandate_ids=[high], to=MandateState.FAILED, reason="test")
    accept(check, 2)


def test_pending_withdrawal_stays_debitable_until_it_could_leave(engine: Engine) -> None:
    """Finding 2, payee side: a requested withdrawal is debitable until executed, as long as it
    cannot execute before a mandate accepted now settles (ready after now + horizon)."""
    chain = StaticChainView()
    later = int(time.time()) + s.HORIZON + 600
    chain.set(
        payer=s.PAYER, token=s.TOKEN, balance=3 * s.PRICE, pending_withdrawal=3 * s.PRICE, ready_at=later
    )
    check = check_for(engine, chain)
    for nonce in (1, 2, 3):
        accept(check, nonce)
    assert refused(check, 4).reason == Reason.INSUFFICIENT_HEADROOM
    soon = int(time.time()) + s.HORIZON - 1
    chain.set(
        payer=s.PAYER, token=s.TOKEN, balance=4 * s.PRICE, pending_withdrawal=3 * s.PRICE, ready_at=soon
    )
    assert refused(check, 4).reason == Reason.INSUFFICIENT_HEADROOM  # 1 PRICE left, 3 accepted


def test_requiring_reservations_accepts_only_reserved_funds(engine: Engine) -> None:
    """Finding 5: one deposit backs every payee; a payee that requires reservations takes no credit risk."""
    chain = funded(100 * s.PRICE)
    check = check_for(engine, chain, require_reservations=True)
    error = refused(check, 1)
    assert error.reason == Reason.INSUFFICIENT_RESERVATION
    chain.reserve(payer=s.PAYER, payee=s.PAYEE, token=s.TOKEN, amount=2 * s.PRICE)
    accept(check, 1)
    accept(check, 2)
    assert refused(check, 3).reason == Reason.INSUFFICIENT_RESERVATION


def test_reservation_for_another_payee_does_not_count(engine: Engine) -> None:
    chain = funded(0)
    chain.reserve(payer=s.PAYER, payee=s.OTHER_TOKEN, token=s.TOKEN, amount=50 * s.PRICE)
    assert refused(check_for(engine, chain), 1).reason == Reason.INSUFFICIENT_HEADROOM


def test_exposure_limit_caps_what_the_free_balance_backs(engine: Engine) -> None:
    chain = funded(100 * s.PRICE)
    chain.reserve(payer=s.PAYER, payee=s.PAYEE, token=s.TOKEN, amount=s.PRICE)
    check = check_for(engine, chain, max_exposure_per_payer=2 * s.PRICE)
    for nonce in (1, 2, 3):  # one reserved + two free
        accept(check, nonce)
    assert refused(check, 4).reason == Reason.INSUFFICIENT_HEADROOM


def test_release_ready_within_the_horizon_is_not_counted(engine: Engine) -> None:
    chain = funded(0)
    soon = int(time.time()) + 60
    chain.reserve(
        payer=s.PAYER,
        payee=s.PAYEE,
        token=s.TOKEN,
        amount=3 * s.PRICE,
        pending_release=2 * s.PRICE,
        ready_at=soon,
    )
    check = check_for(engine, chain, require_reservations=True)
    accept(check, 1)
    assert refused(check, 2).reason == Reason.INSUFFICIENT_RESERVATION


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    balance=st.integers(0, 10**12),
    withdrawal=st.integers(0, 10**12),
    reserved=st.integers(0, 10**12),
    release=st.integers(0, 10**12),
    withdrawal_in=st.integers(-100, 10_000),
    release_in=st.integers(-100, 10_000),
    limit=st.none() | st.integers(0, 10**12),
    require=st.booleans(),
)
def test_debitable_never_counts_what_can_leave_first(
    balance: int,
    withdrawal: int,
    reserved: int,
    release: int,
    withdrawal_in: int,
    release_in: int,
    limit: int | None,
    require: bool,
) -> None:
    """Whatever the position, the headroom never exceeds what the escrow is sure to hold for this
    payee when a mandate accepted now settles (at now + horizon at the latest)."""
    now, horizon = 1_800_000_000, 3600
    position = PayerPosition(
        balance=balance,
        pending_withdrawal=min(withdrawal, balance),
        high_water=0,
        withdrawal_ready_at=now + withdrawal_in,
        reserved=reserved,
        pending_release=min(release, reserved),
        release_ready_at=now + release_in,
    )
    rule = Headroom(horizon_seconds=horizon, require_reservations=require, max_exposure_per_payer=limit)
    debitable = rule.debitable(position, now=now)
    sure_reserved = reserved - (position.pending_release if release_in <= horizon else 0)
    sure_free = balance - (position.pending_withdrawal if withdrawal_in <= horizon else 0)
    assert 0 <= debitable <= sure_reserved + (0 if require else sure_free)
    if limit is not None and not require:
        assert debitable <= sure_reserved + limit


def test_a_re_presented_mandate_is_recognised_after_its_window_closed(engine: Engine) -> None:
    """Batched (or with its amount counted), the very same mandate still gets its stored receipt."""
    check = check_for(engine, funded(s.PRICE))
    header = encode(s.sign(ref=REF, nonce=3))
    first = check.accept(header, price=s.PRICE, ref=REF, transport="t")
    batch(engine, first.mandate_id)
    again = check.accept(header, price=s.PRICE, ref=REF, transport="t")
    assert again.replayed and again.receipt == first.receipt
    check.verify(header, price=s.PRICE, ref=REF)  # what an x402 facilitator asks first
    assert s.stored(engine) == (1, 1, 2)
