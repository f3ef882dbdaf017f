"""The header codec: round trips, one spelling per mandate, and no crash on any input."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aep2.errors import MandateDecodeError, MandateError, Reason
from aep2.mandate import MAX_HEADER_LENGTH, Domain, Mandate, decode, encode, to_wire
from tests.mandate_strategies import addresses, mandates, private_keys


@settings(max_examples=100, deadline=None)
@given(mandate=mandates, key=private_keys, escrow=addresses, chain_id=st.integers(1, 2**64))
def test_round_trip_is_identity(mandate: Mandate, key: bytes, escrow: str, chain_id: int) -> None:
    signed = mandate.sign(Domain(chain_id=chain_id, escrow=escrow), key)
    header = encode(signed)
    assert len(header) <= MAX_HEADER_LENGTH
    assert decode(header) == signed
    assert encode(decode(header)) == header


@settings(max_examples=300, deadline=None)
@given(
    header=st.one_of(
        st.text(max_size=1200), st.binary(max_size=1200).map(lambda b: base64.b64encode(b).decode())
    )
)
def test_any_input_is_decoded_or_rejected_with_a_mandate_error(header: str) -> None:
    try:
        decode(header)
    except MandateError as exc:
        assert exc.reason in set(Reason)
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(
    obj=st.dictionaries(
        st.sampled_from(["version", "chainId", "escrow", "payer", "amount", "nonce", "ref", "x"]),
        st.one_of(st.text(max_size=70), st.integers(), st.none(), st.booleans()),
    )
)
def test_json_objects_with_wrong_fields_are_rejected(obj: dict[str, object]) -> None:
    header = base64.b64encode(json.dumps(obj).encode()).decode()
    with pytest.raises(MandateError):
        decode(header)


def test_key_order_is_part_of_the_canonical_form(vectors: dict[str, object]) -> None:
    signed = decode(vectors["valid"][0]["encoded"])  # type: ignore[index]
    reordered = dict(reversed(list(to_wire(signed).items())))
    header = base64.b64encode(json.dumps(reordered, separators=(",", ":")).encode()).decode()
    with pytest.raises(MandateDecodeError) as caught:
        decode(header)
    assert caught.value.reason == Reason.MANDATE_NOT_CANONICAL


def test_duplicate_keys_are_malformed(vectors: dict[str, object]) -> None:
    raw = base64.b64decode(vectors["valid"][0]["encoded"])  # type: ignore[index]
    doubled = raw[:-1] + b',"amount":"1"}'
    with pytest.raises(MandateDecodeError) as caught:
        decode(base64.b64encode(doubled).decode())
    assert caught.value.reason == Reason.MANDATE_MALFORMED
