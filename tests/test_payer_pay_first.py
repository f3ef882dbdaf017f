"""Pay first: a route the payer has paid (or was told the terms of) costs one round trip, not two.

Against the real payee app under uvicorn; each client counts what it sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from sqlalchemy import Engine

from aep2.payee import Route, StaticChainView, create_app
from aep2.payer import APPROVED, REFUSED, LocalKeySigner, Payer, Policy
from aep2.transports.httpx_auth import PAYMENT_SIGNATURE, Aep2Auth, payment_of
from tests import payee_support as s


@pytest.fixture
def served(engine: Engine) -> Iterator[str]:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**12)
    routes = [Route(path="/weather", price=s.PRICE), Route(path="/echo", method="POST", price=s.PRICE)]
    with s.serve(create_app(settings=s.settings(routes=routes), engine=engine, chain=chain)) as running:
        yield running.url


@pytest.fixture
def payer(tmp_path: Path) -> Iterator[Payer]:
    payer = Payer(LocalKeySigner(s.PAYER_KEY), Policy(max_per_payment=10 * s.PRICE), db=tmp_path / "p.db")
    yield payer
    payer.close()


class Counting(httpx.Client):
    """An httpx client that keeps every request it sent (the auth flow's retries included)."""

    def __init__(self, auth: Aep2Auth) -> None:
        self.sent: list[httpx.Request] = []
        super().__init__(auth=auth, event_hooks={"request": [self.sent.append]})


def test_the_second_call_to_a_route_is_one_round_trip(served: str, payer: Payer) -> None:
    with Counting(Aep2Auth(payer)) as client:
        first = client.get(f"{served}/weather", params={"city": "Berlin"})
        second = client.get(f"{served}/weather", params={"city": "Paris"})
        post = client.post(f"{served}/echo", json={"q": 1})
        again = client.post(f"{served}/echo", json={"q": 2})
    assert [r.status_code for r in (first, second, post, again)] == [200] * 4
    sent = [(r.method, r.url.path, PAYMENT_SIGNATURE in r.headers) for r in client.sent]
    assert sent == [("GET", "/weather", False), ("GET", "/weather", True), ("GET", "/weather", True),
                    ("POST", "/echo", False), ("POST", "/echo", True), ("POST", "/echo", True)]  # fmt: skip
    for response in (second, again):  # signed for its own call, and receipted
        payment = payment_of(response)
        assert payment.error is None and payment.receipt is not None
    assert [payment_of(r).mandate.mandate.nonce for r in (first, second, post, again)] == [1, 2, 3, 4]


def test_terms_given_by_the_caller_pay_the_very_first_request(served: str, payer: Payer) -> None:
    challenge = s.challenge_of(httpx.get(f"{served}/weather").headers["PAYMENT-REQUIRED"])
    auth = Aep2Auth(payer)
    auth.remember("GET", f"{served}/weather", s.aep2_accept(challenge))
    with Counting(auth) as client:
        response = client.get(f"{served}/weather", params={"city": "Rome"})
    assert response.status_code == 200 and payment_of(response).receipt is not None
    assert [PAYMENT_SIGNATURE in r.headers for r in client.sent] == [True]


def test_a_refused_first_payment_forgets_the_route_and_pays_the_402(served: str, payer: Payer) -> None:
    auth = Aep2Auth(payer)
    with Counting(auth) as client:
        client.get(f"{served}/weather")
        stale = dict(payer.routes.terms(f"GET {served}/weather", b"\0" * 32) or {}, amount=str(s.PRICE - 1))
        auth.remember("GET", f"{served}/weather", stale)  # the price went up since
        response = client.get(f"{served}/weather")
        after = client.get(f"{served}/weather")
    assert response.status_code == 200 and payment_of(response).receipt is not None
    assert [PAYMENT_SIGNATURE in r.headers for r in client.sent] == [False, True, True, True, True]
    decisions = [(e.decision, e.amount) for e in payer.audit.entries()]
    assert decisions == [(APPROVED, s.PRICE), (APPROVED, s.PRICE - 1), (REFUSED, s.PRICE - 1),
                         (APPROVED, s.PRICE), (APPROVED, s.PRICE)]  # fmt: skip
    assert after.status_code == 200  # relearned from the 402: paid first again


def test_async_clients_pay_first_too(served: str, payer: Payer) -> None:
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(auth=Aep2Auth(payer)) as client:
            first = await client.get(f"{served}/weather")
            responses = [first]

            async def one(i: int) -> None:
                responses.append(await client.get(f"{served}/weather", params={"i": str(i)}))

            async with anyio.create_task_group() as group:
                for i in range(8):
                    group.start_soon(one, i)
        return responses

    responses = anyio.run(main)
    assert all(payment_of(r).receipt is not None for r in responses)
    assert sorted(payment_of(r).mandate.mandate.nonce for r in responses) == list(range(1, 10))


def test_without_our_own_ref_nothing_is_paid_first(served: str, payer: Payer) -> None:
    with Counting(Aep2Auth(payer, verify_ref=False)) as client:
        client.get(f"{served}/weather")
        client.get(f"{served}/weather")
    assert [PAYMENT_SIGNATURE in r.headers for r in client.sent] == [False, True, False, True]
