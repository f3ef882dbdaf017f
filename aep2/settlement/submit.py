"""Submitting a proved window as one ``settleMany`` and applying what the escrow's events say.

A mandate is settled only by a ``PairSettled`` (an agent mandate: ``AgentPairSettled``) event for
exactly its pair's nonce range and total: a high-water mark past its nonce proves nothing (before
the escrow checked who submits, a payer could move the mark with a mandate of its own and void what
it owed). The window's EIP-712 chunks go in ``settleMany``'s first two arrays, its agent chunks in
the last two, each family in chunk order (the planner cuts a pair's pieces into consecutive chunks
of one family, so the escrow applies them in nonce order).
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

from aep2.chain.agent_settlement import AgentPair, AgentSettlement
from aep2.chain.escrow import settle_gas_limit
from aep2.chain.events import (
    SettlementResult,
    agent_pair_settlements,
    pair_settlements,
    parse_settlement,
)
from aep2.chain.reverts import simulate
from aep2.chain.settlement import Pair, Settlement
from aep2.chain.transactions import TransactionFailed
from aep2.settlement import alerting
from aep2.settlement.chain_access import Chain
from aep2.settlement.models import WindowRow, WindowState
from aep2.settlement.records import (
    DEFAULT_SUBMIT_MARGIN,
    S,
    chunk_settlement,
    log,
    mandates_by_pair,
    pair_key,
    roll_back_window,
    sessions,
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
    batch: list[tuple[bytes, Settlement]] = []
    agent: list[tuple[bytes, AgentSettlement]] = []
    for chunk in window_chunks(session, window.id):
        proof, settlement = bytes.fromhex(str(chunk.proof).removeprefix("0x")), chunk_settlement(chunk)
        if isinstance(settlement, AgentSettlement):
            agent.append((proof, settlement))
        else:
            batch.append((proof, settlement))
    call = chain.escrow.contract.functions.settleMany(
        [proof for proof, _ in batch],
        [s.as_abi() for _, s in batch],
        [proof for proof, _ in agent],
        [s.as_abi() for _, s in agent],
    )
    settlements = [s for _, s in batch] + [s for _, s in agent]
    proofs = [proof for proof, _ in batch] + [proof for proof, _ in agent]
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


def paid_elsewhere(chain: Chain, pair: Pair | AgentPair) -> bool:
    """Whether a ``PairSettled`` (``AgentPairSettled``) of exactly ``pair`` (range and total) is on
    chain in any transaction.

    Only looked up when the high-water mark has reached ``toNonce``: below it, nothing paid it.
    """
    escrow = chain.escrow
    if isinstance(pair, AgentPair):
        if escrow.agent_high_water(pair.key_id, pair.payee) < pair.to_nonce:
            return False
        events = [
            (e.from_nonce, e.to_nonce, e.total)
            for e in agent_pair_settlements(escrow.contract, pair.key_id, pair.payee)
        ]
    else:
        if escrow.high_water(pair.payer, pair.payee) < pair.to_nonce:
            return False
        events = [
            (e.from_nonce, e.to_nonce, e.total)
            for e in pair_settlements(escrow.contract, pair.payer, pair.payee)
        ]
    return (pair.from_nonce, pair.to_nonce, pair.total) in events


PairIdentity = tuple[object, ...]


def _outcomes(result: SettlementResult | None) -> tuple[set[PairIdentity], dict[PairIdentity, str]]:
    """The exact pairs ``result`` paid, and why it skipped the others, keyed by family and pair."""
    if result is None:
        return set(), {}
    paid: set[PairIdentity] = {
        ("batch", p.payer, p.payee, p.from_nonce, p.to_nonce, p.total) for p in result.settled
    }
    paid |= {("agent", p.key_id, p.payee, p.from_nonce, p.to_nonce, p.total) for p in result.agent_settled}
    skipped: dict[PairIdentity, str] = {
        ("batch", p.payer, p.payee, p.from_nonce): p.reason.name for p in result.skipped
    }
    skipped |= {("agent", p.key_id, p.payee, p.from_nonce): p.reason.name for p in result.agent_skipped}
    return paid, skipped


def _identity(pair: Pair | AgentPair) -> PairIdentity:
    """A pair as :func:`_outcomes` keys it: family, payer or key id, payee, range and total."""
    if isinstance(pair, AgentPair):
        return ("agent", pair.key_id, pair.payee, pair.from_nonce, pair.to_nonce, pair.total)
    return ("batch", pair.payer, pair.payee, pair.from_nonce, pair.to_nonce, pair.total)


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
    """Settle each pair of ``window`` that an exact ``PairSettled`` (or ``AgentPairSettled``) covers;
    return the rest.

    ``result`` is the window's own transaction (None when it never made it on chain); a pair not
    paid there may still have been paid by another transaction of the same range (a rebroadcast
    twin), found by its event. Anything else goes back to accepted, or fails past its deadline,
    with a ``settlement.pair_skipped`` alert.
    """
    paid, skipped = _outcomes(result)
    for chunk in window_chunks(session, window.id):
        by_pair = mandates_by_pair(session, chunk.id)
        for pair in chunk_settlement(chunk).pairs:
            rows = by_pair[pair_key(pair)]
            ids = [r.id for r in rows]
            exact = _identity(pair)
            if exact in paid:
                transition(session=session, mandate_ids=ids, to=S.SETTLED, reason=f"tx {window.tx_hash}")
            elif paid_elsewhere(chain, pair):
                event = "AgentPairSettled" if exact[0] == "agent" else "PairSettled"
                reason = f"{event} {pair.from_nonce}..{pair.to_nonce} outside tx {window.tx_hash}"
                transition(session=session, mandate_ids=ids, to=S.SETTLED, reason=reason)
            else:
                why = skipped.get(exact[:4])
                reason = f"skipped on chain: {why}" if why is not None else lost
                unsettled(session, rows, reason, now, submit_margin)
                alerting.pair_skipped(session, window, chunk, pair, why, reason, rows)


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
            len(result.settled) + len(result.agent_settled),
            len(result.skipped) + len(result.agent_skipped),
            window.gas_used,
        )
        return SubmitOutcome(
            window_id,
            "settled",
            window.tx_hash,
            window.gas_used,
            len(result.settled) + len(result.agent_settled),
            len(result.skipped) + len(result.agent_skipped),
        )
