"""Cutting a closed window of accepted mandates into chunks the circuits can prove.

The escrow settles a pair only if its ``fromNonce`` equals the stored
high-water mark, and ``settleMany`` applies chunks in order; so a pair's
mandates go in nonce order, a pair that is split over several chunks appears
in consecutive chunks, and a mandate that cannot settle now (over the payer's
balance, or behind one that cannot) waits for a later window instead of
breaking the chain of nonces. Nonces run per pair across tokens while a
settlement has one token, so a pair that pays in two tokens is cut into
alternating chunks in nonce order. Mandates too close to their deadline to make it
on chain are reported as expired, never dropped silently. Payers with a pending
withdrawal go first (their funds leave at ``readyAt``), then those nearest their
deadline. A pair's budget is its payer's reservation for that payee, debited
first, plus the payer's free balance, as the escrow debits them.

Agent-key mandates (``key_id`` ≥ 1) form pairs per (agent key, payee) with the key's own
settled mark; their budget is also bounded by what the key's cap has left, and they are
chunked only onto circuits of the ``agent`` family (EIP-712 mandates onto ``batch`` ones),
so one window may yield chunks of both families.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Deferral(StrEnum):
    """Why a mandate is not in this window's plan."""

    EXPIRED = "expired"  # cannot reach the chain before its deadline: fails for good
    STALE_NONCE = "stale_nonce"  # at or below the on-chain high-water mark: fails for good
    INSUFFICIENT_BALANCE = "insufficient_balance"  # waits: the payer may top up
    BEHIND_DEFERRED = "behind_deferred"  # waits: an earlier nonce of its pair is waiting
    KEY_CAP = "key_cap"  # waits: over what the agent key's cap has left
    NO_CIRCUIT = "no_circuit"  # waits: no usable circuit of its family


@dataclass(frozen=True)
class PendingMandate:
    id: int
    payer: str
    payee: str
    token: str
    amount: int
    nonce: int
    deadline: int
    key_id: int = 0  # an agent mandate's key; 0: an EIP-712 mandate

    @property
    def family(self) -> str:
        return AGENT if self.key_id else BATCH


BATCH = "batch"
AGENT = "agent"


@dataclass(frozen=True)
class CircuitSize:
    """A registered verifier: its id, how many mandate and pair slots its circuit has, its family."""

    verifier_id: int
    mandates: int
    pairs: int
    family: str = BATCH


@dataclass(frozen=True)
class PairSlice:
    """Consecutive mandates of one pair inside one chunk: (payer, payee), or (agent key, payee)."""

    payer: str
    payee: str
    from_nonce: int
    mandates: tuple[PendingMandate, ...]
    key_id: int = 0

    @property
    def to_nonce(self) -> int:
        return self.mandates[-1].nonce

    @property
    def total(self) -> int:
        return sum(m.amount for m in self.mandates)


@dataclass(frozen=True)
class Chunk:
    """One proof's worth of work: a settlement for one token on one circuit size."""

    circuit: CircuitSize
    token: str
    pairs: tuple[PairSlice, ...]

    @property
    def family(self) -> str:
        return self.circuit.family

    @property
    def not_after(self) -> int:
        return min(m.deadline for pair in self.pairs for m in pair.mandates)

    @property
    def mandate_count(self) -> int:
        return sum(len(pair.mandates) for pair in self.pairs)


@dataclass(frozen=True)
class Plan:
    chunks: tuple[Chunk, ...]
    deferred: tuple[tuple[PendingMandate, Deferral], ...] = field(default=())


PairKey = tuple[str, str]


@dataclass(frozen=True)
class PlanInputs:
    """What the planner reads from the chain and the clock, once per window."""

    high_water: Mapping[PairKey, int]
    available: Mapping[tuple[str, str], int]  # (payer, token) -> free balance not yet spoken for
    now: int
    submit_margin: int  # seconds a proof and its transaction may take
    reserved: Mapping[tuple[str, str, str], int] = field(default_factory=dict)  # (payer, payee, token)
    leaving_at: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (payer, token) -> readyAt
    agent_high_water: Mapping[tuple[int, str], int] = field(default_factory=dict)  # (key id, payee)
    key_left: Mapping[int, int] = field(default_factory=dict)  # key id -> cap - spent, not yet spoken for

    def mark(self, m: PendingMandate) -> int:
        """The settled high-water mark of ``m``'s pair."""
        if m.key_id:
            return self.agent_high_water.get((m.key_id, m.payee), 0)
        return self.high_water.get((m.payer, m.payee), 0)


def plan_window(mandates: Iterable[PendingMandate], sizes: Sequence[CircuitSize], inputs: PlanInputs) -> Plan:
    """Group, order, filter and chunk ``mandates``; see the module docstring for the rules."""
    if not sizes:
        raise ValueError("no circuit sizes registered")
    mandates = list(mandates)
    families = {size.family for size in sizes}
    waiting = [(m, Deferral.NO_CIRCUIT) for m in mandates if m.family not in families]
    ready, deferred = _select([m for m in mandates if m.family in families], inputs)
    chunks: list[Chunk] = []
    for family in (BATCH, AGENT):
        pairs = [pair for pair in ready if pair[0].family == family]
        if pairs:
            chunks += _cut(pairs, inputs, [s for s in sizes if s.family == family])
    return Plan(tuple(chunks), tuple(deferred + waiting))


def _select(
    mandates: list[PendingMandate], inputs: PlanInputs
) -> tuple[list[list[PendingMandate]], list[tuple[PendingMandate, Deferral]]]:
    """Per pair, the nonce-ordered prefix that can settle now, most urgent pair first."""
    pairs: dict[tuple[str, int, str], list[PendingMandate]] = defaultdict(list)
    for m in mandates:
        pairs[(m.payer, m.key_id, m.payee)].append(m)
    ordered = sorted(pairs.values(), key=lambda ms: _urgency(ms, inputs))
    free = defaultdict(int, inputs.available)
    reserved = defaultdict(int, inputs.reserved)
    key_left = defaultdict(int, inputs.key_left)
    ready: list[list[PendingMandate]] = []
    deferred: list[tuple[PendingMandate, Deferral]] = []
    for pair in ordered:
        taken: list[PendingMandate] = []
        blocked = False
        for m in sorted(pair, key=lambda m: m.nonce):
            budget = reserved[(m.payer, m.payee, m.token)] + free[(m.payer, m.token)]
            if m.nonce <= inputs.mark(m):
                deferred.append((m, Deferral.STALE_NONCE))
            elif m.deadline < inputs.now + inputs.submit_margin:
                deferred.append((m, Deferral.EXPIRED))
            elif blocked:
                deferred.append((m, Deferral.BEHIND_DEFERRED))
            elif m.amount > budget:
                blocked = True
                deferred.append((m, Deferral.INSUFFICIENT_BALANCE))
            elif m.key_id and m.amount > key_left[m.key_id]:
                blocked = True
                deferred.append((m, Deferral.KEY_CAP))
            else:
                from_reserved = min(m.amount, reserved[(m.payer, m.payee, m.token)])
                reserved[(m.payer, m.payee, m.token)] -= from_reserved
                free[(m.payer, m.token)] -= m.amount - from_reserved
                if m.key_id:
                    key_left[m.key_id] -= m.amount
                taken.append(m)
        if taken:
            ready.append(taken)
    return ready, deferred


def _urgency(pair: list[PendingMandate], inputs: PlanInputs) -> tuple[int, int, int, str, int, str]:
    """Sort key: payers whose withdrawal is pending first (earliest ``readyAt``), then deadlines."""
    leaving = [inputs.leaving_at[(m.payer, m.token)] for m in pair if (m.payer, m.token) in inputs.leaving_at]
    first = pair[0]
    return (
        0 if leaving else 1,
        min(leaving, default=0),
        min(m.deadline for m in pair),
        first.payer,
        first.key_id,
        first.payee,
    )


def _token_runs(pair: list[PendingMandate]) -> list[list[PendingMandate]]:
    """Split a nonce-ordered pair where the token changes: one settlement has one token."""
    runs: list[list[PendingMandate]] = []
    for m in pair:
        if runs and runs[-1][0].token == m.token:
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


@dataclass
class _OpenChunk:
    token: str
    slices: list[PairSlice] = field(default_factory=list)
    count: int = 0


def _cut(pairs: list[list[PendingMandate]], inputs: PlanInputs, sizes: Sequence[CircuitSize]) -> list[Chunk]:
    """Fill chunks of the largest circuit greedily, then shrink each to the smallest that fits.

    A pair's pieces land in strictly later chunks than its earlier pieces, because
    ``settleMany`` applies chunks in order and each piece starts at the previous one's end.
    """
    largest = max(sizes, key=lambda s: (s.mandates, s.pairs))
    chunks: list[_OpenChunk] = []
    open_for: dict[str, int] = {}
    for pair in pairs:
        from_nonce = inputs.mark(pair[0])
        last_index = -1
        for run in _token_runs(pair):
            rest = run
            while rest:
                index = open_for.get(run[0].token, -1)
                if index <= last_index or _full(chunks[index], largest):
                    chunks.append(_OpenChunk(run[0].token))
                    index = open_for[run[0].token] = len(chunks) - 1
                chunk = chunks[index]
                piece, rest = rest[: largest.mandates - chunk.count], rest[largest.mandates - chunk.count :]
                first = piece[0]
                chunk.slices.append(
                    PairSlice(first.payer, first.payee, from_nonce, tuple(piece), first.key_id)
                )
                chunk.count += len(piece)
                from_nonce, last_index = piece[-1].nonce, index
    return [Chunk(_smallest_fit(sizes, c), c.token, tuple(c.slices)) for c in chunks]


def _full(chunk: _OpenChunk, largest: CircuitSize) -> bool:
    return chunk.count >= largest.mandates or len(chunk.slices) >= largest.pairs


def _smallest_fit(sizes: Sequence[CircuitSize], chunk: _OpenChunk) -> CircuitSize:
    fitting = [s for s in sizes if s.mandates >= chunk.count and s.pairs >= len(chunk.slices)]
    return min(fitting, key=lambda s: (s.mandates, s.pairs))
