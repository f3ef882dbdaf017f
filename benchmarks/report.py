"""The combined benchmark's report: a markdown table and the plots from ``results/latest.json``.

    python -m benchmarks.report      # re-render from the last ``make bench`` run

Kept apart from the run (``benchmarks/__main__.py``) so the figures can be re-rendered, and
reviewed, without measuring again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on build machines
import matplotlib.pyplot as plt

from benchmarks import agent_report
from benchmarks._render import fmt as _fmt
from benchmarks._render import ratio as _ratio
from benchmarks._render import save as _save
from benchmarks._timing import RESULTS

LATEST = RESULTS / "latest.json"
TABLE = RESULTS / "latest.md"
GAS_PLOT = RESULTS / "gas_per_payment.png"
LATENCY_PLOT = RESULTS / "latency.png"
AGENT_PLOT = RESULTS / "agent_gas_per_payment.png"
README = RESULTS.parents[1] / "README.md"
BLOCK_BEGIN = "<!-- bench:begin (benchmarks/results/latest.md) -->\n"
BLOCK_END = "<!-- bench:end -->\n"


def gas_rows(run: dict[str, Any], filling: str) -> list[dict[str, Any]]:
    return sorted((r for r in run["gas_by_size"]["rows"] if r["filling"] == filling), key=lambda r: r["n"])


def table(run: dict[str, Any]) -> str:
    """The side-by-side table: one row per figure, per-call x402 ``exact`` against aep2."""
    x402, aep2, settle = run["x402_exact"], run["aep2"], run["settlement"]
    gas = run["gas_by_size"]
    x402_gas = x402["gas_per_payment_median"]
    machine, config = run["machine"], run["config"]
    lines = [
        f"Measured {machine['date']} on {machine['cpus']} cores (load average "
        f"{machine['load_before']:.1f} before, {machine['load_after']:.1f} after); one anvil (automine), "
        f"{config['calls']} sequential + {config['calls']} concurrent paid calls "
        f"({config['concurrency']} clients) per scheme, price {config['price']} base units.",
        "",
        "| figure | per-call x402 `exact` | aep2 | aep2 vs x402 |",
        "|---|---|---|---|",
    ]
    for r in gas_rows(run, "one_pair"):
        label = f"gas per payment, N={r['n']} (P={r['p']}) one pair, {r['source']}"
        lines.append(
            f"| {label} | {_fmt(x402_gas)} | {_fmt(r['gas_per_payment'])} | "
            f"{_ratio(x402_gas, r['gas_per_payment'])} |"
        )
    for r in gas_rows(run, "full_pairs"):
        if r["p"] > 1:
            label = f"gas per payment, N={r['n']} P={r['p']} ({r['n'] // r['p']} per pair), {r['source']}"
            lines.append(
                f"| {label} | {_fmt(x402_gas)} | {_fmt(r['gas_per_payment'])} | "
                f"{_ratio(x402_gas, r['gas_per_payment'])} |"
            )
    lines += [
        f"| payee latency added per call, median | {x402['added_payee_median_ms']:.1f} ms "
        f"| {aep2['added_payee_median_ms']:.2f} ms | "
        f"{_ratio(x402['added_payee_median_ms'], aep2['added_payee_median_ms'])} |",
        f"| payee latency added per call, p99 | {x402['added_payee_p99_ms']:.1f} ms "
        f"| {aep2['added_payee_p99_ms']:.2f} ms | "
        f"{_ratio(x402['added_payee_p99_ms'], aep2['added_payee_p99_ms'])} |",
        f"| agent's paid call end to end, median | {x402['client_paid']['median_ms']:.1f} ms "
        f"| {aep2['client_paid']['median_ms']:.1f} ms | |",
        f"| paid calls/s, one payee process, sequential | {x402['sequential_calls_per_s']:.1f} "
        f"| {aep2['sequential_calls_per_s']:.1f} | |",
        f"| paid calls/s, one payee process, {run['config']['concurrency']} clients "
        f"| {x402['concurrent_calls_per_s']:.1f} | {aep2['concurrent_calls_per_s']:.1f} | |",
        f"| on-chain transactions during the calls | {x402['paid_calls']} (one per call) "
        f"| {aep2['transactions_during_calls']} | |",
        f"| call → on-chain settlement, median | {x402['call_to_settlement']['median_ms']:.0f} ms "
        f"| {settle['call_to_settled_median_s']:.0f} s ({settle['circuit']}, {settle['calls']} mandates, "
        "window closed at once) | |",
    ]
    prover = run.get("prover", {})
    for row in prover.get("rows", []):
        if row.get("family", "batch") != "batch":
            continue  # agent sizes: proved in this run, below
        lines.append(
            f"| proving, N={row['n']} P={row['p']}: s per mandate, peak memory | — "
            f"| {row['proveSecondsPerMandate']} s, {row['provePeakRssMiB'] / 1024:.1f} GiB | |"
        )
    lines += [
        "",
        f"Verifier delta (real Groth16 `settleMany` minus the stand-in, same shape): "
        f"{_fmt(gas['verifier_delta'])} gas. Proving figures: {prover.get('source', 'not measured')}.",
    ]
    if "agent_comparison" in run:
        lines += ["", *agent_report.agent_table(run["agent_comparison"], run["agent_keys"])]
    return "\n".join(lines) + "\n"


def gas_plot(run: dict[str, Any], path: Path = GAS_PLOT) -> Path:
    """Gas per payment against mandates per proof, aep2's two fillings against x402 ``exact``."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for filling, label, style in (("one_pair", "aep2, one payer→payee pair", "o-"),
                                  ("full_pairs", "aep2, N/P = 2 mandates per pair", "s--")):  # fmt: skip
        rows = gas_rows(run, filling)
        ax.plot([r["n"] for r in rows], [r["gas_per_payment"] for r in rows], style, label=label)
        measured = [r for r in rows if r["source"] == "measured"]
        if measured:
            ax.plot([r["n"] for r in measured], [r["gas_per_payment"] for r in measured], "k*", markersize=12)
    ax.axhline(run["x402_exact"]["gas_per_payment_median"], color="tab:red", label="per-call x402 exact")
    ax.plot([], [], "k*", label="real Groth16 verifier (others: stand-in + measured verifier cost)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return _save(fig, ax, path, "Settlement gas per payment", "mandates per proof (N)", "gas per payment")


def latency_plot(run: dict[str, Any], path: Path = LATENCY_PLOT) -> Path:
    """Cumulative distributions of the payee's handling time per call, paid and unpaid, both schemes."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    series = (
        ("x402 exact, paid", run["x402_exact"]["paid_payee_ms"], "tab:red", "-"),
        ("x402 exact, unpaid", run["x402_exact"]["unpaid_payee_ms"], "tab:red", ":"),
        ("aep2, paid", run["aep2"]["paid_payee_ms"], "tab:blue", "-"),
        ("aep2, unpaid", run["aep2"]["unpaid_payee_ms"], "tab:blue", ":"),
    )
    for label, values, color, style in series:
        ordered = sorted(values)
        ax.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], style, color=color,
                where="post", label=f"{label} (n={len(ordered)})")  # fmt: skip
    ax.set_xscale("log")
    xlabel = "payee handling time per call, ms (request in → response start)"
    return _save(fig, ax, path, "Payee-side latency per call", xlabel, "fraction of calls")


def with_bench_block(readme: str, block: str) -> str:
    """``readme`` with the text between its bench markers replaced by ``block`` (latest.md)."""
    head, sep, rest = readme.partition(BLOCK_BEGIN)
    _, sep_end, tail = rest.partition(BLOCK_END)
    if not sep or not sep_end:
        raise ValueError(f"README has no {BLOCK_BEGIN.strip()} … {BLOCK_END.strip()} block")
    return head + BLOCK_BEGIN + block + BLOCK_END + tail


def render(run: dict[str, Any]) -> list[Path]:
    """The table, the plots and the README's copy of the table, so they never disagree."""
    TABLE.write_text(table(run))
    README.write_text(with_bench_block(README.read_text(), TABLE.read_text()))
    paths = [TABLE, README, gas_plot(run), latency_plot(run)]
    if "agent_comparison" in run:
        paths.append(agent_report.agent_plot(run, AGENT_PLOT))
    return paths


def main() -> None:
    for path in render(json.loads(LATEST.read_text())):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
