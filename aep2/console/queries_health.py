"""The payee console's pipeline pages: prover and worker health, queue depth, and gas per payment.

Workers are separate processes that may be anywhere, so health is what the store and the broker
can tell without asking a worker: how many chunks wait and since when, when a proof last came back,
when a window last settled, and the broker's queue lengths. A broker that is not configured (or not
Redis, or down) is reported as unknown, never as an empty queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.settlement.metrics import QUEUES, queue_depth
from aep2.settlement.models import ChunkMandateRow, ChunkRow, ChunkState, WindowRow
from aep2.store.models import MandateRow
from aep2.store.states import MandateState

WAITING = (ChunkState.BATCHED.value, ChunkState.PROVING.value)


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    depth: int | None  # None: unknown


@dataclass(frozen=True)
class Health:
    """What the store and the broker say about the provers and workers."""

    chunks_by_state: dict[str, int]
    windows_by_state: dict[str, int]
    waiting_chunks: int
    oldest_waiting: datetime | None
    last_proof_at: datetime | None
    mean_proving_seconds: float | None
    last_settled_at: datetime | None
    last_chunk_error: str | None
    broker: str
    queues: list[QueueDepth]


def health(engine: Engine, broker_url: str | None, queues: Sequence[str] = QUEUES) -> Health:
    with Session(engine) as s:
        chunks = {
            str(k): int(v)
            for k, v in s.execute(select(ChunkRow.state, func.count()).group_by(ChunkRow.state))
        }
        wins = {
            str(k): int(v)
            for k, v in s.execute(select(WindowRow.state, func.count()).group_by(WindowRow.state))
        }
        oldest = s.execute(select(func.min(ChunkRow.updated_at)).where(ChunkRow.state.in_(WAITING))).scalar()
        proved = s.execute(
            select(func.max(ChunkRow.updated_at), func.avg(ChunkRow.proving_seconds)).where(
                ChunkRow.proving_seconds.is_not(None)
            )
        ).one()
        settled = s.execute(select(func.max(WindowRow.settled_at))).scalar()
        error = s.execute(
            select(ChunkRow.last_error)
            .where(ChunkRow.last_error.is_not(None))
            .order_by(ChunkRow.updated_at.desc())
        ).scalar()
    depth = queue_depth(broker_url, queues)
    broker = "not configured (set AEP2_BROKER_URL)" if not broker_url else _redacted(broker_url)
    return Health(
        chunks_by_state=chunks, windows_by_state=wins,
        waiting_chunks=sum(chunks.get(state, 0) for state in WAITING), oldest_waiting=_aware(oldest),
        last_proof_at=_aware(proved[0]), mean_proving_seconds=None if proved[1] is None else float(proved[1]),
        last_settled_at=_aware(settled), last_chunk_error=error, broker=broker,
        queues=[QueueDepth(q, None if depth is None else depth.get(q)) for q in queues],
    )  # fmt: skip


def _redacted(url: str) -> str:
    """The broker URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


@dataclass(frozen=True)
class WindowGas:
    window_id: int
    gas_used: int
    payments: int
    per_payment: float | None


@dataclass(frozen=True)
class Gas:
    """Settlement gas per window and per payment, against one x402 ``exact`` payment's gas."""

    windows: list[WindowGas]
    total_gas: int
    total_payments: int
    per_payment: float | None
    x402_gas: int
    x402_source: str
    x402_over_aep2: float | None


def gas(engine: Engine, *, x402_gas: int, x402_source: str, limit: int = 30) -> Gas:
    """Gas of the last ``limit`` mined windows. A mandate counts for the last window whose chunks
    held it (one skipped in a window and settled in a later one paid in the later one)."""
    with Session(engine) as s:
        mined = list(
            s.execute(
                select(WindowRow.id, WindowRow.gas_used)
                .where(WindowRow.gas_used.is_not(None))
                .order_by(WindowRow.id.desc())
                .limit(limit)
            ).all()
        )
        ids = [window_id for window_id, _ in mined]
        held = s.execute(
            select(ChunkMandateRow.mandate_id, ChunkRow.window_id)
            .join(ChunkRow, ChunkRow.id == ChunkMandateRow.chunk_id)
            .join(MandateRow, MandateRow.id == ChunkMandateRow.mandate_id)
            .where(ChunkRow.window_id.in_(ids), MandateRow.state == MandateState.SETTLED.value)
        ).all()
    last: dict[int, int] = {}
    for mandate_id, window_id in held:
        last[mandate_id] = max(window_id, last.get(mandate_id, 0))
    paid = {window_id: 0 for window_id in ids}
    for window_id in last.values():
        paid[window_id] += 1
    rows = [
        WindowGas(w, g or 0, paid[w], (g or 0) / paid[w] if paid[w] else None) for w, g in reversed(mined)
    ]
    total, payments = sum(r.gas_used for r in rows), sum(r.payments for r in rows)
    per = total / payments if payments else None
    return Gas(rows, total, payments, per, x402_gas, x402_source, None if per is None else x402_gas / per)
