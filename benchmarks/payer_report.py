"""Issue #15's payer figures, before and after, measured alternately on one machine; JSON and a plot.

    python -m benchmarks.payer_report [--before REV] [--rounds 3] [--seconds 5] [--throughput-only]

The payer of ``--before`` (a git revision: the payer before issue #15 by default) is exported to a
temporary directory and put first on ``PYTHONPATH``; this checkout's is "after". Each round runs
``benchmarks.payer_hot_path`` (throughput, threads) and ``benchmarks.payer_sdk`` once per payer, the
order flipped every round, so both see the same machine; ``history`` (10^3, 10^5, 10^6 rows) runs
once per payer (the old payer's per-call cost at 10^6 rows is seconds). Medians over the rounds go to
``benchmarks/results/payer.json`` beside every round's figures; ``benchmarks/results/payer.png``
plots the per-call cost against history.

``--throughput-only`` runs the mandates/s phase alone, alternately, and writes
``benchmarks/results/payer_throughput.json``: a change to the cost of one mandate, measured in minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._render import plt, save
from benchmarks._timing import RESULTS

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "eb9768c~1"
"""The payer before issue #15 (the parent of its first commit)."""


def export(rev: str, into: Path) -> Path:
    """``aep2/`` at ``rev``, unpacked under ``into``; the directory to put on ``PYTHONPATH``."""
    archive = subprocess.run(
        ["git", "archive", rev, "aep2"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    tar = into / "aep2.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    return into


def measure(module: str, args: list[str], payer_path: Path | None, workdir: Path) -> dict[str, Any]:
    """``python -m module args`` with ``payer_path``'s aep2 first (run from ``workdir``, so the
    current directory shadows nothing); its JSON output."""
    path = [str(payer_path)] if payer_path is not None else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, str(ROOT)]), "AEP2_REPO": str(ROOT)}
    out = workdir / "out.json"
    subprocess.run([sys.executable, "-m", module, *args, "--out", str(out)], cwd=workdir, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def _median(rounds: list[dict[str, Any]], pick: Callable[[dict[str, Any]], float]) -> float:
    return round(statistics.median(pick(r) for r in rounds), 2)


def summary(hot: list[dict[str, Any]], sdk: list[dict[str, Any]], history: dict[str, Any]) -> dict[str, Any]:
    """Medians over the rounds of the figures issue #15 names."""
    out: dict[str, Any] = {}
    for i, kind in enumerate(("eip712", "agent")):
        out[f"mandates_per_s_{kind}"] = _median(hot, lambda r, i=i: r["throughput"][i]["mandates_per_s"])
        out[f"cpu_us_per_mandate_{kind}"] = _median(
            hot, lambda r, i=i: r["throughput"][i].get("cpu_us_per_mandate", float("nan"))
        )
        out[f"per_call_median_us_{kind}"] = _median(
            hot, lambda r, i=i: r["throughput"][i]["per_call"]["median_us"]
        )
    labels = ("paced_1_thread", "paced_8_threads", "flat_out_1_thread", "flat_out_8_threads")
    for i, label in enumerate(labels):
        out[f"{label}_p99_us"] = _median(hot, lambda r, i=i: r["threads"][i]["per_call"]["p99_us"])
        out[f"{label}_mandates_per_s"] = _median(hot, lambda r, i=i: r["threads"][i]["mandates_per_s"])
    for i, label in enumerate(("sdk_1_caller", "sdk_8_threads", "sdk_8_threads_paced")):
        if any(len(r["phases"]) <= i for r in sdk):
            continue  # a result from before the paced phase
        for figure in ("median_ms", "p99_ms"):
            out[f"{label}_{figure}"] = _median(sdk, lambda r, i=i, f=figure: r["phases"][i]["client"][f])
            out[f"{label}_payee_{figure}"] = _median(sdk, lambda r, i=i, f=figure: r["phases"][i]["payee"][f])
        out[f"{label}_calls_per_s"] = _median(sdk, lambda r, i=i: r["phases"][i]["calls_per_s"])
    out["history"] = [
        {"history_rows": h["history_rows"], "per_call_median_us": h["per_call"]["median_us"],
         "per_call_p99_us": h["per_call"]["p99_us"], "open_s": h["open_s"]}
        for h in history["history"]
    ]  # fmt: skip
    return out


def throughput_rounds(before: str, rounds: int, seconds: float) -> dict[str, Any]:
    """Mandates/s and CPU per mandate of both key kinds, ``before`` and this checkout alternately."""
    with tempfile.TemporaryDirectory(prefix="aep2-payer-report-") as name:
        tmp = Path(name)
        (tmp / "before").mkdir()
        payers = {"before": export(before, tmp / "before"), "after": None}
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label in payers}
        for n in range(rounds):
            for label in ("before", "after") if n % 2 == 0 else ("after", "before"):
                args = ["--phases", "throughput", "--seconds", str(seconds), "--label", label]
                runs[label].append(measure("benchmarks.payer_hot_path", args, payers[label], tmp))
                print(f"round {n + 1}/{rounds}: {label} done", flush=True)
    results: dict[str, Any] = {"before_revision": before}
    for label, done in runs.items():
        summary: dict[str, Any] = {}
        for i, kind in enumerate(("eip712", "agent")):
            for figure in ("mandates_per_s", "cpu_us_per_mandate"):
                summary[f"{figure}_{kind}"] = _median(done, lambda r, i=i, f=figure: r["throughput"][i][f])
        summary["load_average_1min"] = [round(r["load_average_at_start"][0], 2) for r in done]
        results[label] = {"summary": summary, "rounds": done}
    return results


def plot(results: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, style in (("before", "o--"), ("after", "s-")):
        rows = results[label]["summary"]["history"]
        xs = [r["history_rows"] for r in rows]
        ax.plot(xs, [r["per_call_median_us"] / 1000 for r in rows], style, label=f"{label}: median")
        ax.plot(xs, [r["per_call_p99_us"] / 1000 for r in rows], style, alpha=0.4, label=f"{label}: p99")
    ax.set_xscale("log")
    ax.set_yscale("log")
    title = "Payer.pay per call against history (2 cores, shared)"
    xlabel = "approved payments already in the log (all within the daily window)"
    return save(fig, ax, path, title, xlabel, "ms per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sdk-calls", type=int, default=400)
    parser.add_argument("--history", default="1000,100000,1000000")
    parser.add_argument("--throughput-only", action="store_true")
    args = parser.parse_args()
    if args.throughput_only:
        results = throughput_rounds(args.before, args.rounds, args.seconds)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "payer_throughput.json").write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({label: results[label]["summary"] for label in ("before", "after")}, indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="aep2-payer-report-") as name:
        tmp = Path(name)
        (tmp / "before").mkdir()
        payers = {"before": export(args.before, tmp / "before"), "after": None}
        hot_args = ["--phases", "throughput,threads", "--seconds", str(args.seconds)]
        rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
            label: {"hot": [], "sdk": []} for label in payers
        }
        for n in range(args.rounds):
            for label in ("before", "after") if n % 2 == 0 else ("after", "before"):
                hot = measure("benchmarks.payer_hot_path", [*hot_args, "--label", label], payers[label], tmp)
                sdk_args = ["--calls", str(args.sdk_calls), "--label", label]
                rounds[label]["hot"].append(hot)
                rounds[label]["sdk"].append(measure("benchmarks.payer_sdk", sdk_args, payers[label], tmp))
                print(f"round {n + 1}/{args.rounds}: {label} done", flush=True)
        history_args = ["--phases", "history", "--history", args.history, "--seconds", str(args.seconds)]
        results: dict[str, Any] = {"before_revision": args.before}
        for label in payers:
            history = measure(
                "benchmarks.payer_hot_path", [*history_args, "--label", label], payers[label], tmp
            )
            results[label] = {"summary": summary(rounds[label]["hot"], rounds[label]["sdk"], history),
                              "rounds": rounds[label], "history": history}  # fmt: skip
            print(f"history: {label} done", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "payer.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(results, RESULTS / "payer.png")
    print(json.dumps({label: results[label]["summary"] for label in ("before", "after")}, indent=2))


if __name__ == "__main__":
    main()
