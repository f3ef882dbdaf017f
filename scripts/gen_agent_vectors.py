"""Regenerate ``tests/vectors/agent_mandates.json``: the agent-key vectors Python, Go and forge share.

Computed with the independent pure-Python reference in ``tests/reference/`` (the formats are
pinned in ``docs/agent-keys.md``). Deterministic: agent keys come from gnark-crypto's key
generation over the seed ``keccak256("aep2 agent vector key <i>")``, the payer's account key
from ``keccak256("aep2 agent vector payer")``, so running it again writes the same file.
Each invalid vector breaks exactly one rule and names the ``check`` that rejects it;
``equationHolds`` says whether the bare cofactored equation still holds (so a verifier that
skipped that check would accept it).

    python scripts/gen_agent_vectors.py            # rewrite the file
    python scripts/gen_agent_vectors.py --check    # fail if the file is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_hash.auto import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aep2.mandate import Domain, checksum  # noqa: E402
from tests.reference import babyjubjub as bj  # noqa: E402
from tests.reference import eddsa, poseidon2  # noqa: E402
from tests.reference.agent_mandate import (  # noqa: E402
    AGENT_KEY_TYPE_STRING,
    AgentMandate,
    grant_digest,
    grant_signable,
    mandate_hash,
    message_elements,
    pack_unchecked,
)

OUT = ROOT / "tests" / "vectors" / "agent_mandates.json"
CHAIN_ID = 31337
ESCROW = checksum("0x" + keccak(b"aep2 vector escrow").hex()[-40:])
TOKEN = checksum("0x" + keccak(b"aep2 vector token").hex()[-40:])
PAYEE = Account.from_key(keccak(b"aep2 vector key 1000")).address
OTHER = checksum("0x" + keccak(b"aep2 vector other").hex()[-40:])
SEPARATOR = Domain(chain_id=CHAIN_ID, escrow=ESCROW).separator
PAYER_KEY = keccak(b"aep2 agent vector payer")
U64 = 2**64 - 1


def hx(data: bytes) -> str:
    return "0x" + data.hex()


def agent_key(i: int) -> eddsa.PrivateKey:
    return eddsa.key_from_seed(keccak(f"aep2 agent vector key {i}".encode()))


def point_json(p: bj.Point) -> dict[str, str]:
    return {"x": str(p.x), "y": str(p.y), "compressed": hx(bj.compress(p))}


def not_on_curve() -> bytes:
    """The smallest ``Y`` for which no ``X`` exists: a well-formed encoding of no point."""
    for y in range(2, 1000):
        encoding = y.to_bytes(32, "little")
        try:
            bj.decompress(encoding)
        except bj.PointError:
            return encoding
    raise AssertionError("unreachable")


def non_canonical(p: bj.Point) -> bytes:
    """``p``'s encoding with ``Y + r`` in place of ``Y`` (fits: ``Y + r < 2^255``)."""
    out = bytearray((p.y + poseidon2.R).to_bytes(32, "little"))
    if bj.is_negative(p.x):
        out[31] |= 0x80
    return bytes(out)


def poseidon2_vectors() -> dict[str, Any]:
    r = poseidon2.R
    constants = poseidon2.round_constants()
    permutations = [(0, 0), (0, 1), (1, 2), (r - 1, r - 1)]
    hashes: list[tuple[str, list[int]]] = [
        ("empty", []),
        ("zero", [0]),
        ("one", [1]),
        ("r - 1", [r - 1]),
        ("two zeros", [0, 0]),
        ("two r - 1", [r - 1, r - 1]),
        ("1..7", list(range(1, 8))),
        ("2^224 - 1 seven times", [2**224 - 1] * 7),
    ]
    return {
        "modulus": str(r),
        "width": poseidon2.WIDTH,
        "fullRounds": poseidon2.FULL_ROUNDS,
        "partialRounds": poseidon2.PARTIAL_ROUNDS,
        "sboxDegree": 5,
        "seed": poseidon2.SEED,
        "roundConstantCount": sum(len(c) for c in constants),
        "firstRoundConstants": [str(c) for c in constants[0]],
        "firstPartialRoundConstant": str(constants[poseidon2.FULL_ROUNDS // 2][0]),
        "lastRoundConstants": [str(c) for c in constants[-1]],
        "permutation": [
            {"input": [str(a), str(b)], "output": [str(v) for v in poseidon2.permute(a, b)]}
            for a, b in permutations
        ],
        "hash": [
            {
                "name": name,
                "elements": [str(e) for e in elements],
                "hash": str(poseidon2.hash_elements(elements)),
            }
            for name, elements in hashes
        ],
    }


def curve_vectors() -> dict[str, Any]:
    torsion = bj.small_order_point()
    points: list[tuple[str, bytes, str | None]] = [
        ("base point", bj.compress(bj.BASE), None),
        ("minus base point", bj.compress(bj.neg(bj.BASE)), None),
        ("2B", bj.compress(bj.double(bj.BASE)), None),
        ("identity", bj.compress(bj.IDENTITY), "IDENTITY"),
        ("not on the curve", not_on_curve(), "NOT_ON_CURVE"),
        ("point of order 8", bj.compress(torsion), "NOT_IN_SUBGROUP"),
        ("B + point of order 8", bj.compress(bj.add(bj.BASE, torsion)), "NOT_IN_SUBGROUP"),
        ("base point with Y + r", non_canonical(bj.BASE), "NOT_CANONICAL"),
    ]
    return {
        "a": str(bj.A),
        "d": str(bj.D),
        "order": str(bj.ORDER),
        "cofactor": bj.COFACTOR,
        "base": point_json(bj.BASE),
        "points": [
            {"name": name, "compressed": hx(encoding), "valid": reason is None}
            | ({"reason": reason} if reason else {})
            for name, encoding, reason in points
        ],
    }


def mandate(i: int, **overrides: Any) -> AgentMandate:
    base = AgentMandate(
        key_id=[1, U64, 7, 2][i % 4],
        payee=PAYEE,
        token=TOKEN,
        amount=[1, 2**96 - 1, 1000, 123456789][i % 4],
        nonce=[1, U64, 42, 2][i % 4],
        deadline=[0, U64, 1_900_000_000, 4_000_000_000][i % 4],
        ref=[bytes(32), b"\xff" * 32, keccak(b"call 2"), keccak(b"call 3")][i % 4],
    )
    return replace(base, **overrides)


def valid_vector(name: str, key: eddsa.PrivateKey, m: AgentMandate) -> dict[str, Any]:
    message = mandate_hash(SEPARATOR, m)
    return {
        "name": name,
        "privateKey": hx(key.to_bytes()),
        "publicKey": hx(key.public),
        "mandate": m.wire_fields(),
        "elements": [str(e) for e in message_elements(SEPARATOR, m)],
        "hash": hx(message.to_bytes(32, "big")),
        "signature": hx(eddsa.sign(key, message)),
    }


def signed_unchecked(key: eddsa.PrivateKey, m: AgentMandate, separator: bytes = SEPARATOR) -> bytes:
    return eddsa.sign(key, poseidon2.hash_elements(pack_unchecked(separator, m)))


def invalid_vectors() -> list[dict[str, Any]]:
    key, other_key = agent_key(0), agent_key(1)
    good = mandate(2)
    sig = eddsa.sign(key, mandate_hash(SEPARATOR, good))
    r_point = bj.decompress(sig[:32])
    s = int.from_bytes(sig[32:], "big")
    torsion = bj.small_order_point()
    other_separator = Domain(chain_id=1, escrow=ESCROW).separator
    assert s + 8 * bj.ORDER >= poseidon2.R

    def with_s(value: int) -> bytes:
        return sig[:32] + value.to_bytes(32, "big")

    def with_r(encoding: bytes) -> bytes:
        return encoding + sig[32:]

    tampered = [
        ("tampered amount", replace(good, amount=good.amount + 1)),
        ("tampered nonce", replace(good, nonce=good.nonce + 1)),
        ("tampered deadline", replace(good, deadline=good.deadline + 1)),
        ("tampered ref", replace(good, ref=good.ref[:31] + bytes([good.ref[31] ^ 1]))),
        ("tampered payee", replace(good, payee=OTHER)),
        ("tampered token", replace(good, token=OTHER)),
        ("tampered keyId", replace(good, key_id=good.key_id + 1)),
    ]
    cases: list[tuple[str, str, AgentMandate, bytes, bytes]] = [
        (name, "SIGNATURE_MISMATCH", m, key.public, sig) for name, m in tampered
    ]
    cases += [
        (
            "signed under another domain (chainId 1)",
            "SIGNATURE_MISMATCH",
            good,
            key.public,
            signed_unchecked(key, good, other_separator),
        ),
        ("signed by another key", "SIGNATURE_MISMATCH", good, key.public, signed_unchecked(other_key, good)),
        (
            "signed over the old challenge H(R.X, R.Y, A.X, A.Y, M)",
            "SIGNATURE_MISMATCH",
            good,
            key.public,
            sign_old_challenge(key, good),
        ),
        ("S + l (malleated)", "S_NOT_BELOW_ORDER", good, key.public, with_s(s + bj.ORDER)),
        ("S = l", "S_NOT_BELOW_ORDER", good, key.public, with_s(bj.ORDER)),
        ("S + 8l, above r", "S_NOT_BELOW_ORDER", good, key.public, with_s(s + 8 * bj.ORDER)),
        ("S = 0", "S_ZERO", good, key.public, with_s(0)),
        ("R not on the curve", "R_NOT_ON_CURVE", good, key.public, with_r(not_on_curve())),
        (
            "R plus a point of order 8",
            "R_NOT_IN_SUBGROUP",
            good,
            key.public,
            with_r(bj.compress(bj.add(r_point, torsion))),
        ),
        (
            "R plus a point of order 8, S to match",
            "R_NOT_IN_SUBGROUP",
            good,
            key.public,
            sign_with_torsion(key, good, r_torsion=torsion),
        ),
        ("R with Y + r", "R_NOT_CANONICAL", good, key.public, with_r(non_canonical(r_point))),
        ("public key not on the curve", "KEY_NOT_ON_CURVE", good, not_on_curve(), sig),
        ("identity public key", "KEY_IDENTITY", good, bj.compress(bj.IDENTITY), sig),
        ("public key of order 8", "KEY_NOT_IN_SUBGROUP", good, bj.compress(torsion), sig),
        (
            "public key plus a point of order 8, S to match",
            "KEY_NOT_IN_SUBGROUP",
            good,
            bj.compress(bj.add(bj.decompress(key.public), torsion)),
            sign_with_torsion(key, good, a_torsion=torsion),
        ),
        ("public key with Y + r", "KEY_NOT_CANONICAL", good, non_canonical(bj.decompress(key.public)), sig),
    ]
    out_of_range = [
        ("amount 0", replace(good, amount=0)),
        ("amount 2^96 (packs as amount 0, deadline + 1)", replace(good, amount=2**96)),
        ("nonce 0", replace(good, nonce=0)),
        ("keyId 0", replace(good, key_id=0)),
    ]
    cases += [
        (name, "FIELD_OUT_OF_RANGE", m, key.public, signed_unchecked(key, m)) for name, m in out_of_range
    ]
    return [invalid_vector(*case) for case in cases]


def sign_with_torsion(
    key: eddsa.PrivateKey,
    m: AgentMandate,
    *,
    r_torsion: bj.Point = bj.IDENTITY,
    a_torsion: bj.Point = bj.IDENTITY,
) -> bytes:
    """A signature whose R or A carries a small-order component that the cofactor then kills.

    The challenge hashes the torsioned points, so the cofactored equation holds: only the
    prime-subgroup checks on R and on the key reject it.
    """
    message = mandate_hash(SEPARATOR, m)
    nonce = int.from_bytes(keccak(b"aep2 torsion nonce"), "big") % bj.ORDER
    r_point = bj.add(bj.mul(nonce, bj.BASE), r_torsion)
    a_point = bj.add(bj.decompress(key.public), a_torsion)
    s = (nonce + eddsa.challenge(r_point, a_point, message) * key.scalar) % bj.ORDER
    return bj.compress(r_point) + s.to_bytes(32, "big")


def sign_old_challenge(key: eddsa.PrivateKey, m: AgentMandate) -> bytes:
    """The signature agent circuit v3 and gnark-crypto's order made: R before the key in the challenge.

    Its nonce and R are the real signature's; only the challenge's order differs, so it fails
    exactly because the protocol hashes the key first.
    """
    message = mandate_hash(SEPARATOR, m)
    real = eddsa.sign(key, message)
    r_point = bj.decompress(real[:32])
    a_point = bj.decompress(key.public)
    nonce_digest = hashlib.blake2b(key.nonce_seed + message.to_bytes(32, "big"), digest_size=64).digest()
    nonce = int.from_bytes(nonce_digest[:32], "big")
    old = poseidon2.hash_elements([r_point.x, r_point.y, a_point.x, a_point.y, message])
    s = (nonce + old * key.scalar) % bj.ORDER
    return real[:32] + s.to_bytes(32, "big")


def invalid_vector(name: str, check: str, m: AgentMandate, public: bytes, signature: bytes) -> dict[str, Any]:
    vector: dict[str, Any] = {
        "name": name,
        "check": check,
        "publicKey": hx(public),
        "mandate": m.wire_fields(),
        "signature": hx(signature),
        "equationHolds": equation_holds(m, public, signature),
    }
    if check == "KEY_NOT_CANONICAL":
        vector["note"] = (
            "gnark-crypto v0.21.0's PublicKey.SetBytes reduces Y mod r and accepts this key "
            "(the signature then verifies); the protocol requires the canonical encoding"
        )
    return vector


def equation_holds(m: AgentMandate, public: bytes, signature: bytes) -> bool:
    """Whether ``[8][S]B = [8](R + [h]A)`` holds for the decoded points, ignoring range checks."""
    try:
        a_point = lenient_point(public)
        r_point = lenient_point(signature[:32])
    except bj.PointError:
        return False
    s = int.from_bytes(signature[32:], "big")
    message = poseidon2.hash_elements(pack_unchecked(SEPARATOR, m))
    return eddsa.equation_holds(a_point, r_point, s, message)


def lenient_point(encoding: bytes) -> bj.Point:
    """Decompression that reduces ``Y`` mod ``r``, as gnark-crypto's ``PointAffine.SetBytes``."""
    y = int.from_bytes(encoding[:31] + bytes([encoding[31] & 0x7F]), "little") % poseidon2.R
    fixed = bytearray(y.to_bytes(32, "little"))
    fixed[31] |= encoding[31] & 0x80
    return bj.decompress(bytes(fixed))


def grant_vector(name: str, grant: dict[str, Any]) -> dict[str, Any]:
    signable = grant_signable(CHAIN_ID, ESCROW, grant)
    digest = grant_digest(CHAIN_ID, ESCROW, grant)
    signed = Account.sign_message(signable, PAYER_KEY)
    return {
        "name": name,
        "grant": {k: (v if isinstance(v, str) else str(v)) for k, v in grant.items()},
        "structHash": hx(signable.body),
        "digest": hx(digest),
        "signature": hx(bytes(signed.signature)),
    }


def grant_vectors() -> list[dict[str, Any]]:
    payer = Account.from_key(PAYER_KEY).address
    zero = "0x" + "00" * 20
    grants = [
        ("one payee, typical cap", agent_key(0), PAYEE, 10**9, 1_700_000_000, 1_900_000_000, 0),
        ("any payee, max cap and window", agent_key(1), zero, 2**128 - 1, 0, U64, U64),
        ("same key, another salt", agent_key(0), PAYEE, 10**9, 1_700_000_000, 1_900_000_000, 1),
    ]
    return [
        grant_vector(
            name,
            {
                "payer": payer,
                "key": hx(key.public),
                "token": TOKEN,
                "payee": payee,
                "cap": cap,
                "validAfter": after,
                "validUntil": until,
                "salt": salt,
            },
        )
        for name, key, payee, cap, after, until, salt in grants
    ]


def build() -> dict[str, Any]:
    keys = [agent_key(i) for i in range(4)]
    valid = [
        ("minimum: keyId 1, amount 1, nonce 1, deadline 0, ref zero", keys[0], mandate(0)),
        ("maximum: keyId, amount, nonce, deadline 2^k - 1, ref all ff", keys[1], mandate(1)),
        ("typical micro-payment", keys[0], mandate(2)),
        ("second key, far deadline", keys[2], mandate(3)),
        ("third key, maximum terms", keys[3], mandate(1, key_id=3, payee=OTHER)),
    ]
    return {
        "comment": "Generated by scripts/gen_agent_vectors.py; do not edit by hand. See docs/agent-keys.md.",
        "domain": {"name": "AEP2", "version": "1", "chainId": str(CHAIN_ID), "verifyingContract": ESCROW},
        "domainSeparator": hx(SEPARATOR),
        "poseidon2": poseidon2_vectors(),
        "curve": curve_vectors(),
        "keys": [
            {"seed": hx(keccak(f"aep2 agent vector key {i}".encode())), "privateKey": hx(k.to_bytes())}
            | {"publicKey": hx(k.public)}
            for i, k in enumerate(keys)
        ],
        "valid": [valid_vector(name, key, m) for name, key, m in valid],
        "invalid": invalid_vectors(),
        "grantTypeString": AGENT_KEY_TYPE_STRING,
        "grantTypehash": hx(keccak(AGENT_KEY_TYPE_STRING.encode())),
        "payer": {"privateKey": hx(PAYER_KEY), "address": Account.from_key(PAYER_KEY).address},
        "grants": grant_vectors(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    text = json.dumps(build(), indent=2) + "\n"
    if parser.parse_args().check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/gen_agent_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
