"""Proving a chunk: batched → proving → proved, with counted attempts and a rollback when they run out."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from aep2.agentkey import AgentMandate
from aep2.settlement import alerting
from aep2.settlement.chain_access import Chain
from aep2.settlement.models import ChunkRow, ChunkState, WindowRow, WindowState
from aep2.settlement.proving import AgentProofJob, AnyProofJob, ChunkProver, ProofJob, ProofMandate
from aep2.settlement.records import (
    S,
    agent_settlement_of,
    chunk_mandate_ids,
    log,
    roll_back_window,
    sessions,
    settlement_of,
)
from aep2.store.mandates import transition
from aep2.store.models import MandateRow, utcnow

DEFAULT_MAX_PROVE_ATTEMPTS = 3


class ProveFailed(Exception):
    """A proof attempt failed and may be retried (the chunk keeps its mandates)."""


# -- prove -------------------------------------------------------------------------------------


def _job(session: Session, chain: Chain, chunk: ChunkRow, domain_separator: bytes) -> AnyProofJob:
    ids = chunk_mandate_ids(session, chunk.id)
    rows = {r.id: r for r in session.execute(select(MandateRow).where(MandateRow.id.in_(ids))).scalars()}
    if chunk.family == "agent":
        return _agent_job(chain, chunk, domain_separator, [rows[i] for i in ids])
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


def _agent_job(
    chain: Chain, chunk: ChunkRow, domain_separator: bytes, rows: list[MandateRow]
) -> AgentProofJob:
    """The agent chunk's job, its keys still to read (:func:`_with_keys`)."""
    mandates = [
        (
            AgentMandate.build(
                key_id=int(r.key_id),
                payee=r.payee,
                token=r.token,
                amount=int(r.amount),
                nonce=int(r.nonce),
                deadline=int(r.deadline),
                ref=bytes.fromhex(r.ref.removeprefix("0x")),
            ),
            bytes.fromhex(r.signature.removeprefix("0x")),
        )
        for r in rows
    ]
    settlement = agent_settlement_of(chunk.settlement)
    chain_id = chain.escrow.w3.eth.chain_id
    return AgentProofJob(chain_id, domain_separator, settlement, chunk.n, chunk.p, mandates, {})


def _with_keys(job: AnyProofJob, chain: Chain) -> AnyProofJob:
    """An agent job with each pair's key as the escrow stores it (a registered key never changes);
    read outside the database transaction, so a failed read counts as a failed attempt."""
    if not isinstance(job, AgentProofJob):
        return job
    keys = {}
    for key_id in job.settlement.key_ids:
        info = chain.escrow.agent_key(key_id)
        if info is None:  # a stored agent mandate passed the payee's check against this very key
            raise ValueError(f"agent key {key_id} is not registered on {chain.escrow.address}")
        keys[key_id] = info.key
    return replace(job, keys=keys)


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
        job = _with_keys(job, chain)
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
        alerting.proof_failed(session, chunk, attempts, max_attempts, error)
        if attempts < max_attempts:
            chunk.state = ChunkState.BATCHED.value
            log.warning("chunk_retry chunk=%s attempt=%d error=%r", chunk_id, attempts, error)
            return ProveOutcome(chunk_id, "retry", error=error)
        chunk.state = ChunkState.FAILED.value
        reason = f"chunk {chunk_id} failed after {attempts} attempts: {error}"[:200]
        roll_back_window(session, chunk.window_id, reason)
        log.error("chunk_dead chunk=%s window=%s error=%r", chunk_id, chunk.window_id, error)
        return ProveOutcome(chunk_id, "failed", error=error)
