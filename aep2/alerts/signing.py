"""Standard Webhooks signatures (https://www.standardwebhooks.com): sign on send, verify on receipt.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` (the body's exact bytes); the
signature is HMAC-SHA256 under the secret's key, base64, sent as ``webhook-signature: v1,<sig>``.
A secret is ``whsec_`` followed by the base64 of its key (24 to 64 random bytes, 32 by default).

Why this scheme rather than one of our own: receivers already have libraries for it in most
languages (``standardwebhooks``, Svix's), it binds the id and the time into the MAC (so a captured
request cannot be replayed later or under another id), and its header carries several space
separated signatures, so a secret can be rotated without a window of failures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

from aep2.errors import ConfigurationError, Reason, WebhookVerificationError

PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300
"""Seconds a receiver accepts between ``webhook-timestamp`` and its own clock, either way."""


def new_secret(nbytes: int = 32) -> str:
    """A fresh ``whsec_`` secret (give the same string to the receiver)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; raises :class:`ConfigurationError` naming what is wrong."""
    if not secret.startswith(PREFIX):
        raise ConfigurationError(
            "an alert webhook secret starts with whsec_ (make one: aep2 alerts new-secret)"
        )
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise ConfigurationError("the alert webhook secret after whsec_ is not base64") from None
    if not 24 <= len(key) <= 64:
        raise ConfigurationError(f"the alert webhook secret holds {len(key)} bytes; use 24 to 64")
    return key


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>``."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def sign_headers(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, webhook_id, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> str:
    """The receiving side: check one request's headers and raw body; returns its ``webhook-id``.

    ``headers`` must look names up case-insensitively (HTTP libraries' header maps do). Raises
    :class:`~aep2.errors.WebhookVerificationError` if a header is missing, the timestamp is more
    than ``tolerance`` seconds from ``now``, or no ``v1`` signature matches. Receivers dedupe on
    the returned id: a delivery can arrive more than once.
    """
    try:
        webhook_id, stamp, sent = (
            headers[h] for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
        )
        timestamp = int(stamp)
    except (KeyError, ValueError):
        raise WebhookVerificationError("missing or malformed webhook-* headers") from None
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp} is {now - timestamp} s from now (tolerance {tolerance} s)",
            reason=Reason.WEBHOOK_TIMESTAMP_STALE,
        )
    expected = signature(secret_key(secret), webhook_id, timestamp, body).encode()
    for candidate in sent.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return webhook_id
    raise WebhookVerificationError(f"no v1 signature of webhook {webhook_id} matches")
