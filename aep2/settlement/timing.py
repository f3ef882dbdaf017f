"""How long settlement may take at worst, and whether a payee's horizon and the escrow's delay allow it.

A mandate the payee accepts now is settled, at worst, once its window closes (age bound plus a
tick), every proving attempt hangs until reconcile hands it back (``stuck_after`` plus a tick
each), and the receipt wait runs out before the next tick retries. Two things must hold:

* that latency fits in the settlement horizon, or accepted mandates may expire unsettled;
* horizon plus latency stays below the escrow's ``withdrawDelay``, or a payer could request a
  withdrawal and take funds out before a mandate accepted against them settles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from aep2.errors import ConfigurationError
from aep2.settlement.prove import DEFAULT_MAX_PROVE_ATTEMPTS
from aep2.settlement.window import WindowPolicy

DEFAULT_TICK_SECONDS = 30.0
DEFAULT_STUCK_AFTER = 900.0
DEFAULT_RECEIPT_TIMEOUT = 120.0


@dataclass(frozen=True)
class SettlementTiming:
    """The pipeline's time bounds, as its workers are configured."""

    window_max_age: float
    tick: float = DEFAULT_TICK_SECONDS
    prove_attempts: int = DEFAULT_MAX_PROVE_ATTEMPTS
    stuck_after: float = DEFAULT_STUCK_AFTER
    receipt_timeout: float = DEFAULT_RECEIPT_TIMEOUT

    @classmethod
    def from_env(cls) -> SettlementTiming:
        """``AEP2_WINDOW_MAX_AGE``, ``AEP2_TICK_SECONDS`` and ``AEP2_STUCK_AFTER``, as workers read them."""
        env = os.environ
        return cls(
            window_max_age=float(env.get("AEP2_WINDOW_MAX_AGE", WindowPolicy.max_age_seconds)),
            tick=float(env.get("AEP2_TICK_SECONDS", DEFAULT_TICK_SECONDS)),
            stuck_after=float(env.get("AEP2_STUCK_AFTER", DEFAULT_STUCK_AFTER)),
        )

    def worst_case_latency(self) -> float:
        """Seconds from acceptance to a settled receipt when everything that may stall does."""
        close = self.window_max_age + self.tick
        prove = self.prove_attempts * (self.stuck_after + self.tick)
        return close + prove + self.receipt_timeout + self.tick


def check_timing(*, horizon: int, timing: SettlementTiming, withdraw_delay: int) -> None:
    """Refuse a payee configuration under which accepted mandates could go unpaid."""
    latency = timing.worst_case_latency()
    terms = (
        f"window max age {timing.window_max_age:g} s, tick {timing.tick:g} s, {timing.prove_attempts} "
        f"proving attempts of up to AEP2_STUCK_AFTER={timing.stuck_after:g} s, receipt wait "
        f"{timing.receipt_timeout:g} s"
    )
    if latency > horizon:
        raise ConfigurationError(
            f"settlement may take {latency:g} s ({terms}), longer than the settlement horizon of "
            f"{horizon} s: accepted mandates could expire before they settle. Raise "
            "settlement_horizon_seconds or shorten the pipeline's bounds.",
            horizon=horizon,
            latency=latency,
        )
    if horizon + latency >= withdraw_delay:
        raise ConfigurationError(
            f"settlement horizon {horizon} s plus worst-case settlement latency {latency:g} s ({terms}) "
            f"is not below the escrow's withdrawDelay of {withdraw_delay} s: a payer could withdraw "
            "funds before the mandates accepted against them settle. Lower the horizon or the "
            "pipeline's bounds, or use an escrow with a longer withdrawDelay.",
            horizon=horizon,
            latency=latency,
            withdraw_delay=withdraw_delay,
        )
