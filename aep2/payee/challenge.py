"""What the payee says on the wire: aep2 payment requirements, 402 challenges and settle responses.

Built on the official x402 pydantic models so every transport (HTTP headers,
MCP ``_meta``, A2A metadata) carries byte-identical x402 v2 JSON.
"""

from __future__ import annotations

import base64
import binascii
import json

from pydantic import ValidationError
from x402.schemas import PaymentPayload, PaymentRequired, PaymentRequirements, ResourceInfo, SettleResponse

from aep2.errors import Aep2Error, MandateDecodeError, Reason
from aep2.mandate import MAX_HEADER_LENGTH
from aep2.payee.check import Acceptance
from aep2.payee.config import Settings
from aep2.protocol.receipt import transaction_ref
from aep2.protocol.scheme import SCHEME, X402_VERSION, Aep2Extra, header_of, network_of

MAX_TIMEOUT_SECONDS = 60
"""How long a payer may take to answer a challenge; the mandate's own deadline is separate."""

MAX_PAYLOAD_LENGTH = 8 * MAX_HEADER_LENGTH
"""Longest accepted x402 payment header: the echoed requirements plus one mandate."""


def requirements(
    settings: Settings, *, price: int, ref: bytes, nonce_floor: int | None = None
) -> PaymentRequirements:
    """The aep2 entry of a challenge's ``accepts`` for one call (``nonceFloor`` once the payer is known)."""
    extra = Aep2Extra(
        escrow=settings.escrow,
        min_deadline_seconds=settings.settlement_horizon_seconds,
        ref="0x" + ref.hex(),
        nonce_floor=nonce_floor,
        kinds=advertised_kinds(settings),
    )
    return PaymentRequirements(
        scheme=SCHEME,
        network=network_of(settings.chain_id),
        asset=settings.token,
        amount=str(price),
        pay_to=settings.payee,
        max_timeout_seconds=MAX_TIMEOUT_SECONDS,
        extra=extra.to_extra(),
    )


def advertised_kinds(settings: Settings) -> list[str] | None:
    """``extra.kinds``: the accepted mandate kinds, left out when EIP-712 alone (the default)."""
    return None if settings.mandate_kinds == ["eip712"] else list(settings.mandate_kinds)


def payment_required(
    settings: Settings,
    *,
    price: int,
    ref: bytes,
    url: str,
    rejection: Aep2Error | None = None,
    description: str = "",
) -> PaymentRequired:
    """A 402 challenge; after a rejected mandate, ``error`` is its reason code (and a nonce
    rejection adds the payer's ``nonceFloor``, so its SDK can resume above it)."""
    floor = rejection.context.get("nonce_floor") if rejection is not None else None
    return PaymentRequired(
        x402_version=X402_VERSION,
        error=str(rejection.reason) if rejection is not None else None,
        resource=ResourceInfo(url=url, description=description or None),
        accepts=[requirements(settings, price=price, ref=ref, nonce_floor=floor)],
    )


def settle_response(settings: Settings, acceptance: Acceptance) -> SettleResponse:
    """The success answer: the receipt in ``extra``, a placeholder transaction (settlement is batched)."""
    return SettleResponse(
        success=True,
        payer=acceptance.payer,
        transaction=transaction_ref(acceptance.signed.digest),
        network=network_of(settings.chain_id),
        amount=str(acceptance.signed.mandate.amount),
        extra=dict(acceptance.receipt),
    )


def to_header(model: PaymentRequired | SettleResponse) -> str:
    """base64 of the model's camelCase JSON, as x402 v2 headers carry it."""
    return base64.b64encode(model.model_dump_json(by_alias=True, exclude_none=True).encode()).decode("ascii")


def parse_payload(header: str) -> PaymentPayload:
    """Decode a ``PAYMENT-SIGNATURE`` header into an x402 v2 payload, with aep2's decode reasons."""
    if len(header) > MAX_PAYLOAD_LENGTH:
        raise MandateDecodeError(
            f"payment header is {len(header)} characters, the limit is {MAX_PAYLOAD_LENGTH}",
            reason=Reason.MANDATE_TOO_LARGE,
        )
    try:
        data = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise MandateDecodeError(f"payment header is not base64 of JSON: {exc}") from None
    return payload_from(data)


def payload_from(data: object) -> PaymentPayload:
    """Validate a decoded x402 payment payload (HTTP header, MCP ``_meta`` or A2A metadata)."""
    if not isinstance(data, dict):
        raise MandateDecodeError(f"payment payload is a JSON {type(data).__name__}, not an object")
    version = data.get("x402Version")
    if version != X402_VERSION:
        raise MandateDecodeError(
            f"x402Version {version!r} is not supported (aep2 speaks {X402_VERSION})",
            reason=Reason.MANDATE_UNSUPPORTED_VERSION,
        )
    try:
        payload = PaymentPayload.model_validate(data)
    except ValidationError as exc:
        raise MandateDecodeError(
            f"payment payload does not match x402 v2: {exc.errors()[0]['msg']}"
        ) from None
    if payload.accepted.scheme != SCHEME:
        raise MandateDecodeError(f"payment scheme {payload.accepted.scheme!r} is not {SCHEME!r}")
    return payload


def mandate_header(payload: PaymentPayload) -> str:
    """The aep2 mandate header inside an x402 payment payload."""
    return header_of(payload.payload)


def offered_mandate(payload: PaymentPayload, settings: Settings, *, price: int) -> str:
    """The mandate header of ``payload`` once its ``accepted`` is what this payee offered for the call.

    x402 v2: ``accepted`` names the requirement the payer chose, so it must be one of the offer's,
    field for field: scheme, network, asset, amount, payTo and the static ``extra`` (escrow, deadline
    horizon, kinds). ``extra.ref`` and ``extra.nonceFloor`` vary per call and per payer; the mandate itself
    is checked against them (``ref_mismatch``, the nonce steps).
    """
    accepted = payload.accepted
    extra = accepted.extra or {}
    offered = {
        "network": (accepted.network, network_of(settings.chain_id)),
        "amount": (accepted.amount, str(price)),
        "payTo": (accepted.pay_to.lower(), settings.payee.lower()),
        "extra.escrow": (str(extra.get("escrow", "")).lower(), settings.escrow.lower()),
        "extra.minDeadlineSeconds": (extra.get("minDeadlineSeconds"), settings.settlement_horizon_seconds),
        "extra.kinds": (extra.get("kinds"), advertised_kinds(settings)),
    }
    for name, (sent, ours) in offered.items():
        if sent != ours:
            message = f"accepted.{name} is {sent!r}, but this payee offered {ours!r}"
            raise MandateDecodeError(message, reason=Reason.ACCEPTED_MISMATCH)
    if accepted.asset.lower() not in {token.lower() for token in settings.tokens}:
        raise MandateDecodeError(
            f"accepted.asset {accepted.asset} is not offered (offered: {settings.tokens})",
            reason=Reason.ACCEPTED_MISMATCH,
        )
    return header_of(payload.payload)
