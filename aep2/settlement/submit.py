"""Submitting a proved window as one ``settleMany`` and applying what the escrow's events say.

A mandate is settled only by a ``PairSettled`` event for exactly its pair's nonce range and
total: a high-water mark past its nonce proves nothing (before the escrow checked who submits,
a payer could move the mark with a mandate of its own and void what it owed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aep2.chain.escrow import settle_gas_limit
from aep2.chain.events import SettledPair, SettlementResult, pair_settlements, parse_settlement
from aep2.chain.reverts import simulate
from aep2.chain.settlement import Pair
from aep2.chain.transactions import TransactionFailed
from aep2.settlement.chain_access import Chain
from aep2.settlement.models import WindowRow, WindowState
from aep2.settlement.records import (
    DEFAULT_SUBMIT_MARGIN,
    S,
    log,
    mandates_by_pair,
    roll_back_window,
    sessions,
    settlement_of,
    unsettled,
    window_chunks,
    window_mandate_ids,
)
from aep2.store.mandates import transition
from aep2.store.models import utcnow


@dataclass(frozen=True)
class SubmitOutcome:
    window_id: int
    status: str  # "settled", "already", "pending", "not_ready", "reverted", "rolled_back"
    tx_hash: str | None = None
    gas_used: int | None = None
    settled_pairs: int = 0
    skipped_pairs: int = 0


def submit_window(
    engine: Engine,
    window_id: int,
    chain: Chain,
    *,
    receipt_timeout: float = 120.0,
    after_record: Callable[[int], None] | None = None,
    now: int | None = None,
) -> SubmitOutcome:
    """Send the window's one ``settleMany`` with explicit gas and apply its receipt.

    The signed transaction and its hash are committed before broadcasting, so a crash after
    sending leaves a row that :func:`~aep2.settlement.reconcile.reconcile` can look up (and
    rebroadcast if it was never received). Running it again on a submitted window waits for that
    same transaction. ``after_record`` is a test hook called between the commit and the broadcast.
    """
    w3 = chain.escrow.w3
    with sessions(engine).begin() as session:
        window = session.get(WindowRow, window_id)
        if window is None:
            return SubmitOutcome(window_id, "not_ready")
        if window.state in (WindowState.SETTLED.value, WindowState.FAILED.value):
            return SubmitOutcome(window_id, "already", window.tx_hash, window.gas_used)
        if window.state == WindowState.PROVING.value:
            return SubmitOutcome(window_id, "not_ready")
        if window.state == WindowState.PROVED.value and not _record_transaction(session, window, chain):
            return SubmitOutcome(window_id, "reverted")
        tx_hash, raw_tx = str(window.tx_hash), str(window.raw_tx)
    if after_record is not None:
        after_record(window_id)
    broadcast(chain, raw_tx)
    try:
        receipt = w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=receipt_timeout)
    except Exception:  # still pending: the next submit or reconcile picks it up by hash
        return SubmitOutcome(window_id, "pending", tx_hash)
    return apply_receipt(engine, window_id, chain, receipt, now=now)


def _record_transaction(session: Session, window: WindowRow, chain: Chain) -> bool:
    """Sign the window's ``settleMany`` and commit it (state submitted); False if it would revert."""
    w3 = chain.escrow.w3
    chunks = window_chunks(session, window.id)
    settlements = [settlement_of(c.settlement) for c in chunks]
    proofs = [bytes.fromhex(str(c.proof).removeprefix("0x")) for c in chunks]
    call = chain.escrow.contract.functions.settleMany(proofs, [s.as_abi() for s in settlements], [], [])
    try:  # an eth_call first: a settlement that would revert costs no gas, only a retry
        simulate(call, chain.submitter, list(chain.escrow.contract.abi))  # type: ignore[arg-type]
    except TransactionFailed as exc:
        roll_back_window(session, window.id, f"settleMany would revert: {exc}"[:200])
        log.error("window_not_submitted window=%s error=%r", window.id, str(exc))
        return False
    gas = settle_gas_limit(settlements, proofs, verifier_gas=chain.verifier_gas)
    nonce = w3.eth.get_transaction_count(to_checksum_address(chain.submitter), "pending")
    tx = call.build_transaction(
        {"from": chain.submitter, "gas": gas, "nonce": nonce, "chainId": w3.eth.chain_id}
    )
    signed = Account.sign_transaction(tx, chain.submitter_key)
    window.submitter, window.tx_nonce, window.gas_limit = chain.submitter, nonce, gas
    window.tx_hash = "0x" + bytes(signed.hash).hex()
    window.raw_tx = "0x" + bytes(signed.raw_transaction).hex()
    window.state, window.submitted_at = WindowState.SUBMITTED.value, utcnow()
    transition(
        session=session,
        mandate_ids=window_mandate_ids(session, window.id),
        to=S.SUBMITTED,
        reason=f"tx {window.tx_hash}",
    )
    return True


def broadcast(chain: Chain, raw_tx: str) -> None:
    try:
        chain.escrow.w3.eth.send_raw_transaction(HexBytes(raw_tx))
    except ValueError as exc:  # already known / nonce too low: the hash lookup decides what happened
        log.info("broadcast_refused error=%r (the hash lookup decides)", str(exc))


def paid_elsewhere(chain: Chain, pair: Pair) -> SettledPair | None:
    """The ``PairSettled`` of exactly ``pair`` (range and total) in any transaction, or None.

    Only looked up when the high-water mark has reached ``toNonce``: below it, nothing paid it.
    """
    escrow = chain.escrow
    if escrow.high_water(pair.payer, pair.payee) < pair.to_nonce:
        return None
    for event in pair_settlements(escrow.contract, pair.payer, pair.payee):
        if (event.from_nonce, event.to_nonce, event.total) == (pair.from_nonce, pair.to_nonce, pair.total):
            return event
    return None


def settle_pairs_by_events(
    session: Session,
    window: WindowRow,
    chain: Chain,
    result: SettlementResult | None,
    *,
    now: int,
    submit_margin: int,
    lost: str,
) -> None:
    """Settle each pair of ``window`` that an exact ``PairSettled`` covers; return the rest.

    ``result`` is the window's own transaction (None when it never made it on chain); a pair not
    paid there may still have been paid by another transaction of the same range (a rebroadcast
    twin), found by its event. Anything else goes back to accepted, or fails past its deadline.
    """
    paid = (
        {(p.payer, p.payee, p.from_nonce, p.to_nonce, p.total) for p in result.settled} if result else set()
    )
    skipped = {(p.payer, p.payee, p.from_nonce): p.reason for p in result.skipped} if result else {}
    for chunk in window_chunks(session, window.id):
        by_pair = mandates_by_pair(session, chunk.id)
        for pair in settlement_of(chunk.settlement).pairs:
            ids = [r.id for r in by_pair[(pair.payer, pair.payee)]]
            exact = (pair.payer, pair.payee, pair.from_nonce, pair.to_nonce, pair.total)
            if exact in paid:
                transition(session=session, mandate_ids=ids, to=S.SETTLED, reason=f"tx {window.tx_hash}")
            elif paid_elsewhere(chain, pair) is not None:
                reason = f"PairSettled {pair.from_nonce}..{pair.to_nonce} outside tx {window.tx_hash}"
                transition(session=session, mandate_ids=ids, to=S.SETTLED, reason=reason)
            else:
                why = skipped.get((pair.payer, pair.payee, pair.from_nonce))
                reason = f"skipped on chain: {why.name}" if why is not None else lost
                unsettled(session, by_pair[(pair.payer, pair.payee)], reason, now, submit_margin)


def apply_receipt(
    engine: Engine,
    window_id: int,
    chain: Chain,
    receipt: Any,
    *,
    now: int | None = None,
    submit_margin: int = DEFAULT_SUBMIT_MARGIN,
) -> SubmitOutcome:
    """Move the window's mandates by what the escrow's events say: pairs paid exactly to settled,
    skipped pairs back to accepted (or failed when their deadline is too near). A reverted
    transaction rolls every mandate back to accepted, with the reason."""
    now = int(time.time()) if now is None else now
    with sessions(engine).begin() as session:
        window = session.get(WindowRow, window_id)
        assert window is not None
        if window.state != WindowState.SUBMITTED.value:
            return SubmitOutcome(window_id, "already", window.tx_hash, window.gas_used)
        window.gas_used, window.block_number = int(receipt["gasUsed"]), int(receipt["blockNumber"])
        window.settled_at = utcnow()
        if receipt["status"] != 1:
            roll_back_window(session, window_id, f"tx {window.tx_hash} reverted")
            return SubmitOutcome(window_id, "reverted", window.tx_hash, window.gas_used)
        result = parse_settlement(chain.escrow.contract, receipt)
        lost = f"not in the events of tx {window.tx_hash}"
        settle_pairs_by_events(
            session, window, chain, result, now=now, submit_margin=submit_margin, lost=lost
        )
        window.state = WindowState.SETTLED.value
        log.info(
            "window_settled window=%s tx=%s paid_pairs=%d skipped_pairs=%d gas=%s",
            window_id,
            window.tx_hash,
            len(result.settled),
            len(result.skipped),
            window.gas_used,
        )
        return SubmitOutcome(
            window_id, "settled", window.tx_hash, window.gas_used, len(result.settled), len(result.skipped)
        )
