"""EdDSA on Baby Jubjub over a Poseidon2 challenge, as gnark-crypto's ``twistededwards/eddsa``.

Scheme: RFC 8032's PureEdDSA shape with the Poseidon2 Merkle-Damgård hash as the challenge hash
and cofactored verification, ``[8]·[S]·B = [8]·(R + [h]·A)`` with the key-prefixed challenge
``h = H(A.X, A.Y, R.X, R.Y, M)`` (``docs/agent-keys.md``). gnark-crypto hashes
``R.X, R.Y, A.X, A.Y, M`` in that order; the key first lets a signer and a verifier keep the
hash state after ``A`` per key.

Where this follows gnark-crypto (``ecc/bn254/twistededwards/eddsa``, v0.21.0) because the
formats are its own, not RFC 8032's:

1. **Key generation** (``GenerateKey``): ``h = blake2b-512(seed32)``; the secret scalar is
   ``h[0:32]`` clamped as RFC 8032 §5.1.5 (``h[0] &= 0xF8``, ``h[31] &= 0x7F``,
   ``h[31] |= 0x40``) read *little*-endian, stored big-endian and never reduced mod ``l``
   (so it lies in ``[2^254, 2^255)``, above ``r``); the nonce seed is ``h[32:64]``.
2. **Private key** (96 bytes): compressed ``A`` ‖ scalar (32 bytes big-endian) ‖ nonce seed.
   gnark-crypto's ``PrivateKey.SetBytes`` rejects a scalar that is not clamped or whose
   ``[s]·B`` is not ``A``; :func:`parse_private_key` does the same.
3. **Nonce**: ``blake2b-512(nonce seed ‖ M)``'s first 32 bytes read big-endian, not reduced
   (``R = [nonce]·B`` is the same either way).
4. **Signature decoding** (``Signature.SetBytes``): ``R``'s masked ``Y`` must be non-zero and
   below ``r``; ``S`` must satisfy ``0 < S < l`` (not ``S < r``: ``S + l`` is rejected even
   though the cofactored equation holds for it; gnark's circuit also asserts ``S < l``);
   ``R`` must lie in the prime-order subgroup.
5. **Public key decoding** (``PublicKey.SetBytes``): on the curve, in the prime subgroup, not
   the identity. gnark-crypto reduces a ``Y ≥ r`` silently; this reference rejects it.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from tests.reference import babyjubjub as bj
from tests.reference.poseidon2 import R, hash_elements


class VerifyError(ValueError):
    """A rejected key or signature; ``reason`` names the check that failed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class PrivateKey(NamedTuple):
    public: bytes
    scalar: int
    nonce_seed: bytes

    def to_bytes(self) -> bytes:
        return self.public + self.scalar.to_bytes(32, "big") + self.nonce_seed


def key_from_seed(seed: bytes) -> PrivateKey:
    """gnark-crypto's ``GenerateKey`` with ``seed`` as the 32 bytes it reads from its source."""
    if len(seed) != 32:
        raise ValueError("the seed is 32 bytes")
    h = bytearray(hashlib.blake2b(seed, digest_size=64).digest())
    h[0] &= 0xF8
    h[31] &= 0x7F
    h[31] |= 0x40
    scalar = int.from_bytes(h[:32], "little")
    return PrivateKey(bj.compress(bj.mul(scalar, bj.BASE)), scalar, bytes(h[32:]))


def is_clamped(scalar: int) -> bool:
    return scalar % 8 == 0 and scalar >> 254 == 1


def parse_private_key(data: bytes) -> PrivateKey:
    """The 96-byte private key, checked as gnark-crypto's ``PrivateKey.SetBytes`` does."""
    if len(data) != 96:
        raise ValueError(f"a private key is 96 bytes, got {len(data)}")
    key = PrivateKey(data[:32], int.from_bytes(data[32:64], "big"), data[64:])
    public_point(key.public)
    if not is_clamped(key.scalar):
        raise ValueError("the secret scalar is not clamped")
    if bj.compress(bj.mul(key.scalar, bj.BASE)) != key.public:
        raise ValueError("the public key does not match the secret scalar")
    return key


def public_point(data: bytes) -> bj.Point:
    """A public key's point: on the curve, canonical, in the prime subgroup, not the identity."""
    try:
        point = bj.decompress(data)
    except bj.PointError as err:
        raise VerifyError(f"KEY_{err.reason}", str(err)) from err
    if point == bj.IDENTITY:
        raise VerifyError("KEY_IDENTITY", "the public key is the identity")
    if not bj.in_prime_subgroup(point):
        raise VerifyError("KEY_NOT_IN_SUBGROUP", "the public key is not in the prime-order subgroup")
    return point


def challenge(r_point: bj.Point, a_point: bj.Point, message: int) -> int:
    """``h = H(A.X, A.Y, R.X, R.Y, M)``: the key's coordinates first."""
    return hash_elements([a_point.x, a_point.y, r_point.x, r_point.y, message])


def sign(key: PrivateKey, message: int) -> bytes:
    """The deterministic 64-byte signature of the field element ``message``."""
    if not 0 <= message < R:
        raise ValueError("the message is a canonical field element")
    a_point = bj.decompress(key.public)
    digest = hashlib.blake2b(key.nonce_seed + message.to_bytes(32, "big"), digest_size=64).digest()
    nonce = int.from_bytes(digest[:32], "big")
    r_point = bj.mul(nonce, bj.BASE)
    s = (nonce + challenge(r_point, a_point, message) * key.scalar) % bj.ORDER
    return bj.compress(r_point) + s.to_bytes(32, "big")


def decode_signature(signature: bytes) -> tuple[bj.Point, int]:
    """``(R, S)`` after gnark-crypto's ``Signature.SetBytes`` checks, in its order."""
    if len(signature) != 64:
        raise VerifyError("SIGNATURE_WRONG_SIZE", f"a signature is 64 bytes, got {len(signature)}")
    s = int.from_bytes(signature[32:], "big")
    if s == 0:
        raise VerifyError("S_ZERO", "S is zero")
    if s >= bj.ORDER:
        raise VerifyError("S_NOT_BELOW_ORDER", f"S = {s} is not below the subgroup order")
    try:
        r_point = bj.decompress(signature[:32])
    except bj.PointError as err:
        raise VerifyError(f"R_{err.reason}", str(err)) from err
    if not bj.in_prime_subgroup(r_point):
        raise VerifyError("R_NOT_IN_SUBGROUP", "R is not in the prime-order subgroup")
    return r_point, s


def equation_holds(a_point: bj.Point, r_point: bj.Point, s: int, message: int) -> bool:
    """The bare cofactored equation ``[8]·[S]·B = [8]·(R + [h]·A)``, with no range checks."""
    h = challenge(r_point, a_point, message)
    lhs = bj.mul(bj.COFACTOR, bj.mul(s, bj.BASE))
    rhs = bj.mul(bj.COFACTOR, bj.add(r_point, bj.mul(h, a_point)))
    return lhs == rhs


def verify(public_key: bytes, signature: bytes, message: int) -> None:
    """Raise :class:`VerifyError` unless ``signature`` is ``public_key``'s over ``message``."""
    a_point = public_point(public_key)
    r_point, s = decode_signature(signature)
    if not equation_holds(a_point, r_point, s, message):
        raise VerifyError("SIGNATURE_MISMATCH", "the signature does not verify under this key")
