"""The pipeline's reads and writes of windows, chunks and their mandates, shared by its steps."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from aep2.chain.agent_settlement import AgentPair, AgentSettlement
from aep2.chain.settlement import Pair, Settlement
from aep2.settlement import alerting
from aep2.settlement.models import ChunkMandateRow, ChunkRow, WindowRow, WindowState
from aep2.store.mandates import transition
from aep2.store.models import NO_KEY, MandateRow, uint64_key
from aep2.store.states import MandateState

# One line per state change, ``event key=value ...`` (logfmt), so log pipelines can parse them.
log = logging.getLogger("aep2.settlement")

S = MandateState
IN_FLIGHT = (S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED)
DEFAULT_SUBMIT_MARGIN = 600


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


AnySettlement = Settlement | AgentSettlement
"""What one chunk's proof settles: EIP-712 pairs (payer, payee) or agent pairs (key id, payee)."""


def settlement_json(s: AnySettlement) -> dict[str, Any]:
    """A chunk's stored settlement; an agent pair's first item is its key id, as a decimal string."""
    pairs = [[_first(p), p.payee, str(p.from_nonce), str(p.to_nonce), str(p.total)] for p in s.pairs]
    return {"verifierId": s.verifier_id, "token": s.token, "notAfter": str(s.not_after), "pairs": pairs}


def _first(p: Pair | AgentPair) -> str:
    return str(p.key_id) if isinstance(p, AgentPair) else p.payer


def settlement_of(doc: dict[str, Any]) -> Settlement:
    pairs = tuple(Pair(a, b, int(f), int(t), int(total)) for a, b, f, t, total in doc["pairs"])
    return Settlement(int(doc["verifierId"]), doc["token"], int(doc["notAfter"]), pairs)


def agent_settlement_of(doc: dict[str, Any]) -> AgentSettlement:
    pairs = tuple(AgentPair(int(k), b, int(f), int(t), int(total)) for k, b, f, t, total in doc["pairs"])
    return AgentSettlement(int(doc["verifierId"]), doc["token"], int(doc["notAfter"]), pairs)


def chunk_settlement(chunk: ChunkRow) -> AnySettlement:
    """The settlement ``chunk`` proves, of its family."""
    doc = chunk.settlement
    return agent_settlement_of(doc) if chunk.family == "agent" else settlement_of(doc)


def pair_key(pair: Pair | AgentPair) -> tuple[str, str]:
    """Which stored mandates a pair settles: (payer, payee), or (key id as stored, payee) for agent pairs."""
    if isinstance(pair, AgentPair):
        return (uint64_key(pair.key_id), pair.payee)
    return (pair.payer, pair.payee)


def row_pair_key(row: MandateRow) -> tuple[str, str]:
    """:func:`pair_key` of the pair a stored mandate belongs to."""
    return (row.key_id, row.payee) if row.key_id != NO_KEY else (row.payer, row.payee)


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


def window_chunks(session: Session, window_id: int) -> list[ChunkRow]:
    q = select(ChunkRow).where(ChunkRow.window_id == window_id).order_by(ChunkRow.index)
    return list(session.execute(q).scalars())


def mandates_by_pair(session: Session, chunk_id: int) -> dict[tuple[str, str], list[MandateRow]]:
    """A chunk's mandates by :func:`row_pair_key`."""
    ids = chunk_mandate_ids(session, chunk_id)
    out: dict[tuple[str, str], list[MandateRow]] = defaultdict(list)
    for r in session.execute(select(MandateRow).where(MandateRow.id.in_(ids))).scalars():
        out[row_pair_key(r)].append(r)
    return out


def unsettled(session: Session, rows: Sequence[MandateRow], reason: str, now: int, margin: int) -> None:
    """Back to accepted for a later window, or failed if the deadline no longer leaves time."""
    for r in rows:
        target = S.FAILED if int(r.deadline) < now + margin else S.ACCEPTED
        transition(session=session, mandate_ids=[r.id], to=target, reason=reason[:200])


def roll_back_window(session: Session, window_id: int, reason: str) -> None:
    """Fail the window and return its in-flight mandates to accepted, with the reason (and an alert)."""
    window = session.get(WindowRow, window_id)
    assert window is not None
    window.state, window.error = WindowState.FAILED.value, reason
    ids = window_mandate_ids(session, window_id)
    live = session.execute(
        select(MandateRow.id).where(
            MandateRow.id.in_(ids), MandateRow.state.in_([s.value for s in IN_FLIGHT])
        )
    ).scalars()
    returned = transition(session=session, mandate_ids=list(live), to=S.ACCEPTED, reason=reason[:200])
    alerting.window_failed(session, window, reason, returned)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
