"""x402 version 2 messages as the payer reads and writes them, shared by every client transport.

HTTP carries them base64-encoded in headers; MCP and A2A carry the same JSON
objects in ``_meta`` and message metadata. Keeping one reader and one writer
means the three transports cannot drift apart.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from aep2.agentkey import AnySigned
from aep2.errors import NONCE_REASONS, PaymentRequestError, Reason, SignatureError
from aep2.protocol.receipt import Receipt, verify_receipt
from aep2.protocol.scheme import X402_VERSION, payload_of

PAYMENT_REQUIRED = "PAYMENT-REQUIRED"
PAYMENT_SIGNATURE = "PAYMENT-SIGNATURE"
PAYMENT_RESPONSE = "PAYMENT-RESPONSE"


def b64_json(obj: dict[str, Any]) -> str:
    """Base64 of compact JSON: the x402 header encoding."""
    return base64.b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode("ascii")


def from_b64_json(value: str, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise PaymentRequestError(f"{what} is not base64 of JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise PaymentRequestError(f"{what} holds a JSON {type(obj).__name__}, not an object")
    return obj


def read_payment_required(obj: dict[str, Any]) -> dict[str, Any]:
    """Check a ``PaymentRequired`` is x402 version 2 with a list of accepts."""
    if obj.get("x402Version") != X402_VERSION:
        raise PaymentRequestError(f"x402Version {obj.get('x402Version')!r} is not {X402_VERSION}")
    if not isinstance(obj.get("accepts"), list):
        raise PaymentRequestError("PaymentRequired has no accepts list")
    return obj


def resume_requirement(refusal: dict[str, Any], signed: AnySigned) -> dict[str, Any] | None:
    """The requirement to sign again after a nonce refusal that tells us where to resume, else None.

    A payer whose journal is behind the payee (restored from a backup, shared by two processes)
    gets ``nonce_*`` with ``extra.nonceFloor``; signing once more above that floor is what the
    docs promise. Any other refusal, or a floor that would not move our nonce, is final. The floor
    is that of the refused mandate's own sequence (per payer and payee for EIP-712, per agent key
    and payee for agent mandates), and the payer signs the same kind again for the same payee.
    """
    if refusal.get("error") not in NONCE_REASONS:
        return None
    for requirement in refusal.get("accepts") or []:
        extra = requirement.get("extra") if isinstance(requirement, dict) else None
        floor = extra.get("nonceFloor") if isinstance(extra, dict) else None
        above = str(floor).isdigit() and int(str(floor)) >= signed.mandate.nonce
        if requirement.get("scheme") == "aep2" and above:
            return dict(requirement)
    return None


def payment_payload(
    requirement: dict[str, Any], header: str, resource: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``PaymentPayload`` answering ``requirement`` with one mandate header."""
    payload: dict[str, Any] = {
        "x402Version": X402_VERSION,
        "accepted": requirement,
        "payload": payload_of(header),
    }
    if resource is not None:
        payload["resource"] = resource
    return payload


@dataclass(frozen=True)
class Payment:
    """What one paid call produced: our mandate (either kind), and the payee's answer about it."""

    mandate: AnySigned
    header: str
    settle_response: dict[str, Any] | None
    receipt: Receipt | None
    error: str | None = None


def check_receipt(settle: dict[str, Any], signed: AnySigned, payer: str) -> Receipt:
    """The payee's signed receipt from a ``SettleResponse``, checked against the mandate we sent.

    ``payer`` is our escrow account: an agent mandate does not name it (the key's record does),
    and a receipt must name it all the same.
    """
    extra = settle.get("extra")
    if not isinstance(extra, dict) or "receipt" not in extra:
        raise PaymentRequestError("SettleResponse carries no aep2 receipt", reason=Reason.RECEIPT_INVALID)
    try:
        receipt = verify_receipt(extra)
    except (SignatureError, ValueError, KeyError, TypeError) as exc:
        raise PaymentRequestError(f"receipt does not verify: {exc}", reason=Reason.RECEIPT_INVALID) from None
    m = signed.mandate
    expected = {
        "digest": "0x" + signed.digest.hex(),
        "payer": payer,
        "payee": m.payee,
        "token": m.token,
        "amount": str(m.amount),
        "nonce": str(m.nonce),
    }
    got = receipt.model_dump()
    wrong = {k: (got[k], v) for k, v in expected.items() if str(got[k]).lower() != v.lower()}
    if wrong:
        raise PaymentRequestError(
            f"receipt does not match our mandate: {wrong}", reason=Reason.RECEIPT_INVALID
        )
    return receipt


def outcome(signed: AnySigned, header: str, settle: dict[str, Any] | None, *, payer: str) -> Payment:
    """A :class:`Payment` whose receipt is verified (naming ``payer``, our escrow account), or whose
    ``error`` says why it is not."""
    if settle is None:
        return Payment(signed, header, None, None, "the payee sent no payment response")
    if settle.get("success") is not True:
        reason = settle.get("errorReason") or "payment_rejected"
        return Payment(signed, header, settle, None, f"{reason}: {settle.get('errorMessage', '')}".strip())
    try:
        return Payment(signed, header, settle, check_receipt(settle, signed, payer))
    except PaymentRequestError as exc:
        return Payment(signed, header, settle, None, str(exc))
