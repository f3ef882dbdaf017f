"""Paid against unpaid over HTTP: one route with and without aep2's check, driven by ``wrk`` (not a test).

A uvicorn server (``--workers 1`` and ``2``, as ``aep2 payee serve --workers K`` runs it) serves
two routes with the same handler, ``/free`` and ``/paid-bench`` (the latter behind ``charge``),
on a fresh SQLite store (WAL, ``synchronous`` per ``AEP2_SQLITE_SYNCHRONOUS``, FULL by default).
``wrk`` (Debian's, ``make wrk``) drives each at 1, 8 and 64 keep-alive connections; paid and
unpaid runs alternate so both meet the same load. Every paid request carries a mandate never sent
before, from a pool signed beforehand (signing is the payer's cost), so each one takes the whole
check and a committed write (``benchmarks/payee_http.lua``).

Besides requests per second it reports the server's CPU seconds per request (all its processes,
from ``/proc``): the machine is shared, and what one request costs the server does not depend on
how busy the other tenants are. ``paid / unpaid`` is given for both.

    python -m benchmarks.payee_http [--seconds 5] [--concurrency 1 8 64] [--workers 1 2]

Writes ``benchmarks/results/payee_http.json`` and ``payee_http.png``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "payee_http.json"
LUA = Path(__file__).with_name("payee_http.lua")
DATABASE_ENV = "AEP2_BENCH_DATABASE_URL"
HEADER = "  wk conn    unpaid     paid  ratio   p50 ms (u/p)   p99 ms (u/p)  CPU ms/req (u/p) ratio non-2xx"
FIRST_NONCE = 1


def create_bench_app() -> Any:
    """The served app (``uvicorn --factory``): ``/free`` and ``/paid-bench``, one handler body."""
    from fastapi import Depends

    from aep2.payee import create_app
    from aep2.payee.check import Acceptance
    from aep2.payee.heap import freeze_startup_heap
    from aep2.payee.web import charge
    from aep2.store import make_engine
    from benchmarks.payee_latency import PRICE, _chain, _payer, _settings

    app = create_app(
        settings=_settings(), engine=make_engine(os.environ[DATABASE_ENV]), chain=_chain(_payer())
    )

    @app.get("/free")
    async def free() -> dict[str, Any]:
        return {"path": "/free", "description": "", "paid": None}

    @app.get("/paid-bench")
    async def paid(acceptance: Acceptance = Depends(charge(PRICE))) -> dict[str, Any]:  # noqa: B008
        return {"path": "/paid-bench", "description": "", "paid": {"payer": acceptance.payer}}

    freeze_startup_heap()
    return app


def _sign_slice(args: tuple[str, dict[str, Any], int, int]) -> list[str]:
    import base64

    from aep2.protocol.call_ref import http_ref
    from benchmarks.payee_latency import _mandates

    url, accepted, first, count = args
    mandates = _mandates(count, http_ref("GET", url), accepted["payTo"], first_nonce=first)
    payloads = ({"x402Version": 2, "accepted": accepted, "payload": {"mandate": m}} for m in mandates)
    return [base64.b64encode(json.dumps(p).encode()).decode() for p in payloads]


def sign_pool(url: str, count: int, path: Path) -> None:
    """``count`` PAYMENT-SIGNATURE values for ``url``, one a line, nonces from ``FIRST_NONCE``."""
    import base64

    challenge = json.loads(base64.b64decode(httpx.get(url).headers["PAYMENT-REQUIRED"]))
    accepted = challenge["accepts"][0]
    cores = os.cpu_count() or 1
    share = -(-count // cores)
    jobs = [(url, accepted, FIRST_NONCE + i * share, min(share, count - i * share)) for i in range(cores)]
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        lines = [line for part in pool.map(_sign_slice, jobs) for line in part]
    path.write_text("\n".join(lines) + "\n")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children (uvicorn's workers)."""
    total = 0.0
    for each in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextmanager
def server(port: int, workers: int, database: Path) -> Iterator[subprocess.Popen[bytes]]:
    from aep2.store import create_schema, make_engine

    url = f"sqlite:///{database}"
    engine = make_engine(url)
    create_schema(engine)  # once, here: K workers creating it at once would race
    engine.dispose()
    env = os.environ | {DATABASE_ENV: url, "PYTHONWARNINGS": "ignore"}
    args = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.payee_http:create_bench_app",
            "--workers", str(workers), "--port", str(port), "--log-level", "error",
            "--no-access-log", "--timeout-worker-healthcheck", "120"]  # fmt: skip
    process = subprocess.Popen(args, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.2)
        time.sleep(2.0 * workers)  # every worker up, not just the first
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_wrk(
    url: str, *, seconds: float, connections: int, pid: int, pool: Path | None, offset: int
) -> dict[str, Any]:
    threads = min(2, connections)
    env = os.environ | {
        "AEP2_POOL": str(pool or ""),
        "AEP2_THREADS": str(threads),
        "AEP2_OFFSET": str(offset),
    }
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{round(seconds)}s", "--timeout", "30s",
            "-s", str(LUA), url]  # fmt: skip
    before = _cpu_seconds(pid)
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    cpu = _cpu_seconds(pid) - before
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    row["per_second"] = row["requests"] / (row["duration_us"] / 1e6)
    row["server_cpu_s"] = cpu
    row["server_cpu_ms_per_request"] = 1000 * cpu / row["requests"] if row["requests"] else 0.0
    return row


def measure(workers: int, args: argparse.Namespace, port: int, pool: Path, pool_size: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    rows: dict[str, Any] = {}
    offset = 0
    with (
        tempfile.TemporaryDirectory(prefix="aep2-http-") as tmp,
        server(port, workers, Path(tmp) / "p.db") as proc,
    ):
        warm = run_wrk(base + "/free", seconds=1, connections=8, pid=proc.pid, pool=None, offset=0)
        del warm
        for connections in args.concurrency:
            unpaid = run_wrk(base + "/free", seconds=args.seconds, connections=connections, pid=proc.pid,
                             pool=None, offset=0)  # fmt: skip
            paid = run_wrk(base + "/paid-bench", seconds=args.seconds, connections=connections, pid=proc.pid,
                           pool=pool, offset=offset)  # fmt: skip
            offset += paid["requests"] + paid["non_2xx"] + 2 * connections
            paid["pool_exhausted"] = offset > pool_size
            rows[str(connections)] = {
                "unpaid": unpaid,
                "paid": paid,
                "paid_over_unpaid": paid["per_second"] / unpaid["per_second"],
                "paid_over_unpaid_per_cpu": (
                    unpaid["server_cpu_ms_per_request"] / paid["server_cpu_ms_per_request"]
                    if paid["server_cpu_ms_per_request"]
                    else 0.0
                ),
            }
            print(_line(workers, connections, rows[str(connections)]), flush=True)
    return rows


def _line(workers: int, connections: int, row: dict[str, Any]) -> str:
    u, p = row["unpaid"], row["paid"]
    return (
        f"  {workers:>2} {connections:>4}  {u['per_second']:>8.0f} {p['per_second']:>8.0f} "
        f"{row['paid_over_unpaid']:>6.0%}   "
        f"{u['latency_us']['p50'] / 1000:>6.2f} {p['latency_us']['p50'] / 1000:>6.2f}"
        f"  {u['latency_us']['p99'] / 1000:>7.2f} {p['latency_us']['p99'] / 1000:>7.2f}"
        f"   {u['server_cpu_ms_per_request']:>5.2f} {p['server_cpu_ms_per_request']:>5.2f}"
        f" {row['paid_over_unpaid_per_cpu']:>6.0%}  {p['non_2xx']:>5}"
    )


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.8), sharey=True, squeeze=False)
    for ax, (workers, rows) in zip(axes[0], runs.items(), strict=True):
        levels = list(rows)
        x = range(len(levels))
        for shift, kind in ((-0.2, "unpaid"), (0.2, "paid")):
            ax.bar([i + shift for i in x], [rows[c][kind]["per_second"] for c in levels], 0.4, label=kind)
        ax.set_xticks(list(x), [f"{c} conn." for c in levels])
        ax.set_title(f"--workers {workers}")
        ax.set_ylabel("requests / s")
    axes[0][0].legend()
    load = result["machine"]["load_average_1m"]
    fig.suptitle(f"paid vs unpaid, same handler, wrk (load avg {min(load):.1f}-{max(load):.1f} on 2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pool", type=int, default=20_000, help="mandates signed beforehand")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON (the plot beside it)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: make wrk (Debian's package)")
    from aep2.devnet._process import free_port

    port = free_port()
    loads = [os.getloadavg()[0]]
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aep2-pool-") as tmp:
        pool = Path(tmp) / "pool.txt"
        with tempfile.TemporaryDirectory(prefix="aep2-http-") as first, server(port, 1, Path(first) / "p.db"):
            sign_pool(f"http://127.0.0.1:{port}/paid-bench", args.pool, pool)
        print(HEADER)
        for workers in args.workers:  # each on a fresh store, so the pool's nonces are all new again
            runs[str(workers)] = measure(workers, args, port, pool, args.pool)
            loads.append(os.getloadavg()[0])
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_1m": loads,
        },
        "store": f"sqlite (WAL, synchronous={os.environ.get('AEP2_SQLITE_SYNCHRONOUS', 'FULL').upper()})",
        "seconds_per_run": args.seconds,
        "load_generator": "wrk 4.1.0 (Debian), keep-alive, threads = min(2, connections)",
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out.with_suffix(".png"))
    print(f"load average (1 min): {', '.join(f'{x:.1f}' for x in loads)}; {os.cpu_count()} CPUs")
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
