"""What the payee asks for, read from x402 ``PaymentRequirements`` into one typed value.

Every transport (HTTP header, MCP result, A2A metadata) ends up here, so the
policy engine and the audit log see the same fields whichever way the 402 came.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from aep2.errors import PaymentRequestError, Reason
from aep2.mandate import AMOUNT_LIMIT, checksum
from aep2.protocol.scheme import SCHEME, Aep2Extra, chain_id_of


@dataclass(frozen=True)
class PaymentRequest:
    """One aep2 payment the payee asks for: who, what token, how much, on which escrow, for which call."""

    payee: str
    token: str
    amount: int
    chain_id: int
    escrow: str
    min_deadline_seconds: int
    ref: bytes
    nonce_floor: int | None = None
    resource: str | None = None
    kinds: tuple[str, ...] = ("eip712",)
    """The mandate kinds the payee accepts (``extra.kinds``; absent: EIP-712 alone)."""


_chain_id = lru_cache(maxsize=256)(chain_id_of)
"""``chain_id_of``, remembered per network string (a refusal raises, so it is not remembered)."""


def _as_dict(requirements: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(requirements, BaseModel):
        return requirements.model_dump(by_alias=True, exclude_none=True)
    return dict(requirements)


def _address(name: str, value: Any) -> str:
    if type(value) is str:
        return _checked_address(name, value)
    return _check_address(name, value)


@lru_cache(maxsize=1024)
def _checked_address(name: str, value: str) -> str:
    """:func:`_check_address` of a plain string, remembered when it passes (a payee's address and its
    token are the same on every call; a refusal raises, so it is not remembered)."""
    return _check_address(name, value)


def _check_address(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
        raise PaymentRequestError(f"{name} {value!r} is not a 20-byte hex address", field=name)
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise PaymentRequestError(f"{name} {value!r} is not hex", field=name) from None
    return checksum(value)


def _amount(value: Any) -> int:
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise PaymentRequestError(f"amount {value!r} is not a decimal string of base units", field="amount")
    amount = int(value)
    if not 0 < amount < AMOUNT_LIMIT:
        raise PaymentRequestError(f"amount {amount} is outside (0, 2^96)", field="amount")
    return amount


def parse_requirement(
    requirements: Mapping[str, Any] | BaseModel, *, resource: str | None = None
) -> PaymentRequest:
    """Validate one ``PaymentRequirements`` of scheme ``aep2`` (camelCase JSON or an x402 model)."""
    data = _as_dict(requirements)
    if data.get("scheme") != SCHEME:
        raise PaymentRequestError(
            f"scheme {data.get('scheme')!r} is not {SCHEME!r}", reason=Reason.NO_AEP2_REQUIREMENT
        )
    try:
        chain_id = _chain_id(str(data.get("network")))
        extra = Aep2Extra.model_validate(data.get("extra") or {})
    except (ValueError, ValidationError) as exc:
        raise PaymentRequestError(f"unusable aep2 requirements: {exc}") from None
    return PaymentRequest(
        payee=_address("payTo", data.get("payTo")),
        token=_address("asset", data.get("asset")),
        amount=_amount(data.get("amount")),
        chain_id=chain_id,
        escrow=extra.escrow,
        min_deadline_seconds=extra.min_deadline_seconds,
        ref=bytes.fromhex(extra.ref[2:]),
        nonce_floor=extra.nonce_floor,
        resource=resource,
        kinds=tuple(extra.kinds) if extra.kinds is not None else ("eip712",),
    )


def select_aep2(
    accepts: Sequence[Mapping[str, Any] | BaseModel], *, chain_id: int | None = None
) -> dict[str, Any]:
    """The first ``aep2`` entry of a 402's ``accepts`` (on ``chain_id`` when given), as camelCase JSON."""
    for entry in accepts:
        data = _as_dict(entry)
        if data.get("scheme") != SCHEME:
            continue
        if chain_id is not None and data.get("network") != f"eip155:{chain_id}":
            continue
        return data
    offered = sorted({f"{_as_dict(e).get('scheme')}@{_as_dict(e).get('network')}" for e in accepts})
    raise PaymentRequestError(
        f"no {SCHEME!r} requirement{'' if chain_id is None else f' on chain {chain_id}'} among {offered}",
        reason=Reason.NO_AEP2_REQUIREMENT,
    )
