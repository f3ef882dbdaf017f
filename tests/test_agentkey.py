"""Agent keys through the Go library (``aep2.agentkey``): sign, verify, key files, shared vectors.

The library is built by ``make circuits``, which ``make test`` runs first: a missing library
fails these tests (``ConfigurationError``), it never skips them.
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aep2.agentkey import (
    AgentKey,
    AgentMandate,
    SignedAgentMandate,
    library,
    library_path,
    message_hash,
    sign,
    verify,
    verify_digest,
)
from aep2.errors import ConfigurationError, MandateFieldError, Reason, SignatureError
from aep2.mandate import AMOUNT_LIMIT, UINT64_LIMIT, Domain, checksum
from tests.agent_library_calls import count_library_calls
from tests.mandate_strategies import agent_mandates

VECTORS_PATH = Path(__file__).parent / "vectors" / "agent_mandates.json"
DOMAIN = Domain(chain_id=31337, escrow=checksum("0x" + "ab" * 20))
OTHER_DOMAIN = Domain(chain_id=1, escrow=DOMAIN.escrow)


@pytest.fixture(scope="module")
def key() -> AgentKey:
    return AgentKey.generate()


def a_mandate(**changes: Any) -> AgentMandate:
    fields: dict[str, Any] = {
        "key_id": 7,
        "payee": "0x" + "cd" * 20,
        "token": "0x" + "ef" * 20,
        "amount": 1_000,
        "nonce": 42,
        "deadline": 1_900_000_000,
        "ref": bytes(range(32)),
    }
    return AgentMandate.build(**(fields | changes))


def test_library_loads_from_the_checkout() -> None:
    assert library_path().is_file(), "build it with `make circuits`"
    assert library().aep2_agent_abi_version() == 1


def test_the_c_abi_refuses_null_buffers() -> None:
    lib, out = library(), ctypes.create_string_buffer(96)
    for name, arity in (("aep2_agent_generate_key", 2), ("aep2_agent_sign", 3), ("aep2_agent_verify", 3)):
        for null in range(arity):
            args = [None if i == null else out for i in range(arity)]
            assert getattr(lib, name)(*args) == -1, (name, null)


def test_a_missing_library_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AEP2_AGENT_LIB", str(tmp_path / "absent.so"))
    library.cache_clear()
    try:
        with pytest.raises(ConfigurationError, match=r"make circuits"):
            library()
    finally:
        monkeypatch.delenv("AEP2_AGENT_LIB")
        library.cache_clear()


def test_sign_verify_round_trip(key: AgentKey) -> None:
    mandate = a_mandate()
    signature = sign(key, DOMAIN.separator, mandate)
    assert len(signature) == 64
    assert signature == key.sign(DOMAIN.separator, mandate)  # deterministic
    assert verify(key.public_key, DOMAIN.separator, mandate, signature)


def test_sign_mandate_hashes_once_and_keeps_the_digest(
    key: AgentKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    mandate = a_mandate()
    calls = count_library_calls(monkeypatch)
    signed = key.sign_mandate(DOMAIN, mandate)
    signed.verify(key.public_key)
    assert signed.digest == signed.digest
    assert calls == {"aep2_agent_mandate_hash": 1, "aep2_agent_sign": 1, "aep2_agent_verify": 1}
    assert signed.signature == key.sign(DOMAIN.separator, mandate)
    assert signed.digest == message_hash(DOMAIN.separator, mandate)
    assert verify_digest(key.public_key, signed.digest, signed.signature)
    given = key.sign_mandate(DOMAIN, mandate, digest=signed.digest)
    assert given == signed and given.digest == signed.digest
    unhashed = SignedAgentMandate(domain=DOMAIN, mandate=mandate, signature=signed.signature)
    assert unhashed == signed and hash(unhashed) == hash(signed)  # the kept digest is no field
    assert unhashed.model_dump() == signed.model_dump()


def test_a_signed_mandate_hashes_once_and_a_changed_copy_again(
    key: AgentKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    mandate = a_mandate()
    signed = SignedAgentMandate(domain=DOMAIN, mandate=mandate, signature=key.sign(DOMAIN.separator, mandate))
    calls = count_library_calls(monkeypatch)
    for _ in range(3):
        signed.verify(key.public_key)
        assert signed.digest == message_hash(DOMAIN.separator, mandate)
    assert calls["aep2_agent_mandate_hash"] == 1 + 3  # once for the object, three for the comparisons
    same = signed.model_copy(update={"signature": signed.signature})
    assert same.digest == signed.digest and calls["aep2_agent_mandate_hash"] == 4
    for update in ({"mandate": a_mandate(nonce=43)}, {"domain": OTHER_DOMAIN}):
        changed = signed.model_copy(update=update)
        assert changed.digest != signed.digest
        with pytest.raises(SignatureError) as caught:
            changed.verify(key.public_key)
        assert caught.value.reason is Reason.SIGNATURE_INVALID


def test_verify_digest_checks_its_inputs(key: AgentKey) -> None:
    mandate = a_mandate()
    digest, signature = message_hash(DOMAIN.separator, mandate), key.sign(DOMAIN.separator, mandate)
    assert not verify_digest(key.public_key, message_hash(OTHER_DOMAIN.separator, mandate), signature)
    with pytest.raises(MandateFieldError, match="digest"):
        verify_digest(key.public_key, digest[:31], signature)
    with pytest.raises(SignatureError):
        verify_digest(key.public_key, digest, signature[:63])
    with pytest.raises(MandateFieldError):  # not a field element: M never is
        verify_digest(key.public_key, b"\xff" * 32, signature)


@pytest.mark.parametrize(
    "changes",
    [
        {"key_id": 8},
        {"payee": "0x" + "cc" * 20},
        {"token": "0x" + "ee" * 20},
        {"amount": 1_001},
        {"nonce": 43},
        {"deadline": 1_900_000_001},
        {"ref": bytes(32)},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_tampering_any_field_fails(key: AgentKey, changes: dict[str, Any]) -> None:
    signature = key.sign(DOMAIN.separator, a_mandate())
    assert not verify(key.public_key, DOMAIN.separator, a_mandate(**changes), signature)


def test_another_domain_or_key_fails(key: AgentKey) -> None:
    mandate = a_mandate()
    signature = key.sign(DOMAIN.separator, mandate)
    assert not verify(key.public_key, OTHER_DOMAIN.separator, mandate, signature)
    assert not verify(AgentKey.generate().public_key, DOMAIN.separator, mandate, signature)
    assert message_hash(DOMAIN.separator, mandate) != message_hash(OTHER_DOMAIN.separator, mandate)
    with pytest.raises(MandateFieldError, match="domain_separator"):
        message_hash(DOMAIN.separator[:31], mandate)


@pytest.mark.parametrize(
    ("public_key", "signature"),
    [
        (None, b"\x01" * 63),  # short signature
        (b"\x01" * 31, None),  # short key
        (bytes([1]) + bytes(31), None),  # the identity
        (None, None),  # S = 0, set below
    ],
    ids=["short-signature", "short-key", "identity-key", "zero-s"],
)
def test_malformed_inputs_raise(key: AgentKey, public_key: bytes | None, signature: bytes | None) -> None:
    mandate = a_mandate()
    good = key.sign(DOMAIN.separator, mandate)
    if public_key is None and signature is None:
        signature = good[:32] + bytes(32)
    with pytest.raises(SignatureError) as raised:
        verify(public_key or key.public_key, DOMAIN.separator, mandate, signature or good)
    assert raised.value.reason is Reason.SIGNATURE_MALFORMED


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": 0},
        {"amount": AMOUNT_LIMIT},
        {"nonce": 0},
        {"nonce": UINT64_LIMIT},
        {"deadline": -1},
        {"deadline": UINT64_LIMIT},
        {"key_id": 0},
        {"key_id": UINT64_LIMIT},
        {"ref": b"\x00" * 31},
    ],
    ids=repr,
)
def test_fields_out_of_range_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(MandateFieldError) as raised:
        a_mandate(**changes)
    assert raised.value.reason is Reason.MANDATE_INVALID_FIELD


def test_unchecksummed_address_is_rejected() -> None:
    with pytest.raises(MandateFieldError, match="payee"):
        AgentMandate.parse(
            key_id=1, payee="0x" + "cd" * 20, token=checksum("0x" + "ef" * 20),
            amount=1, nonce=1, deadline=0, ref=bytes(32),
        )  # fmt: skip


def test_key_file_is_0600_and_round_trips(tmp_path: Path, key: AgentKey) -> None:
    path = tmp_path / "agent.key"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("0x") and text.count("\n") == 1 and len(text.strip()) == 2 + 192
    loaded = AgentKey.load(path)
    assert loaded.public_key == key.public_key
    assert loaded.sign(DOMAIN.separator, a_mandate()) == key.sign(DOMAIN.separator, a_mandate())
    assert [p.name for p in tmp_path.iterdir()] == ["agent.key"]  # no temporary file left
    with pytest.raises(ConfigurationError, match="exists"):
        key.save(path)


def test_key_file_readable_by_others_is_refused(tmp_path: Path, key: AgentKey) -> None:
    path = tmp_path / "agent.key"
    key.save(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        AgentKey.load(path)
    with pytest.raises(ConfigurationError, match="no agent key file"):
        AgentKey.load(tmp_path / "absent.key")


def test_corrupt_private_key_is_refused_without_quoting_it(key: AgentKey) -> None:
    secret = bytearray(key.unsafe_private_key_bytes())
    secret[40] ^= 1
    with pytest.raises(ConfigurationError) as raised:
        AgentKey(bytes(secret))
    assert secret.hex() not in str(raised.value) and secret[32:64].hex() not in str(raised.value)


def test_the_secret_is_never_shown(key: AgentKey) -> None:
    secret = key.unsafe_private_key_bytes()[32:].hex()  # scalar and nonce seed
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert secret[:16] not in shown
        assert key.public_key.hex() in shown
    with pytest.raises(TypeError):
        pickle.dumps(key)


@settings(max_examples=200)
@given(mandate=agent_mandates, separator=st.binary(min_size=32, max_size=32))
def test_pack_is_the_fixed_140_byte_layout(mandate: AgentMandate, separator: bytes) -> None:
    expected = b"".join(
        (
            separator,
            mandate.key_id.to_bytes(8, "big"),
            bytes.fromhex(mandate.payee[2:]),
            bytes.fromhex(mandate.token[2:]),
            mandate.amount.to_bytes(12, "big"),
            mandate.nonce.to_bytes(8, "big"),
            mandate.deadline.to_bytes(8, "big"),
            mandate.ref,
        )
    )
    assert mandate.pack(separator) == expected


@settings(max_examples=200)
@given(mandate=agent_mandates, separator=st.binary(min_size=32, max_size=32), flip=st.integers(0, 8 * 64 - 1))
def test_random_mandates_sign_verify_and_reject_flipped_bits(
    key: AgentKey, mandate: AgentMandate, separator: bytes, flip: int
) -> None:
    signature = key.sign(separator, mandate)
    assert verify(key.public_key, separator, mandate, signature)
    corrupt = bytearray(signature)
    corrupt[flip // 8] ^= 1 << (flip % 8)
    try:
        assert not verify(key.public_key, separator, mandate, bytes(corrupt))
    except SignatureError as exc:
        assert exc.reason is Reason.SIGNATURE_MALFORMED
    other_nonce = mandate.nonce + 1 if mandate.nonce < UINT64_LIMIT - 1 else 1
    renumbered = AgentMandate.build(**(dict(mandate) | {"nonce": other_nonce}))
    assert not verify(key.public_key, separator, renumbered, signature)


# --- the shared vectors (tests/vectors/agent_mandates.json, scripts/gen_agent_vectors.py) -----------

VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text()) if VECTORS_PATH.exists() else {}
needs_vectors = pytest.mark.skipif(not VECTORS, reason=f"{VECTORS_PATH} not generated yet")


def _mandate(fields: dict[str, str]) -> AgentMandate:
    return AgentMandate.build(
        key_id=int(fields["keyId"]), payee=fields["payee"], token=fields["token"],
        amount=int(fields["amount"]), nonce=int(fields["nonce"]), deadline=int(fields["deadline"]),
        ref=bytes.fromhex(fields["ref"][2:]),
    )  # fmt: skip


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


@needs_vectors
@pytest.mark.parametrize("vector", VECTORS.get("valid", []), ids=lambda v: v["name"])
def test_valid_vector(vector: dict[str, Any]) -> None:
    separator = _hex(VECTORS["domainSeparator"])
    key = AgentKey(_hex(vector["privateKey"]))
    mandate = _mandate(vector["mandate"])
    assert key.public_key == _hex(vector["publicKey"])
    assert [str(e) for e in mandate.elements(separator)] == vector["elements"]
    assert message_hash(separator, mandate) == _hex(vector["hash"])
    assert key.sign(separator, mandate) == _hex(vector["signature"])  # byte for byte
    assert verify(key.public_key, separator, mandate, _hex(vector["signature"]))
    assert verify_digest(key.public_key, _hex(vector["hash"]), _hex(vector["signature"]))


@needs_vectors
@pytest.mark.parametrize("vector", VECTORS.get("keys", []), ids=lambda v: v["publicKey"][:10])
def test_key_vector(vector: dict[str, Any]) -> None:
    key = AgentKey(_hex(vector["privateKey"]))
    assert key.public_key == _hex(vector["publicKey"])


# An R outside the subgroup makes the library's equation [S]B - [h]A = R false (its left
# side is in the subgroup), so such a signature is "invalid" rather than "malformed".
_REJECTED_AS_INVALID = {"SIGNATURE_MISMATCH", "R_NOT_IN_SUBGROUP"}


@needs_vectors
@pytest.mark.parametrize("vector", VECTORS.get("invalid", []), ids=lambda v: v["name"])
def test_invalid_vector(vector: dict[str, Any]) -> None:
    separator = _hex(VECTORS["domainSeparator"])
    if vector["check"] == "FIELD_OUT_OF_RANGE":
        with pytest.raises(MandateFieldError):
            _mandate(vector["mandate"])
        return
    mandate = _mandate(vector["mandate"])
    public_key, signature = _hex(vector["publicKey"]), _hex(vector["signature"])
    if vector["check"] in _REJECTED_AS_INVALID:
        assert not verify(public_key, separator, mandate, signature)
        assert not verify_digest(public_key, message_hash(separator, mandate), signature)
        return
    with pytest.raises(SignatureError) as raised:
        verify(public_key, separator, mandate, signature)
    assert raised.value.reason is Reason.SIGNATURE_MALFORMED


@needs_vectors
def test_every_vector_check_is_handled() -> None:
    known = _REJECTED_AS_INVALID | {"FIELD_OUT_OF_RANGE"}
    malformed = {v["check"] for v in VECTORS["invalid"]} - known
    assert all(c.startswith(("S_", "R_", "KEY_")) for c in malformed), malformed
    names = [v["name"] for v in VECTORS["valid"] + VECTORS["invalid"]]
    assert len(names) == len(set(names))
