"""The agent-key rows of ``make bench``: measured, composed and published figures side by side.

:func:`compose` is pure: it takes one run's agent measurements (``benchmarks.agent_gas``), its
EIP-712 gas by size (``benchmarks.gas_by_size``), its per-call x402 ``exact`` gas and the published
x402 ``batch-settlement`` snapshot (``benchmarks.x402_batch_published``) and returns every row with
its ``source`` (``measured``: a receipt in this run; ``composed``: the EIP-712 stand-in plus the
measured verifier delta; ``published``: x402's own snapshot, not run here), the issue's targets with
whether they are met, and what bounds the largest agent size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.x402_batch_published import Published, scattered, streaming

STREAMING_TARGET = 100  # streaming: at most 1/100 of x402 exact per payment at the largest size
STREAMING_MOONSHOT = 250
SCATTERED_TARGET = 5  # scattered: at most 1/5
SCATTERED_MAX_PER_PAIR = 2  # "one or two mandates per pair"
LATENCY_NOT_MEASURED = "not measured in this run (`--agent-settle-size ''` skipped it)"

Row = dict[str, Any]


def _row(workload: str, scheme: str, per_payment: float, x402: float, source: str, **extra: Any) -> Row:
    return {
        "workload": workload,
        "scheme": scheme,
        "gas_per_payment": per_payment,
        "ratio_vs_x402_exact": x402 / per_payment,
        "source": source,
        **extra,
    }


def agent_rows(agent: Mapping[str, Any], x402: float) -> list[Row]:
    """The measured agent-key rows, streaming then scattered, by size."""
    rows = sorted(agent["rows"], key=lambda r: (r["workload"] != "streaming", r["n"], r["p"]))
    return [
        _row(
            r["workload"],
            "aep2 agent keys",
            r["gas_per_payment"],
            x402,
            r["source"],
            n=r["n"],
            p=r["p"],
            mandates_per_pair=r["mandates_per_pair"],
            pairs=r["pairs_used"],
            settlement_gas=r["gas"],
        )
        for r in rows
    ]


def batch_scattered_rows(gas_by_size: Mapping[str, Any], x402: float) -> list[Row]:
    """EIP-712 (``batch`` family) rows with one or two mandates per pair, from ``gas_by_size``."""
    rows = [
        r
        for r in gas_by_size["rows"]
        if r["filling"] == "full_pairs"
        and r["p"] > 1
        and r["n"] // r["p"] <= SCATTERED_MAX_PER_PAIR
        and r["gas_per_payment"] is not None
    ]
    return [
        _row(
            "scattered",
            "aep2 EIP-712",
            r["gas_per_payment"],
            x402,
            r["source"],
            n=r["n"],
            p=r["p"],
            mandates_per_pair=r["n"] // r["p"],
            pairs=r["p"],
            settlement_gas=r["groth16_gas"],
        )
        for r in sorted(rows, key=lambda r: r["n"])
    ]


def published_rows(published: Published, streaming_sizes: Sequence[int], x402: float) -> list[Row]:
    """x402 ``batch-settlement`` at each streaming window size, and scattered at 1 and 2 per channel,
    on open channels and on channels opened for those payments."""
    rows = [streaming(published, n) for n in sorted(set(streaming_sizes))]
    rows += [
        scattered(published, per_channel, opens_channel=opens)
        for opens in (False, True)
        for per_channel in range(1, SCATTERED_MAX_PER_PAIR + 1)
    ]
    return [
        _row(
            r.workload,
            "x402 batch-settlement",
            r.gas_per_payment,
            x402,
            r.source,
            n=r.payments_per_window,
            mandates_per_pair=r.payments_per_channel,
            opens_channel=r.opens_channel,
            formula=r.formula,
        )
        for r in rows
    ]


def targets(rows: Sequence[Row]) -> list[Row]:
    """The issue's targets, judged on measured and composed rows (never on published ones)."""
    judged: list[Row] = []
    mine = [r for r in rows if r["scheme"].startswith("aep2") and r["source"] != "published"]
    stream = [r for r in mine if r["workload"] == "streaming"]
    if stream:
        largest = max(stream, key=lambda r: (r["n"], r["p"]))
        for name, ratio in (("streaming", STREAMING_TARGET), ("streaming moonshot", STREAMING_MOONSHOT)):
            judged.append(_target(name, ratio, largest))
    for scheme in ("aep2 agent keys", "aep2 EIP-712"):
        candidates = [r for r in mine if r["workload"] == "scattered" and r["scheme"] == scheme]
        if candidates:
            best = max(candidates, key=lambda r: r["ratio_vs_x402_exact"])
            judged.append(_target(f"scattered, {scheme}", SCATTERED_TARGET, best))
    return judged


def _target(name: str, ratio: int, row: Row) -> Row:
    return {
        "target": name,
        "at_most": f"1/{ratio} of x402 exact",
        "size": f"{row['n']}x{row['p']}",
        "ratio_vs_x402_exact": row["ratio_vs_x402_exact"],
        "source": row["source"],
        "met": row["ratio_vs_x402_exact"] >= ratio,
    }


def _peak_mib(record: Mapping[str, Any]) -> int:
    setup = record["setup"].get("peak_rss_mib") or 0
    return max(int(record["peak_rss_mib"]), int(setup))


def memory_limit(proving: Sequence[Mapping[str, Any]], budget_gib: float) -> Row | None:
    """Whether the next size (2N at the largest size's P) fits the budget, by the peak memory's
    slope per mandate between the two largest sizes of that P (proportional with only one)."""
    if not proving:
        return None
    largest = max(proving, key=lambda r: (r["n"], r["p"]))
    same_p = sorted(
        (r for r in proving if r["p"] == largest["p"] and r["n"] < largest["n"]), key=lambda r: r["n"]
    )
    peak = _peak_mib(largest)
    if same_p:
        below = same_p[-1]
        slope = (peak - _peak_mib(below)) / (largest["n"] - below["n"])
        basis = f"slope between {below['n']}x{below['p']} and {largest['n']}x{largest['p']}"
    else:
        slope, basis = peak / largest["n"], f"proportional to {largest['n']}x{largest['p']}"
    estimate_gib = (peak + slope * largest["n"]) / 1024
    return {
        "largest": f"{largest['n']}x{largest['p']}",
        "largest_peak_gib": peak / 1024,
        "next": f"{2 * largest['n']}x{largest['p']}",
        "next_estimated_peak_gib": estimate_gib,
        "budget_gib": budget_gib,
        "next_fits": estimate_gib <= budget_gib,
        "basis": f"peak of setup and proving, {basis}",
    }


def latency_text(latency: Mapping[str, Any] | None) -> str:
    """``benchmarks.agent_settle_latency``'s result in one line, or why there is none."""
    if latency is None:
        return LATENCY_NOT_MEASURED
    proving = ", ".join(f"{s:.0f} s" for s in latency["proving_s"])
    return (
        f"{latency['close_to_settled_s']:.0f} s at agent {latency['circuit']} ({latency['calls']} paid calls "
        f"of one agent key over HTTP, {latency['chunks']} chunk(s) proved in {proving} by the Celery "
        f"worker, one settleMany of {latency['settle_gas']:,} gas, tx {latency['tx_hash'][:10]}…)"
    )


def compose(
    agent: Mapping[str, Any],
    gas_by_size: Mapping[str, Any],
    x402_exact_gas: float,
    published: Published,
    latency: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every agent-key row of the run and what they add up to (see the module docstring);
    ``latency`` is ``benchmarks.agent_settle_latency``'s result at the largest size, if measured."""
    measured = agent_rows(agent, x402_exact_gas)
    stream_sizes = [r["n"] for r in measured if r["workload"] == "streaming"]
    rows = [
        _row("per call", "x402 exact", x402_exact_gas, x402_exact_gas, "measured", n=1, mandates_per_pair=1),
        *measured,
        *batch_scattered_rows(gas_by_size, x402_exact_gas),
        *published_rows(published, stream_sizes, x402_exact_gas),
    ]
    return {
        "x402_exact_gas_per_payment": x402_exact_gas,
        "rows": rows,
        "targets": targets(rows),
        "memory_limit": memory_limit(agent["proving"], agent["memory_budget_gib"]),
        "skipped": agent["skipped"],
        "published": {
            "citation": published.citation,
            "repository": published.repository,
            "path": published.path,
            "commit": published.commit,
            "test": published.test,
            "test_commit": published.test_commit,
            "measures": published.measures,
        },
        "window_close_to_settled_at_largest": latency_text(latency),
        "agent_settle_latency": dict(latency) if latency is not None else None,
    }
