"""Settling the demo's mandates: close windows, let the Celery worker prove and submit them.

Windows are closed here (the payee's side) and their chunks handed to the worker over the
broker, as ``workers.tasks.close_and_enqueue`` does; the demo only watches the store. A pair
still in an open window waits for the next one, so this loops until nothing is left to close.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.settlement.models import OPEN_WINDOW_STATES, ChunkRow, ChunkState, WindowRow
from aep2.settlement.pipeline import Chain, close_window
from aep2.settlement.planner import CircuitSize
from aep2.store import MandateRow
from aep2.store.states import MandateState

TIMEOUT = 3_600.0


def close_and_enqueue(engine: Engine, chain: Chain, sizes: Sequence[CircuitSize], broker: Any) -> int | None:
    """Close a window (committed) and only then hand its chunks to the worker."""
    closed = close_window(engine, chain, sizes)
    for chunk_id in closed.chunk_ids:
        broker.send_task("aep2.prove_chunk", args=[chunk_id])
    return closed.window_id


def _counts(engine: Engine) -> tuple[int, int, int, int]:
    """(accepted mandates, open windows, chunks, chunks proved)."""
    with Session(engine) as s:
        accepted = s.scalar(select(func.count()).where(MandateRow.state == MandateState.ACCEPTED.value))
        open_windows = s.scalar(
            select(func.count()).where(WindowRow.state.in_([w.value for w in OPEN_WINDOW_STATES]))
        )
        chunks = s.scalar(select(func.count()).select_from(ChunkRow))
        proved = s.scalar(select(func.count()).where(ChunkRow.proof.is_not(None)))
    return int(accepted or 0), int(open_windows or 0), int(chunks or 0), int(proved or 0)


def settle_everything(
    engine: Engine, chain: Chain, sizes: Sequence[CircuitSize], broker: Any, console: Console
) -> list[int]:
    """Close windows until every mandate is settled (or failed); the ids of the windows closed."""
    windows: list[int] = []
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("proving chunks (gnark Groth16, Celery worker)", total=None)
        while True:
            accepted, open_windows, chunks, proved = _counts(engine)
            if accepted and not open_windows:
                window = close_and_enqueue(engine, chain, sizes, broker)
                if window is None:  # nothing closable (e.g. over balance): leave them accepted
                    break
                windows.append(window)
                continue
            progress.update(bar, total=chunks, completed=proved)
            if not accepted and not open_windows:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"settlement did not finish in {TIMEOUT:.0f}s")
            time.sleep(0.5)
        progress.update(bar, description="chunks proved, settleMany mined")
    return windows


def failed_chunks(engine: Engine) -> list[int]:
    with Session(engine) as s:
        return list(s.scalars(select(ChunkRow.id).where(ChunkRow.state == ChunkState.FAILED.value)))
