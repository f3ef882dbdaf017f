"""Who signs a mandate: a Protocol, so the key never has to live in the agent's process.

The payer SDK hands a signer the full EIP-712 document (what a wallet, an
HSM or an MPC service wants to show and check) and gets 65 bytes back. The
:class:`~aep2.payer.Payer` then recovers the signature against the digest it
computed itself, so a misbehaving remote signer can never make a mandate
that is signed by someone else, or high-s, leave the process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak

from aep2.mandate import checksum
from aep2.mandate._signature import address_of


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign a mandate for one payer address.

    ``sign_typed_data`` receives the EIP-712 JSON document of the mandate
    (``Mandate.typed_data(domain)``) and returns the 65-byte ``r ‖ s ‖ v``
    signature (``v`` = 27/28) over its digest.
    """

    @property
    def address(self) -> str:
        """The checksummed address that signs: the escrow account debited."""
        ...

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        """Sign the EIP-712 document and return ``r ‖ s ‖ v``."""
        ...


def typed_data_digest(typed_data: dict[str, Any]) -> bytes:
    """The EIP-712 digest of a full typed-data document, via eth-account's reference encoder.

    A signer that gets a document must hash *the document*, not trust a digest
    handed next to it: that is what lets a wallet show what it signs.
    """
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + bytes(signable.version) + bytes(signable.header) + bytes(signable.body))


class LocalKeySigner:
    """A raw secp256k1 key held in this process: fine for tests, devnets and trusted hosts."""

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32:
            raise ValueError(f"a private key is 32 bytes, got {len(private_key)}")
        from coincurve import PrivateKey

        self._key = PrivateKey(private_key)
        self._address = checksum("0x" + address_of(self._key.public_key).hex())

    @classmethod
    def from_hex(cls, text: str) -> LocalKeySigner:
        """From ``0x``-prefixed (or bare) hex, as anvil prints keys."""
        return cls(bytes.fromhex(text.strip().removeprefix("0x")))

    @classmethod
    def from_file(cls, path: str | Path) -> LocalKeySigner:
        """From a file holding one hex key (keep it ``chmod 600``)."""
        return cls.from_hex(Path(path).read_text())

    @property
    def address(self) -> str:
        return self._address

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        return self.unsafe_sign_digest(typed_data_digest(typed_data))

    def unsafe_sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest as given (``r ‖ s ‖ v``, low-s): whatever it is the hash of.

        The :class:`~aep2.payer.Payer` signs the EIP-712 digest it computed and logged itself this
        way, skipping eth-account's encoder (the costliest step of a payment), and recovers this key's
        first signature against that digest. Anything else handing a digest here signs it blindly.
        """
        recoverable = self._key.sign_recoverable(digest, hasher=None)
        return recoverable[:64] + bytes([recoverable[64] + 27])

    def __repr__(self) -> str:  # never print the key
        return f"LocalKeySigner({self._address})"


class CallbackSigner:
    """Delegates signing to a callable: a remote signer, an HSM, an MPC service or a wallet.

    ``sign`` receives the EIP-712 document and returns the signature as bytes
    or ``0x`` hex; see ``docs/payer.md`` for an HTTP signer built on it.
    """

    def __init__(self, address: str, sign: Callable[[dict[str, Any]], bytes | str]) -> None:
        self._address = checksum(address)
        self._sign = sign

    @property
    def address(self) -> str:
        return self._address

    def sign_typed_data(self, typed_data: dict[str, Any]) -> bytes:
        signature = self._sign(typed_data)
        if isinstance(signature, str):
            return bytes.fromhex(signature.removeprefix("0x"))
        return bytes(signature)

    def __repr__(self) -> str:
        return f"CallbackSigner({self._address})"
