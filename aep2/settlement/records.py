"""The pipeline's reads and writes of windows, chunks and their mandates, shared by its steps."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from aep2.chain.settlement import Pair, Settlement
from aep2.settlement.models import ChunkMandateRow, ChunkRow, WindowRow, WindowState
from aep2.store.mandates import transition
from aep2.store.models import MandateRow
from aep2.store.states import MandateState

# One line per state change, ``event key=value ...`` (logfmt), so log pipelines can parse them.
log = logging.getLogger("aep2.settlement")

S = MandateState
IN_FLIGHT = (S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED)
DEFAULT_SUBMIT_MARGIN = 600


def sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def settlement_json(s: Settlement) -> dict[str, Any]:
    pairs = [[p.payer, p.payee, str(p.from_nonce), str(p.to_nonce), str(p.total)] for p in s.pairs]
    return {"verifierId": s.verifier_id, "token": s.token, "notAfter": str(s.not_after), "pairs": pairs}


def settlement_of(doc: dict[str, Any]) -> Settlement:
    pairs = tuple(Pair(a, b, int(f), int(t), int(total)) for a, b, f, t, total in doc["pairs"])
    return Settlement(int(doc["verifierId"]), doc["token"], int(doc["notAfter"]), pairs)


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
    ids = chunk_mandate_ids(session, chunk_id)
    out: dict[tuple[str, str], list[MandateRow]] = defaultdict(list)
    for r in session.execute(select(MandateRow).where(MandateRow.id.in_(ids))).scalars():
        out[(r.payer, r.payee)].append(r)
    return out


def unsettled(session: Session, rows: Sequence[MandateRow], reason: str, now: int, margin: int) -> None:
    """Back to accepted for a later window, or failed if the deadline no longer leaves time."""
    for r in rows:
        target = S.FAILED if int(r.deadline) < now + margin else S.ACCEPTED
        transition(session=session, mandate_ids=[r.id], to=target, reason=reason[:200])


def roll_back_window(session: Session, window_id: int, reason: str) -> None:
    """Fail the window and return its in-flight mandates to accepted, with the reason."""
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


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
