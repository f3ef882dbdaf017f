"""Signing receipts on the hot path: :meth:`Receipt.sign`'s exact output, a few times faster.

``Receipt.sign`` goes through eth-account's ``sign_message`` (about half a
millisecond per call, a quarter of the whole check). EIP-191 ``personal_sign``
is ``keccak256("\\x19Ethereum Signed Message:\\n" ‖ len ‖ message)`` signed with
RFC 6979 nonces, so libsecp256k1 directly yields the same 65 bytes;
``tests/test_payee_check.py`` checks that the two agree.
"""

from __future__ import annotations

from typing import Any

from coincurve import PrivateKey
from eth_hash.auto import keccak

from aep2.protocol.receipt import Receipt


class ReceiptSigner:
    """Holds the payee's key as a libsecp256k1 object, parsed once."""

    def __init__(self, private_key: bytes) -> None:
        self._key = PrivateKey(private_key)

    def sign(self, receipt: Receipt) -> dict[str, Any]:
        message = receipt.message()
        digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)
        recoverable = self._key.sign_recoverable(digest, hasher=None)
        signature = recoverable[:64] + bytes([recoverable[64] + 27])
        return {"receipt": receipt.model_dump(), "signature": "0x" + signature.hex()}
