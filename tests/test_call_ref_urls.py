"""Issue #14, defect 8: payer and payee derive one canonical URL for the HTTP call ref.

The SDK used to refuse to pay ``/weather#frag``, ``/weather?`` and ``/%77eather`` (``ref_mismatch``
raised client-side) because httpx's ``str(url)`` and Starlette's ``request.url`` spell them
differently. Unit cases pin the canonical form; hypothesis pays generated URLs end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from aep2.payee import Route, StaticChainView, create_app
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.protocol.call_ref import canonical_url
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from tests import payee_support as s


@pytest.mark.parametrize(
    ("spelled", "canonical"),
    [
        ("http://h:8000/weather", "http://h:8000/weather"),
        ("http://h:8000/weather#frag", "http://h:8000/weather"),
        ("http://h:8000/weather?", "http://h:8000/weather"),
        ("http://h:8000/%77eather", "http://h:8000/weather"),
        ("HTTP://H:8000/weather", "http://h:8000/weather"),
        ("http://h:80/weather", "http://h/weather"),
        ("https://h:443/a", "https://h/a"),
        ("http://h", "http://h/"),
        ("http://user:pw@h/a", "http://h/a"),
        ("http://h/a/./b/../c", "http://h/a/c"),
        ("http://h/a%2fb", "http://h/a%2Fb"),
        ("http://h/a b?q=x y", "http://h/a%20b?q=x%20y"),
        ("http://h/caf\u00e9", "http://h/caf%C3%A9"),
        ("http://h/p?b=2&a=1", "http://h/p?b=2&a=1"),
        ("http://[::1]:8000/p", "http://[::1]:8000/p"),
    ],
)
def test_canonical_form(spelled: str, canonical: str) -> None:
    assert canonical_url(spelled) == canonical
    assert canonical_url(canonical) == canonical


path_chars = st.characters(min_codepoint=0x21, max_codepoint=0x2FF, exclude_characters="/?#%\\\x7f").filter(
    lambda c: not 0x80 <= ord(c) < 0xA0
)
path_text = st.text(path_chars, min_size=1, max_size=12)
query_chars = st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="#%\x7f")
query_text = st.text(query_chars.filter(lambda c: not 0x80 <= ord(c) < 0xA0), max_size=20)
fragments = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=6)


@settings(max_examples=300, deadline=None)
@given(segment=path_text, query=query_text, fragment=st.text(max_size=8))
def test_canonical_form_is_idempotent_and_ignores_fragments(segment: str, query: str, fragment: str) -> None:
    url = f"http://h:8000/items/{segment}?{query}"
    once = canonical_url(url + "#" + fragment)
    assert canonical_url(once) == once
    assert once == canonical_url(url)
    assert "#" not in once


@pytest.fixture
def served(engine: Engine) -> Iterator[str]:
    chain = StaticChainView()
    chain.set(payer=s.PAYER, token=s.TOKEN, balance=10**12)
    routes = [Route(path="/weather", price=s.PRICE), Route(path="/items/{name}", price=s.PRICE)]
    with s.serve(create_app(settings=s.settings(routes=routes), engine=engine, chain=chain)) as running:
        yield running.url


@pytest.mark.parametrize("suffix", ["/weather#frag", "/weather?", "/%77eather", "/weather?b=2&a=%7e"])
def test_the_sdk_pays_every_spelling(served: str, tmp_path: Path, suffix: str) -> None:
    payer = Payer(LocalKeySigner(s.PAYER_KEY), Policy(max_per_payment=s.PRICE), db=tmp_path / "p.db")
    response = httpx.get(served + suffix, auth=Aep2Auth(payer))
    assert response.status_code == 200, response.text
    assert payment_of(response).receipt is not None
    payer.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=path_text.filter(lambda t: t not in (".", "..")), query=query_text, fragment=fragments)
def test_generated_urls_are_paid_end_to_end(
    served: str, tmp_path: Path, segment: str, query: str, fragment: str
) -> None:
    payer = Payer(LocalKeySigner(s.PAYER_KEY), Policy(max_per_payment=s.PRICE), db=tmp_path / "g.db")
    url = f"{served}/items/{segment}?{query}#{fragment}"  # as a user would write it; httpx escapes it
    response = httpx.get(url, auth=Aep2Auth(payer))
    assert response.status_code == 200, (url, response.text)
    payer.close()
