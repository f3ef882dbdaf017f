"""The agent-key rows of ``make bench``: sources, ratios, targets and the memory bound, composed."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.agent_rows import LATENCY_NOT_MEASURED, compose, latency_text, memory_limit
from benchmarks.x402_batch_published import load

X402 = 68_312.0


def _agent_row(workload: str, n: int, p: int, gas: int) -> dict[str, Any]:
    pairs = 1 if workload == "streaming" else p
    return {"workload": workload, "n": n, "p": p, "pairs_used": pairs, "mandates_per_pair": n // pairs,
            "gas": gas, "gas_per_payment": gas / n, "source": "measured"}  # fmt: skip


def _proving(n: int, p: int, peak_mib: int, setup_peak_mib: int | None = None) -> dict[str, Any]:
    return {"n": n, "p": p, "peak_rss_mib": peak_mib, "setup": {"peak_rss_mib": setup_peak_mib}}


AGENT = {
    "rows": [
        _agent_row("scattered", 16, 8, 470_000),
        _agent_row("streaming", 1024, 8, 270_000),
        _agent_row("streaming", 64, 8, 265_000),
    ],
    "proving": [_proving(64, 8, 2_000), _proving(512, 8, 5_900, 6_300), _proving(1024, 8, 10_500, 10_900)],
    "skipped": [],
    "memory_budget_gib": 16.0,
}
GAS_BY_SIZE = {
    "rows": [
        {"n": 8, "p": 4, "filling": "full_pairs", "gas_per_payment": 52_968.0, "groth16_gas": 423_744,
         "source": "measured"},
        {"n": 64, "p": 32, "filling": "full_pairs", "gas_per_payment": 14_290.0, "groth16_gas": 914_560,
         "source": "composed"},
        {"n": 64, "p": 32, "filling": "one_pair", "gas_per_payment": 5_799.0, "groth16_gas": 371_136,
         "source": "composed"},
        {"n": 2, "p": 1, "filling": "full_pairs", "gas_per_payment": 185_568.0, "groth16_gas": 371_136,
         "source": "measured"},
    ]
}  # fmt: skip


@pytest.fixture
def composed() -> dict[str, Any]:
    return compose(AGENT, GAS_BY_SIZE, X402, load())


def test_every_row_says_where_it_comes_from(composed: dict[str, Any]) -> None:
    sources = {(r["scheme"], r["source"]) for r in composed["rows"]}
    assert sources == {
        ("x402 exact", "measured"),
        ("aep2 agent keys", "measured"),
        ("aep2 EIP-712", "measured"),
        ("aep2 EIP-712", "composed"),
        ("x402 batch-settlement", "published"),
    }
    for row in composed["rows"]:
        assert row["ratio_vs_x402_exact"] == pytest.approx(X402 / row["gas_per_payment"])


def test_measured_agent_rows_come_streaming_first_by_size(composed: dict[str, Any]) -> None:
    agent = [(r["workload"], r["n"]) for r in composed["rows"] if r["scheme"] == "aep2 agent keys"]
    assert agent == [("streaming", 64), ("streaming", 1024), ("scattered", 16)]


def test_eip712_scattered_rows_are_those_with_one_or_two_mandates_per_pair(composed: dict[str, Any]) -> None:
    rows = [r for r in composed["rows"] if r["scheme"] == "aep2 EIP-712"]
    assert [(r["n"], r["p"], r["mandates_per_pair"]) for r in rows] == [(8, 4, 2), (64, 32, 2)]


def test_published_rows_match_each_streaming_window_and_both_scattered_densities(
    composed: dict[str, Any],
) -> None:
    rows = [r for r in composed["rows"] if r["source"] == "published"]
    assert sorted(r["n"] for r in rows if r["workload"] == "streaming") == [64, 1024]
    shapes = {(r["mandates_per_pair"], r["opens_channel"]) for r in rows if r["workload"] == "scattered"}
    assert shapes == {(1, False), (2, False), (1, True), (2, True)}


def test_targets_are_judged_on_the_largest_streaming_size_and_the_best_scattered_row(
    composed: dict[str, Any],
) -> None:
    targets = {t["target"]: t for t in composed["targets"]}
    assert targets["streaming"]["size"] == "1024x8"
    assert targets["streaming"]["ratio_vs_x402_exact"] == pytest.approx(X402 * 1024 / 270_000)
    assert targets["streaming"]["met"] is True  # 259x less
    assert targets["streaming moonshot"]["met"] is True
    assert targets["scattered, aep2 agent keys"]["met"] is False  # 2.3x
    eip712 = targets["scattered, aep2 EIP-712"]
    assert (eip712["size"], eip712["source"], eip712["met"]) == ("64x32", "composed", False)


def test_a_published_row_never_meets_a_target_for_aep2(composed: dict[str, Any]) -> None:
    assert all(t["source"] != "published" for t in composed["targets"])


def test_the_next_size_is_extrapolated_from_the_two_largest_of_its_p(composed: dict[str, Any]) -> None:
    limit = composed["memory_limit"]
    # the larger of setup and proving peaks: 6,300 at 512, 10,900 at 1024; 1,024 more mandates
    assert limit["next"] == "2048x8" and limit["largest"] == "1024x8"
    assert limit["next_estimated_peak_gib"] == pytest.approx((10_900 + 2 * 4_600) / 1024)
    assert limit["next_fits"] is False


def test_one_size_alone_extrapolates_proportionally() -> None:
    limit = memory_limit([_proving(64, 8, 2_048)], 16.0)
    assert limit is not None
    assert limit["next"] == "128x8" and limit["next_estimated_peak_gib"] == pytest.approx(4.0)
    assert limit["next_fits"] is True
    assert memory_limit([], 16.0) is None


def test_the_latency_row_says_it_was_not_measured(composed: dict[str, Any]) -> None:
    assert composed["window_close_to_settled_at_largest"] == LATENCY_NOT_MEASURED
    assert LATENCY_NOT_MEASURED.startswith("not measured in this run")


def test_a_measured_close_to_settled_latency_is_reported_with_its_circuit_and_transaction() -> None:
    latency = {
        "circuit": "N=1024,P=8", "calls": 1024, "chunks": 1, "close_to_settled_s": 241.4,
        "proving_s": [230.2], "settle_gas": 285_000, "tx_hash": "0x" + "ab" * 32,
    }  # fmt: skip
    text = latency_text(latency)
    assert text.startswith("241 s at agent N=1024,P=8 (1024 paid calls")
    assert "proved in 230 s" in text and "285,000 gas" in text and "0xabababab" in text
    assert latency_text(None) == LATENCY_NOT_MEASURED
