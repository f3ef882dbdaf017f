"""The payee's store: SQLAlchemy 2 models, engine factory and keyword-only store functions."""

from aep2.store.audit import append_audit, list_audit
from aep2.store.engine import create_schema, database_url, make_engine
from aep2.store.mandates import insert_accepted, insert_receipt, lock_exposure, nonce_seen, transition
from aep2.store.models import (
    UNSETTLED_STATES,
    AuditEntryRow,
    Base,
    ExposureRow,
    MandateRow,
    MandateState,
    ReceiptRow,
    StateTransitionRow,
)

__all__ = [
    "UNSETTLED_STATES",
    "AuditEntryRow",
    "Base",
    "ExposureRow",
    "MandateRow",
    "MandateState",
    "ReceiptRow",
    "StateTransitionRow",
    "append_audit",
    "create_schema",
    "database_url",
    "insert_accepted",
    "insert_receipt",
    "list_audit",
    "lock_exposure",
    "make_engine",
    "nonce_seen",
    "transition",
]
