"""The agent mandate: its fields, their ranges, and its packings (docs/agent-keys.md)."""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from aep2.errors import MandateFieldError
from aep2.mandate import UINT64_LIMIT
from aep2.mandate._fields import Address, Amount, Bytes32, Nonce, Uint64, checksum

AGENT_MANDATE_TAG: Final = 0x41
"""Element 3's tag: "agent mandate", version 1."""


def _key_id(value: int) -> int:
    if not 1 <= value < UINT64_LIMIT:
        raise ValueError(f"key id {value} is outside [1, {UINT64_LIMIT})")
    return value


KeyId = Annotated[int, AfterValidator(_key_id)]


_PACKED: Final = struct.Struct(">32sQ20s20s12sQQ32s")
"""The 140-byte form: separator, keyId, payee, token, amount (12 bytes), nonce, deadline, ref."""


@lru_cache(maxsize=1024)
def _address_bytes(address: str) -> bytes:
    """An address's 20 bytes; a payer or payee packs the same few addresses on every call."""
    return bytes.fromhex(address[2:])


def _bytes32(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise MandateFieldError(f"{what} must be 32 bytes, not {value!r}", field=what)
    return value


class AgentMandate(BaseModel):
    """What an agent key authorises for one call; the payer's address is replaced by ``key_id``.

    Ranges as for :class:`aep2.mandate.Mandate`: amount in [1, 2^96), nonce in [1, 2^64),
    deadline in [0, 2^64), key id in [1, 2^64), checksummed addresses.
    """

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    key_id: KeyId
    payee: Address
    token: Address
    amount: Amount
    nonce: Nonce
    deadline: Uint64
    ref: Bytes32

    @classmethod
    def parse(cls, **fields: Any) -> AgentMandate:
        """Validate ``fields`` as given, raising :class:`MandateFieldError` that names the bad field."""
        try:
            return cls(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "mandate"
            message = first["msg"].removeprefix("Value error, ")
            raise MandateFieldError(f"{where}: {message}", field=where) from None

    @classmethod
    def build(cls, **fields: Any) -> AgentMandate:
        """Like :meth:`parse`, but checksums 42-character addresses first (for programmatic callers)."""
        for name in ("payee", "token"):
            if isinstance(fields.get(name), str) and len(fields[name]) == 42:
                fields[name] = checksum(fields[name])
        return cls.parse(**fields)

    def pack(self, domain_separator: bytes) -> bytes:
        """The 140-byte form the library reads: separator ‖ keyId ‖ payee ‖ token ‖ amount(12) ‖
        nonce ‖ deadline ‖ ref, big-endian."""
        return _PACKED.pack(
            _bytes32(domain_separator, "domain_separator"),
            self.key_id,
            _address_bytes(self.payee),
            _address_bytes(self.token),
            self.amount.to_bytes(12, "big"),
            self.nonce,
            self.deadline,
            self.ref,
        )

    def elements(self, domain_separator: bytes) -> tuple[int, ...]:
        """The message's seven field elements, in hashing order (for witnesses and cross-checks)."""
        separator = int.from_bytes(_bytes32(domain_separator, "domain_separator"), "big")
        ref = int.from_bytes(self.ref, "big")
        low128 = (1 << 128) - 1
        return (
            separator >> 128,
            separator & low128,
            AGENT_MANDATE_TAG << 160 | int(self.token, 16),
            self.key_id << 160 | int(self.payee, 16),
            self.nonce << 160 | self.deadline << 96 | self.amount,
            ref >> 128,
            ref & low128,
        )
