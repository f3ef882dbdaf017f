"""The ``aep2`` x402 scheme: what its payment requirements and payloads carry.

Shared by every transport (HTTP headers, MCP ``_meta``, A2A metadata) and by
both sides, so the payer and the payee read one definition:

- ``PaymentRequirements``: ``scheme = "aep2"``, ``network = "eip155:<chainId>"``,
  ``asset`` = token, ``payTo`` = payee, ``amount`` = price in base units, and
  ``extra`` = :class:`Aep2Extra` (escrow, deadline horizon, the ``ref`` the
  payee expects for this call, the payer's nonce floor when known, and the mandate
  ``kinds`` it accepts when not EIP-712 alone).
- ``PaymentPayload.payload`` = ``{"mandate": <aep2 header>}`` (base64 canonical JSON, see
  :mod:`aep2.mandate`).
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from aep2.errors import MandateDecodeError
from aep2.mandate._fields import Address

SCHEME: Final = "aep2"
X402_VERSION: Final = 2
PAYLOAD_KEY: Final = "mandate"


def network_of(chain_id: int) -> str:
    """The CAIP-2 network id x402 uses for an EVM chain."""
    return f"eip155:{chain_id}"


def chain_id_of(network: str) -> int:
    """Inverse of :func:`network_of`; raises ``ValueError`` for anything but ``eip155:<n>``."""
    namespace, _, reference = network.partition(":")
    if namespace != "eip155" or not reference.isdigit():
        raise ValueError(f"{network!r} is not an eip155 network")
    return int(reference)


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class Aep2Extra(_Camel):
    """``PaymentRequirements.extra`` of the aep2 scheme."""

    escrow: Address
    min_deadline_seconds: int = Field(ge=0, description="deadline must be at least now + this")
    ref: str = Field(pattern=r"^0x[0-9a-f]{64}$", description="keccak256 of the call descriptor")
    nonce_floor: int | None = Field(default=None, ge=0, description="payer's settled/seen nonce, if known")
    kinds: list[str] | None = Field(
        default=None, description="mandate kinds accepted (eip712, agent); absent: eip712 only"
    )

    def to_extra(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def payload_of(header: str) -> dict[str, str]:
    """The scheme payload carrying one mandate header."""
    return {PAYLOAD_KEY: header}


def header_of(payload: dict[str, Any]) -> str:
    """The mandate header inside a scheme payload; a missing or odd one is a decode error."""
    header = payload.get(PAYLOAD_KEY)
    if not isinstance(header, str):
        raise MandateDecodeError(f"payload has no string {PAYLOAD_KEY!r} field: {sorted(payload)}")
    return header
