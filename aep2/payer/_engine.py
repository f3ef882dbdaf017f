"""The policy engine: runs before every signature and fails closed.

A rule that rejects raises :class:`PolicyViolation` with the rule's reason; a
policy file that cannot be read or validated, and any unexpected error inside
the engine, reject the payment too (reason ``policy_invalid``). Nothing here
ever answers "allowed" by default.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from aep2.errors import ApprovalRequired, PolicyViolation, Reason
from aep2.payer._policy import WEEKDAYS, ActiveHours, Policy, load_policy
from aep2.payer._request import PaymentRequest

HOUR = 3600.0
DAY = 24 * HOUR


class History(Protocol):
    """What the window rules ask of what was spent (the budget ledger, inside the decision's transaction)."""

    def spent_since(self, token: str, since: float) -> int: ...

    def approved_count_since(self, since: float) -> int: ...


def _within(hours: ActiveHours, now: float) -> bool:
    local = datetime.fromtimestamp(now, hours.zone())
    if WEEKDAYS[local.weekday()] not in hours.days:
        return False
    t = local.time().replace(tzinfo=None)
    if hours.start <= hours.end:
        return hours.start <= t < hours.end
    return t >= hours.start or t < hours.end  # the window wraps past midnight


_ALLOW_LISTS: tuple[tuple[str, str, Reason, str], ...] = (
    ("chain_id", "allowed_chains", Reason.POLICY_CHAIN_NOT_ALLOWED, "chain"),
    ("escrow", "allowed_escrows", Reason.POLICY_ESCROW_NOT_ALLOWED, "escrow"),
    ("token", "allowed_tokens", Reason.POLICY_TOKEN_NOT_ALLOWED, "token"),
    ("payee", "allowed_payees", Reason.POLICY_PAYEE_NOT_ALLOWED, "payee"),
)
"""The request's field, the policy's list of allowed values, and the rejection, in the docs' order."""


def _allow_list(request: PaymentRequest, policy: Policy) -> None:
    for field, rule, reason, what in _ALLOW_LISTS:
        allowed = getattr(policy, rule)
        if allowed is not None and (value := getattr(request, field)) not in allowed:
            raise PolicyViolation(f"{what} {value} is not in the policy's allowed {what}s", reason=reason)


def check_request(policy: Policy, request: PaymentRequest, now: float) -> None:
    """The rules about this payment alone: allow-lists, ``max_per_payment``, ``active_hours``."""
    _allow_list(request, policy)
    amount = request.amount
    if policy.max_per_payment is not None and amount > policy.max_per_payment:
        raise PolicyViolation(
            f"amount {amount} is above max_per_payment {policy.max_per_payment}",
            reason=Reason.POLICY_MAX_PER_PAYMENT,
        )
    if policy.active_hours is not None and not _within(policy.active_hours, now):
        h = policy.active_hours
        raise PolicyViolation(
            f"outside active hours {h.start:%H:%M}-{h.end:%H:%M} {h.timezone} on {','.join(h.days)}",
            reason=Reason.POLICY_OUTSIDE_ACTIVE_HOURS,
        )


def check_windows(policy: Policy, request: PaymentRequest, history: History, now: float) -> None:
    """The rolling windows: ``payments_per_hour``, ``hourly_limit``, ``daily_limit``, in that order."""
    if policy.payments_per_hour is not None:
        count = history.approved_count_since(now - HOUR)
        if count + 1 > policy.payments_per_hour:
            raise PolicyViolation(
                f"{count} payments in the last hour; the limit is {policy.payments_per_hour}",
                reason=Reason.POLICY_RATE_LIMIT,
            )
    windows = ((policy.hourly_limit, HOUR, "hourly", Reason.POLICY_HOURLY_LIMIT),
               (policy.daily_limit, DAY, "daily", Reason.POLICY_DAILY_LIMIT))  # fmt: skip
    for limit, span, name, reason in windows:
        if limit is None:
            continue
        spent = history.spent_since(request.token, now - span)
        if spent + request.amount > limit:
            raise PolicyViolation(
                f"{spent} already spent of {request.token} in the {name} window; "
                f"{request.amount} more exceeds the {name}_limit {limit}",
                reason=reason,
            )


def check_approval(policy: Policy, request: PaymentRequest, *, approved: bool) -> None:
    """``approval_above``: last, so an approver can never lift a hard limit."""
    if not approved and policy.approval_above is not None and request.amount > policy.approval_above:
        raise ApprovalRequired(
            f"amount {request.amount} is above approval_above {policy.approval_above}",
            amount=request.amount,
        )


def evaluate(
    policy: Policy, request: PaymentRequest, history: History, now: float, *, approved: bool
) -> None:
    """Raise unless ``policy`` allows ``request`` now: every rule, in the order of ``docs/payer.md``."""
    check_request(policy, request, now)
    check_windows(policy, request, history, now)
    check_approval(policy, request, approved=approved)


def fail_closed(check: Callable[[], None]) -> None:
    """Run ``check``; any error but a rule's own rejection rejects with ``policy_invalid``."""
    try:
        check()
    except PolicyViolation:
        raise
    except Exception as exc:  # fail closed: a bug in a rule is a rejection, not a pass
        raise PolicyViolation(
            f"policy engine error: {type(exc).__name__}: {exc}", reason=Reason.POLICY_INVALID
        ) from exc


class PolicyEngine:
    """A policy from a file (re-read when the file changes) or a fixed :class:`Policy`."""

    def __init__(self, policy: Policy | str | Path) -> None:
        self._fixed = policy if isinstance(policy, Policy) else None
        self._path = None if isinstance(policy, Policy) else Path(policy)
        self._cached: tuple[tuple[int, int], Policy] | None = None

    @property
    def source(self) -> str:
        return str(self._path) if self._path is not None else "<in-memory policy>"

    def current(self) -> Policy:
        """The policy in force; raises :class:`PolicyViolation` if the file is missing or broken."""
        if self._fixed is not None:
            return self._fixed
        assert self._path is not None
        try:
            stat = os.stat(self._path)
        except OSError as exc:
            raise PolicyViolation(
                f"cannot read policy {self._path}: {exc}", reason=Reason.POLICY_INVALID
            ) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._cached is None or self._cached[0] != stamp:
            self._cached = (stamp, load_policy(self._path))
        return self._cached[1]

    def check(self, request: PaymentRequest, history: History, now: float, *, approved: bool = False) -> None:
        """Raise unless the payment is allowed; ``approved`` means a person cleared ``approval_above``."""
        fail_closed(lambda: evaluate(self.current(), request, history, now, approved=approved))
