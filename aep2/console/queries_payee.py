"""What the payee's console shows, read from the payee's store: typed, so pages and JSON agree.

Each function takes the store's engine and returns frozen dataclasses; the pages render them and
``/console/api/...`` serialises the same objects, so a script sees exactly what a person sees.
Amounts are summed in Python (the store keeps them as decimal strings: they pass 2^63).
Nothing here writes, and nothing here reads the chain: headroom comes from a callable the caller
builds from its chain view (:data:`HeadroomOf`), and is ``None`` ("unknown") without one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.alerts import AlertRow
from aep2.alerts.kinds import PAIR_SKIPPED, WINDOW_FAILED
from aep2.console.sums import exact_sums
from aep2.settlement.models import ChunkMandateRow, ChunkRow, WindowRow
from aep2.store.models import ExposureRow, MandateRow, StateTransitionRow
from aep2.store.states import UNSETTLED_STATES, MandateState

HeadroomOf = Callable[[str, str, int], int]
"""(payer, token, accepted-but-unsettled) -> what this payee may still accept from the payer."""
PAYERS_SHOWN = 50
"""Payers listed on the overview (largest exposure first): each costs a chain read for headroom."""


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


@dataclass(frozen=True)
class TokenTotals:
    """One token's mandates by outcome: accepted ever, unsettled now, settled, failed."""

    token: str
    accepted: int
    accepted_count: int
    unsettled: int
    unsettled_count: int
    settled: int
    settled_count: int
    failed: int
    failed_count: int
    by_state: dict[str, int]


@dataclass(frozen=True)
class PayerExposure:
    """A payer's accepted-but-unsettled total, and the headroom left (None: no chain configured)."""

    payer: str
    token: str
    unsettled: int
    headroom: int | None


@dataclass(frozen=True)
class Overview:
    tokens: list[TokenTotals]
    payers: list[PayerExposure]
    oldest_unsettled: datetime | None
    headroom_known: bool


def overview(engine: Engine, headroom_of: HeadroomOf | None = None) -> Overview:
    """Totals per token and state, and the payers with the largest exposure."""
    unsettled_states = {s.value for s in UNSETTLED_STATES}
    with Session(engine) as s:
        sums = _sums(s)
        exposures = list(s.execute(select(ExposureRow).where(ExposureRow.unsettled != "0")).scalars())
        oldest = s.execute(
            select(func.min(MandateRow.accepted_at)).where(MandateRow.state.in_(unsettled_states))
        ).scalar_one_or_none()
    tokens = [_token_totals(token, states, unsettled_states) for token, states in sorted(sums.items())]
    exposures.sort(key=lambda e: int(e.unsettled), reverse=True)
    payers = [
        PayerExposure(e.payer, e.token, int(e.unsettled),
                      None if headroom_of is None else headroom_of(e.payer, e.token, int(e.unsettled)))
        for e in exposures[:PAYERS_SHOWN]
    ]  # fmt: skip
    return Overview(tokens, payers, _aware(oldest), headroom_of is not None)


Sums = dict[str, dict[str, list[int]]]
"""token -> state -> [amount, count]"""


def _sums(s: Session) -> Sums:
    out: Sums = defaultdict(dict)
    for (token, state), (amount, count) in exact_sums(
        s, MandateRow.amount, [MandateRow.token, MandateRow.state]
    ).items():
        out[token][state] = [amount, count]
    return out


def _token_totals(token: str, states: dict[str, list[int]], unsettled: set[str]) -> TokenTotals:
    def of(names: set[str]) -> tuple[int, int]:
        return sum(states[n][0] for n in names if n in states), sum(
            states[n][1] for n in names if n in states
        )

    accepted = of(set(states))
    open_ = of(unsettled)
    settled = of({MandateState.SETTLED.value})
    failed = of({MandateState.FAILED.value})
    return TokenTotals(token, *accepted, *open_, *settled, *failed,
                       by_state={name: cell[1] for name, cell in sorted(states.items())})  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One entry of a timeline: when the thing entered ``state``."""

    state: str
    at: datetime


@dataclass(frozen=True)
class ChunkView:
    """One proof of a window: its circuit, its pairs and mandates, and how its mandates moved."""

    id: int
    index: int
    family: str
    n: int
    p: int
    state: str
    attempts: int
    proving_seconds: float | None
    pairs: int
    mandates: int
    settled: int
    total: int
    last_error: str | None
    timeline: list[Step]


@dataclass(frozen=True)
class WindowView:
    """One ``settleMany`` transaction and its chunks."""

    id: int
    state: str
    closed_at: datetime
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    error: str | None
    mandates: int
    settled_mandates: int
    timeline: list[Step]
    chunks: list[ChunkView]


def windows(engine: Engine, *, limit: int = 20) -> list[WindowView]:
    """The last ``limit`` windows, newest first, each with its chunks and their timelines."""
    with Session(engine) as s:
        rows = list(s.execute(select(WindowRow).order_by(WindowRow.id.desc()).limit(limit)).scalars())
        chunks = _chunks_by_window(s, [w.id for w in rows])
        return [_window_view(w, chunks.get(w.id, [])) for w in rows]


def _window_view(w: WindowRow, chunks: list[ChunkView]) -> WindowView:
    steps = [("closed", w.closed_at), ("submitted", w.submitted_at)]
    steps.append((w.state if w.state in ("settled", "failed") else "settled", w.settled_at))
    timeline = [Step(state, at) for state, at in ((n, _aware(t)) for n, t in steps) if at is not None]
    return WindowView(
        w.id, w.state, _aware(w.closed_at) or w.closed_at, w.tx_hash, w.block_number, w.gas_used, w.error,
        mandates=sum(c.mandates for c in chunks), settled_mandates=sum(c.settled for c in chunks),
        timeline=timeline, chunks=chunks,
    )  # fmt: skip


def _chunks_by_window(s: Session, window_ids: list[int]) -> dict[int, list[ChunkView]]:
    if not window_ids:
        return {}
    rows = list(
        s.execute(
            select(ChunkRow)
            .where(ChunkRow.window_id.in_(window_ids))
            .order_by(ChunkRow.window_id, ChunkRow.index)
        ).scalars()
    )
    closed = dict(
        s.execute(select(WindowRow.id, WindowRow.closed_at).where(WindowRow.id.in_(window_ids))).all()
    )
    out: dict[int, list[ChunkView]] = defaultdict(list)
    for c in rows:
        out[c.window_id].append(_chunk_view(s, c, closed[c.window_id]))
    return out


def _chunk_view(s: Session, c: ChunkRow, since: datetime) -> ChunkView:
    """A chunk's mandate count and total, and the first time one of its mandates entered each state
    after its window closed (earlier transitions belong to a window that rolled back)."""
    members = select(ChunkMandateRow.mandate_id).where(ChunkMandateRow.chunk_id == c.id)
    rows = s.execute(select(MandateRow.amount, MandateRow.state).where(MandateRow.id.in_(members))).all()
    firsts = s.execute(
        select(StateTransitionRow.to_state, func.min(StateTransitionRow.at))
        .where(StateTransitionRow.mandate_id.in_(members), StateTransitionRow.at >= since)
        .group_by(StateTransitionRow.to_state)
    ).all()
    timeline = sorted((Step(state, _aware(at) or at) for state, at in firsts), key=lambda step: step.at)
    return ChunkView(
        c.id, c.index, c.family, c.n, c.p, c.state, c.attempts, c.proving_seconds,
        pairs=len(c.settlement.get("pairs", [])), mandates=len(rows),
        settled=sum(state == MandateState.SETTLED.value for _, state in rows),
        total=sum(int(amount) for amount, _ in rows),
        last_error=c.last_error, timeline=timeline,
    )  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """A pair the escrow skipped (with its reason) or a window that failed, from the alert outbox."""

    type: str
    at: datetime
    window_id: int | None
    reason: str
    message: str
    payer: str | None
    total: int | None
    nonces: str | None


def problems(engine: Engine, *, limit: int = 100) -> list[Problem]:
    """Skipped pairs and failed windows, newest first, as the pipeline recorded them for alerts.

    The outbox is where the pipeline writes them, in the transaction that rolled the mandates
    back, so the console and the webhooks can never disagree about what happened.
    """
    query = (
        select(AlertRow.type, AlertRow.created_at, AlertRow.body)
        .where(AlertRow.type.in_([PAIR_SKIPPED, WINDOW_FAILED]))
        .order_by(AlertRow.id.desc())
        .limit(limit)
    )
    with Session(engine) as s:
        rows = s.execute(query).all()
    return [_problem(type_, _aware(at) or at, json.loads(body)["data"]) for type_, at, body in rows]


def _problem(type_: str, at: datetime, data: dict[str, object]) -> Problem:
    if type_ == PAIR_SKIPPED:
        # the pair holds the nonces after the high-water mark ``from_nonce``, through ``to_nonce``
        nonces = f"{int(str(data.get('from_nonce'))) + 1}..{data.get('to_nonce')}"
        return Problem(type_, at, _int(data.get("window_id")), str(data.get("reason")),
                       str(data.get("message")), str(data.get("payer")), _int(data.get("total")),
                       nonces)  # fmt: skip
    return Problem(type_, at, _int(data.get("window_id")), "window failed", str(data.get("reason")),
                   None, None, None)  # fmt: skip


def _int(value: object) -> int | None:
    return int(str(value)) if value is not None else None


@dataclass(frozen=True)
class MandateLine:
    """One mandate of a window, with what a dispute needs to find it (its digest)."""

    id: int
    chunk_id: int
    digest: str
    kind: str
    payer: str
    key_id: int | None
    nonce: int
    amount: int
    state: str
    transport: str
    accepted_at: datetime


@dataclass(frozen=True)
class WindowDetail:
    window: WindowView
    mandates: list[MandateLine]


def window_detail(engine: Engine, window_id: int) -> WindowDetail | None:
    """One window, its chunks and every mandate they hold (by chunk, in witness order); None if
    there is no such window."""
    with Session(engine) as s:
        row = s.get(WindowRow, window_id)
        if row is None:
            return None
        view = _window_view(row, _chunks_by_window(s, [window_id]).get(window_id, []))
        held = s.execute(
            select(MandateRow, ChunkMandateRow.chunk_id)
            .join(ChunkMandateRow, ChunkMandateRow.mandate_id == MandateRow.id)
            .join(ChunkRow, ChunkRow.id == ChunkMandateRow.chunk_id)
            .where(ChunkRow.window_id == window_id)
            .order_by(ChunkRow.index, ChunkMandateRow.position)
        ).all()
        lines = [
            MandateLine(m.id, chunk_id, m.digest, m.kind, m.payer, int(m.key_id) or None, int(m.nonce),
                        int(m.amount), m.state, m.transport, _aware(m.accepted_at) or m.accepted_at)
            for m, chunk_id in held
        ]  # fmt: skip
    return WindowDetail(view, lines)
