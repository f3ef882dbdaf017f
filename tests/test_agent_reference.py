"""The independent pure-Python reference (``tests/reference``) reproduces every agent-key vector.

``tests/vectors/agent_mandates.json`` is written by ``scripts/gen_agent_vectors.py`` from this
same reference, so these tests pin the reference to the file (any drift in either fails), check
every invalid vector fails for the reason it names, and let hypothesis look for mandates where
sign → verify or single-field tampering misbehaves.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from aep2.mandate import Domain
from tests.reference import babyjubjub as bj
from tests.reference import eddsa, poseidon2
from tests.reference.agent_mandate import (
    AGENT_KEY_TYPE_STRING,
    AgentMandate,
    RangeError,
    grant_digest,
    grant_signable,
    mandate_hash,
    message_elements,
    pack_unchecked,
)

VECTORS_DIR = Path(__file__).parent / "vectors"
VECTORS = json.loads((VECTORS_DIR / "agent_mandates.json").read_text())
VALID = {v["name"]: v for v in VECTORS["valid"]}
INVALID = {v["name"]: v for v in VECTORS["invalid"]}
GRANTS = {v["name"]: v for v in VECTORS["grants"]}
SEPARATOR = bytes.fromhex(VECTORS["domainSeparator"][2:])
CHAIN_ID = int(VECTORS["domain"]["chainId"])
ESCROW = VECTORS["domain"]["verifyingContract"]


def unhex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def test_no_vector_is_duplicated() -> None:
    groups = [
        VECTORS["valid"] + VECTORS["invalid"],
        VECTORS["grants"],
        VECTORS["poseidon2"]["hash"],
        VECTORS["curve"]["points"],
    ]
    for group in groups:
        names = [v["name"] for v in group]
        assert len(set(names)) == len(names)
    cases = [
        (v["publicKey"], v["signature"], json.dumps(v["mandate"], sort_keys=True))
        for v in VECTORS["valid"] + VECTORS["invalid"]
    ]
    assert len(set(cases)) == len(cases)
    signatures = [v["signature"] for v in VECTORS["valid"] + VECTORS["grants"]]
    assert len(set(signatures)) == len(signatures)


def test_domain_is_the_mandates_domain() -> None:
    mandates = json.loads((VECTORS_DIR / "mandates.json").read_text())
    assert VECTORS["domain"] == mandates["domain"]
    assert VECTORS["domainSeparator"] == mandates["domainSeparator"]
    assert Domain(chain_id=CHAIN_ID, escrow=ESCROW).separator == SEPARATOR


# --- Poseidon2 ---------------------------------------------------------------------------------


def test_poseidon2_parameters() -> None:
    params = VECTORS["poseidon2"]
    constants = poseidon2.round_constants()
    assert params["seed"] == poseidon2.SEED == "Poseidon2-BN254[t=2,rF=8,rP=56,d=5]"
    assert int(params["modulus"]) == poseidon2.R
    assert (params["width"], params["fullRounds"], params["partialRounds"]) == (2, 8, 56)
    assert params["roundConstantCount"] == 8 * 2 + 56 == sum(len(c) for c in constants)
    # The first constant is keccak(keccak(seed)), not keccak(seed): k0 only seeds the chain.
    first = int.from_bytes(keccak(keccak(poseidon2.SEED.encode())), "big") % poseidon2.R
    assert [int(c) for c in params["firstRoundConstants"]] == list(constants[0])
    assert constants[0][0] == first
    assert int(params["firstPartialRoundConstant"]) == constants[4][0]
    assert [int(c) for c in params["lastRoundConstants"]] == list(constants[-1])


@pytest.mark.parametrize("case", VECTORS["poseidon2"]["permutation"], ids=lambda c: ",".join(c["input"]))
def test_poseidon2_permutation(case: dict[str, Any]) -> None:
    a, b = (int(x) for x in case["input"])
    assert [str(x) for x in poseidon2.permute(a, b)] == case["output"]


@pytest.mark.parametrize("case", VECTORS["poseidon2"]["hash"], ids=lambda c: c["name"])
def test_poseidon2_hash(case: dict[str, Any]) -> None:
    elements = [int(e) for e in case["elements"]]
    assert str(poseidon2.hash_elements(elements)) == case["hash"]
    assert str(poseidon2.hash_blocks([e.to_bytes(32, "big") for e in elements])) == case["hash"]


def test_poseidon2_rejects_non_canonical_blocks() -> None:
    with pytest.raises(ValueError, match="canonical"):
        poseidon2.hash_blocks([poseidon2.R.to_bytes(32, "big")])
    with pytest.raises(ValueError, match="canonical"):
        poseidon2.permute(poseidon2.R, 0)


def test_poseidon2_matrices_are_the_papers_t2_case() -> None:
    # M_E = circ(2, 1) and M_I = [[2, 1], [1, 3]] (eprint 2023/323, t = 2): check on unit vectors.
    assert poseidon2._external(1, 0) == (2, 1) and poseidon2._external(0, 1) == (1, 2)
    assert poseidon2._internal(1, 0) == (2, 1) and poseidon2._internal(0, 1) == (1, 3)


# --- the curve ----------------------------------------------------------------------------------


def test_curve_parameters() -> None:
    curve = VECTORS["curve"]
    assert (int(curve["a"]), int(curve["d"]), int(curve["order"])) == (bj.A, bj.D, bj.ORDER)
    assert curve["cofactor"] == bj.COFACTOR
    assert bj.sqrt(bj.A) is not None and bj.sqrt(bj.D) is None  # complete: a square, d not
    assert bj.is_on_curve(bj.BASE) and bj.mul(bj.ORDER, bj.BASE) == bj.IDENTITY
    assert curve["base"] == {
        "x": str(bj.BASE.x),
        "y": str(bj.BASE.y),
        "compressed": "0x" + bj.compress(bj.BASE).hex(),
    }


@pytest.mark.parametrize("case", VECTORS["curve"]["points"], ids=lambda c: c["name"])
def test_curve_point(case: dict[str, Any]) -> None:
    encoding = unhex(case["compressed"])
    if case["valid"]:
        point = eddsa.public_point(encoding)
        assert bj.compress(point) == encoding
        assert bj.compress(bj.neg(point))[31] & 0x80 != encoding[31] & 0x80
    else:
        with pytest.raises(eddsa.VerifyError) as caught:
            eddsa.public_point(encoding)
        assert caught.value.reason == "KEY_" + case["reason"]


def test_small_order_point_has_order_eight() -> None:
    torsion = bj.small_order_point()
    assert bj.is_on_curve(torsion)
    assert bj.mul(8, torsion) == bj.IDENTITY and bj.mul(4, torsion) != bj.IDENTITY


# --- keys and signatures -------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(VECTORS["keys"])))
def test_key_from_seed(index: int) -> None:
    vector = VECTORS["keys"][index]
    key = eddsa.key_from_seed(unhex(vector["seed"]))
    assert "0x" + key.to_bytes().hex() == vector["privateKey"]
    assert "0x" + key.public.hex() == vector["publicKey"]
    assert eddsa.parse_private_key(key.to_bytes()) == key


def test_private_key_checks() -> None:
    key = eddsa.key_from_seed(bytes(32))
    raw = bytearray(key.to_bytes())
    raw[63] |= 1  # unclamped scalar
    with pytest.raises(ValueError, match="clamped"):
        eddsa.parse_private_key(bytes(raw))
    other = eddsa.key_from_seed(b"\x01" * 32)
    with pytest.raises(ValueError, match="does not match"):
        eddsa.parse_private_key(other.public + key.to_bytes()[32:])


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_vector(name: str) -> None:
    vector = VALID[name]
    m = AgentMandate.from_wire(vector["mandate"])
    key = eddsa.parse_private_key(unhex(vector["privateKey"]))
    elements = message_elements(SEPARATOR, m)
    assert [str(e) for e in elements] == vector["elements"]
    assert all(e < 2**224 for e in elements)
    message = mandate_hash(SEPARATOR, m)
    assert "0x" + message.to_bytes(32, "big").hex() == vector["hash"]
    assert "0x" + key.public.hex() == vector["publicKey"]
    assert "0x" + eddsa.sign(key, message).hex() == vector["signature"]
    eddsa.verify(key.public, unhex(vector["signature"]), message)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_vector_fails_its_check(name: str) -> None:
    vector = INVALID[name]
    m = AgentMandate.from_wire(vector["mandate"])
    public, signature = unhex(vector["publicKey"]), unhex(vector["signature"])
    if vector["check"] == "FIELD_OUT_OF_RANGE":
        with pytest.raises(RangeError):
            message_elements(SEPARATOR, m)
        eddsa.verify(public, signature, poseidon2.hash_elements(pack_unchecked(SEPARATOR, m)))
        return
    with pytest.raises(eddsa.VerifyError) as caught:
        eddsa.verify(public, signature, mandate_hash(SEPARATOR, m))
    assert caught.value.reason == vector["check"], str(caught.value)


def test_malleated_s_satisfies_the_bare_equation_but_is_rejected() -> None:
    vector = INVALID["S + l (malleated)"]
    good = VALID["typical micro-payment"]
    signature = unhex(vector["signature"])
    original = unhex(good["signature"])
    assert signature[:32] == original[:32]
    assert int.from_bytes(signature[32:], "big") == int.from_bytes(original[32:], "big") + bj.ORDER
    assert vector["equationHolds"] is True


# --- the grant -----------------------------------------------------------------------------------


def grant_message(fields: dict[str, str]) -> dict[str, Any]:
    ints = {"cap", "validAfter", "validUntil", "salt"}
    return {k: int(v) if k in ints else v for k, v in fields.items()}


def test_grant_type() -> None:
    assert VECTORS["grantTypeString"] == AGENT_KEY_TYPE_STRING
    assert VECTORS["grantTypehash"] == "0x" + keccak(AGENT_KEY_TYPE_STRING.encode()).hex()


@pytest.mark.parametrize("name", sorted(GRANTS))
def test_grant_vector(name: str) -> None:
    vector = GRANTS[name]
    grant = grant_message(vector["grant"])
    signable = grant_signable(CHAIN_ID, ESCROW, grant)
    assert signable.header == SEPARATOR
    assert "0x" + signable.body.hex() == vector["structHash"]
    digest = grant_digest(CHAIN_ID, ESCROW, grant)
    assert "0x" + digest.hex() == vector["digest"]
    signature = unhex(vector["signature"])
    assert (
        int.from_bytes(signature[32:64], "big")
        <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
    )
    signed = Account.sign_message(signable, unhex(VECTORS["payer"]["privateKey"]))
    assert bytes(signed.signature) == signature
    assert (
        Account.recover_message(signable, signature=signature)
        == grant["payer"]
        == VECTORS["payer"]["address"]
    )
    eddsa.public_point(unhex(grant["key"]))


# --- properties ----------------------------------------------------------------------------------

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
mandates = st.builds(
    AgentMandate,
    key_id=st.integers(1, 2**64 - 1),
    payee=addresses,
    token=addresses,
    amount=st.integers(1, 2**96 - 1),
    nonce=st.integers(1, 2**64 - 1),
    deadline=st.integers(0, 2**64 - 1),
    ref=st.binary(min_size=32, max_size=32),
)
FIELDS = ("key_id", "payee", "token", "amount", "nonce", "deadline", "ref")


def tamper(m: AgentMandate, field: str) -> AgentMandate:
    value = getattr(m, field)
    changed: Any
    if isinstance(value, int):
        changed = value - 1 if value > 1 else value + 1
    elif isinstance(value, bytes):
        changed = bytes([value[0] ^ 1]) + value[1:]
    else:
        changed = value[:-1] + ("0" if value[-1] != "0" else "1")
    return replace(m, **{field: changed})


@settings(max_examples=15, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), m=mandates, field=st.sampled_from(FIELDS))
def test_sign_verify_round_trip_and_tampering(seed: bytes, m: AgentMandate, field: str) -> None:
    key = eddsa.parse_private_key(eddsa.key_from_seed(seed).to_bytes())
    message = mandate_hash(SEPARATOR, m)
    signature = eddsa.sign(key, message)
    eddsa.verify(key.public, signature, message)
    assert eddsa.sign(key, message) == signature  # deterministic
    with pytest.raises(eddsa.VerifyError) as caught:
        eddsa.verify(key.public, signature, mandate_hash(SEPARATOR, tamper(m, field)))
    assert caught.value.reason == "SIGNATURE_MISMATCH"


@settings(max_examples=50, deadline=None)
@given(m=mandates, field=st.sampled_from(FIELDS))
def test_packing_is_injective_on_single_field_changes(m: AgentMandate, field: str) -> None:
    assert message_elements(SEPARATOR, m) != message_elements(SEPARATOR, tamper(m, field))
