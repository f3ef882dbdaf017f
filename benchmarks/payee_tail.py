"""The payee's added latency and its tail, before and after a change, alternately (not a test).

Each round runs ``PayeeCheck.accept`` ``--calls`` times in a fresh process on a fresh SQLite
file (WAL, ``synchronous`` as ``AEP2_SQLITE_SYNCHRONOUS``, FULL by default), once with the code
of ``--before`` (a git revision, checked out into a temporary worktree) and once with this
tree, alternating so both meet the same load. Per call it records wall time and the calling
thread's CPU time: on a shared machine the load inflates wall time (the process waits for a
core), never the thread's CPU time, so the CPU percentiles compare fairly across loads. It also
records every garbage-collector pause (``gc.callbacks``) and a fixed pure-Python loop's CPU time
per round, which says how fast this machine's cores were at the time.

The process does what ``aep2 payee serve`` does at start-up: where the tree has
``aep2.payee.heap.freeze_startup_heap``, it is called after the warm-up.

    python -m benchmarks.payee_tail [--before REV] [--rounds 3] [--calls 2000]

Writes ``benchmarks/results/payee_tail.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "payee_tail.json"
WARM_UP = 200


def _calibration() -> float:
    """CPU seconds of a fixed pure-Python loop: the machine's speed during this round."""
    start, total = time.thread_time(), 0
    for i in range(1_000_000):
        total += i
    return time.thread_time() - start


def worker(calls: int) -> dict[str, Any]:
    """One round in this process: the tree on ``sys.path`` decides which code is measured."""
    from aep2.payee import PayeeCheck
    from aep2.protocol.call_ref import http_ref
    from aep2.store import create_schema, make_engine
    from benchmarks.payee_latency import PRICE, _chain, _mandates, _payer, _settings

    pauses: list[tuple[int, float]] = []
    started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - started[0]))

    with tempfile.TemporaryDirectory(prefix="aep2-tail-") as tmp:
        settings = _settings()
        engine = make_engine(f"sqlite:///{tmp}/payee.db")
        create_schema(engine)
        check = PayeeCheck(settings=settings, engine=engine, chain=_chain(_payer()))
        ref = http_ref("GET", "http://127.0.0.1/paid")
        headers = _mandates(calls + WARM_UP, ref, settings.payee)
        for header in headers[:WARM_UP]:
            check.accept(header, price=PRICE, ref=ref, transport="bench")
        try:
            from aep2.payee.heap import freeze_startup_heap  # type: ignore[import-not-found,unused-ignore]

            freeze_startup_heap()
            frozen = True
        except ImportError:
            frozen = False
        gc.callbacks.append(on_gc)
        wall, cpu = [], []
        for header in headers[WARM_UP:]:
            start, cpu_start = time.perf_counter(), time.thread_time()
            check.accept(header, price=PRICE, ref=ref, transport="bench")
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - cpu_start)
        gc.callbacks.remove(on_gc)
        engine.dispose()
    return {"wall": wall, "cpu": cpu, "gc": pauses, "frozen": frozen, "calibration_s": _calibration()}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered, ms = sorted(values), 1000.0

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * ms

    return {
        "median_ms": statistics.median(ordered) * ms, "p90_ms": at(0.90), "p99_ms": at(0.99),
        "p999_ms": at(0.999), "max_ms": ordered[-1] * ms, "mean_ms": statistics.fmean(ordered) * ms,
    }  # fmt: skip


def _round(tree: Path, calls: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = os.environ | {"PYTHONPATH": str(tree)}
        code = (
            "import json, sys; from benchmarks.payee_tail import worker; "
            f"json.dump(worker({calls}), open({out.name!r}, 'w'))"
        )
        subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True)
        return dict(json.loads(Path(out.name).read_text()))


def _worktree(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), revision],
                   check=True, capture_output=True)  # fmt: skip
    # The worker module is this file; the old tree may predate it.
    (into / "benchmarks" / "payee_tail.py").write_text(Path(__file__).read_text())
    return into


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    wall = [v for r in rounds for v in r["wall"]]
    cpu = [v for r in rounds for v in r["cpu"]]
    pauses = [p for r in rounds for p in r["gc"]]
    full = [d for g, d in pauses if g == 2]
    return {
        "calls": len(wall),
        "wall": _percentiles(wall),
        "thread_cpu": _percentiles(cpu),
        "gc": {
            "collections": len(pauses),
            "full_collections": len(full),
            "max_pause_ms": max((d for _, d in pauses), default=0.0) * 1000,
            "max_full_pause_ms": max(full, default=0.0) * 1000,
        },
        "heap_frozen": all(r["frozen"] for r in rounds),
        "calibration_loop_cpu_ms": [r["calibration_s"] * 1000 for r in rounds],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", default="0abdf5d", help="git revision measured as 'before'")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    loads = [os.getloadavg()[0]]
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="aep2-before-") as tmp:
        before = _worktree(args.before, Path(tmp) / "tree")
        try:
            for _ in range(args.rounds):
                runs["before"].append(_round(before, args.calls))
                runs["after"].append(_round(ROOT, args.calls))
                loads.append(os.getloadavg()[0])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                           check=False, capture_output=True)  # fmt: skip
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": loads,
        },
        "store": f"sqlite (WAL, synchronous={os.environ.get('AEP2_SQLITE_SYNCHRONOUS', 'FULL').upper()})",
        "before_revision": args.before,
        "rounds": args.rounds,
        "before": _summary(runs["before"]),
        "after": _summary(runs["after"]),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"PayeeCheck.accept, {args.rounds} rounds x {args.calls} calls each, alternating")
    print(f"  {'':18}{'median':>9}{'p90':>9}{'p99':>9}{'p99.9':>9}{'max':>9}  (ms)")
    for name in ("before", "after"):
        for kind in ("wall", "thread_cpu"):
            row = result[name][kind]
            cells = "".join(f"{row[k]:>9.3f}" for k in ("median_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"))
            print(f"  {name + ' ' + kind:18}{cells}")
        gc_row = result[name]["gc"]
        print(
            f"  {'':18}gc: {gc_row['full_collections']} full, longest pause {gc_row['max_pause_ms']:.1f} ms"
        )
    print(f"load average (1 min) per round: {', '.join(f'{x:.1f}' for x in loads)}; {os.cpu_count()} CPUs")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
