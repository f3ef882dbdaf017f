"""The agent-key section of the bench report renders every row, the verdicts and the plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import agent_report, report
from benchmarks.agent_rows import compose
from benchmarks.x402_batch_published import load

X402 = 68_312.0


def _setup(ran: bool) -> dict[str, Any]:
    return {"ran": ran, "seconds": 305.0 if ran else None, "cpu_seconds": 662.0 if ran else None,
            "peak_rss_mib": 10_960 if ran else None}  # fmt: skip


def _proving(n: int, p: int, peak: int, ran: bool) -> dict[str, Any]:
    return {"n": n, "p": p, "constraints": 9_000 * n, "setup": _setup(ran), "key_load_s": 3.2,
            "prove_s": [230.5], "prove_cpu_s": [369.0], "prove_s_per_mandate": 230.5 / n,
            "peak_rss_mib": peak}  # fmt: skip


def _row(workload: str, n: int, p: int, gas: int) -> dict[str, Any]:
    pairs = 1 if workload == "streaming" else p
    return {"workload": workload, "n": n, "p": p, "pairs_used": pairs, "mandates_per_pair": n // pairs,
            "gas": gas, "gas_per_payment": gas / n, "source": "measured"}  # fmt: skip


AGENT = {
    "rows": [
        _row("streaming", 64, 8, 265_000),
        _row("streaming", 1024, 8, 270_000),
        _row("scattered", 16, 8, 470_000),
    ],
    "proving": [_proving(64, 8, 2_000, False), _proving(1024, 8, 10_500, True)],
    "skipped": [[2048, 8, "needs ~21.5 GiB, over the 16 GiB budget"]],
    "memory_budget_gib": 16.0,
}
GAS_BY_SIZE = {"rows": [{"n": 8, "p": 4, "filling": "full_pairs", "gas_per_payment": 52_968.0,
                         "groth16_gas": 423_744, "source": "measured"}]}  # fmt: skip
COMPARISON = compose(AGENT, GAS_BY_SIZE, X402, load())


def test_every_row_is_in_the_table_with_its_source() -> None:
    text = "\n".join(agent_report.agent_table(COMPARISON, AGENT))
    assert text.count("| streaming | aep2 agent keys |") == 2
    assert "| scattered | aep2 agent keys | N=16 P=8 (2 per pair) | 29,375 | 2.3x less | measured |" in text
    assert "| scattered | aep2 EIP-712 | N=8 P=4 (2 per pair) | 52,968 | 1.3x less | measured |" in text
    assert "| streaming | x402 batch-settlement | 1,024 payments per claim | 59.8 |" in text
    assert "| scattered | x402 batch-settlement | 2 per channel, channel opened for them |" in text
    published = [line for line in text.splitlines() if "x402 batch-settlement |" in line]
    assert published and all(line.endswith("| published |") for line in published)


def test_the_verdicts_the_memory_bound_and_the_sources_are_spelled_out() -> None:
    text = "\n".join(agent_report.agent_table(COMPARISON, AGENT))
    assert "Target streaming (at most 1/100 of x402 exact), at 1024x8: **met**" in text
    assert "Target scattered, aep2 agent keys (at most 1/5 of x402 exact), at 16x8: **not met**" in text
    assert "2048x8 would need" in text and "does not fit the 16 GiB budget" in text
    assert "Agent N=2048 P=8 not proved: needs ~21.5 GiB" in text
    assert "x402-foundation/x402" in text and load().commit in text
    assert "not measured in this run" in text
    assert "| N=1024 P=8 | 9,216,000 | 305 s (662 CPU-s), 10.7 GiB, this run | 3.2 s |" in text
    assert "| N=64 P=8 | 576,000 | cached, not measured |" in text


def test_the_main_table_carries_the_agent_section_when_the_run_has_one() -> None:
    run = json.loads(report.LATEST.read_text())
    run |= {"agent_comparison": COMPARISON, "agent_keys": AGENT}
    assert "Agent keys: gas per payment with real Groth16 proofs" in report.table(run)


def test_the_agent_plot_is_a_png(tmp_path: Path) -> None:
    path = agent_report.agent_plot({"agent_comparison": COMPARISON}, tmp_path / "agent.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000
