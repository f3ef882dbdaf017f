"""The settlement pipeline's steps, each one idempotent and each state change a committed row.

    close_window ─► prove_chunk (per chunk) ─► submit_window ─► (receipt) ─► settled / rolled back
                                      reconcile: finish or roll back whatever a crash left behind

Every step reads what to do from the store, so re-running a step (a redelivered Celery task,
a restarted worker) finds the work done and returns. Slow work (proving, waiting for a receipt)
happens outside database transactions. The chain is the source of truth: a mandate is settled
only when the escrow's events, or its high-water marks, say so.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import TransactionNotFound

from aep2.chain.escrow import DEFAULT_VERIFIER_GAS, EscrowClient, settle_gas_limit
from aep2.chain.events import SettlementResult, parse_settlement
from aep2.chain.reverts import simulate
from aep2.chain.settlement import Pair, Settlement
from aep2.chain.transactions import TransactionFailed
from aep2.settlement.models import (
    OPEN_WINDOW_STATES,
    ChunkMandateRow,
    ChunkRow,
    ChunkState,
    WindowRow,
    WindowState,
)
from aep2.settlement.planner import CircuitSize, Deferral, PendingMandate, PlanInputs, plan_window
from aep2.settlement.proving import ChunkProver, ProofJob, ProofMandate
from aep2.settlement.window import WindowPolicy
from aep2.store.mandates import transition
from aep2.store.models import MandateRow, utcnow
from aep2.store.states import MandateState

# One line per state change, ``event key=value ...`` (logfmt), so log pipelines can parse them.
log = logging.getLogger("aep2.settlement")

S = MandateState
IN_FLIGHT = (S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED)
DEFAULT_SUBMIT_MARGIN = 600
DEFAULT_MAX_PROVE_ATTEMPTS = 3


class ProveFailed(Exception):
    """A proof attempt failed and may be retried (the chunk keeps its mandates)."""


@dataclass(frozen=True)
class Chain:
    """The escrow and who pays for settlement transactions."""

    escrow: EscrowClient
    submitter_key: bytes
    verifier_gas: int = DEFAULT_VERIFIER_GAS

    @property
    def submitter(self) -> str:
        return str(Account.from_key(self.submitter_key).address)


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _ints(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values]


# -- settlement JSON ---------------------------------------------------------------------------


def settlement_json(s: Settlement) -> dict[str, Any]:
    pairs = [[p.payer, p.payee, str(p.from_nonce), str(p.to_nonce), str(p.total)] for p in s.pairs]
    return {"verifierId": s.verifier_id, "token": s.token, "notAfter": str(s.not_after), "pairs": pairs}


def settlement_of(doc: dict[str, Any]) -> Settlement:
    pairs = tuple(Pair(a, b, int(f), int(t), int(total)) for a, b, f, t, total in doc["pairs"])
    return Settlement(int(doc["verifierId"]), doc["token"], int(doc["notAfter"]), pairs)


# -- close -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseResult:
    window_id: int | None
    chunk_ids: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    waiting: tuple[int, ...] = ()


def close_window(
    engine: Engine,
    chain: Chain,
    sizes: Sequence[CircuitSize],
    *,
    payee: str | None = None,
    now: int | None = None,
    submit_margin: int = DEFAULT_SUBMIT_MARGIN,
) -> CloseResult:
    """Plan the accepted mandates (of ``payee``, or all) into chunks, in one transaction.

    Chain reads (high-water marks, free balances) come first; a pair with mandates still in
    another open window is left for the next window, since its ``fromNonce`` is not known until
    that window settles. Expired and stale mandates fail with the planner's reason; mandates
    over the payer's balance stay accepted for a later window.
    """
    now = int(time.time()) if now is None else now
    escrow = chain.escrow
    with sessions(engine).begin() as session:
        query = select(MandateRow).where(
            MandateRow.state == S.ACCEPTED.value,
            # only mandates signed for this escrow on this chain: another domain's never verify here
            MandateRow.chain_id == escrow.w3.eth.chain_id,
            func.lower(MandateRow.escrow) == escrow.address.lower(),
        )
        if payee is not None:
            query = query.where(MandateRow.payee == payee)
        rows = list(session.execute(query).scalars())
        busy = _in_flight(session)
        pending = [r for r in rows if (r.payer, r.payee) not in busy["pairs"]]
        if not pending:
            return CloseResult(None, waiting=tuple(r.id for r in rows))
        pairs = {(r.payer, r.payee) for r in pending}
        high_water = {pair: escrow.high_water(*pair) for pair in pairs}
        available = {}
        for payer, token in {(r.payer, r.token) for r in pending}:
            free = escrow.free_balance(payer, token)
            available[(payer, token)] = max(0, free - busy["spent"].get((payer, token), 0))
        mandates = [
            PendingMandate(r.id, r.payer, r.payee, r.token, int(r.amount), int(r.nonce), int(r.deadline))
            for r in pending
        ]
        plan = plan_window(mandates, sizes, PlanInputs(high_water, available, now, submit_margin))
        failed: list[int] = []
        for m, why in plan.deferred:
            if why in (Deferral.EXPIRED, Deferral.STALE_NONCE):
                transition(session=session, mandate_ids=[m.id], to=S.FAILED, reason=f"planner: {why.value}")
                failed.append(m.id)
        waiting = tuple(m.id for m, _ in plan.deferred if m.id not in failed)
        if not plan.chunks:
            return CloseResult(None, failed=tuple(failed), waiting=waiting)
        window = WindowRow(
            chain_id=escrow.w3.eth.chain_id,
            escrow=escrow.address,
            payee=payee,
            tokens=sorted({c.token for c in plan.chunks}),
            state=WindowState.PROVING.value,
        )
        session.add(window)
        session.flush()
        chunk_ids = []
        for index, chunk in enumerate(plan.chunks):
            pairs_abi = tuple(Pair(s.payer, s.payee, s.from_nonce, s.to_nonce, s.total) for s in chunk.pairs)
            settlement = Settlement(chunk.circuit.verifier_id, chunk.token, chunk.not_after, pairs_abi)
            row = ChunkRow(
                window_id=window.id,
                index=index,
                verifier_id=chunk.circuit.verifier_id,
                n=chunk.circuit.mandates,
                p=chunk.circuit.pairs,
                settlement=settlement_json(settlement),
                state=ChunkState.BATCHED.value,
                attempts=0,
            )
            session.add(row)
            session.flush()
            ids = [m.id for s in chunk.pairs for m in s.mandates]
            session.add_all(
                ChunkMandateRow(chunk_id=row.id, mandate_id=i, position=k) for k, i in enumerate(ids)
            )
            transition(session=session, mandate_ids=ids, to=S.BATCHED, reason=f"window {window.id}")
            chunk_ids.append(row.id)
        log.info("window_closed window=%s chunks=%d failed=%d", window.id, len(chunk_ids), len(failed))
        return CloseResult(window.id, tuple(chunk_ids), tuple(failed), waiting)


def _in_flight(session: Session) -> dict[str, Any]:
    rows = session.execute(
        select(MandateRow.payer, MandateRow.payee, MandateRow.token, MandateRow.amount).where(
            MandateRow.state.in_([s.value for s in IN_FLIGHT])
        )
    ).all()
    spent: dict[tuple[str, str], int] = defaultdict(int)
    for payer, _payee, token, amount in rows:
        spent[(payer, token)] += int(amount)
    return {"pairs": {(r[0], r[1]) for r in rows}, "spent": spent}


def due_payees(engine: Engine, policy: WindowPolicy, *, now: float | None = None) -> list[str]:
    """Payees whose accepted mandates should be closed into a window now (by count or age)."""
    now = time.time() if now is None else now
    with sessions(engine)() as session:
        q = (
            select(MandateRow.payee, func.count(), func.min(MandateRow.accepted_at))
            .where(MandateRow.state == S.ACCEPTED.value)
            .group_by(MandateRow.payee)
        )
        rows = session.execute(q).all()
    due = []
    for payee, pending, oldest in rows:
        oldest_ts = _aware(oldest).timestamp() if oldest is not None else None
        if policy.should_close(pending=int(pending), oldest_accepted_at=oldest_ts, now=now):
            due.append(str(payee))
    return due


# -- prove -------------------------------------------------------------------------------------


def chunk_mandate_ids(session: Session, chunk_id: int) -> list[int]:
    q = select(ChunkMandateRow.mandate_id).where(ChunkMandateRow.chunk_id == chunk_id)
    return list(session.execute(q.order_by(ChunkMandateRow.position)).scalars())


def window_mandate_ids(session: Session, window_id: int) -> list[int]:
    q = (
        select(ChunkMandateRow.mandate_id)
        .join(ChunkRow, ChunkRow.id == ChunkMandateRow.chunk_id)
        .where(ChunkRow.window_id == window_id)
    )
    return list(session.execute(q).scalars())


def _job(session: Session, chain: Chain, chunk: ChunkRow, domain_separator: bytes) -> ProofJob:
    ids = chunk_mandate_ids(session, chunk.id)
    rows = {r.id: r for r in session.execute(select(MandateRow).where(MandateRow.id.in_(ids))).scalars()}
    mandates = [
        ProofMandate(
            r.payer,
            r.payee,
            r.token,
            int(r.amount),
            int(r.nonce),
            int(r.deadline),
            r.ref,
            r.signature,
            r.digest,
        )
        for r in (rows[i] for i in ids)
    ]
    chain_id = chain.escrow.w3.eth.chain_id
    return ProofJob(chain_id, domain_separator, settlement_of(chunk.settlement), chunk.n, chunk.p, mandates)


@dataclass(frozen=True)
class ProveOutcome:
    chunk_id: int
    status: str  # "proved", "already", "skipped", "retry", "failed"
    window_ready: int | None = None
    error: str | None = None


def prove_chunk(
    engine: Engine,
    chunk_id: int,
    prover: ChunkProver,
    chain: Chain,
    *,
    max_attempts: int = DEFAULT_MAX_PROVE_ATTEMPTS,
) -> ProveOutcome:
    """Prove one chunk: batched → proving → proved, storing the proof.

    A failure counts an attempt and raises :class:`ProveFailed` until ``max_attempts``; then the
    chunk fails and its whole window is rolled back (mandates to accepted, with the reason),
    because ``settleMany`` needs every chunk. ``window_ready`` is set when this was the last
    chunk of its window to be proved.
    """
    factory = sessions(engine)
    with factory.begin() as session:
        chunk = session.get(ChunkRow, chunk_id)
        if chunk is None:
            return ProveOutcome(chunk_id, "skipped", error="no such chunk")
        window = session.get(WindowRow, chunk.window_id)
        assert window is not None
        if chunk.state == ChunkState.PROVED.value:
            ready = window.id if window.state == WindowState.PROVED.value else None
            return ProveOutcome(chunk_id, "already", window_ready=ready)
        if chunk.state == ChunkState.FAILED.value or window.state != WindowState.PROVING.value:
            return ProveOutcome(chunk_id, "skipped", error=f"chunk {chunk.state}, window {window.state}")
        chunk.state, chunk.attempts, chunk.updated_at = ChunkState.PROVING.value, chunk.attempts + 1, utcnow()
        ids = chunk_mandate_ids(session, chunk_id)
        transition(
            session=session,
            mandate_ids=ids,
            to=S.PROVING,
            reason=f"chunk {chunk_id} attempt {chunk.attempts}",
        )
        attempts = chunk.attempts
        job = _job(session, chain, chunk, chain.escrow.domain_separator())
    started = time.monotonic()
    try:
        proof = prover.prove(job)
    except Exception as exc:  # any prover failure: counted, retried, then rolled back with the reason
        error = f"{type(exc).__name__}: {exc}"[:2000]
        return _prove_failed(factory, chunk_id, attempts, max_attempts, error)
    seconds = time.monotonic() - started
    with factory.begin() as session:
        chunk = session.get(ChunkRow, chunk_id)
        assert chunk is not None
        window = session.get(WindowRow, chunk.window_id)
        assert window is not None
        if window.state != WindowState.PROVING.value or chunk.state == ChunkState.FAILED.value:
            return ProveOutcome(chunk_id, "skipped", error=f"window became {window.state}")
        chunk.proof, chunk.public_input = "0x" + proof.hex(), str(job.public_input)
        chunk.state, chunk.proving_seconds, chunk.updated_at = ChunkState.PROVED.value, seconds, utcnow()
        transition(
            session=session, mandate_ids=chunk_mandate_ids(session, chunk_id), to=S.PROVED, reason=None
        )
        session.flush()
        states = (
            session.execute(select(ChunkRow.state).where(ChunkRow.window_id == window.id)).scalars().all()
        )
        ready = None
        if all(s == ChunkState.PROVED.value for s in states):
            window.state, ready = WindowState.PROVED.value, window.id
        log.info("chunk_proved chunk=%s seconds=%.1f attempt=%d", chunk_id, seconds, attempts)
        return ProveOutcome(chunk_id, "proved", window_ready=ready)


def _prove_failed(
    factory: sessionmaker[Session], chunk_id: int, attempts: int, max_attempts: int, error: str
) -> ProveOutcome:
    with factory.begin() as session:
        chunk = session.get(ChunkRow, chunk_id)
        assert chunk is not None
        chunk.last_error, chunk.updated_at = error, utcnow()
        if attempts < max_attempts:
            chunk.state = ChunkState.BATCHED.value
            log.warning("chunk_retry chunk=%s attempt=%d error=%r", chunk_id, attempts, error)
            return ProveOutcome(chunk_id, "retry", error=error)
        chunk.state = ChunkState.FAILED.value
        reason = f"chunk {chunk_id} failed after {attempts} attempts: {error}"[:200]
        _roll_back_window(session, chunk.window_id, reason)
        log.error("chunk_dead chunk=%s window=%s error=%r", chunk_id, chunk.window_id, error)
        return ProveOutcome(chunk_id, "failed", error=error)


def _roll_back_window(session: Session, window_id: int, reason: str) -> None:
    window = session.get(WindowRow, window_id)
    assert window is not None
    window.state, window.error = WindowState.FAILED.value, reason
    ids = window_mandate_ids(session, window_id)
    live = session.execute(
        select(MandateRow.id).where(
            MandateRow.id.in_(ids), MandateRow.state.in_([s.value for s in IN_FLIGHT])
        )
    ).scalars()
    transition(session=session, mandate_ids=list(live), to=S.ACCEPTED, reason=reason[:200])


# -- submit ------------------------------------------------------------------------------------


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
    sending leaves a row that :func:`reconcile` can look up (and rebroadcast if it was never
    received). Running it again on a submitted window waits for that same transaction.
    ``after_record`` is a test hook called between the commit and the broadcast.
    """
    factory = sessions(engine)
    w3 = chain.escrow.w3
    with factory.begin() as session:
        window = session.get(WindowRow, window_id)
        if window is None:
            return SubmitOutcome(window_id, "not_ready")
        if window.state in (WindowState.SETTLED.value, WindowState.FAILED.value):
            return SubmitOutcome(window_id, "already", window.tx_hash, window.gas_used)
        if window.state == WindowState.PROVING.value:
            return SubmitOutcome(window_id, "not_ready")
        if window.state == WindowState.PROVED.value:
            chunks = _chunks(session, window_id)
            settlements = [settlement_of(c.settlement) for c in chunks]
            proofs = [bytes.fromhex(str(c.proof).removeprefix("0x")) for c in chunks]
            call = chain.escrow.contract.functions.settleMany(proofs, [s.as_abi() for s in settlements])
            try:  # an eth_call first: a settlement that would revert costs no gas, only a retry
                simulate(call, chain.submitter, list(chain.escrow.contract.abi))  # type: ignore[arg-type]
            except TransactionFailed as exc:
                _roll_back_window(session, window_id, f"settleMany would revert: {exc}"[:200])
                log.error("window_not_submitted window=%s error=%r", window_id, str(exc))
                return SubmitOutcome(window_id, "reverted")
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
                mandate_ids=window_mandate_ids(session, window_id),
                to=S.SUBMITTED,
                reason=f"tx {window.tx_hash}",
            )
        tx_hash, raw_tx = str(window.tx_hash), str(window.raw_tx)
    if after_record is not None:
        after_record(window_id)
    _broadcast(chain, raw_tx)
    try:
        receipt = w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=receipt_timeout)
    except Exception:  # still pending: the next submit or reconcile picks it up by hash
        return SubmitOutcome(window_id, "pending", tx_hash)
    return apply_receipt(engine, window_id, chain, receipt, now=now)


def _broadcast(chain: Chain, raw_tx: str) -> None:
    try:
        chain.escrow.w3.eth.send_raw_transaction(HexBytes(raw_tx))
    except ValueError as exc:  # already known / nonce too low: the hash lookup decides what happened
        log.info("broadcast_refused error=%r (the hash lookup decides)", str(exc))


def _chunks(session: Session, window_id: int) -> list[ChunkRow]:
    q = select(ChunkRow).where(ChunkRow.window_id == window_id).order_by(ChunkRow.index)
    return list(session.execute(q).scalars())


def apply_receipt(
    engine: Engine,
    window_id: int,
    chain: Chain,
    receipt: Any,
    *,
    now: int | None = None,
    submit_margin: int = DEFAULT_SUBMIT_MARGIN,
) -> SubmitOutcome:
    """Move the window's mandates by what the escrow's events say: settled pairs to settled,
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
            _roll_back_window(session, window_id, f"tx {window.tx_hash} reverted")
            return SubmitOutcome(window_id, "reverted", window.tx_hash, window.gas_used)
        result: SettlementResult = parse_settlement(chain.escrow.contract, receipt)
        settled = {(p.payer, p.payee, p.from_nonce) for p in result.settled}
        skipped = {(p.payer, p.payee, p.from_nonce): p.reason for p in result.skipped}
        for chunk in _chunks(session, window_id):
            by_pair = _mandates_by_pair(session, chunk.id)
            for pair in settlement_of(chunk.settlement).pairs:
                key = (pair.payer, pair.payee, pair.from_nonce)
                rows = by_pair[(pair.payer, pair.payee)]
                if key in settled:
                    transition(
                        session=session,
                        mandate_ids=[r.id for r in rows],
                        to=S.SETTLED,
                        reason=f"tx {window.tx_hash}",
                    )
                elif chain.escrow.high_water(pair.payer, pair.payee) >= pair.to_nonce:
                    # skipped because another transaction already paid exactly these nonces
                    reason = f"paid before tx {window.tx_hash} (high-water mark)"
                    transition(session=session, mandate_ids=[r.id for r in rows], to=S.SETTLED, reason=reason)
                else:
                    why = skipped.get(key)
                    _unsettled(
                        session,
                        rows,
                        f"skipped on chain: {why.name if why else 'not in events'}",
                        now,
                        submit_margin,
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


def _mandates_by_pair(session: Session, chunk_id: int) -> dict[tuple[str, str], list[MandateRow]]:
    ids = chunk_mandate_ids(session, chunk_id)
    out: dict[tuple[str, str], list[MandateRow]] = defaultdict(list)
    for r in session.execute(select(MandateRow).where(MandateRow.id.in_(ids))).scalars():
        out[(r.payer, r.payee)].append(r)
    return out


def _unsettled(session: Session, rows: Sequence[MandateRow], reason: str, now: int, margin: int) -> None:
    for r in rows:
        target = S.FAILED if int(r.deadline) < now + margin else S.ACCEPTED
        transition(session=session, mandate_ids=[r.id], to=target, reason=reason[:200])


# -- reconcile ---------------------------------------------------------------------------------


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
      if the nonce was used by something else, each pair is settled or rolled back by its
      high-water mark.
    * proved windows are handed back for submission; chunks untouched for ``stuck_after``
      seconds in ``proving`` (a proof that never came back: worker or prover killed) or in
      ``batched`` (its task lost with the broker) are handed back for proving.
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
                for chunk in _chunks(session, window.id):
                    age = (now - _aware(chunk.updated_at)).total_seconds()
                    # only old ones: a young batched chunk's task is still queued, and a young
                    # proving one is being proved; re-enqueueing those would prove twice
                    idle = chunk.state in (ChunkState.BATCHED.value, ChunkState.PROVING.value)
                    if idle and age >= stuck_after:
                        report.to_prove.append(chunk.id)
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
            _broadcast(chain, str(window.raw_tx))
            report.rebroadcast.append(window.id)
        else:
            _settle_by_high_water(engine, window.id, chain)
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


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _settle_by_high_water(engine: Engine, window_id: int, chain: Chain) -> None:
    """The transaction is gone (its nonce went to another): each pair's high-water mark says
    whether its mandates were paid anyway (settled) or not (back to accepted)."""
    now = int(time.time())
    with sessions(engine).begin() as session:
        window = session.get(WindowRow, window_id)
        assert window is not None
        for chunk in _chunks(session, window_id):
            by_pair = _mandates_by_pair(session, chunk.id)
            for pair in settlement_of(chunk.settlement).pairs:
                rows = by_pair[(pair.payer, pair.payee)]
                if chain.escrow.high_water(pair.payer, pair.payee) >= pair.to_nonce:
                    transition(
                        session=session,
                        mandate_ids=[r.id for r in rows],
                        to=S.SETTLED,
                        reason="high-water mark",
                    )
                else:
                    _unsettled(session, rows, f"tx {window.tx_hash} dropped", now, DEFAULT_SUBMIT_MARGIN)
        window.state, window.error = (
            WindowState.SETTLED.value,
            f"tx {window.tx_hash} dropped; settled by high-water marks",
        )
