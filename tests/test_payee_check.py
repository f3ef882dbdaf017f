"""The payee's check, step by step: each rejection has its own reason and stores nothing.

The chain is a :class:`StaticChainView` here (ordering and codes only); the store is a
real SQLite file. HTTP, MCP and A2A tests run the same check end to end.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aep2.errors import MandateError, Reason
from aep2.mandate import HALF_N, SECP256K1_N, SignedMandate, encode, to_wire
from aep2.payee import PayeeCheck, StaticChainView
from aep2.protocol.call_ref import http_ref
from aep2.protocol.receipt import Receipt, verify_receipt
from aep2.store import MandateState, transition
from tests import payee_support as s

REF = http_ref("GET", "http://127.0.0.1/weather")


@pytest.fixture
def chain() -> StaticChainView:
    view = StaticChainView()
    view.set(payer=s.PAYER, token=s.TOKEN, balance=10 * s.PRICE)
    return view


@pytest.fixture
def check(engine: Engine, chain: StaticChainView) -> PayeeCheck:
    return PayeeCheck(settings=s.settings(), engine=engine, chain=chain)


def reject(check: PayeeCheck, header: str, reason: Reason, *, price: int = s.PRICE, ref: bytes = REF) -> None:
    with pytest.raises(MandateError) as caught:
        check.accept(header, price=price, ref=ref, transport="test")
    assert caught.value.reason == reason, caught.value
    assert s.stored(check.engine) == (0, 0, 0)


def high_s(signed: SignedMandate) -> str:
    sig = signed.signature
    s_value = SECP256K1_N - int.from_bytes(sig[32:64], "big")
    assert s_value > HALF_N
    flipped = sig[:32] + s_value.to_bytes(32, "big") + bytes([55 - sig[64]])
    return encode(signed.model_copy(update={"signature": flipped}))


def test_accepts_and_signs_a_receipt(check: PayeeCheck) -> None:
    acceptance = check.accept(encode(s.sign(ref=REF)), price=s.PRICE, ref=REF, transport="test")
    receipt = verify_receipt(acceptance.receipt)
    assert (receipt.payer, receipt.payee, receipt.amount, receipt.nonce) == (s.PAYER, s.PAYEE, "1000", "1")
    assert receipt.digest == "0x" + acceptance.signed.digest.hex()
    assert s.stored(check.engine) == (1, 1, 1)


def test_fast_receipt_signature_equals_receipt_sign(check: PayeeCheck) -> None:
    acceptance = check.accept(encode(s.sign(ref=REF, nonce=3)), price=s.PRICE, ref=REF, transport="test")
    receipt = Receipt(**acceptance.receipt["receipt"])  # type: ignore[arg-type]
    assert acceptance.receipt == receipt.sign(bytes.fromhex(s.PAYEE_KEY[2:]))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", Reason.MANDATE_MALFORMED),
        ("not base64!", Reason.MANDATE_MALFORMED),
        (base64.b64encode(b"[1,2]").decode(), Reason.MANDATE_MALFORMED),
        ("A" * 5000, Reason.MANDATE_TOO_LARGE),
    ],
)
def test_garbage_headers(check: PayeeCheck, header: str, reason: Reason) -> None:
    reject(check, header, reason)


def test_truncated_header(check: PayeeCheck) -> None:
    header = encode(s.sign(ref=REF))
    reject(check, header[: len(header) // 2], Reason.MANDATE_MALFORMED)


def test_wrong_version(check: PayeeCheck) -> None:
    wire = to_wire(s.sign(ref=REF)) | {"version": "2"}
    header = base64.b64encode(json.dumps(wire, sort_keys=True, separators=(",", ":")).encode()).decode()
    reject(check, header, Reason.MANDATE_UNSUPPORTED_VERSION)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"chain_id": 1}, Reason.WRONG_CHAIN),
        ({"escrow": s.TOKEN}, Reason.WRONG_ESCROW),
        ({"payee": s.ESCROW}, Reason.WRONG_PAYEE),
        ({"token": s.OTHER_TOKEN}, Reason.UNSUPPORTED_TOKEN),
        ({"amount": s.PRICE - 1}, Reason.AMOUNT_BELOW_PRICE),
        ({"ref": b"\x01" * 32}, Reason.REF_MISMATCH),
        ({"deadline": int(time.time()) - 10}, Reason.DEADLINE_TOO_SOON),
        ({"deadline": int(time.time()) + s.HORIZON - 60}, Reason.DEADLINE_TOO_SOON),
        ({"payer": s.PAYEE}, Reason.SIGNER_MISMATCH),
    ],
)
def test_each_step_has_its_reason(check: PayeeCheck, change: dict[str, object], reason: Reason) -> None:
    fields: dict[str, object] = {"ref": REF} | change
    reject(check, encode(s.sign(**fields)), reason)  # type: ignore[arg-type]


def test_foreign_signature(check: PayeeCheck) -> None:
    reject(check, encode(s.sign(ref=REF, key=s.OTHER_KEY, payer=s.PAYER)), Reason.SIGNER_MISMATCH)


def test_high_s_signature(check: PayeeCheck) -> None:
    reject(check, high_s(s.sign(ref=REF)), Reason.SIGNATURE_HIGH_S)


def test_domain_is_checked_before_signature(check: PayeeCheck) -> None:
    reject(check, high_s(s.sign(ref=REF, chain_id=5)), Reason.WRONG_CHAIN)


def test_replayed_nonce(check: PayeeCheck) -> None:
    header = encode(s.sign(ref=REF, nonce=7))
    first = check.accept(header, price=s.PRICE, ref=REF, transport="test")
    # the very same mandate again (the payer never saw our answer): its stored receipt, no charge
    again = check.accept(header, price=s.PRICE, ref=REF, transport="test")
    assert (again.replayed, again.receipt, again.mandate_id) == (True, first.receipt, first.mandate_id)
    assert s.stored(check.engine) == (1, 1, 1)
    other_amount = encode(s.sign(ref=REF, nonce=7, amount=s.PRICE + 1))
    with pytest.raises(MandateError) as caught:
        check.accept(other_amount, price=s.PRICE, ref=REF, transport="test")
    assert caught.value.reason == Reason.NONCE_REPLAYED
    assert s.stored(check.engine) == (1, 1, 1)


def test_nonce_at_or_below_high_water(check: PayeeCheck, chain: StaticChainView) -> None:
    chain.set_high_water(payer=s.PAYER, payee=s.PAYEE, nonce=5)
    reject(check, encode(s.sign(ref=REF, nonce=5)), Reason.NONCE_BELOW_HIGH_WATER)
    reject(check, encode(s.sign(ref=REF, nonce=2)), Reason.NONCE_BELOW_HIGH_WATER)
    check.accept(encode(s.sign(ref=REF, nonce=6)), price=s.PRICE, ref=REF, transport="test")


def test_headroom_counts_unsettled_and_pending_withdrawals(check: PayeeCheck, chain: StaticChainView) -> None:
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=5 * s.PRICE, pending_withdrawal=2 * s.PRICE)
    for nonce in (1, 2, 3):
        check.accept(encode(s.sign(ref=REF, nonce=nonce)), price=s.PRICE, ref=REF, transport="test")
    with pytest.raises(MandateError) as caught:
        check.accept(encode(s.sign(ref=REF, nonce=4)), price=s.PRICE, ref=REF, transport="test")
    assert caught.value.reason == Reason.INSUFFICIENT_HEADROOM
    assert s.stored(check.engine) == (3, 3, 3)


def test_settling_releases_headroom(check: PayeeCheck, chain: StaticChainView) -> None:
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=s.PRICE)
    first = check.accept(encode(s.sign(ref=REF, nonce=1)), price=s.PRICE, ref=REF, transport="test")
    with pytest.raises(MandateError):
        check.accept(encode(s.sign(ref=REF, nonce=2)), price=s.PRICE, ref=REF, transport="test")
    with Session(check.engine) as session, session.begin():
        assert transition(session=session, mandate_ids=[first.mandate_id], to=MandateState.FAILED) == 1
    check.accept(encode(s.sign(ref=REF, nonce=2)), price=s.PRICE, ref=REF, transport="test")


def test_uint64_nonces_and_deadlines_are_stored_exactly(check: PayeeCheck) -> None:
    big = 2**64 - 1
    check.accept(encode(s.sign(ref=REF, nonce=big, deadline=big)), price=s.PRICE, ref=REF, transport="test")
    reject_header = encode(s.sign(ref=REF, nonce=big, deadline=big - 1))
    with pytest.raises(MandateError) as caught:
        check.accept(reject_header, price=s.PRICE, ref=REF, transport="test")
    assert caught.value.reason == Reason.NONCE_REPLAYED


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.one_of(
        st.text(max_size=1500), st.binary(max_size=1100).map(lambda b: base64.b64encode(b).decode())
    )
)
def test_fuzzed_headers_are_rejected_with_a_reason_and_nothing_stored(check: PayeeCheck, header: str) -> None:
    with pytest.raises(MandateError) as caught:
        check.accept(header, price=s.PRICE, ref=REF, transport="test")
    assert caught.value.reason in set(Reason)
    assert s.stored(check.engine) == (0, 0, 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, 700), value=st.integers(0, 255))
def test_single_byte_corruptions_are_rejected(check: PayeeCheck, position: int, value: int) -> None:
    raw = bytearray(base64.b64decode(encode(s.sign(ref=REF, nonce=99))))
    index = position % len(raw)
    if raw[index] == value:
        return
    raw[index] = value
    with pytest.raises(MandateError):
        check.accept(base64.b64encode(bytes(raw)).decode(), price=s.PRICE, ref=REF, transport="test")
    assert s.stored(check.engine) == (0, 0, 0)
