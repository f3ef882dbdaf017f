"""The measured phases of a paid-call benchmark, one driver for every scheme so each is timed alike.

Against one payee process: warm-up, unpaid ``GET /free`` calls, ``calls`` paid ``GET /paid`` calls
from one client one after the other, then ``calls`` more spread over every client at once. Each
call records what the client waited and what the payee's ``Server-Timing`` header says it took,
and keeps its response, so the scheme's own code can check what the payment left (a settlement
transaction, a receipt). Anything but a ``200`` raises.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from benchmarks._server import payee_ms

WARMUP_CALLS = 2
"""Calls before measuring, unpaid and paid: connection pools, caches, and whatever a scheme does
once per payee (for x402 ``exact``, the first transfer into an empty balance)."""
MIN_UNPAID_CALLS = 20


@dataclass(frozen=True)
class Call:
    """One call: milliseconds the client waited, milliseconds the payee handled it, its response."""

    client_ms: float
    payee_ms: float
    response: httpx.Response = field(repr=False)


@dataclass(frozen=True)
class Phases:
    warmup: list[Call]
    unpaid: list[Call]
    sequential: list[Call]
    sequential_s: float
    concurrent: list[Call]
    concurrent_s: float

    @property
    def paid(self) -> list[Call]:
        """Every paid call, warm-up first, then sequential, then concurrent."""
        return self.warmup + self.sequential + self.concurrent


async def timed_get(client: httpx.AsyncClient, path: str) -> Call:
    started = time.perf_counter_ns()
    response = await client.get(path)
    elapsed_ms = (time.perf_counter_ns() - started) / 1e6
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return Call(elapsed_ms, payee_ms(response), response)


async def sequential(client: httpx.AsyncClient, path: str, count: int) -> list[Call]:
    return [await timed_get(client, path) for _ in range(count)]


def shares(calls: int, clients: int) -> list[int]:
    """``calls`` split over ``clients`` as evenly as integers allow, the larger shares first."""
    return [calls // clients + (i < calls % clients) for i in range(clients)]


async def measure(payee_url: str, clients: list[httpx.AsyncClient], calls: int) -> Phases:
    """Run the phases against ``payee_url``; ``clients`` pay (one payer each), and the caller closes them."""
    async with httpx.AsyncClient(base_url=payee_url, timeout=60) as plain:
        await sequential(plain, "/free", WARMUP_CALLS)
        unpaid = await sequential(plain, "/free", max(calls, MIN_UNPAID_CALLS))
    warmup = await sequential(clients[0], "/paid", WARMUP_CALLS)
    started = time.perf_counter()
    one_by_one = await sequential(clients[0], "/paid", calls)
    sequential_s = time.perf_counter() - started

    started = time.perf_counter()
    batches = await asyncio.gather(
        *(sequential(c, "/paid", n) for c, n in zip(clients, shares(calls, len(clients)), strict=True))
    )
    concurrent_s = time.perf_counter() - started
    concurrent = [call for batch in batches for call in batch]
    return Phases(warmup, unpaid, one_by_one, sequential_s, concurrent, concurrent_s)
