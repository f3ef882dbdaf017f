"""Aep2Auth against the stub payee: what it refuses and reports (happy paths: test_paid_calls_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from aep2.errors import PaymentRequestError, PolicyViolation, Reason
from aep2.payer import REJECTED, LocalKeySigner, Payer, Policy
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from tests.conftest import PAYER_KEY
from tests.test_payer_stub import PRICE, PayeeStub


@pytest.fixture
def payer(payer_db: Path) -> Payer:
    return Payer(LocalKeySigner(PAYER_KEY), Policy(max_per_payment=PRICE), db=payer_db)


def test_free_routes_are_not_paid(base_url: str, payer: Payer) -> None:
    response = httpx.get(f"{base_url}/free", auth=Aep2Auth(payer))
    assert response.status_code == 200
    with pytest.raises(PaymentRequestError):
        payment_of(response)
    assert payer.audit.entries() == []


def test_a_payee_billing_another_call_is_refused(base_url: str, stub: PayeeStub, payer: Payer) -> None:
    with pytest.raises(PaymentRequestError) as info:
        httpx.get(f"{base_url}/lying-ref", auth=Aep2Auth(payer))
    assert info.value.reason == Reason.REF_MISMATCH
    assert stub.payment_headers_seen == 0
    assert [(e.decision, e.reason) for e in payer.audit.entries()] == [(REJECTED, "ref_mismatch")]


def test_verify_ref_false_trusts_the_payee(base_url: str, stub: PayeeStub, payer: Payer) -> None:
    response = httpx.get(f"{base_url}/lying-ref", auth=Aep2Auth(payer, verify_ref=False))
    assert response.status_code == 200 and len(stub.accepted) == 1


def test_policy_refusal_sends_nothing(base_url: str, stub: PayeeStub, payer_db: Path) -> None:
    strict = Payer(LocalKeySigner(PAYER_KEY), Policy(max_per_payment=PRICE - 1), db=payer_db)
    with pytest.raises(PolicyViolation) as info:
        httpx.get(f"{base_url}/paid", auth=Aep2Auth(strict))
    assert info.value.reason == Reason.POLICY_MAX_PER_PAYMENT
    assert stub.payment_headers_seen == 0


def test_a_forged_receipt_is_reported(base_url: str, payer: Payer) -> None:
    response = httpx.get(f"{base_url}/forged-receipt", auth=Aep2Auth(payer))
    assert response.status_code == 200
    payment = payment_of(response)
    assert payment.receipt is None and payment.error is not None and "receipt_invalid" in payment.error


def test_a_rejected_mandate_returns_the_402_once(base_url: str, stub: PayeeStub, payer: Payer) -> None:
    # a payer whose database was restored from an old backup: the payee's replay check refuses
    with httpx.Client(auth=Aep2Auth(payer)) as client:
        assert client.get(f"{base_url}/paid").status_code == 200
    stale = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=Path(str(payer.engine.url.database) + ".restored"))
    response = httpx.get(f"{base_url}/paid", auth=Aep2Auth(stale))
    assert response.status_code == 402
    payment = payment_of(response)
    assert payment.receipt is None and payment.error == "payee refused the mandate: nonce_replayed"
    assert stub.payment_headers_seen == 2


def test_concurrent_async_calls_each_pay_once(base_url: str, stub: PayeeStub, payer: Payer) -> None:
    async def main() -> list[httpx.Response]:
        responses: list[httpx.Response] = []
        async with httpx.AsyncClient(auth=Aep2Auth(payer)) as client:

            async def one(i: int) -> None:
                responses.append(await client.get(f"{base_url}/paid", params={"i": str(i)}))

            async with anyio.create_task_group() as group:
                for i in range(12):
                    group.start_soon(one, i)
        return responses

    responses = anyio.run(main)
    assert all(r.status_code == 200 and payment_of(r).receipt is not None for r in responses)
    assert sorted(s.mandate.nonce for s in stub.accepted) == list(range(1, 13))
