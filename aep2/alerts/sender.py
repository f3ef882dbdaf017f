"""Delivering the outbox: claim a due row, POST it signed, record the answer, back off on failure.

One row at a time, each claim and each result its own short transaction, and no transaction open
while a request is in flight (a slow receiver must not hold the store's write lock). A 2xx answer
delivers; anything else (another status, a timeout, a refused connection, a redirect, which is
not followed: the signed body goes to the URL configured and nowhere else) schedules the next
attempt after an exponential backoff with jitter, and after ``max_attempts`` the row is dead
(kept, with its last error, for ``aep2 alerts list --status dead``).

The default schedule (5 s, x4, capped at 10 h, 10 attempts) keeps trying for about a day, so a
receiver that is down overnight still gets every alert. Jitter is "equal jitter": each delay is
drawn from [d/2, d], so senders that failed together do not retry in lockstep, yet the delays
still grow.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Engine

from aep2.alerts import outbox
from aep2.alerts.signing import sign_headers

log = logging.getLogger("aep2.alerts")

USER_AGENT = "aep2-alerts/1"


@dataclass(frozen=True)
class SenderConfig:
    """Where alerts go and how hard the sender tries.

    ``lease`` is how long a claimed row stays away from other senders; it must outlast one
    request (``timeout``), so by default it is twice the timeout plus ten seconds.
    """

    url: str
    key: bytes = field(repr=False)  # the HMAC key of the whsec_ secret (aep2.alerts.signing.secret_key)
    timeout: float = 10.0
    max_attempts: int = 10
    backoff_base: float = 5.0
    backoff_factor: float = 4.0
    backoff_cap: float = 10 * 3600.0
    lease: float | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"alert webhook URL {self.url!r} is not http(s)")
        if self.max_attempts < 1 or self.timeout <= 0 or self.backoff_base < 0:
            raise ValueError("max_attempts >= 1, timeout > 0 and backoff_base >= 0")
        if self.lease is not None and self.lease <= self.timeout:
            raise ValueError(f"lease {self.lease} s must outlast the request timeout {self.timeout} s")

    @property
    def lease_seconds(self) -> float:
        return self.lease if self.lease is not None else 2 * self.timeout + 10


def backoff(attempt: int, config: SenderConfig, rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempt + 1``: ``base * factor^(attempt-1)``, capped, equal jitter."""
    ceiling = min(config.backoff_cap, config.backoff_base * config.backoff_factor ** (attempt - 1))
    return ceiling / 2 + rand() * ceiling / 2


@dataclass
class SendReport:
    delivered: list[str] = field(default_factory=list)  # webhook ids
    retrying: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)


class Sender:
    """Delivers one outbox (an engine holding ``alert_outbox``) to one endpoint."""

    def __init__(
        self,
        engine: Engine,
        config: SenderConfig,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.engine, self.config, self.clock, self.rand = engine, config, clock, rand
        self.client = client or httpx.Client(
            timeout=config.timeout, follow_redirects=False, headers={"user-agent": USER_AGENT}
        )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def send_due(self, *, limit: int = 100) -> SendReport:
        """Deliver up to ``limit`` rows that are due now; rows backing off are left for later."""
        report = SendReport()
        for _ in range(limit):
            claimed = outbox.claim(
                self.engine,
                now=self._now(),
                lease=self.config.lease_seconds,
                max_attempts=self.config.max_attempts,
            )
            if claimed is None:
                break
            error = self._post(claimed)
            if error is None:
                outbox.mark_delivered(self.engine, claimed, now=self._now())
                report.delivered.append(claimed.webhook_id)
                log.info(
                    "alert_delivered id=%s type=%s attempt=%d",
                    claimed.webhook_id,
                    claimed.type,
                    claimed.attempt,
                )
                continue
            retry_at = None
            if claimed.attempt < self.config.max_attempts:
                retry_at = self._now() + timedelta(seconds=backoff(claimed.attempt, self.config, self.rand))
            outbox.mark_failed(self.engine, claimed, error, retry_at=retry_at)
            (report.retrying if retry_at else report.dead).append(claimed.webhook_id)
            log.warning(
                "alert_failed id=%s type=%s attempt=%d retry_at=%s error=%r",
                claimed.webhook_id,
                claimed.type,
                claimed.attempt,
                retry_at.isoformat() if retry_at else "never (dead)",
                error,
            )
        return report

    def _post(self, claimed: outbox.Claimed) -> str | None:
        """None when the receiver answered 2xx, else what went wrong."""
        headers = sign_headers(self.config.key, claimed.webhook_id, int(self.clock()), claimed.body)
        headers["content-type"] = "application/json"
        try:
            response = self.client.post(self.config.url, content=claimed.body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:200]}"

    def run(
        self,
        *,
        poll: float = 1.0,
        before_pass: Callable[[], object] | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Deliver forever (until ``stop()``): a pass, then ``poll`` seconds of sleep when idle.
        ``before_pass`` runs first in every pass (the payer side collects its audit log there)."""
        while not stop():
            if before_pass is not None:
                before_pass()
            report = self.send_due()
            if not (report.delivered or report.retrying or report.dead):
                time.sleep(poll)

    def close(self) -> None:
        self.client.close()
