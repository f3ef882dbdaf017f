"""The agent mandate's wire form (docs/agent-keys.md, "The wire") and the decoder of both kinds."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aep2.agentkey import (
    AgentKey,
    AgentMandate,
    SignedAgentMandate,
    agent_to_wire,
    decode_agent,
    decode_any,
    encode_agent,
    encode_any,
)
from aep2.errors import MandateError, Reason
from aep2.mandate import Domain, Mandate, SignedMandate, checksum, decode, encode, to_wire

DOMAIN = Domain(chain_id=31337, escrow=checksum("0x" + "ab" * 20))
PAYEE = checksum("0x" + "cd" * 20)
TOKEN = checksum("0x" + "ef" * 20)


@pytest.fixture(scope="module")
def key() -> AgentKey:
    return AgentKey.generate()


@pytest.fixture(scope="module")
def signed(key: AgentKey) -> SignedAgentMandate:
    mandate = AgentMandate.build(
        key_id=7, payee=PAYEE, token=TOKEN, amount=1000, nonce=42, deadline=1_900_000_000, ref=b"\x11" * 32
    )
    return SignedAgentMandate(domain=DOMAIN, mandate=mandate, signature=key.sign(DOMAIN.separator, mandate))


def header_of(obj: dict[str, Any], **dumps: Any) -> str:
    text = json.dumps(obj, **({"sort_keys": True, "separators": (",", ":")} | dumps))
    return base64.b64encode(text.encode()).decode()


def refusal(header: str) -> Reason:
    with pytest.raises(MandateError) as info:
        decode_any(header)
    return info.value.reason


def test_round_trip_and_signature(signed: SignedAgentMandate, key: AgentKey) -> None:
    header = encode_agent(signed)
    assert encode_any(signed) == header
    back = decode_any(header)
    assert back == signed and decode_agent(header) == signed
    back.verify(key.public_key)
    with pytest.raises(MandateError) as info:
        back.verify(AgentKey.generate().public_key)
    assert info.value.reason is Reason.SIGNATURE_INVALID


def test_the_wire_json_is_the_documented_one(signed: SignedAgentMandate) -> None:
    obj = json.loads(base64.b64decode(encode_agent(signed)))
    assert list(obj) == sorted(obj)
    assert obj["kind"] == "agent" and obj["keyId"] == "7" and obj["version"] == "1"
    assert set(obj) == {
        "amount", "chainId", "deadline", "escrow", "keyId", "kind", "nonce", "payee", "ref", "signature",
        "token", "version",
    }  # fmt: skip
    assert len(bytes.fromhex(obj["signature"][2:])) == 64


def test_eip712_mandates_decode_with_or_without_kind() -> None:
    mandate = Mandate.build(
        payer="0x" + "12" * 20,
        payee=PAYEE,
        token=TOKEN,
        amount=5,
        nonce=1,
        deadline=2_000_000_000,
        ref=b"\0" * 32,
    )
    signed = mandate.sign(DOMAIN, b"\x01" * 32)
    assert decode_any(encode(signed)) == signed
    assert encode_any(signed) == encode(signed)
    with_kind = header_of(to_wire(signed) | {"kind": "eip712"})
    assert decode_any(with_kind) == signed == decode(with_kind)
    assert isinstance(decode_any(with_kind), SignedMandate)


def test_kinds_are_not_confused(signed: SignedAgentMandate) -> None:
    header = encode_agent(signed)
    with pytest.raises(MandateError) as info:
        decode(header)  # the EIP-712 decoder names the kind instead of a missing payer
    assert info.value.reason is Reason.MANDATE_UNSUPPORTED_KIND
    assert refusal(header_of(agent_to_wire(signed) | {"kind": "eip-712"})) is Reason.MANDATE_UNSUPPORTED_KIND
    assert refusal(header_of(agent_to_wire(signed) | {"kind": 1})) is Reason.MANDATE_UNSUPPORTED_KIND


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda o: o | {"payer": "0x" + "12" * 20}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: {k: v for k, v in o.items() if k != "keyId"}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"keyId": "0"}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"keyId": "07"}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"keyId": str(2**64)}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"amount": str(2**96)}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"nonce": 42}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"payee": o["payee"].lower()}, Reason.MANDATE_INVALID_FIELD),
        (lambda o: o | {"signature": o["signature"][:-2]}, Reason.SIGNATURE_MALFORMED),
        (
            lambda o: o | {"signature": o["signature"].upper().replace("0X", "0x")},
            Reason.MANDATE_INVALID_FIELD,
        ),
        (lambda o: o | {"version": "2"}, Reason.MANDATE_UNSUPPORTED_VERSION),
    ],
)
def test_bad_fields_are_refused_with_their_code(
    signed: SignedAgentMandate, change: Any, reason: Reason
) -> None:
    assert refusal(header_of(change(agent_to_wire(signed)))) is reason


def test_only_the_canonical_spelling_decodes(signed: SignedAgentMandate) -> None:
    obj = agent_to_wire(signed)
    assert refusal(header_of(obj, separators=(", ", ": "))) is Reason.MANDATE_NOT_CANONICAL
    assert refusal(header_of(obj, sort_keys=False)) is Reason.MANDATE_NOT_CANONICAL
    assert refusal("!" + encode_agent(signed)) is Reason.MANDATE_MALFORMED
    assert refusal("A" * 2000) is Reason.MANDATE_TOO_LARGE


@given(value=st.text(max_size=80))
def test_any_field_value_is_refused_cleanly_or_decodes(signed: SignedAgentMandate, value: str) -> None:
    """Every field replaced by arbitrary text: a MandateError with a code, or a valid mandate."""
    obj = agent_to_wire(signed)
    for name in obj:
        try:
            back = decode_any(header_of(obj | {name: value}))
        except MandateError as exc:
            assert exc.reason in set(Reason)
            continue
        assert isinstance(back, SignedAgentMandate | SignedMandate)
