"""What each alert says: its type, the fields of its ``data``, its dedupe key, and the JSON body.

A body is the Standard Webhooks payload shape, plus a ``version``::

    {"data": {...}, "timestamp": "2026-12-01T10:00:00.000Z", "type": "settlement.window_failed",
     "version": 1}

``timestamp`` is when the event happened (the webhook's own ``webhook-timestamp`` header is when
the attempt was sent). Amounts, nonces and key ids are decimal strings (they pass 2^53, where
JSON numbers stop being exact in most receivers); counts and store ids are numbers. Adding a field
or a type is not a breaking change, so receivers must ignore what they do not know; removing or
changing a field bumps :data:`VERSION`. docs/alerts.md documents every type and field, and
``tests/test_alerts_delivery.py`` checks it against :data:`FIELDS`.

The dedupe key names the event, not the attempt to report it: a pipeline step that runs again
(a redelivered task, a reconcile pass) builds the same key, and the outbox keeps one row per key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

VERSION = 1

WINDOW_FAILED = "settlement.window_failed"
PAIR_SKIPPED = "settlement.pair_skipped"
PROOF_FAILED = "settlement.proof_failed"
CHUNK_STUCK = "settlement.chunk_stuck"
KEY_REVOCATION_PENDING = "agent_key.revocation_pending"
HEADROOM_LOW = "payer.headroom_low"
POLICY_DENIED = "policy.denied"
APPROVAL_REQUIRED = "policy.approval_required"

_AUDIT_FIELDS = (
    "audit_id",
    "payer",
    "payee",
    "token",
    "amount",
    "reason",
    "message",
    "resource",
    "kind",
    "key_id",
)

FIELDS: Mapping[str, tuple[str, ...]] = {
    WINDOW_FAILED: ("window_id", "chain_id", "escrow", "payee", "tx_hash", "reason", "mandates"),
    PAIR_SKIPPED: (
        "window_id",
        "chunk_id",
        "tx_hash",
        "family",
        "payer",
        "key_id",
        "payee",
        "from_nonce",
        "to_nonce",
        "total",
        "reason",
        "message",
        "mandates_returned",
        "mandates_failed",
    ),
    PROOF_FAILED: (
        "chunk_id",
        "window_id",
        "family",
        "verifier_id",
        "attempt",
        "max_attempts",
        "will_retry",
        "error",
    ),
    CHUNK_STUCK: ("chunk_id", "window_id", "state", "attempts", "idle_seconds", "stuck_after"),
    KEY_REVOCATION_PENDING: ("key_id", "payer", "token", "revoke_at", "mandates", "amount"),
    HEADROOM_LOW: ("payer", "token", "headroom", "threshold", "balance", "reserved", "unsettled"),
    POLICY_DENIED: _AUDIT_FIELDS,
    APPROVAL_REQUIRED: _AUDIT_FIELDS,
}
"""Every alert type and the fields of its ``data``, in the order docs/alerts.md lists them."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Alert:
    """One event a person should hear about: ``type`` (a key of :data:`FIELDS`), the ``data`` it
    documents, when it happened, and the ``key`` that makes enqueuing it twice a no-op."""

    type: str
    key: str
    data: Mapping[str, Any]
    at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        expected = FIELDS.get(self.type)
        if expected is None:
            raise ValueError(f"unknown alert type {self.type!r}")
        if set(self.data) != set(expected):
            raise ValueError(f"{self.type} data has fields {sorted(self.data)}, expected {sorted(expected)}")

    def body(self) -> bytes:
        """The exact bytes POSTed (and signed): canonical JSON, keys sorted, no spaces."""
        doc = {"type": self.type, "version": VERSION, "timestamp": rfc3339(self.at), "data": dict(self.data)}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def rfc3339(at: datetime) -> str:
    """UTC, milliseconds, ``Z``: ``2026-12-01T10:00:00.000Z``."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the payee's settlement pipeline ----------------------------------------------------------


def window_failed(
    *,
    window_id: int,
    chain_id: int,
    escrow: str,
    payee: str | None,
    tx_hash: str | None,
    reason: str,
    mandates: int,
) -> Alert:
    """A window gave up (proving ran out of attempts, ``settleMany`` would revert or reverted): its
    in-flight mandates went back to accepted for a later window."""
    data = {"window_id": window_id, "chain_id": chain_id, "escrow": escrow, "payee": payee,
            "tx_hash": tx_hash, "reason": reason, "mandates": mandates}  # fmt: skip
    return Alert(WINDOW_FAILED, f"{WINDOW_FAILED}:{window_id}", data)


def pair_skipped(
    *,
    window_id: int,
    chunk_id: int,
    tx_hash: str | None,
    family: str,
    payer: str,
    key_id: int | None,
    payee: str,
    from_nonce: int,
    to_nonce: int,
    total: int,
    reason: str,
    message: str,
    mandates_returned: int,
    mandates_failed: int,
) -> Alert:
    """A pair of a settled (or dropped) window was not paid; ``reason`` is the escrow's skip reason
    (``INSUFFICIENT_BALANCE``, ``AGENT_KEY_REVOKED``, ...) or ``MISSING`` when the window's own
    transaction did not carry it."""
    data = {
        "window_id": window_id, "chunk_id": chunk_id, "tx_hash": tx_hash, "family": family,
        "payer": payer, "key_id": None if key_id is None else str(key_id), "payee": payee,
        "from_nonce": str(from_nonce), "to_nonce": str(to_nonce), "total": str(total),
        "reason": reason, "message": message, "mandates_returned": mandates_returned,
        "mandates_failed": mandates_failed,
    }  # fmt: skip
    return Alert(
        PAIR_SKIPPED, f"{PAIR_SKIPPED}:{window_id}:{chunk_id}:{family}:{payer}:{payee}:{from_nonce}", data
    )


def proof_failed(
    *,
    chunk_id: int,
    window_id: int,
    family: str,
    verifier_id: int,
    attempt: int,
    max_attempts: int,
    error: str,
) -> Alert:
    """One proof attempt of a chunk failed; ``will_retry`` is false when it was the last one (the
    window then fails too: a separate :data:`WINDOW_FAILED`)."""
    data = {"chunk_id": chunk_id, "window_id": window_id, "family": family, "verifier_id": verifier_id,
            "attempt": attempt, "max_attempts": max_attempts, "will_retry": attempt < max_attempts,
            "error": error}  # fmt: skip
    return Alert(PROOF_FAILED, f"{PROOF_FAILED}:{chunk_id}:{attempt}", data)


def chunk_stuck(
    *,
    chunk_id: int,
    window_id: int,
    state: str,
    attempts: int,
    idle_seconds: int,
    stuck_after: float,
    since: str,
) -> Alert:
    """Reconcile found a chunk untouched past ``AEP2_STUCK_AFTER`` and handed it back for proving.
    ``since`` (the chunk's last update) makes each stuck episode one alert, however many reconcile
    passes see it."""
    data = {"chunk_id": chunk_id, "window_id": window_id, "state": state, "attempts": attempts,
            "idle_seconds": idle_seconds, "stuck_after": stuck_after}  # fmt: skip
    return Alert(CHUNK_STUCK, f"{CHUNK_STUCK}:{chunk_id}:{since}", data)


def key_revocation_pending(
    *, key_id: int, payer: str, token: str, revoke_at: int, mandates: int, amount: int
) -> Alert:
    """An agent key with unsettled mandates in the store has a revocation scheduled (or in effect)
    at chain time ``revoke_at``: what is not settled by then is lost."""
    data = {"key_id": str(key_id), "payer": payer, "token": token, "revoke_at": revoke_at,
            "mandates": mandates, "amount": str(amount)}  # fmt: skip
    return Alert(KEY_REVOCATION_PENDING, f"{KEY_REVOCATION_PENDING}:{key_id}:{revoke_at}", data)


def headroom_low(
    *,
    payer: str,
    token: str,
    headroom: int,
    threshold: int,
    balance: int,
    reserved: int,
    unsettled: int,
    day: str,
) -> Alert:
    """What a payer has left for this payee once everything accepted settles is below the threshold
    (negative: accepted beyond what the payer holds). At most one per payer, token and UTC ``day``."""
    data = {"payer": payer, "token": token, "headroom": str(headroom), "threshold": str(threshold),
            "balance": str(balance), "reserved": str(reserved), "unsettled": str(unsettled)}  # fmt: skip
    return Alert(HEADROOM_LOW, f"{HEADROOM_LOW}:{payer}:{token}:{day}", data)


# -- the payer's audit log ----------------------------------------------------------------------


def payer_decision(type_: str, *, audit_id: int, at: datetime, fields: Mapping[str, Any]) -> Alert:
    """:data:`POLICY_DENIED` or :data:`APPROVAL_REQUIRED` for one rejected entry of the payer's
    audit log, keyed by its id (the log is append-only, so an id names one decision forever)."""
    data = {name: fields.get(name) for name in _AUDIT_FIELDS}
    data["audit_id"] = audit_id
    for name in ("amount", "key_id"):
        data[name] = None if data[name] is None else str(data[name])
    return Alert(type_, f"payer_audit:{audit_id}", data, at)
