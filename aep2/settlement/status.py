"""What ``aep2 status`` shows: windows, chunks, mandate counts by state, oldest pending, exposure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.settlement.models import ChunkRow, WindowRow
from aep2.store.models import ExposureRow, MandateRow
from aep2.store.states import UNSETTLED_STATES


@dataclass(frozen=True)
class Snapshot:
    windows: list[dict[str, Any]]
    chunks: list[dict[str, Any]]
    counts: dict[str, int]
    oldest_pending: datetime | None
    exposure: list[tuple[str, str, str]]


def snapshot(engine: Engine, *, windows: int = 20) -> Snapshot:
    with Session(engine) as s:
        ws = s.execute(select(WindowRow).order_by(WindowRow.id.desc()).limit(windows)).scalars().all()
        ids = [w.id for w in ws]
        cs = (
            s.execute(select(ChunkRow).where(ChunkRow.window_id.in_(ids)).order_by(ChunkRow.id))
            .scalars()
            .all()
        )
        by_state = select(MandateRow.state, func.count()).group_by(MandateRow.state)
        counts = {str(state): int(n) for state, n in s.execute(by_state)}
        oldest = s.execute(
            select(func.min(MandateRow.accepted_at)).where(
                MandateRow.state.in_([x.value for x in UNSETTLED_STATES])
            )
        ).scalar_one_or_none()
        exposure = [
            (e.payer, e.token, e.unsettled)
            for e in s.execute(select(ExposureRow).where(ExposureRow.unsettled != "0")).scalars()
        ]
    return Snapshot(
        windows=[
            {
                "id": w.id,
                "state": w.state,
                "closed_at": w.closed_at,
                "tx": w.tx_hash,
                "gas": w.gas_used,
                "error": w.error,
            }
            for w in ws
        ],
        chunks=[
            {
                "id": c.id,
                "window": c.window_id,
                "index": c.index,
                "size": f"n{c.n}p{c.p}",
                "state": c.state,
                "attempts": c.attempts,
                "seconds": c.proving_seconds,
                "error": c.last_error,
            }
            for c in cs
        ],
        counts=counts,
        oldest_pending=oldest,
        exposure=exposure,
    )
