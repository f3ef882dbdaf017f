"""The shared aep2 x402 scheme pieces: extra, payload, call refs, receipts."""

from __future__ import annotations

import pytest
from eth_account import Account
from pydantic import ValidationError

from aep2.errors import MandateDecodeError, SignatureError
from aep2.protocol.call_ref import a2a_ref, http_ref, mcp_ref
from aep2.protocol.receipt import Receipt, transaction_ref, verify_receipt
from aep2.protocol.scheme import Aep2Extra, chain_id_of, header_of, network_of, payload_of

PAYEE_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
PAYEE = Account.from_key(PAYEE_KEY).address


def test_network_round_trip() -> None:
    assert chain_id_of(network_of(31337)) == 31337
    with pytest.raises(ValueError, match="eip155"):
        chain_id_of("solana:mainnet")


def test_extra_uses_camel_case_and_validates() -> None:
    ref = "0x" + http_ref("GET", "http://a/b").hex()
    extra = Aep2Extra(escrow=PAYEE, min_deadline_seconds=60, ref=ref)
    assert extra.to_extra() == {"escrow": PAYEE, "minDeadlineSeconds": 60, "ref": ref}
    assert Aep2Extra.model_validate(extra.to_extra()) == extra
    with pytest.raises(ValidationError):
        Aep2Extra(escrow=PAYEE, min_deadline_seconds=-1, ref=ref)
    with pytest.raises(ValidationError):
        Aep2Extra(escrow=PAYEE, min_deadline_seconds=1, ref=ref.upper())


def test_payload_round_trip_and_missing_mandate() -> None:
    assert header_of(payload_of("abc")) == "abc"
    with pytest.raises(MandateDecodeError):
        header_of({"signature": "abc"})


def test_refs_separate_calls() -> None:
    assert http_ref("get", "http://a/b") == http_ref("GET", "http://a/b")
    assert http_ref("GET", "http://a/b") != http_ref("GET", "http://a/b", b"x")
    assert http_ref("GET", "http://a/b") != http_ref("POST", "http://a/b")
    assert mcp_ref("t", {"a": 1, "b": 2}) == mcp_ref("t", {"b": 2, "a": 1})
    assert mcp_ref("t", {"a": 1}) != mcp_ref("u", {"a": 1})
    assert a2a_ref("hi", skill="s") != a2a_ref("hi", skill="s", task="t")
    assert len({http_ref("GET", "x"), mcp_ref("x", None), a2a_ref("x")}) == 3


def receipt(payee: str = PAYEE) -> Receipt:
    return Receipt(
        digest="0x" + "11" * 32, payer=PAYEE, payee=payee, token=PAYEE, amount="5", nonce="1", accepted_at="0"
    )


def test_receipt_signed_by_the_payee_verifies() -> None:
    assert verify_receipt(receipt().sign(PAYEE_KEY)) == receipt()


def test_receipt_signed_by_another_key_is_rejected() -> None:
    other = Account.create().key
    with pytest.raises(SignatureError):
        verify_receipt(receipt().sign(bytes(other)))


def test_tampered_receipt_is_rejected() -> None:
    signed = receipt().sign(PAYEE_KEY)
    signed["receipt"]["amount"] = "6"
    with pytest.raises(SignatureError):
        verify_receipt(signed)


def test_transaction_ref_names_the_digest() -> None:
    assert transaction_ref(b"\x01" * 32) == "aep2:0x" + "01" * 32
