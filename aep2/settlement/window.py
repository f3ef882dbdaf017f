"""When a settlement window closes: by age of its oldest mandate or by count, per payee and token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WindowPolicy:
    """Close when the oldest accepted mandate is ``max_age_seconds`` old or ``max_count`` are waiting.

    The age bound keeps exposure short (and deadlines reachable); the count bound keeps a
    window within what the largest circuits prove in one go.
    """

    max_age_seconds: int = 300
    max_count: int = 64

    def __post_init__(self) -> None:
        if self.max_age_seconds <= 0 or self.max_count <= 0:
            raise ValueError(f"window bounds must be positive, got {self}")

    def should_close(self, *, pending: int, oldest_accepted_at: float | None, now: float) -> bool:
        if pending == 0 or oldest_accepted_at is None:
            return False
        return pending >= self.max_count or now - oldest_accepted_at >= self.max_age_seconds
