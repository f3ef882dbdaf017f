"""Step 7 of the payee's check: does what the escrow will let this payee debit cover the mandate?

One deposit backs every payee, so a payee accepting against a payer's free balance takes a
credit risk: another payee may settle first. The payer's reservation for this payee is
debitable by this payee alone (and first), so accepting against it carries none. A payee
chooses: reservations only (``require_reservations``), or reservations plus the free balance
up to ``max_exposure_per_payer``. Funds that may leave before this mandate settles (a
withdrawal or release ready within the settlement horizon) are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from aep2.errors import MandateError, Reason
from aep2.payee.chain_view import PayerPosition


@dataclass(frozen=True)
class Headroom:
    """The payee's headroom rule, fixed at start-up."""

    horizon_seconds: int
    require_reservations: bool = False
    max_exposure_per_payer: int | None = None

    def debitable(self, position: PayerPosition, *, now: int) -> int:
        """What this payee may count on from this payer, before subtracting what it already accepted."""
        settle_by = now + self.horizon_seconds
        reserved = position.reserved_until(settle_by)
        if self.require_reservations:
            return reserved
        free = position.free_until(settle_by)
        if self.max_exposure_per_payer is not None:
            free = min(free, self.max_exposure_per_payer)
        return reserved + free

    def check(self, amount: int, position: PayerPosition, exposure: int, *, now: int) -> None:
        """Raise unless ``amount`` fits in the debitable funds minus ``exposure`` (accepted, unsettled)."""
        debitable = self.debitable(position, now=now)
        headroom = debitable - exposure
        if headroom >= amount:
            return
        if self.require_reservations:
            raise MandateError(
                f"amount {amount} exceeds the payer's reservation headroom {max(headroom, 0)} for this "
                f"payee (reserved {debitable}, accepted but unsettled {exposure}); this payee accepts "
                "only reserved funds",
                reason=Reason.INSUFFICIENT_RESERVATION,
            )
        raise MandateError(
            f"amount {amount} exceeds the payer's headroom {max(headroom, 0)} (debitable {debitable}: "
            f"reserved {position.reserved}, free {position.balance} with {position.pending_withdrawal} "
            f"requested for withdrawal; accepted but unsettled {exposure})",
            reason=Reason.INSUFFICIENT_HEADROOM,
        )
