"""Reconciling after a crash: finish or roll back whatever the store left in flight, trusting the chain."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Engine, select
from web3.exceptions import TransactionNotFound

from aep2.settlement import alerting
from aep2.settlement.chain_access import Chain
from aep2.settlement.models import OPEN_WINDOW_STATES, ChunkState, WindowRow, WindowState
from aep2.settlement.records import DEFAULT_SUBMIT_MARGIN, aware, log, sessions, window_chunks
from aep2.settlement.submit import apply_receipt, broadcast, settle_pairs_by_events
from aep2.store.models import utcnow


@dataclass
class ReconcileReport:
    """What reconcile found and did; ``to_prove``/``to_submit`` are for the task layer to enqueue."""

    to_prove: list[int] = field(default_factory=list)
    to_submit: list[int] = field(default_factory=list)
    applied: list[int] = field(default_factory=list)
    rebroadcast: list[int] = field(default_factory=list)
    rolled_back: list[int] = field(default_factory=list)


def reconcile(
    engine: Engine, chain: Chain, *, stuck_after: float = 600.0, now: datetime | None = None
) -> ReconcileReport:
    """Finish or roll back whatever a crash left behind, trusting the chain over the store.

    * a submitted window: its receipt is applied; if the node has never heard of the
      transaction and the submitter's nonce is still free, the recorded bytes are rebroadcast;
      if the nonce was used by something else, each pair is settled if an exact
      ``PairSettled`` paid it anyway, and rolled back otherwise.
    * proved windows are handed back for submission; chunks untouched for ``stuck_after``
      seconds in ``proving`` (a proof that never came back: worker or prover killed) or in
      ``batched`` (its task lost with the broker) are handed back for proving, each stuck episode
      with one ``settlement.chunk_stuck`` alert.
    """
    now = now or utcnow()
    report = ReconcileReport()
    w3 = chain.escrow.w3
    with sessions(engine).begin() as session:
        windows = list(
            session.execute(
                select(WindowRow).where(WindowRow.state.in_([s.value for s in OPEN_WINDOW_STATES]))
            ).scalars()
        )
        for window in windows:
            if window.state == WindowState.PROVED.value:
                report.to_submit.append(window.id)
            elif window.state == WindowState.PROVING.value:
                for chunk in window_chunks(session, window.id):
                    age = (now - aware(chunk.updated_at)).total_seconds()
                    # only old ones: a young batched chunk's task is still queued, and a young
                    # proving one is being proved; re-enqueueing those would prove twice
                    idle = chunk.state in (ChunkState.BATCHED.value, ChunkState.PROVING.value)
                    if idle and age >= stuck_after:
                        report.to_prove.append(chunk.id)
                        alerting.chunk_stuck(session, chunk, age, stuck_after)
    for window in windows:
        if window.state != WindowState.SUBMITTED.value:
            continue
        try:
            receipt = w3.eth.get_transaction_receipt(HexBytes(str(window.tx_hash)))
        except TransactionNotFound:
            receipt = None
        if receipt is not None:
            apply_receipt(engine, window.id, chain, receipt)
            report.applied.append(window.id)
            continue
        try:
            w3.eth.get_transaction(HexBytes(str(window.tx_hash)))
            continue  # in the mempool: wait
        except TransactionNotFound:
            pass
        confirmed = w3.eth.get_transaction_count(to_checksum_address(str(window.submitter)), "latest")
        if window.tx_nonce is not None and confirmed <= window.tx_nonce:
            broadcast(chain, str(window.raw_tx))
            report.rebroadcast.append(window.id)
        else:
            _settle_dropped(engine, window.id, chain)
            report.rolled_back.append(window.id)
    if any(vars(report).values()):
        log.info(
            "reconciled to_prove=%s to_submit=%s applied=%s rebroadcast=%s rolled_back=%s",
            report.to_prove,
            report.to_submit,
            report.applied,
            report.rebroadcast,
            report.rolled_back,
        )
    return report


def _settle_dropped(engine: Engine, window_id: int, chain: Chain) -> None:
    """The transaction is gone (its nonce went to another): a pair counts as paid only if an
    exact ``PairSettled`` says so; every other pair goes back to accepted."""
    with sessions(engine).begin() as session:
        window = session.get(WindowRow, window_id)
        assert window is not None
        lost = f"tx {window.tx_hash} dropped"
        now = int(time.time())
        settle_pairs_by_events(
            session, window, chain, None, now=now, submit_margin=DEFAULT_SUBMIT_MARGIN, lost=lost
        )
        window.state, window.error = WindowState.SETTLED.value, f"{lost}; pairs settled by their events"
