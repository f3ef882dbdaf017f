"""secp256k1 signing and recovery over a digest, with EIP-2 low-s enforced.

coincurve (libsecp256k1) does the curve work: recovery costs tens of
microseconds, which is what keeps the payee's check off the call's latency.
"""

from __future__ import annotations

from typing import Final

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from aep2.errors import Reason, SignatureError

SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N: Final = SECP256K1_N // 2
SIGNATURE_LENGTH: Final = 65


def check_shape(signature: bytes) -> None:
    """Reject anything but ``r ‖ s ‖ v`` with 0 < r, s < n, s ≤ n/2 and v ∈ {27, 28}."""
    if len(signature) != SIGNATURE_LENGTH:
        raise SignatureError(
            f"signature is {len(signature)} bytes, expected {SIGNATURE_LENGTH}",
            reason=Reason.SIGNATURE_MALFORMED,
        )
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if v not in (27, 28):
        raise SignatureError(f"signature v is {v}, expected 27 or 28", reason=Reason.SIGNATURE_MALFORMED)
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise SignatureError("signature r or s is outside (0, n)", reason=Reason.SIGNATURE_MALFORMED)
    if s > HALF_N:
        raise SignatureError(f"signature s {s:#x} is above n/2 (EIP-2 low-s)", reason=Reason.SIGNATURE_HIGH_S)


def address_of(public_key: PublicKey) -> bytes:
    """The 20-byte Ethereum address of a public key."""
    return keccak(public_key.format(compressed=False)[1:])[12:]


def recover_public_key(digest: bytes, signature: bytes) -> PublicKey:
    """The public key that signed ``digest``; raises :class:`SignatureError` on any defect."""
    check_shape(signature)
    try:
        return PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except Exception as exc:  # libsecp256k1 reports every failure as a bare exception
        raise SignatureError(f"signature does not recover a public key: {exc}") from exc


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """Sign ``digest`` as ``r ‖ s ‖ v`` (v = 27/28); libsecp256k1 always yields low-s."""
    recoverable = PrivateKey(private_key).sign_recoverable(digest, hasher=None)
    return recoverable[:64] + bytes([recoverable[64] + 27])
