"""The measured phases of a paid-call benchmark, one driver for every scheme so each is timed alike.

Against one payee process: warm-up, unpaid ``GET /free`` calls, ``calls`` paid ``GET /paid`` calls
from one client one after the other, then ``calls`` more spread over every client at once. Each
call records what the client waited and what the payee's ``Server-Timing`` header says it took,
and keeps its response, so the scheme's own code can check what the payment left (a settlement
transaction, a receipt). Anything but a ``200`` raises.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from benchmarks._server import payee_ms
from benchmarks._timing import Distribution

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


def latency_figures(phases: Phases) -> dict[str, Any]:
    """The figures both schemes report alike, by their result fields' names: the sequential phase's
    distributions, paid minus unpaid, and calls per second in each paid phase."""
    calls = len(phases.sequential)
    payee_unpaid = Distribution.of([c.payee_ms for c in phases.unpaid])
    payee_paid = Distribution.of([c.payee_ms for c in phases.sequential])
    client_unpaid = Distribution.of([c.client_ms for c in phases.unpaid])
    client_paid = Distribution.of([c.client_ms for c in phases.sequential])
    return {
        "calls": calls,
        "payee_unpaid": payee_unpaid,
        "payee_paid": payee_paid,
        "added_payee_median_ms": payee_paid.median_ms - payee_unpaid.median_ms,
        "added_payee_p99_ms": payee_paid.p99_ms - payee_unpaid.p99_ms,
        "client_unpaid": client_unpaid,
        "client_paid": client_paid,
        "added_client_median_ms": client_paid.median_ms - client_unpaid.median_ms,
        "sequential_calls_per_s": calls / phases.sequential_s,
        "concurrent_calls_per_s": len(phases.concurrent) / phases.concurrent_s,
    }


class LatencyResult(Protocol):
    """What :func:`latency_rows` reads; both schemes' results have it (see :func:`latency_figures`)."""

    @property
    def payee_unpaid(self) -> Distribution: ...
    @property
    def payee_paid(self) -> Distribution: ...
    @property
    def added_payee_median_ms(self) -> float: ...
    @property
    def added_payee_p99_ms(self) -> float: ...
    @property
    def client_unpaid(self) -> Distribution: ...
    @property
    def client_paid(self) -> Distribution: ...


def latency_rows(result: LatencyResult, paid_route: str) -> list[str]:
    """The latency block of a scheme's printed table; ``paid_route`` says what the paid route does."""

    def row(name: str, d: Distribution) -> str:
        return f"{name:44} {d.median_ms:10.2f} {d.p99_ms:10.2f} {d.runs:6}"

    return [
        f"{'latency (ms)':44} {'median':>10} {'p99':>10} {'n':>6}",
        row("payee handling, unpaid route", result.payee_unpaid),
        row(f"payee handling, paid route ({paid_route})", result.payee_paid),
        f"{'  added by payment, payee side':44} {result.added_payee_median_ms:10.2f} "
        f"{result.added_payee_p99_ms:10.2f}",
        row("client end to end, unpaid", result.client_unpaid),
        row("client end to end, paid (402 + retry)", result.client_paid),
    ]


def add_call_options(parser: argparse.ArgumentParser) -> None:
    """The options every scheme's ``python -m`` entry takes."""
    parser.add_argument("--calls", type=int, default=50, help="paid calls per phase (default 50)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--price", type=int, default=1_000, help="base units per call (default 1000)")
    parser.add_argument(
        "--block-time", type=float, default=None, help="anvil block time in s (default: automine)"
    )


def machine() -> dict[str, Any]:
    """Where a result was measured: processor and the CPUs this process may use."""
    return {"machine": platform.processor() or platform.machine(), "cpus": len(os.sched_getaffinity(0))}
