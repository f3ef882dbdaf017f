"""The FastAPI integration under a real uvicorn on 127.0.0.1, paid with mandates signed here."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from aep2.errors import Reason
from aep2.mandate import encode
from aep2.payee import StaticChainView, create_app
from aep2.protocol.call_ref import http_ref
from aep2.protocol.receipt import verify_receipt
from aep2.protocol.scheme import Aep2Extra
from tests import payee_support as s


@pytest.fixture
def chain() -> StaticChainView:
    view = StaticChainView()
    view.set(payer=s.PAYER, token=s.TOKEN, balance=100 * s.PRICE)
    return view


@pytest.fixture
def server(engine: Engine, chain: StaticChainView) -> Iterator[s.RunningServer]:
    with s.serve(create_app(settings=s.settings(), engine=engine, chain=chain)) as running:
        yield running


def challenge(client: httpx.Client, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, url, **kwargs)
    assert response.status_code == 402
    decoded = s.challenge_of(response.headers["PAYMENT-REQUIRED"])
    assert decoded["x402Version"] == 2
    return decoded


def pay(
    client: httpx.Client, method: str, url: str, accepted: dict[str, Any], header: str, **kw: Any
) -> httpx.Response:
    return client.request(method, url, headers={"PAYMENT-SIGNATURE": s.x402_header(header, accepted)}, **kw)


def test_challenge_then_paid_call_with_receipt(server: s.RunningServer, engine: Engine) -> None:
    url = server.url + "/weather?city=Paris"
    with httpx.Client() as client:
        required = challenge(client, "GET", url)
        accepted = s.aep2_accept(required)
        extra = Aep2Extra.model_validate(accepted["extra"])
        assert extra.ref == "0x" + http_ref("GET", url).hex()
        assert (accepted["payTo"], accepted["asset"], accepted["amount"]) == (s.PAYEE, s.TOKEN, str(s.PRICE))
        assert accepted["network"] == f"eip155:{s.CHAIN_ID}" and extra.min_deadline_seconds == s.HORIZON
        assert required["resource"]["url"] == url and "error" not in required
        signed = s.sign(ref=bytes.fromhex(extra.ref[2:]), amount=int(accepted["amount"]))
        response = pay(client, "GET", url, accepted, encode(signed))
    assert response.status_code == 200, response.text
    assert response.json()["paid"] == {"payer": s.PAYER, "nonce": "1"}
    settle = json.loads(base64.b64decode(response.headers["PAYMENT-RESPONSE"]))
    assert settle["success"] is True and settle["transaction"] == "aep2:0x" + signed.digest.hex()
    receipt = verify_receipt(settle["extra"])
    assert receipt.payee == s.PAYEE and receipt.digest == "0x" + signed.digest.hex()
    assert s.stored(engine) == (1, 1, 1)


def test_post_body_is_part_of_the_ref(server: s.RunningServer, engine: Engine) -> None:
    url = server.url + "/echo"
    with httpx.Client() as client:
        accepted = s.aep2_accept(challenge(client, "POST", url, content=b'{"q":1}'))
        ref = http_ref("POST", url, b'{"q":1}')
        assert accepted["extra"]["ref"] == "0x" + ref.hex()
        header = encode(s.sign(ref=ref, nonce=3))
        other_body = pay(client, "POST", url, accepted, header, content=b'{"q":2}')
        assert other_body.status_code == 402
        assert s.challenge_of(other_body.headers["PAYMENT-REQUIRED"])["error"] == Reason.REF_MISMATCH
        assert pay(client, "POST", url, accepted, header, content=b'{"q":1}').status_code == 200
    assert s.stored(engine) == (1, 1, 1)


def test_free_route_needs_no_payment(server: s.RunningServer) -> None:
    assert httpx.get(server.url + "/health").json()["payee"] == s.PAYEE


def _rejection(server: s.RunningServer, payment_signature: str) -> dict[str, Any]:
    response = httpx.get(server.url + "/weather", headers={"PAYMENT-SIGNATURE": payment_signature})
    assert response.status_code == 402
    header = s.challenge_of(response.headers["PAYMENT-REQUIRED"])
    body = response.json()
    assert body["error"] == header["error"] and body["message"]
    assert header["accepts"][0]["scheme"] == "aep2"
    return header


def test_bad_x402_envelopes(server: s.RunningServer, engine: Engine) -> None:
    ref = http_ref("GET", server.url + "/weather")
    accepted = s.aep2_accept(s.challenge_of(httpx.get(server.url + "/weather").headers["PAYMENT-REQUIRED"]))
    good = encode(s.sign(ref=ref))
    cases = {
        "%%%": Reason.MANDATE_MALFORMED,
        base64.b64encode(b"null").decode(): Reason.MANDATE_MALFORMED,
        "A" * 20_000: Reason.MANDATE_TOO_LARGE,
        s.x402_header(good, accepted, version=1): Reason.MANDATE_UNSUPPORTED_VERSION,
        s.x402_header(good, accepted | {"scheme": "exact"}): Reason.MANDATE_MALFORMED,
        s.x402_header(good[:100], accepted): Reason.MANDATE_MALFORMED,
        s.x402_header("QUJD" * 300, accepted): Reason.MANDATE_TOO_LARGE,
    }
    for header, reason in cases.items():
        assert _rejection(server, header)["error"] == reason, header[:40]
    assert s.stored(engine) == (0, 0, 0)


def test_every_check_step_over_http(server: s.RunningServer, engine: Engine, chain: StaticChainView) -> None:
    url = server.url + "/weather"
    ref = http_ref("GET", url)
    accepted = s.aep2_accept(s.challenge_of(httpx.get(url).headers["PAYMENT-REQUIRED"]))
    chain.set_high_water(payer=s.PAYER, payee=s.PAYEE, nonce=10)
    cases: list[tuple[dict[str, Any], Reason]] = [
        ({"chain_id": 1}, Reason.WRONG_CHAIN),
        ({"escrow": s.TOKEN}, Reason.WRONG_ESCROW),
        ({"payee": s.ESCROW}, Reason.WRONG_PAYEE),
        ({"token": s.OTHER_TOKEN}, Reason.UNSUPPORTED_TOKEN),
        ({"key": s.OTHER_KEY, "payer": s.PAYER}, Reason.SIGNER_MISMATCH),
        ({"amount": s.PRICE - 1}, Reason.AMOUNT_BELOW_PRICE),
        ({"ref": http_ref("GET", url + "?x=1")}, Reason.REF_MISMATCH),
        ({"deadline": 1}, Reason.DEADLINE_TOO_SOON),
        ({"nonce": 10}, Reason.NONCE_BELOW_HIGH_WATER),
        ({"amount": 101 * s.PRICE}, Reason.INSUFFICIENT_HEADROOM),
    ]
    for change, reason in cases:
        fields: dict[str, Any] = {"ref": ref, "nonce": 11} | change
        header = s.x402_header(encode(s.sign(**fields)), accepted)
        assert _rejection(server, header)["error"] == reason, change
    assert s.stored(engine) == (0, 0, 0)
    paid = s.x402_header(encode(s.sign(ref=ref, nonce=11)), accepted)
    assert httpx.get(url, headers={"PAYMENT-SIGNATURE": paid}).status_code == 200
    same_nonce = s.x402_header(encode(s.sign(ref=ref, nonce=11, amount=s.PRICE + 1)), accepted)
    replayed = _rejection(server, same_nonce)
    assert replayed["error"] == Reason.NONCE_REPLAYED
    assert replayed["accepts"][0]["extra"]["nonceFloor"] == 11  # the payer's SDK resumes above it
    below = s.x402_header(encode(s.sign(ref=ref, nonce=4)), accepted)
    assert _rejection(server, below)["accepts"][0]["extra"]["nonceFloor"] == 11
    assert s.stored(engine) == (1, 1, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "1"),
        ("payTo", s.PAYER),
        ("network", "eip155:1"),
        ("asset", s.OTHER_TOKEN),
        ("extra", {"escrow": s.TOKEN, "minDeadlineSeconds": s.HORIZON}),
        ("extra", {"escrow": s.ESCROW, "minDeadlineSeconds": 0}),
    ],
)
def test_accepted_must_be_what_was_offered(
    server: s.RunningServer, engine: Engine, field: str, value: Any
) -> None:
    """Issue #14, defect 11: ``accepted`` names the offer the payer took (x402 v2); one that names
    another amount, payee, network, asset or escrow terms is refused, even with a valid mandate."""
    with httpx.Client() as client:
        url = server.url + "/weather"
        offered = s.aep2_accept(challenge(client, "GET", url))
        header = encode(s.sign(ref=http_ref("GET", url)))
        refused = pay(client, "GET", url, offered | {field: value}, header)
        assert refused.status_code == 402
        assert refused.json()["error"] == Reason.ACCEPTED_MISMATCH
        assert s.stored(engine) == (0, 0, 0)
        assert pay(client, "GET", url, offered, header).status_code == 200  # the offer itself is fine


def test_a_re_presented_mandate_gets_its_receipt_and_no_second_charge(
    engine: Engine, chain: StaticChainView
) -> None:
    """Issue #14, defect 9: the payee died after committing and before answering, so the payer
    sends the same mandate again. It gets the stored receipt; an idempotent route (GET) serves the
    call again, a POST route answers 409 ``already_paid`` without running its handler twice."""
    runs: list[str] = []
    app = create_app(settings=s.settings(), engine=engine, chain=chain)

    @app.middleware("http")
    async def count(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        if response.status_code == 200:
            runs.append(request.method)
        return response

    with s.serve(app) as running, httpx.Client() as client:
        for method, url in (("GET", running.url + "/weather"), ("POST", running.url + "/echo")):
            offer = s.aep2_accept(challenge(client, method, url, content=b"hi"))
            nonce = 1 if method == "GET" else 2
            header = s.x402_header(encode(s.sign(ref=http_ref(method, url, b"hi"), nonce=nonce)), offer)
            first = client.request(method, url, content=b"hi", headers={"PAYMENT-SIGNATURE": header})
            again = client.request(method, url, content=b"hi", headers={"PAYMENT-SIGNATURE": header})
            assert first.status_code == 200
            assert again.headers["PAYMENT-RESPONSE"] == first.headers["PAYMENT-RESPONSE"]
            if method == "GET":
                assert again.status_code == 200
            else:
                assert again.status_code == 409 and again.json()["reason"] == Reason.ALREADY_PAID
    assert runs == ["GET", "GET", "POST"]
    assert s.stored(engine) == (2, 2, 2), "charged once per mandate"
