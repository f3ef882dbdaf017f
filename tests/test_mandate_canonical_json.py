"""A header is ``canonical_json`` of the wire object in base64, byte for byte, however it is built:
``canonical_json`` (one encoder built once) writes what ``json.dumps`` with the canonical options
writes, and ``encode``/``encode_agent`` (their values joined into constant text when every value is
letters and digits) write what ``canonical_json(to_wire(...))`` writes, for any mandate."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aep2.agentkey import AgentMandate, SignedAgentMandate, agent_to_wire, encode_agent, encode_any
from aep2.mandate import (
    Domain,
    Mandate,
    SignedMandate,
    canonical_json,
    encode,
    to_wire,
)
from aep2.mandate._codec import json_pieces, packed_json
from tests.mandate_strategies import addresses, agent_mandates, mandates

domains = st.builds(Domain, chain_id=st.integers(min_value=1, max_value=2**256 - 1), escrow=addresses)


def _reference(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@settings(max_examples=300)
@given(st.dictionaries(st.text(), st.text(), max_size=14))
def test_canonical_json_is_json_dumps_with_the_canonical_options(obj: dict[str, str]) -> None:
    assert canonical_json(obj) == _reference(obj)
    assert canonical_json(obj) == canonical_json(dict(reversed(obj.items())))  # order is not spelled


@settings(max_examples=200)
@given(mandates, domains, st.binary(min_size=65, max_size=65))
def test_an_eip712_header_is_its_wire_object_in_canonical_json(m: Mandate, d: Domain, sig: bytes) -> None:
    signed = SignedMandate(domain=d, mandate=m, signature=sig)
    assert encode(signed) == encode_any(signed) == _b64(_reference(to_wire(signed)))


@settings(max_examples=200)
@given(agent_mandates, domains, st.binary(min_size=64, max_size=64))
def test_an_agent_header_is_its_wire_object_in_canonical_json(m: AgentMandate, d: Domain, sig: bytes) -> None:
    signed = SignedAgentMandate(domain=d, mandate=m, signature=sig)
    assert encode_agent(signed) == encode_any(signed) == _b64(_reference(agent_to_wire(signed)))


@pytest.mark.parametrize("payee", ['0x"quoted"', "0xé" + "0" * 39, "0x\n", "", 7])
def test_values_json_would_escape_take_the_encoder(payee: object) -> None:
    """Models built without validation can hold anything: such values are spelled by the JSON encoder."""
    d = Domain(chain_id=1, escrow="0x" + "00" * 20)
    m = Mandate.model_construct(payer=d.escrow, payee=payee, token=d.escrow, amount=1, nonce=1, deadline=0,
                                ref=bytes(32))  # fmt: skip
    signed = SignedMandate.model_construct(domain=d, mandate=m, signature=bytes(65))
    assert encode(signed) == _b64(_reference(to_wire(signed)))


def test_packed_json_declines_what_it_cannot_spell() -> None:
    pieces = json_pieces(["b", "a"])
    assert packed_json(pieces, ("1", "x2")) == _reference({"a": "1", "b": "x2"})
    assert packed_json(pieces, ("", "x")) == _reference({"a": "", "b": "x"})
    for values in (("1", "-2"), ("1", 'a"'), ("", ""), ("1", 2)):
        assert packed_json(pieces, values) is None  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        json_pieces(["a b"])
