"""The mandate model: field rules, signing, recovery and the low-s rule."""

from __future__ import annotations

from typing import Any

import pytest
from coincurve import PrivateKey
from eth_account import Account

from aep2.errors import MandateFieldError, Reason, SignatureError
from aep2.mandate import HALF_N, SECP256K1_N, Domain, Mandate, SignedMandate, checksum

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
PAYER = Account.from_key(KEY).address
DOMAIN = Domain(chain_id=31337, escrow=checksum("0x" + "ab" * 20))


def fields(**overrides: Any) -> dict[str, Any]:
    base = {
        "payer": PAYER,
        "payee": checksum("0x" + "cd" * 20),
        "token": checksum("0x" + "ef" * 20),
        "amount": 1_000,
        "nonce": 1,
        "deadline": 2_000_000_000,
        "ref": bytes(range(32)),
    }
    return base | overrides


def test_sign_then_recover_returns_the_payer() -> None:
    signed = Mandate(**fields()).sign(DOMAIN, KEY)
    assert signed.recover() == PAYER
    signed.verify()


def test_public_key_is_the_signers() -> None:
    signed = Mandate(**fields()).sign(DOMAIN, KEY)
    assert signed.public_key() == PrivateKey(KEY).public_key.format(compressed=False)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("amount", 0),
        ("amount", 2**96),
        ("nonce", 0),
        ("nonce", 2**64),
        ("deadline", -1),
        ("deadline", 2**64),
        ("ref", b"\x00" * 31),
        ("payer", PAYER.lower()),
        ("payee", "0x1234"),
        ("amount", "1000"),
    ],
)
def test_out_of_range_field_is_rejected_naming_it(name: str, value: object) -> None:
    with pytest.raises(MandateFieldError) as caught:
        Mandate.parse(**fields(**{name: value}))
    assert caught.value.reason == Reason.MANDATE_INVALID_FIELD
    assert name in caught.value.message


class _Address(str):
    """A str subclass: validated afresh each time, never from the cache of plain strings."""


@pytest.mark.parametrize(
    "value",
    [PAYER.lower(), "0x" + PAYER[2:].upper(), "0x" + "zz" * 20, ["0x"], None, _Address(PAYER.lower())],
)
def test_a_refused_address_stays_refused(value: object) -> None:
    """Addresses are validated once per spelling (a cache of the ones that passed), so a refusal must
    be raised again, and a value that cannot be a cache key is still refused, not a TypeError."""
    Mandate.parse(**fields())  # the valid spelling, cached
    for _ in range(2):
        with pytest.raises(MandateFieldError) as caught:
            Mandate.parse(**fields(payer=value))
        assert "payer" in caught.value.message
    assert Mandate.parse(**fields(payer=_Address(PAYER))).payer == PAYER


def test_build_checksums_addresses() -> None:
    mandate = Mandate.build(**fields(payee=("0x" + "cd" * 20)))
    assert mandate.payee == checksum("0x" + "cd" * 20)


def test_upper_bounds_are_inclusive_of_the_last_valid_value() -> None:
    Mandate(**fields(amount=2**96 - 1, nonce=2**64 - 1, deadline=2**64 - 1))


def test_high_s_twin_of_a_valid_signature_is_rejected() -> None:
    signed = Mandate(**fields()).sign(DOMAIN, KEY)
    s = int.from_bytes(signed.signature[32:64], "big")
    assert s <= HALF_N
    twin = signed.signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signed.signature[64]])
    forged = SignedMandate(domain=DOMAIN, mandate=signed.mandate, signature=twin)
    with pytest.raises(SignatureError) as caught:
        forged.verify()
    assert caught.value.reason == Reason.SIGNATURE_HIGH_S


def test_signature_over_another_domain_does_not_verify() -> None:
    signed = Mandate(**fields()).sign(Domain(chain_id=1, escrow=DOMAIN.escrow), KEY)
    moved = SignedMandate(domain=DOMAIN, mandate=signed.mandate, signature=signed.signature)
    with pytest.raises(SignatureError) as caught:
        moved.verify()
    assert caught.value.reason == Reason.SIGNER_MISMATCH


def test_changed_amount_breaks_the_signature() -> None:
    signed = Mandate(**fields()).sign(DOMAIN, KEY)
    tampered = signed.mandate.model_copy(update={"amount": 1_001})
    with pytest.raises(SignatureError):
        SignedMandate(domain=DOMAIN, mandate=tampered, signature=signed.signature).verify()


@pytest.mark.parametrize("v", [0, 1, 26, 29])
def test_non_ethereum_v_is_malformed(v: int) -> None:
    signed = Mandate(**fields()).sign(DOMAIN, KEY)
    odd = SignedMandate(domain=DOMAIN, mandate=signed.mandate, signature=signed.signature[:64] + bytes([v]))
    with pytest.raises(SignatureError) as caught:
        odd.verify()
    assert caught.value.reason == Reason.SIGNATURE_MALFORMED
