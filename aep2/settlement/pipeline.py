"""The settlement pipeline's steps, each one idempotent and each state change a committed row.

    close_window ─► prove_chunk (per chunk) ─► submit_window ─► (receipt) ─► settled / rolled back
                                      reconcile: finish or roll back whatever a crash left behind

Every step reads what to do from the store, so re-running a step (a redelivered Celery task,
a restarted worker) finds the work done and returns. Slow work (proving, waiting for a receipt)
happens outside database transactions. The chain is the source of truth: a mandate is settled
only when a ``PairSettled`` event of the escrow covers exactly its pair's range.

Each step has its module, in the order data flows: :mod:`~aep2.settlement.close`,
:mod:`~aep2.settlement.prove`, :mod:`~aep2.settlement.submit`, :mod:`~aep2.settlement.reconcile`;
this module gathers them for callers that drive the whole pipeline.
"""

from aep2.settlement.chain_access import Chain
from aep2.settlement.close import CloseResult, close_window, due_payees, usable_sizes
from aep2.settlement.prove import DEFAULT_MAX_PROVE_ATTEMPTS, ProveFailed, ProveOutcome, prove_chunk
from aep2.settlement.reconcile import ReconcileReport, reconcile
from aep2.settlement.records import (
    DEFAULT_SUBMIT_MARGIN,
    IN_FLIGHT,
    chunk_mandate_ids,
    sessions,
    settlement_json,
    settlement_of,
    window_mandate_ids,
)
from aep2.settlement.submit import SubmitOutcome, apply_receipt, submit_window

__all__ = [
    "DEFAULT_MAX_PROVE_ATTEMPTS",
    "DEFAULT_SUBMIT_MARGIN",
    "IN_FLIGHT",
    "Chain",
    "CloseResult",
    "ProveFailed",
    "ProveOutcome",
    "ReconcileReport",
    "SubmitOutcome",
    "apply_receipt",
    "chunk_mandate_ids",
    "close_window",
    "due_payees",
    "prove_chunk",
    "reconcile",
    "sessions",
    "settlement_json",
    "settlement_of",
    "submit_window",
    "usable_sizes",
    "window_mandate_ids",
]
