"""What the payer's console shows, read from the payer's own database, its policy and its grants.

Spend is read where the policy engine reads it: the rolled-up budget ledger
(:func:`aep2.payer._db.window_totals`), which counts every payment in every window it could fall
in, plus any lease still open (leases are released, or run out, within a second). So "counted"
here is exactly what the next payment is checked against. The audit log gives the decisions, the
denials and the approvals a person was asked for; the agent key grants (the sidecar files ``aep2
agent-key authorize`` wrote) give each key's terms, and the escrow, when the console has an RPC
URL, its cap, spent and revocation as the chain sees them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select

from aep2.chain import AgentKeyInfo
from aep2.console.sums import exact_sums
from aep2.errors import Aep2Error, ConfigurationError, Reason
from aep2.payer import APPROVED, REJECTED, AuditEntry, GrantRecord, Policy, load_policy
from aep2.payer import _db as ledger  # the budget ledger's reader: the same sums the policy engine uses
from aep2.payer._engine import DAY, HOUR

KeyInfoOf = Callable[[int], AgentKeyInfo | None]
"""key id -> the escrow's record of the key (None: no such key)."""


@dataclass(frozen=True)
class CapUse:
    """One policy cap over one period: what counts against it now, and the cap (None: no cap)."""

    rule: str
    period: str
    token: str | None
    counted: int
    cap: int | None

    @property
    def share(self) -> float | None:
        return None if not self.cap else self.counted / self.cap


@dataclass(frozen=True)
class PayerSpend:
    payer: str
    caps: list[CapUse]


@dataclass(frozen=True)
class SpendOverview:
    policy_source: str
    policy: dict[str, object] | None
    policy_error: str | None
    payers: list[PayerSpend]
    approved_last_day: int
    rejected_last_day: int


def spend(engine: Engine, policy_path: Path, *, now: float | None = None) -> SpendOverview:
    """Per payer and token, what the hourly and daily windows and the hourly payment count hold."""
    now = time.time() if now is None else now
    policy, error = _policy(policy_path)
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        pairs = cursor.execute(f"SELECT DISTINCT payer, token FROM {ledger.budget_totals.name}").fetchall()
        payers: dict[str, list[CapUse]] = {}
        for payer, token in sorted(pairs):
            caps = payers.setdefault(payer, [])
            for rule, span, period in (
                ("hourly_limit", HOUR, "rolling hour"),
                ("daily_limit", DAY, "rolling day"),
            ):
                amount, _ = ledger.window_totals(cursor, payer=payer, token=token, since=now - span)
                cap = getattr(policy, rule) if policy is not None else None
                caps.append(CapUse(rule, period, token, amount, cap))
        for payer, caps in payers.items():
            _, count = ledger.window_totals(cursor, payer=payer, token=None, since=now - HOUR)
            cap = policy.payments_per_hour if policy is not None else None
            caps.append(CapUse("payments_per_hour", "rolling hour", None, count, cap))
        decided: dict[str, int] = dict(
            conn.execute(
                select(ledger.audit.c.decision, func.count())
                .where(ledger.audit.c.at >= now - DAY)
                .group_by(ledger.audit.c.decision)
            ).all()
        )
    rules = None if policy is None else policy.model_dump(mode="json", exclude_none=True)
    return SpendOverview(str(policy_path), rules, error, [PayerSpend(p, c) for p, c in payers.items()],
                         int(decided.get(APPROVED, 0)), int(decided.get(REJECTED, 0)))  # fmt: skip


def _policy(path: Path) -> tuple[Policy | None, str | None]:
    try:
        return load_policy(path), None
    except Aep2Error as exc:  # the console shows it; the SDK refuses every payment meanwhile
        return None, exc.message


def audit_log(engine: Engine, *, limit: int = 200, decision: str | None = None) -> list[AuditEntry]:
    """The last ``limit`` decisions, newest first (``decision``: only approved or rejected)."""
    query = select(ledger.audit).order_by(ledger.audit.c.id.desc()).limit(limit)
    if decision is not None:
        query = query.where(ledger.audit.c.decision == decision)
    with engine.connect() as conn:
        return [AuditEntry.from_row(row) for row in conn.execute(query)]


SAME_CALL = ("payer", "payee", "resource", "amount")
"""What makes a later approval answer an earlier request for one."""


def approvals_waiting(engine: Engine, *, now: float | None = None, within: float = DAY) -> list[AuditEntry]:
    """Payments refused for want of a person's approval in the last ``within`` seconds, newest first,
    leaving out those approved since (the same payer, payee, resource and amount, approved later).

    The SDK does not hold such a payment open: it refuses it (``approval_required``) unless an
    approver callback clears it, so "waiting" means a person still has to act (approve the
    resource, or raise ``approval_above``) before the agent's retry can pass.
    """
    since = (time.time() if now is None else now) - within
    asked, later = ledger.audit, ledger.audit.alias("later")
    approved_since = (
        select(later.c.id)
        .where(later.c.id > asked.c.id, later.c.decision == APPROVED)
        .where(*(later.c[name].is_not_distinct_from(asked.c[name]) for name in SAME_CALL))
    )
    query = (
        select(asked)
        .where(
            asked.c.at >= since,
            asked.c.decision == REJECTED,
            asked.c.reason == Reason.APPROVAL_REQUIRED.value,
        )
        .where(~approved_since.exists())
        .order_by(asked.c.id.desc())
    )
    with engine.connect() as conn:
        entries = [AuditEntry.from_row(row) for row in conn.execute(query)]
    newest: dict[tuple[object, ...], AuditEntry] = {}
    for entry in entries:  # one line per call, however often the agent retried it
        newest.setdefault(tuple(getattr(entry, name) for name in SAME_CALL), entry)
    return list(newest.values())


@dataclass(frozen=True)
class AgentKeyStatus:
    """An agent key: its grant's terms, what this payer signed with it, and the escrow's view."""

    key_id: int | None
    payer: str
    token: str
    payee: str
    grant_cap: int
    valid_after: int
    valid_until: int
    revoke_at: int
    signed: int
    chain_cap: int | None
    chain_spent: int | None
    chain_revoke_at: int | None
    state: str
    source: str


def agent_keys(
    engine: Engine, grants: Sequence[Path], key_info: KeyInfoOf | None, *, now: float | None = None
) -> list[AgentKeyStatus]:
    """One row per grant file; chain figures None (unknown) without ``key_info``. ``now`` should be
    the chain's latest block time where known: the escrow judges validity and revocation by it."""
    now = time.time() if now is None else now
    records = [(path, GrantRecord.read(path)) for path in grants]
    signed = _signed_per_key(engine, [r.key_id for _, r in records if r.key_id is not None])
    out = []
    for path, record in records:
        g = record.grant
        info = key_info(record.key_id) if key_info is not None and record.key_id is not None else None
        revoke_at = info.revoke_at if info is not None else record.revoke_at
        state = _key_state(record.key_id, g.valid_after, g.valid_until, revoke_at, now)
        out.append(AgentKeyStatus(
            record.key_id, g.payer, g.token, g.payee, g.cap, g.valid_after, g.valid_until, record.revoke_at,
            signed.get(record.key_id, 0) if record.key_id is not None else 0,
            info.cap if info else None, info.spent if info else None, info.revoke_at if info else None,
            state, str(path),
        ))  # fmt: skip
    return out


def _key_state(key_id: int | None, after: int, until: int, revoke_at: int, now: float) -> str:
    if key_id is None:
        return "not registered"
    if revoke_at and revoke_at <= now:
        return "revoked"
    if revoke_at:
        return "revocation pending"
    if now < after:
        return "not yet valid"
    return "expired" if now > until else "active"


def _signed_per_key(engine: Engine, key_ids: Sequence[int]) -> dict[int, int]:
    """Sum of the approved agent mandates of each of ``key_ids``, from the audit log."""
    audit = ledger.audit
    where = [audit.c.decision == APPROVED, audit.c.key_id.in_(list(key_ids))]
    with engine.connect() as conn:
        totals = exact_sums(conn, audit.c.amount, [audit.c.key_id], where)
    return {int(key[0]): amount for key, (amount, _) in totals.items()}


def open_read_only(path: Path) -> Engine:
    """The payer database, read-only. The SDK begins every transaction with ``BEGIN IMMEDIATE``
    (its write lock, :func:`aep2.payer.open_engine`); a console reading through that engine would
    make payments wait for its pages. Create or upgrade the file with ``open_engine`` first."""
    db = path.expanduser().resolve()
    if not db.is_file():
        raise ConfigurationError(f"no payer database at {db} (pass --db, or set AEP2_PAYER_DB)")
    return create_engine(f"sqlite:///file:{db}?mode=ro&uri=true")
