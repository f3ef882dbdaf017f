"""Repeated timing with medians and tails: these machines are noisy, so never a single run."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Distribution:
    """Milliseconds over ``runs`` samples: what each paid-call benchmark reports per latency."""

    runs: int
    median_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def of(cls, values_ms: list[float]) -> Distribution:
        ordered = sorted(values_ms)
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        return cls(len(ordered), statistics.median(ordered), p99, ordered[0], ordered[-1])


@dataclass(frozen=True)
class Sample:
    name: str
    runs: int
    median_us: float
    p99_us: float
    min_us: float


def measure(
    name: str,
    fn: Callable[[], object],
    *,
    runs: int = 2_000,
    warmup: int = 100,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> Sample:
    """Time ``fn`` ``runs`` times; ``clock`` may be ``time.thread_time_ns`` to leave out the time
    the thread spent preempted (other processes on a shared machine)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = clock()
        fn()
        times.append((clock() - started) / 1_000)
    times.sort()
    return Sample(name, runs, statistics.median(times), times[int(0.99 * (runs - 1))], times[0])


def write_results(stem: str, payload: dict[str, object]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{stem}.json"
    path.write_text(json.dumps(payload, indent=2, default=asdict) + "\n")
    return path
