"""The one exception hierarchy of aep2.

Every rejection carries a stable machine ``reason`` (a :class:`Reason`), the
same string the x402 ``error`` field and ``docs/errors.md`` use, a human
message that names the offending value, and the context it was raised with::

    Aep2Error
    ├── MandateError              a mandate is rejected (never stored)
    │   ├── MandateDecodeError    header: size, base64, JSON, canonical form, version
    │   ├── MandateFieldError     a field fails its schema or range
    │   └── SignatureError        malformed, high-s, unrecoverable or foreign signature
    ├── PayerError                the payer SDK refuses to sign (nothing leaves the process)
    │   ├── PolicyViolation       a policy rule, or a broken policy, rejects the payment
    │   │   └── ApprovalRequired  the amount needs a human's approval first
    │   └── PaymentRequestError   the payee's requirements are unusable or do not match the call
    ├── EvidenceError             a dispute evidence file fails a check (``aep2 evidence verify``)
    ├── WebhookVerificationError  an alert webhook's signature or timestamp does not check out
    ├── CeremonyError             a ceremony step refused; a transcript or deployed verifier fails a check
    └── ConfigurationError        aep2 itself is set up wrongly (not the caller's fault)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Stable machine codes for every rejection; documented in ``docs/errors.md``."""

    # 1. decode and validate
    MANDATE_TOO_LARGE = "mandate_too_large"
    MANDATE_MALFORMED = "mandate_malformed"
    MANDATE_NOT_CANONICAL = "mandate_not_canonical"
    MANDATE_UNSUPPORTED_VERSION = "mandate_unsupported_version"
    MANDATE_INVALID_FIELD = "mandate_invalid_field"
    MANDATE_UNSUPPORTED_KIND = "mandate_unsupported_kind"
    ACCEPTED_MISMATCH = "accepted_mismatch"
    # 2. domain
    WRONG_CHAIN = "wrong_chain"
    WRONG_ESCROW = "wrong_escrow"
    WRONG_PAYEE = "wrong_payee"
    UNSUPPORTED_TOKEN = "unsupported_token"
    # 3. signature
    SIGNATURE_MALFORMED = "signature_malformed"
    SIGNATURE_HIGH_S = "signature_high_s"
    SIGNATURE_INVALID = "signature_invalid"
    SIGNER_MISMATCH = "signer_mismatch"
    AGENT_KEY_UNKNOWN = "agent_key_unknown"
    AGENT_KEY_WRONG_TOKEN = "agent_key_wrong_token"
    AGENT_KEY_OUT_OF_SCOPE = "agent_key_out_of_scope"
    AGENT_KEY_NOT_VALID = "agent_key_not_valid"
    AGENT_KEY_REVOKED = "agent_key_revoked"
    # 4. price
    AMOUNT_BELOW_PRICE = "amount_below_price"
    REF_MISMATCH = "ref_mismatch"
    # 5. time
    DEADLINE_TOO_SOON = "deadline_too_soon"
    # 6. nonce
    NONCE_BELOW_HIGH_WATER = "nonce_below_high_water"
    NONCE_REPLAYED = "nonce_replayed"
    NONCE_BELOW_BATCHED = "nonce_below_batched"
    # 7. headroom
    INSUFFICIENT_HEADROOM = "insufficient_headroom"
    INSUFFICIENT_RESERVATION = "insufficient_reservation"
    AGENT_CAP_EXCEEDED = "agent_cap_exceeded"
    # a mandate accepted before, re-presented: its receipt again, never a second charge
    ALREADY_PAID = "already_paid"
    # not the caller's fault
    CONFIGURATION = "configuration"
    # payer side: why the payer SDK refused to sign
    POLICY_INVALID = "policy_invalid"
    POLICY_CHAIN_NOT_ALLOWED = "policy_chain_not_allowed"
    POLICY_ESCROW_NOT_ALLOWED = "policy_escrow_not_allowed"
    POLICY_PAYEE_NOT_ALLOWED = "policy_payee_not_allowed"
    POLICY_TOKEN_NOT_ALLOWED = "policy_token_not_allowed"
    POLICY_MAX_PER_PAYMENT = "policy_max_per_payment"
    POLICY_OUTSIDE_ACTIVE_HOURS = "policy_outside_active_hours"
    POLICY_RATE_LIMIT = "policy_rate_limit"
    POLICY_HOURLY_LIMIT = "policy_hourly_limit"
    POLICY_DAILY_LIMIT = "policy_daily_limit"
    APPROVAL_REQUIRED = "approval_required"
    APPROVAL_DENIED = "approval_denied"
    REQUIREMENTS_INVALID = "requirements_invalid"
    NO_AEP2_REQUIREMENT = "no_aep2_requirement"
    SIGNER_FAILED = "signer_failed"
    NO_USABLE_MANDATE_KIND = "no_usable_mandate_kind"
    RECEIPT_INVALID = "receipt_invalid"
    # dispute evidence (docs/errors.md "Dispute evidence"), in the order the checks run
    EVIDENCE_NOT_FOUND = "evidence_not_found"
    EVIDENCE_MALFORMED = "evidence_malformed"
    EVIDENCE_UNSUPPORTED_VERSION = "evidence_unsupported_version"
    EVIDENCE_MANDATE_INVALID = "evidence_mandate_invalid"
    EVIDENCE_SIGNATURE_INVALID = "evidence_signature_invalid"
    EVIDENCE_REF_MISMATCH = "evidence_ref_mismatch"
    EVIDENCE_RECEIPT_INVALID = "evidence_receipt_invalid"
    EVIDENCE_RECEIPT_MISMATCH = "evidence_receipt_mismatch"
    EVIDENCE_PAIR_MISSING = "evidence_pair_missing"
    EVIDENCE_AGENT_KEY_MISMATCH = "evidence_agent_key_mismatch"
    EVIDENCE_PUBLIC_INPUT_MISMATCH = "evidence_public_input_mismatch"
    EVIDENCE_VERIFYING_KEY_MISMATCH = "evidence_verifying_key_mismatch"
    EVIDENCE_PROOF_INVALID = "evidence_proof_invalid"
    EVIDENCE_CHAIN_MISMATCH = "evidence_chain_mismatch"
    EVIDENCE_TX_NOT_FOUND = "evidence_tx_not_found"
    EVIDENCE_TX_MISMATCH = "evidence_tx_mismatch"
    EVIDENCE_VERIFIER_REJECTED = "evidence_verifier_rejected"
    # alert webhooks, on the receiving side (docs/alerts.md)
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"
    WEBHOOK_TIMESTAMP_STALE = "webhook_timestamp_stale"
    # the trusted-setup ceremony (docs/ceremony.md)
    CEREMONY_REFUSED = "ceremony_refused"
    TRANSCRIPT_INVALID = "transcript_invalid"
    VERIFIER_NOT_FROM_TRANSCRIPT = "verifier_not_from_transcript"
    # the consoles' access (docs/console.md)
    CONSOLE_DISABLED = "console_disabled"
    CONSOLE_UNAUTHORIZED = "console_unauthorized"
    CONSOLE_FORBIDDEN = "console_forbidden"


NONCE_REASONS: frozenset[Reason] = frozenset(
    {Reason.NONCE_REPLAYED, Reason.NONCE_BELOW_HIGH_WATER, Reason.NONCE_BELOW_BATCHED}
)
"""Step 6's refusals: each carries the payee's ``nonceFloor``, where the payer resumes."""


class Aep2Error(Exception):
    """Base of every aep2 error: a machine ``reason``, a message and its context."""

    default_reason: Reason = Reason.CONFIGURATION

    def __init__(self, message: str, *, reason: Reason | None = None, **context: Any) -> None:
        super().__init__(message)
        self.reason: Reason = reason or self.default_reason
        self.message = message
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form used in error responses and CLI output."""
        return {"reason": str(self.reason), "message": self.message}


class MandateError(Aep2Error):
    """A mandate is rejected; nothing about it may be stored."""

    default_reason = Reason.MANDATE_INVALID_FIELD


class MandateDecodeError(MandateError):
    """The wire form cannot be decoded: too large, not base64/JSON, not canonical, unknown version."""

    default_reason = Reason.MANDATE_MALFORMED


class MandateFieldError(MandateError):
    """A field is missing, unknown, out of range or not in its canonical spelling."""

    default_reason = Reason.MANDATE_INVALID_FIELD


class SignatureError(MandateError):
    """The signature is malformed, high-s, unrecoverable or by someone other than the payer."""

    default_reason = Reason.SIGNATURE_INVALID


class EvidenceError(Aep2Error):
    """A dispute evidence file is unusable or one of its checks fails; ``reason`` names the check."""

    default_reason = Reason.EVIDENCE_MALFORMED


class WebhookVerificationError(Aep2Error):
    """A received alert webhook fails Standard Webhooks verification (``aep2.alerts.verify``)."""

    default_reason = Reason.WEBHOOK_SIGNATURE_INVALID


class CeremonyError(Aep2Error):
    """A ceremony command refused, a transcript failed verification (the message names the first
    bad step), or an escrow's verifier is not the one a transcript seals (``aep2.ceremony``)."""

    default_reason = Reason.CEREMONY_REFUSED


class ConfigurationError(Aep2Error):
    """aep2 is set up wrongly: a missing binary, artefact or setting."""

    default_reason = Reason.CONFIGURATION


class PayerError(Aep2Error):
    """The payer SDK refused to sign; no mandate left the process."""

    default_reason = Reason.CONFIGURATION


class PolicyViolation(PayerError):
    """A policy rule rejects the payment, or the policy itself is broken (fail closed)."""

    default_reason = Reason.POLICY_INVALID


class ApprovalRequired(PolicyViolation):
    """The amount is above the policy's approval threshold and nobody approved it."""

    default_reason = Reason.APPROVAL_REQUIRED


class PaymentRequestError(PayerError):
    """The payee's payment requirements are unusable, or name a call other than ours."""

    default_reason = Reason.REQUIREMENTS_INVALID
