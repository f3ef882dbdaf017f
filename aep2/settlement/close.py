"""Closing a window: the accepted mandates a submitter may settle, planned into chunks in one transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.chain.agent_keys import AgentKeyInfo
from aep2.chain.agent_settlement import AgentPair, AgentSettlement
from aep2.chain.escrow import VerifierFamily
from aep2.chain.settlement import Pair, Settlement
from aep2.settlement import alerting
from aep2.settlement.chain_access import Chain
from aep2.settlement.funds import Spend, read_funds
from aep2.settlement.models import ChunkMandateRow, ChunkRow, ChunkState, WindowRow, WindowState
from aep2.settlement.planner import (
    AGENT,
    Chunk,
    CircuitSize,
    Deferral,
    PendingMandate,
    PlanInputs,
    plan_window,
)
from aep2.settlement.records import (
    DEFAULT_SUBMIT_MARGIN,
    IN_FLIGHT,
    AnySettlement,
    S,
    aware,
    log,
    sessions,
    settlement_json,
)
from aep2.settlement.window import WindowPolicy
from aep2.store.mandates import transition
from aep2.store.models import NO_KEY, ExposureRow, MandateRow


@dataclass(frozen=True)
class CloseResult:
    window_id: int | None
    chunk_ids: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()
    waiting: tuple[int, ...] = ()


def usable_sizes(chain: Chain, sizes: Sequence[CircuitSize]) -> list[CircuitSize]:
    """The configured sizes whose verifier the escrow accepts now: registered for the size's family,
    active, not retired.

    A verifier the owner registers only settles ``withdrawDelay`` after registration, and a
    retired one never again; mandates wait for, or move to, the sizes that remain.
    """
    now = chain.chain_time()
    usable = []
    for size in sizes:
        info = chain.escrow.verifier_info(size.verifier_id)
        family = VerifierFamily.AGENT if size.family == AGENT else VerifierFamily.BATCH
        if info is not None and info.usable(now) and info.family == family:
            usable.append(size)
        else:
            log.warning("size_unusable verifier=%s info=%r", size.verifier_id, info)
    return usable


def close_window(
    engine: Engine,
    chain: Chain,
    sizes: Sequence[CircuitSize],
    *,
    payee: str | None = None,
    now: int | None = None,
    submit_margin: int = DEFAULT_SUBMIT_MARGIN,
    headroom_below: int | None = None,
) -> CloseResult:
    """Plan the accepted mandates (of ``payee``, or all) into chunks, in one transaction.

    Left waiting: pairs with mandates still in another open window (their ``fromNonce`` is not
    known until it settles), pairs of payees that have not approved the submitter (the escrow
    would skip them), everything when no configured size is usable on chain, and mandates over
    what the payer can be debited or its agent key's cap has left. Expired and stale mandates fail
    with the planner's reason; agent mandates whose key is revoked, expired or unknown by the time a
    settlement could land fail with that reason.

    Alerts, in the same transaction: an agent key of these mandates (or of those in flight) with a
    revocation scheduled, and, with ``headroom_below`` set, a payer whose headroom after what is
    accepted is below it (:mod:`~aep2.settlement.alerting`).
    """
    now = int(time.time()) if now is None else now
    escrow = chain.escrow
    usable = usable_sizes(chain, sizes)
    with sessions(engine).begin() as session:
        rows = _accepted(session, chain, payee)
        # The payee's check refuses nonces below a closed window's (DESIGN step 6); holding these
        # payers' exposure locks while batching keeps a concurrent check from slipping one in.
        if _lock_payers(session, {r.payer for r in rows}):  # a check may have committed meanwhile
            rows = _accepted(session, chain, payee)
        busy, flying, key_flying = _in_flight(session)
        pending = [r for r in rows if (r.payer, r.key_id, r.payee) not in busy]
        allowed = {p for p in {r.payee for r in pending} if escrow.is_approved_submitter(p, chain.submitter)}
        for refused in sorted({r.payee for r in pending} - allowed):
            log.error("submitter_not_approved payee=%s submitter=%s", refused, chain.submitter)
        pending = [r for r in pending if r.payee in allowed]
        if not pending or not usable:
            return CloseResult(None, waiting=tuple(r.id for r in rows))
        lands_by = max(now, chain.chain_time()) + submit_margin  # the latest a settlement should land
        agent_keys = {int(r.key_id) for r in pending if r.key_id != NO_KEY} | set(key_flying)
        alerting.revocations_pending(session, chain, agent_keys)
        failed = sorted(_fail_dead_keys(session, chain, pending, lands_by))
        pending = [r for r in pending if r.id not in failed]
        batch_pairs = {(r.payer, r.payee) for r in pending if r.key_id == NO_KEY}
        high_water = {pair: escrow.high_water(*pair) for pair in batch_pairs}
        agent_pairs = {(int(r.key_id), r.payee) for r in pending if r.key_id != NO_KEY}
        agent_high_water = {pair: escrow.agent_high_water(*pair) for pair in agent_pairs}
        key_left = _key_left(chain, {key_id for key_id, _ in agent_pairs}, key_flying, lands_by)
        funds = read_funds(escrow, {(r.payer, r.payee, r.token) for r in pending}, flying)
        alerting.low_headroom(session, funds, pending, headroom_below, now=now)
        mandates = [
            PendingMandate(
                r.id, r.payer, r.payee, r.token, int(r.amount), int(r.nonce), int(r.deadline), int(r.key_id)
            )
            for r in pending
        ]
        inputs = PlanInputs(
            high_water,
            funds.free,
            now,
            submit_margin,
            funds.reserved,
            funds.leaving_at,
            agent_high_water,
            key_left,
        )
        plan = plan_window(mandates, usable, inputs)
        for m, why in plan.deferred:
            if why in (Deferral.EXPIRED, Deferral.STALE_NONCE):
                transition(session=session, mandate_ids=[m.id], to=S.FAILED, reason=f"planner: {why.value}")
                failed.append(m.id)
        planned = {m.id for c in plan.chunks for s in c.pairs for m in s.mandates}
        waiting = tuple(r.id for r in rows if r.id not in planned and r.id not in failed)
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
            settlement = _settlement(chunk)
            row = ChunkRow(
                window_id=window.id,
                index=index,
                family=chunk.family,
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


def _accepted(session: Session, chain: Chain, payee: str | None) -> list[MandateRow]:
    escrow = chain.escrow
    query = select(MandateRow).where(
        MandateRow.state == S.ACCEPTED.value,
        # only mandates signed for this escrow on this chain: another domain's never verify here
        MandateRow.chain_id == escrow.w3.eth.chain_id,
        func.lower(MandateRow.escrow) == escrow.address.lower(),
    )
    if payee is not None:
        query = query.where(MandateRow.payee == payee)
    return list(session.execute(query).scalars())


def _lock_payers(session: Session, payers: set[str]) -> bool:
    """Take the payers' exposure row locks (PostgreSQL); True if any were taken. SQLite needs none:
    the transaction already holds the database's write lock (``BEGIN IMMEDIATE``)."""
    if not payers or session.get_bind().dialect.name != "postgresql":
        return False
    lock = select(ExposureRow.payer).where(ExposureRow.payer.in_(sorted(payers))).with_for_update()
    session.execute(lock).all()
    return True


def _settlement(chunk: Chunk) -> AnySettlement:
    """The settlement a planned chunk proves, of its circuit's family."""
    c = chunk
    if c.family == AGENT:
        agent = tuple(AgentPair(s.key_id, s.payee, s.from_nonce, s.to_nonce, s.total) for s in c.pairs)
        return AgentSettlement(c.circuit.verifier_id, c.token, c.not_after, agent)
    pairs = tuple(Pair(s.payer, s.payee, s.from_nonce, s.to_nonce, s.total) for s in c.pairs)
    return Settlement(c.circuit.verifier_id, c.token, c.not_after, pairs)


def _fail_dead_keys(session: Session, chain: Chain, rows: Sequence[MandateRow], by: int) -> set[int]:
    """Fail the agent mandates whose key can no longer settle anything by chain time ``by``: revoked
    with effect by then, past its validity, or gone. (Not yet valid: they wait.) The payee's check
    refused keys revoked within deadline + horizon, so this is a revocation the payee never saw, or
    a mandate that waited too long."""
    failed: set[int] = set()
    for key_id in sorted({r.key_id for r in rows if r.key_id != NO_KEY}):
        info = chain.escrow.agent_key(int(key_id))
        why = _key_dead(info, by)
        if why is None:
            continue
        ids = [r.id for r in rows if r.key_id == key_id]
        transition(session=session, mandate_ids=ids, to=S.FAILED, reason=f"agent key {int(key_id)} {why}")
        log.error("agent_key_dead key=%s why=%r mandates=%d", int(key_id), why, len(ids))
        failed.update(ids)
    return failed


def _key_dead(info: AgentKeyInfo | None, by: int) -> str | None:
    if info is None:
        return "is not registered"
    if info.revoke_at and info.revoke_at <= by:
        return f"is revoked from {info.revoke_at}"
    if info.valid_until < by:
        return f"expires at {info.valid_until}"
    return None


def _key_left(chain: Chain, key_ids: set[int], in_flight: dict[int, int], by: int) -> dict[int, int]:
    """What each key may still settle: the cap in effect at chain time ``by`` (a pending lowering
    counts once due) minus what it spent and what its mandates in flight will spend."""
    left = {}
    for key_id in key_ids:
        info = chain.escrow.agent_key(key_id)
        cap = 0 if info is None else min(info.cap, info.cap_at(by))
        left[key_id] = max(0, cap - (info.spent if info else 0) - in_flight.get(key_id, 0))
    return left


def _in_flight(session: Session) -> tuple[set[tuple[str, str, str]], list[Spend], dict[int, int]]:
    """Mandate sequences (payer, key id, payee) in a closed, unsettled window, what those mandates
    will debit, and how much of each agent key's cap they will spend."""
    rows = session.execute(
        select(
            MandateRow.payer, MandateRow.key_id, MandateRow.payee, MandateRow.token, MandateRow.amount
        ).where(MandateRow.state.in_([s.value for s in IN_FLIGHT]))
    ).all()
    busy = {(str(payer), str(key_id), str(payee)) for payer, key_id, payee, _, _ in rows}
    spends = [(str(payer), str(payee), str(token), int(amount)) for payer, _, payee, token, amount in rows]
    keys: dict[int, int] = {}
    for _, key_id, _, _, amount in rows:
        if key_id != NO_KEY:
            keys[int(key_id)] = keys.get(int(key_id), 0) + int(amount)
    return busy, spends, keys


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
        oldest_ts = aware(oldest).timestamp() if oldest is not None else None
        if policy.should_close(pending=int(pending), oldest_accepted_at=oldest_ts, now=now):
            due.append(str(payee))
    return due
