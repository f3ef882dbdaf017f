"""The bench report renders the committed ``make bench`` run: its table and both plots."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import report

RUN = json.loads(report.LATEST.read_text())


def test_the_table_has_a_row_per_size_and_the_side_by_side_figures() -> None:
    text = report.table(RUN)
    for row in RUN["gas_by_size"]["rows"]:
        if row["filling"] == "one_pair":
            assert f"N={row['n']} (P={row['p']}) one pair, {row['source']}" in text
    assert f"{RUN['x402_exact']['gas_per_payment_median']:,.0f}" in text
    assert f"{RUN['aep2']['added_payee_median_ms']:.2f} ms" in text


def test_the_ratio_says_which_way() -> None:
    assert report._ratio(68_000, 6_800) == "10.0x less"
    assert report._ratio(68_000, 340_000) == "5.0x more"


def test_the_plots_are_png_files(tmp_path: Path) -> None:
    for path in (report.gas_plot(RUN, tmp_path / "gas.png"), report.latency_plot(RUN, tmp_path / "lat.png")):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000


def test_the_committed_run_has_its_agent_rows_each_with_a_source() -> None:
    text = report.table(RUN)
    measured = RUN["agent_keys"]["rows"]
    assert measured and all(r["source"] == "measured" for r in measured)
    for row in RUN["agent_comparison"]["rows"]:
        assert row["source"] in {"measured", "composed", "published"}
        assert f"| {row['workload']} | {row['scheme']} |" in text
    assert all(
        r["source"] == "published" for r in RUN["agent_comparison"]["rows"] if "x402 batch" in r["scheme"]
    )


def test_the_readme_shows_the_committed_run() -> None:
    """The README's bench block is latest.md, rendered from latest.json: none of the three drifts."""
    assert report.TABLE.read_text() == report.table(RUN)
    readme = report.README.read_text()
    assert report.with_bench_block(readme, report.TABLE.read_text()) == readme


def test_the_bench_block_is_replaced_whole() -> None:
    readme = f"intro\n{report.BLOCK_BEGIN}old\ntable\n{report.BLOCK_END}after\n"
    expected = f"intro\n{report.BLOCK_BEGIN}new\n{report.BLOCK_END}after\n"
    assert report.with_bench_block(readme, "new\n") == expected
