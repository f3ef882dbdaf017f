"""Hypothesis on the whole header path: ``PAYMENT-SIGNATURE`` → x402 envelope → mandate → check.

Whatever arrives, the answer is a :class:`MandateError` with a documented reason
(over HTTP: a 402 whose ``error`` is that reason), never a crash, and nothing stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from aep2.errors import MandateError, Reason
from aep2.mandate import encode
from aep2.payee import PayeeCheck, StaticChainView, create_app
from aep2.payee.challenge import mandate_header, parse_payload
from aep2.protocol.call_ref import http_ref
from aep2.store import create_schema, make_engine
from tests import payee_support as s

REF = http_ref("GET", "http://127.0.0.1/weather")
REASONS = {r.value for r in Reason}
ACCEPTED: dict[str, Any] = {
    "scheme": "aep2", "network": f"eip155:{s.CHAIN_ID}", "asset": s.TOKEN, "amount": str(s.PRICE),
    "payTo": s.PAYEE, "maxTimeoutSeconds": 60, "extra": {},
}  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "x402Version": st.sampled_from([2, 2, 2, 1, 3, "2", None]),
        "accepted": st.one_of(st.just(ACCEPTED), st.just(ACCEPTED | {"scheme": "exact"}), json_values),
        "payload": st.one_of(
            st.builds(lambda h: {"mandate": h}, st.text(max_size=1200)),
            st.builds(lambda b: {"mandate": base64.b64encode(b).decode()}, st.binary(max_size=800)),
            json_values,
        ),
        "resource": json_values,
    },
)
headers = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=2000).map(lambda b: base64.b64encode(b).decode()),
    envelopes.map(lambda e: base64.b64encode(json.dumps(e).encode()).decode()),
)
# What HTTP can carry as a field value (RFC 9110 §5.5): visible ASCII with inner spaces.
# Anything else is refused by the client or by the server's parser before the app runs.
http_headers = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300).map(str.strip),
    st.binary(max_size=2000).map(lambda b: base64.b64encode(b).decode()),
    envelopes.map(lambda e: base64.b64encode(json.dumps(e).encode()).decode()),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'payee.db'}")
    create_schema(engine)
    return engine


@pytest.fixture(scope="module")
def chain() -> StaticChainView:
    view = StaticChainView()
    view.set(payer=s.PAYER, token=s.TOKEN, balance=10**9)
    return view


@pytest.fixture(scope="module")
def check(engine: Engine, chain: StaticChainView) -> PayeeCheck:
    return PayeeCheck(settings=s.settings(), engine=engine, chain=chain)


@pytest.fixture(scope="module")
def server(engine: Engine, chain: StaticChainView) -> Iterator[s.RunningServer]:
    with s.serve(create_app(settings=s.settings(), engine=engine, chain=chain)) as running:
        yield running


@settings(max_examples=250, deadline=None)
@given(header=headers)
def test_any_payment_header_is_rejected_with_a_reason(check: PayeeCheck, header: str) -> None:
    with pytest.raises(MandateError) as caught:
        check.accept(mandate_header(parse_payload(header)), price=s.PRICE, ref=REF, transport="fuzz")
    assert caught.value.reason in REASONS and caught.value.message
    assert s.stored(check.engine) == (0, 0, 0)


@settings(max_examples=150, deadline=None)
@given(
    mutation=st.dictionaries(
        st.sampled_from(["x402Version", "accepted", "resource"]), json_values, max_size=2
    )
)
def test_a_mangled_envelope_is_rejected_with_a_reason_or_keeps_its_mandate(mutation: dict[str, Any]) -> None:
    mandate = encode(s.sign(ref=REF))
    envelope = {"x402Version": 2, "accepted": ACCEPTED, "payload": {"mandate": mandate}} | mutation
    header = base64.b64encode(json.dumps(envelope).encode()).decode()
    try:
        payload = parse_payload(header)
    except MandateError as exc:
        assert exc.reason in REASONS
        return
    # The envelope survived validation: then it is an aep2 v2 payload whose mandate the check judges alone.
    assert payload.x402_version == 2 and payload.accepted.scheme == "aep2"
    assert mandate_header(payload) == mandate


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=http_headers)
def test_over_http_every_bad_header_is_a_402_with_a_reason(
    server: s.RunningServer, engine: Engine, header: str
) -> None:
    response = httpx.get(server.url + "/weather", headers={"PAYMENT-SIGNATURE": header})
    assert response.status_code == 402
    assert response.json()["error"] in REASONS
    assert s.stored(engine) == (0, 0, 0)
