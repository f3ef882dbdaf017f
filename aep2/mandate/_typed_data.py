"""The EIP-712 definition of a mandate, in one place, and its hashing.

The hashing here is on the payee's hot path, so it packs the seven fixed-width
fields into ABI words directly instead of going through
``eth_account.messages.encode_typed_data`` (which costs tens of microseconds
per call). That is safe only because every field is a static 32-byte word;
``tests/test_mandate_parity.py`` checks equality with ``encode_typed_data``
and with the Solidity library on anvil for hypothesis-generated mandates.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from eth_hash.auto import keccak

NAME: Final = "AEP2"
VERSION: Final = "1"

MANDATE_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("payer", "address"),
    ("payee", "address"),
    ("token", "address"),
    ("amount", "uint256"),
    ("nonce", "uint64"),
    ("deadline", "uint64"),
    ("ref", "bytes32"),
)
DOMAIN_FIELDS: Final[tuple[tuple[str, str], ...]] = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)


def _encode_type(name: str, fields: tuple[tuple[str, str], ...]) -> bytes:
    return f"{name}({','.join(f'{kind} {field}' for field, kind in fields)})".encode()


MANDATE_TYPE_STRING: Final = _encode_type("Mandate", MANDATE_FIELDS)
MANDATE_TYPEHASH: Final = keccak(MANDATE_TYPE_STRING)
DOMAIN_TYPEHASH: Final = keccak(_encode_type("EIP712Domain", DOMAIN_FIELDS))
_NAME_HASH: Final = keccak(NAME.encode())
_VERSION_HASH: Final = keccak(VERSION.encode())


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


@lru_cache(maxsize=1 << 12)
def _address_word(address: str) -> bytes:
    """An address as one ABI word; cached, as a payer's or payee's mandates repeat a few addresses."""
    return bytes(12) + bytes.fromhex(address[2:])


@lru_cache(maxsize=256)
def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    """``hashStruct(EIP712Domain)`` for the escrow at ``verifying_contract`` on ``chain_id``.

    Cached: a payee sees one or two domains, and every decoded mandate builds a fresh ``Domain``,
    so without it each accepted call paid one keccak of a constant.
    """
    return keccak(
        DOMAIN_TYPEHASH + _NAME_HASH + _VERSION_HASH + _word(chain_id) + _address_word(verifying_contract)
    )


def struct_hash(
    *, payer: str, payee: str, token: str, amount: int, nonce: int, deadline: int, ref: bytes
) -> bytes:
    """``hashStruct(Mandate)``: the typehash followed by each field as one ABI word."""
    return keccak(
        MANDATE_TYPEHASH
        + _address_word(payer)
        + _address_word(payee)
        + _address_word(token)
        + _word(amount)
        + _word(nonce)
        + _word(deadline)
        + ref
    )


def typed_digest(separator: bytes, hashed_struct: bytes) -> bytes:
    """The signed digest: ``keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)``."""
    return keccak(b"\x19\x01" + separator + hashed_struct)


def typed_data(chain_id: int, verifying_contract: str, message: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 JSON document, for wallets and for ``encode_typed_data``."""
    return {
        "types": {
            "EIP712Domain": [{"name": n, "type": t} for n, t in DOMAIN_FIELDS],
            "Mandate": [{"name": n, "type": t} for n, t in MANDATE_FIELDS],
        },
        "primaryType": "Mandate",
        "domain": {
            "name": NAME,
            "version": VERSION,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": message,
    }
