"""The agent-key section of the bench report: its tables and its plot, from ``latest.json``.

Reads what ``benchmarks.agent_rows.compose`` wrote (``agent_comparison``) and the raw agent
measurements (``agent_keys``); writes markdown lines and ``agent_gas_per_payment.png``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on build machines
import matplotlib.pyplot as plt

from benchmarks._render import fmt, ratio, save

Row = Mapping[str, Any]


def _shape(row: Row) -> str:
    scheme, n = row["scheme"], row["n"]
    if scheme == "x402 exact":
        return "one transfer per payment"
    if scheme == "x402 batch-settlement":
        if row["workload"] == "streaming":
            return f"{n:,} payment{'s' if n > 1 else ''} per claim"
        opened = "channel opened for them" if row["opens_channel"] else "open channels"
        return f"{row['mandates_per_pair']} per channel, {opened}"
    per_pair = f"{row['mandates_per_pair']} per pair" if row["pairs"] > 1 else "one pair"
    return f"N={n} P={row['p']} ({per_pair})"


def _gas_line(row: Row, x402: float) -> str:
    versus = "—" if row["scheme"] == "x402 exact" else ratio(x402, row["gas_per_payment"])
    digits = 1 if row["gas_per_payment"] < 100 else 0
    return (
        f"| {row['workload']} | {row['scheme']} | {_shape(row)} | {fmt(row['gas_per_payment'], digits)} "
        f"| {versus} | {row['source']} |"
    )


def _setup_cell(setup: Row) -> str:
    if setup["seconds"] is None:
        return "cached, not measured"
    where = "this run" if setup["ran"] else "cached keys, an earlier run"
    peak, cpu = setup["peak_rss_mib"] / 1024, setup["cpu_seconds"]
    cpu_text = "CPU-s not recorded" if cpu is None else f"{cpu:.0f} CPU-s"
    return f"{setup['seconds']:.0f} s ({cpu_text}), {peak:.1f} GiB, {where}"


def _proving_lines(proving: Sequence[Row]) -> list[str]:
    lines = [
        "| agent circuit | constraints | dev setup (CPU), peak | keys loaded | prove (CPU) | per mandate "
        "| prover peak |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(proving, key=lambda r: (r["n"], r["p"])):
        prove = " / ".join(
            f"{s:.1f} s ({c:.0f})" for s, c in zip(r["prove_s"], r["prove_cpu_s"], strict=True)
        )
        lines.append(
            f"| N={r['n']} P={r['p']} | {r['constraints']:,} | {_setup_cell(r['setup'])} "
            f"| {r['key_load_s']:.1f} s | {prove} | {r['prove_s_per_mandate']:.3f} s "
            f"| {r['peak_rss_mib'] / 1024:.1f} GiB |"
        )
    return lines


def _summary_lines(comparison: Row) -> list[str]:
    lines = []
    for t in comparison["targets"]:
        verdict = "**met**" if t["met"] else "**not met**"
        lines.append(
            f"- Target {t['target']} (at most {t['at_most']}), at {t['size']}: {verdict}, "
            f"{ratio(t['ratio_vs_x402_exact'], 1.0)} ({t['source']})."
        )
    if limit := comparison["memory_limit"]:
        fits = "fits" if limit["next_fits"] else "does not fit"
        lines.append(
            f"- Largest agent size proved: {limit['largest']}, peak {limit['largest_peak_gib']:.1f} GiB. "
            f"{limit['next']} would need ~{limit['next_estimated_peak_gib']:.1f} GiB ({limit['basis']}): "
            f"it {fits} the {limit['budget_gib']:g} GiB budget."
        )
    lines += [f"- Agent N={n} P={p} not proved: {why}." for n, p, why in comparison["skipped"]]
    published = comparison["published"]
    lines.append(
        f"- x402 `batch-settlement` rows are **published**, not measured here: computed from "
        f"`{published['path']}` of `{published['repository']}` at commit `{published['commit']}` "
        f"(written by `{published['test']}`): {published['measures']}; each row adds 21,000 gas per "
        "transaction and leaves calldata out, and the snapshot's claims are each a receiver's first "
        "(~17k gas above a later claim); `benchmarks/x402_batch_published.py` has each formula."
    )
    lines.append(
        f"- Window close → on-chain settled for agent mandates at the largest size: "
        f"{comparison['window_close_to_settled_at_largest']}."
    )
    return lines


def agent_table(comparison: Row, agent: Row) -> list[str]:
    """Markdown lines: gas per payment by workload and scheme, proving per size, the verdicts."""
    x402 = comparison["x402_exact_gas_per_payment"]
    lines = [
        "Agent keys: gas per payment with real Groth16 proofs and exported verifiers (warm `settleAgent`), "
        "per workload, against per-call x402 `exact` in the same run and x402 `batch-settlement`'s "
        "published figures.",
        "",
        "| workload | scheme | shape | gas per payment | vs x402 `exact` | source |",
        "|---|---|---|---|---|---|",
        *(_gas_line(r, x402) for r in comparison["rows"]),
        "",
        *_proving_lines(agent["proving"]),
        "",
        *_summary_lines(comparison),
    ]
    return lines


def agent_plot(run: Mapping[str, Any], path: Path) -> Path:
    """Gas per payment against payments per proof (or claim), agent keys against both x402 schemes."""
    comparison = run["agent_comparison"]
    rows, x402 = comparison["rows"], comparison["x402_exact_gas_per_payment"]
    fig, ax = plt.subplots(figsize=(7.5, 5))

    def series(scheme: str, workload: str, **where: Any) -> list[Row]:
        chosen = [r for r in rows if r["scheme"] == scheme and r["workload"] == workload]
        return sorted(
            (r for r in chosen if all(r.get(k) == v for k, v in where.items())), key=lambda r: r["n"]
        )

    for scheme, workload, style, color in (
        ("aep2 agent keys", "streaming", "o-", "tab:blue"),
        ("aep2 agent keys", "scattered", "s", "tab:green"),
        ("aep2 EIP-712", "scattered", "^", "tab:purple"),
        ("x402 batch-settlement", "streaming", "d--", "tab:orange"),
    ):
        chosen = series(scheme, workload)
        if chosen:
            x, y = [r["n"] for r in chosen], [r["gas_per_payment"] for r in chosen]
            sources = " / ".join(sorted({r["source"] for r in chosen}))
            ax.plot(x, y, style, color=color, label=f"{scheme}, {workload} ({sources})")
    for r in series("x402 batch-settlement", "scattered", opens_channel=False):
        ax.axhline(r["gas_per_payment"], color="tab:orange", linestyle="-.", linewidth=0.8)
    ax.plot(
        [],
        [],
        "-.",
        color="tab:orange",
        linewidth=0.8,
        label="x402 batch-settlement, 1 or 2 per open channel",
    )
    ax.axhline(x402, color="tab:red", label="per-call x402 exact")
    for divisor, style in ((5, ":"), (100, "--"), (250, ":")):
        ax.axhline(x402 / divisor, color="grey", linestyle=style, linewidth=0.8)
    ax.plot([], [], ":", color="grey", label="targets: x402 exact / 5, / 100, / 250")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    title = "Agent keys: settlement gas per payment"
    xlabel = "payments per proof (aep2) or per claim (x402)"
    return save(fig, ax, path, title, xlabel, "gas per payment", legend_loc="lower left")
