"""The payee's store: SQLAlchemy 2 models, engine factory and keyword-only store functions."""

from aep2.store.audit import append_audit, list_audit
from aep2.store.engine import create_schema, database_url, make_engine
from aep2.store.mandates import (
    accepted_fields,
    agent_accepted_fields,
    insert_accepted,
    insert_receipt,
    lock_exposure,
    lock_key_exposure,
    nonce_seen,
    transition,
)
from aep2.store.models import (
    NO_KEY,
    UNSETTLED_STATES,
    AuditEntryRow,
    Base,
    ExposureRow,
    KeyExposureRow,
    MandateRow,
    MandateState,
    ReceiptRow,
    StateTransitionRow,
)
from aep2.store.states import TERMINAL, TRANSITIONS, InvalidTransition, check_transition

__all__ = [
    "NO_KEY",
    "TERMINAL",
    "TRANSITIONS",
    "UNSETTLED_STATES",
    "AuditEntryRow",
    "Base",
    "ExposureRow",
    "InvalidTransition",
    "KeyExposureRow",
    "MandateRow",
    "MandateState",
    "ReceiptRow",
    "StateTransitionRow",
    "accepted_fields",
    "agent_accepted_fields",
    "append_audit",
    "check_transition",
    "create_schema",
    "database_url",
    "insert_accepted",
    "insert_receipt",
    "list_audit",
    "lock_exposure",
    "lock_key_exposure",
    "make_engine",
    "nonce_seen",
    "transition",
]
