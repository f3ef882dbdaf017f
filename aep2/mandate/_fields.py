"""Field types shared by the mandate models: strict, and with errors that name the value."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Final

from eth_hash.auto import keccak
from pydantic import AfterValidator, BeforeValidator, PlainSerializer

UINT64_LIMIT: Final = 1 << 64
AMOUNT_LIMIT: Final = 1 << 96
UINT256_LIMIT: Final = 1 << 256


@lru_cache(maxsize=1 << 16)
def checksum(address: str) -> str:
    """EIP-55 spelling of a 20-byte hex address (``0x`` prefixed, any case).

    Cached: payers, payees and tokens recur on every call, and this runs on the hot path.
    """
    body = address[2:].lower()
    digest = keccak(body.encode()).hex()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(body, digest[:40], strict=True))


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def _validate_address(value: object) -> str:
    if type(value) is str:
        return _checked_address(value)
    return _check_address(value)


@lru_cache(maxsize=1 << 14)
def _checked_address(value: str) -> str:
    """:func:`_check_address` of a plain string, remembered (a refusal raises, so it is not):
    the same few addresses are validated in every mandate a payer builds or a payee decodes."""
    return _check_address(value)


def _check_address(value: object) -> str:
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x") or not _is_hex(value[2:]):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    if value != checksum(value):
        raise ValueError(f"{value!r} is not EIP-55 checksummed (expected {checksum(value)!r})")
    return value


def _validate_bytes32(value: object) -> bytes:
    if isinstance(value, str):
        if not value.startswith("0x") or len(value) != 66 or not _is_hex(value[2:]):
            raise ValueError(f"{value!r} is not 0x-prefixed 32-byte hex")
        value = bytes.fromhex(value[2:])
    if not isinstance(value, bytes) or len(value) != 32:
        raise ValueError(f"{value!r} is not 32 bytes")
    return value


Address = Annotated[str, BeforeValidator(_validate_address)]
"""A checksummed address; lower- or upper-case spellings are rejected, not repaired."""

Bytes32 = Annotated[
    bytes,
    BeforeValidator(_validate_bytes32),
    PlainSerializer(lambda b: "0x" + b.hex(), return_type=str),
]


def _bounded(low: int, limit: int, what: str) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value < limit:
            raise ValueError(f"{what} {value} is outside [{low}, {limit})")
        return value

    return AfterValidator(check)


Amount = Annotated[int, _bounded(1, AMOUNT_LIMIT, "amount")]
Nonce = Annotated[int, _bounded(1, UINT64_LIMIT, "nonce")]
Uint64 = Annotated[int, _bounded(0, UINT64_LIMIT, "uint64")]
ChainId = Annotated[int, _bounded(1, UINT256_LIMIT, "chain id")]
