"""Spending budget in leases: the rolling windows are checked once per lease, not once per payment.

A lease is budget of one token, reserved for a short while (``LEASE_SECONDS``) in one durable
ledger event: an amount and a number of payments, as much as the policy's windows leave and about
twice what the last lease of that token used. Payments inside the lease draw from it in memory,
so their policy check costs a comparison. When a lease runs short, expires or the policy changes,
what is left is released (a negative event) and the next one is reserved in the same transaction,
after the windows were summed from the ledger (:func:`aep2.payer._db.window_totals`).

Why the caps hold (``docs/payer.md``, "The audit log and nonces"): a lease drawn from at time ``t`` has
``opened <= t < until`` and is counted in every window ``[since, now]`` with ``until > since``, so
every payment is counted wherever it could be; each reservation was checked against every earlier
one still counted, so no window holds more than its limit. A process killed with a lease open never
releases it: its whole amount stays counted until its window passes (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aep2.errors import PolicyViolation, Reason
from aep2.payer import _db
from aep2.payer._engine import DAY, HOUR
from aep2.payer._policy import Policy
from aep2.payer._request import PaymentRequest

LEASE_SECONDS = 1.0
"""How long a lease may be drawn from; also how much longer than its last payment it stays counted."""
MAX_LEASE_PAYMENTS = 4096
"""The most payments one lease is sized for (the first is for one; each next for twice what the
last lease of its token paid)."""


class Ledger:
    """The windows' totals as the policy engine asks for them, read inside the decision's transaction."""

    def __init__(self, cursor: Any, payer: str) -> None:
        self._cursor, self._payer = cursor, payer
        self._read: dict[tuple[str | None, float], tuple[int, int]] = {}

    def _totals(self, token: str | None, since: float) -> tuple[int, int]:
        key = (token, since)
        if key not in self._read:
            self._read[key] = _db.window_totals(self._cursor, payer=self._payer, token=token, since=since)
        return self._read[key]

    def spent_since(self, token: str, since: float) -> int:
        return self._totals(token, since)[0]

    def approved_count_since(self, since: float) -> int:
        return self._totals(None, since)[1]


@dataclass
class Lease:
    """Budget of one token this payer may spend in ``[opened, until)`` without asking the ledger."""

    policy: Policy
    opened: float
    until: float
    amount: int
    count: int
    used: int = 0

    def covers(self, policy: Policy, amount: int, now: float) -> bool:
        live = policy is self.policy and self.opened <= now < self.until
        return live and amount <= self.amount and self.count >= 1


def _headroom(limit: int | None, spent: int) -> int | None:
    return None if limit is None else limit - spent


@dataclass
class Budget:
    """One payer's open leases (one per token) and how large to make the next."""

    payer: str
    leases: dict[str, Lease] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def covers(self, policy: Policy, request: PaymentRequest, now: float) -> bool:
        lease = self.leases.get(request.token)
        return lease is not None and lease.covers(policy, request.amount, now)

    def draw(self, request: PaymentRequest) -> None:
        lease = self.leases[request.token]
        lease.amount -= request.amount
        lease.count -= 1
        lease.used += 1

    def release(self, cursor: Any, now: float, *, token: str | None = None, every: bool = False) -> bool:
        """Release ``token``'s lease, those that can no longer be drawn from, or (``every``) all;
        whether any was released."""
        done = [
            name for name, lease in self.leases.items()
            if every or name == token or not lease.opened <= now < lease.until
        ]  # fmt: skip
        for name in done:
            lease = self.leases.pop(name)
            self.sizes[name] = min(max(2 * lease.used, 1), MAX_LEASE_PAYMENTS)
            if lease.amount or lease.count:
                _db.append_event(
                    cursor, payer=self.payer, token=name, at=now, until=lease.until,
                    amount=-lease.amount, count=-lease.count,
                )  # fmt: skip
        return bool(done)

    def others(self, token: str) -> bool:
        """Whether leases of other tokens are open (their payments count against the rate limit)."""
        return any(name != token for name in self.leases)

    def reserve(
        self, cursor: Any, policy: Policy, request: PaymentRequest, ledger: Ledger, now: float
    ) -> None:
        """Open a lease for ``request.token``, once the windows passed the payment with ``ledger``."""
        token, amount = request.token, request.amount
        payments = self.sizes.get(token, 1)
        spend = [payments * amount]
        for limit, span in ((policy.hourly_limit, HOUR), (policy.daily_limit, DAY)):
            left = _headroom(limit, ledger.spent_since(token, now - span))
            if left is not None:
                spend.append(left)
        count = [payments]
        if policy.payments_per_hour is not None:
            count.append(policy.payments_per_hour - ledger.approved_count_since(now - HOUR))
        lease = Lease(policy, now, now + LEASE_SECONDS, min(spend), min(count))
        if lease.amount < amount or lease.count < 1:  # the windows passed it, so a bug: fail closed
            raise PolicyViolation(
                f"a lease of {lease.amount} for {lease.count} payments cannot pay {amount}",
                reason=Reason.POLICY_INVALID,
            )
        _db.append_event(
            cursor, payer=self.payer, token=token, at=now, until=lease.until, amount=lease.amount,
            count=lease.count,
        )  # fmt: skip
        self.leases[token] = lease
