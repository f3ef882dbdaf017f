"""Step 3 of the payee's check for an agent mandate: the key on record, then its EdDSA signature.

An agent mandate names a ``keyId``, not a payer: the escrow's record of the key says whose
funds it spends, for which token and payee, how long, and up to what cap
(docs/agent-keys.md). Each rule fails with its own code (docs/errors.md, step 3) before the
signature is checked against the key on record; nothing here touches the store.
"""

from __future__ import annotations

from aep2.agentkey import ANY_PAYEE, SignedAgentMandate
from aep2.chain import AgentKeyInfo
from aep2.errors import MandateError, Reason
from aep2.payee.chain_view import AgentKeyView


def key_on_record(signed: SignedAgentMandate, keys: AgentKeyView) -> AgentKeyInfo:
    """The escrow's record of the mandate's key, or ``agent_key_unknown``."""
    key_id = signed.mandate.key_id
    record = keys.agent_key(key_id)
    if record is None:
        raise MandateError(
            f"no agent key {key_id} is registered in the escrow", reason=Reason.AGENT_KEY_UNKNOWN
        )
    return record


def check_key_terms(
    signed: SignedAgentMandate, record: AgentKeyInfo, *, now: int, horizon_seconds: int
) -> None:
    """Token, payee scope, validity through the deadline, no revocation before deadline + horizon."""
    m = signed.mandate
    if record.token != m.token:
        raise MandateError(
            f"agent key {m.key_id} is granted for token {record.token}, not {m.token}",
            reason=Reason.AGENT_KEY_WRONG_TOKEN,
        )
    if record.payee not in (ANY_PAYEE, m.payee):
        raise MandateError(
            f"agent key {m.key_id} may pay only {record.payee}, not {m.payee}",
            reason=Reason.AGENT_KEY_OUT_OF_SCOPE,
        )
    if record.valid_after > now or record.valid_until < m.deadline:
        raise MandateError(
            f"agent key {m.key_id} is valid from {record.valid_after} to {record.valid_until}, "
            f"which does not cover now ({now}) through the deadline {m.deadline}",
            reason=Reason.AGENT_KEY_NOT_VALID,
        )
    settle_by = m.deadline + horizon_seconds
    if record.revoke_at and record.revoke_at <= settle_by:  # the escrow settles while now < revokeAt
        raise MandateError(
            f"agent key {m.key_id}'s revocation takes effect at {record.revoke_at}, before the deadline plus "
            f"the settlement horizon ({settle_by})",
            reason=Reason.AGENT_KEY_REVOKED,
        )


def check_agent_signature(signed: SignedAgentMandate, record: AgentKeyInfo) -> None:
    """The EdDSA signature by the key on record (``signature_malformed`` / ``signature_invalid``)."""
    signed.verify(record.key)


def check_key_headroom(amount: int, record: AgentKeyInfo, key_exposure: int, *, settle_by: int) -> None:
    """Step 7 for the key: its cap at ``settle_by``, less spent and accepted-unsettled, covers ``amount``."""
    cap = min(record.cap, record.cap_at(settle_by))  # a lowering effective by then counts
    headroom = max(cap - record.spent, 0) - key_exposure
    if headroom < amount:
        raise MandateError(
            f"amount {amount} exceeds agent key {record.key_id}'s remaining cap {max(headroom, 0)} (cap "
            f"{cap}, spent {record.spent}, accepted but unsettled {key_exposure})",
            reason=Reason.AGENT_CAP_EXCEEDED,
        )
