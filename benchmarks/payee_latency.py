"""Payee latency and throughput: what accepting a mandate adds to a call (not a test).

1. *added latency*: ``PayeeCheck.accept`` (decode, domain, signature, price, time,
   nonce, headroom, commit of mandate + receipt + transition, receipt signing)
   timed call by call, in process, on a SQLite file in WAL mode; the chain view
   is an in-memory one, which is what the web3 view is on a cache hit;
2. *throughput*: one uvicorn process serving the same handler paid (``charge``)
   and unpaid, driven by a separate client process with concurrent keep-alive
   connections; mandates are signed beforehand (signing is the payer's cost).
   Besides calls per wall-clock second, it reports calls per CPU-second of the
   server process: on a shared machine that is what one free core would sustain.

    python benchmarks/payee_latency.py [--calls 3000] [--seconds 8] [--concurrency 32]

Prints a table and writes ``benchmarks/results/payee_latency.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
PAYEE_KEY = "0x" + "11" * 32
PAYER_KEY = bytes.fromhex("22" * 32)
CHAIN_ID, PRICE, HORIZON = 31337, 1000, 3600
RESULTS = Path(__file__).parent / "results" / "payee_latency.json"


def _settings() -> Any:
    from aep2.payee import Route, Settings

    return Settings(
        chain_id=CHAIN_ID, escrow=ESCROW, tokens=[TOKEN], payee_key=PAYEE_KEY,
        settlement_horizon_seconds=HORIZON, routes=[Route(path="/paid", price=PRICE)],
    )  # fmt: skip


def _chain(payer: str) -> Any:
    from aep2.payee import StaticChainView

    chain = StaticChainView()
    chain.set(payer=payer, token=TOKEN, balance=10**30)
    return chain


def _payer() -> str:
    from eth_account import Account

    return str(Account.from_key(PAYER_KEY).address)


def _mandates(count: int, ref: bytes, payee: str, first_nonce: int = 1) -> list[str]:
    from aep2.mandate import Domain, Mandate, encode

    domain, deadline = Domain(chain_id=CHAIN_ID, escrow=ESCROW), int(time.time()) + 10 * HORIZON
    return [
        encode(
            Mandate.build(
                payer=_payer(), payee=payee, token=TOKEN, amount=PRICE, nonce=n, deadline=deadline, ref=ref
            ).sign(domain, PAYER_KEY)
        )
        for n in range(first_nonce, first_nonce + count)
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _synchronous() -> str:
    from aep2.store.engine import sqlite_synchronous

    return sqlite_synchronous()


def measure_latency(calls: int, db: Path) -> dict[str, float]:
    from aep2.payee import PayeeCheck
    from aep2.payee.steps import offline_checks
    from aep2.protocol.call_ref import http_ref
    from aep2.store import create_schema, make_engine

    settings = _settings()
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    check = PayeeCheck(settings=settings, engine=engine, chain=_chain(_payer()))
    ref = http_ref("GET", "http://127.0.0.1/paid")
    headers = _mandates(calls + 200, ref, settings.payee)
    for header in headers[:200]:  # warm up: imports, caches, the SQLite file
        check.accept(header, price=PRICE, ref=ref, transport="bench")
    total, cpu, offline = [], [], []
    for header in headers[200:]:
        start = time.perf_counter()
        offline_checks(header, terms=check.terms, price=PRICE, ref=ref, now=int(time.time()))
        middle = time.perf_counter()
        offline.append(middle - start)
    for header in headers[200:]:
        start, cpu_start = time.perf_counter(), time.process_time()
        check.accept(header, price=PRICE, ref=ref, transport="bench")
        total.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    engine.dispose()
    ms = 1000.0
    return {
        "calls": calls,
        "median_ms": statistics.median(total) * ms,
        "p99_ms": _percentile(total, 0.99) * ms,
        "mean_ms": statistics.fmean(total) * ms,
        "cpu_median_ms": statistics.median(cpu) * ms,
        "cpu_p99_ms": _percentile(cpu, 0.99) * ms,
        "offline_steps_median_ms": statistics.median(offline) * ms,
        "offline_steps_p99_ms": _percentile(offline, 0.99) * ms,
    }


def _serve(port: int, db: str) -> None:
    import uvicorn
    from fastapi import Depends

    from aep2.payee import create_app
    from aep2.payee.check import Acceptance
    from aep2.payee.web import charge
    from aep2.store import create_schema, make_engine

    settings = _settings()
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    app = create_app(settings=settings, engine=engine, chain=_chain(_payer()))

    @app.get("/free")
    async def free() -> dict[str, Any]:
        return {"path": "/free", "description": "", "paid": None}

    @app.get("/paid-bench")
    async def paid(acceptance: Acceptance = Depends(charge(PRICE))) -> dict[str, Any]:  # noqa: B008
        return {"path": "/paid-bench", "description": "", "paid": {"payer": acceptance.payer}}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _payment_headers(base: str, count: int) -> list[str]:
    from aep2.protocol.call_ref import http_ref

    url = base + "/paid-bench"
    challenge = json.loads(base64.b64decode(httpx.get(url).headers["PAYMENT-REQUIRED"]))
    accepted = challenge["accepts"][0]
    mandates = _mandates(count, http_ref("GET", url), accepted["payTo"], first_nonce=10**6)
    return [
        base64.b64encode(
            json.dumps({"x402Version": 2, "accepted": accepted, "payload": {"mandate": m}}).encode()
        ).decode()
        for m in mandates
    ]


async def _drive(url: str, seconds: float, concurrency: int, headers: list[str] | None) -> dict[str, float]:
    done, failed, latencies = 0, 0, []
    queue = iter(headers) if headers is not None else None
    stop_at = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done, failed
        while time.perf_counter() < stop_at:
            extra = {"PAYMENT-SIGNATURE": next(queue)} if queue is not None else {}
            start = time.perf_counter()
            response = await client.get(url, headers=extra)
            latencies.append(time.perf_counter() - start)
            done, failed = (done + 1, failed) if response.status_code == 200 else (done, failed + 1)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": done, "failed": failed, "per_second": done / elapsed,
        "median_ms": statistics.median(latencies) * 1000, "p99_ms": _percentile(latencies, 0.99) * 1000,
    }  # fmt: skip


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux ``/proc``), to measure the server alone."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drive_measured(
    pid: int, url: str, seconds: float, concurrency: int, headers: list[str] | None
) -> dict[str, float]:
    """Drive ``url`` and add the server's CPU cost: calls per CPU-second is what one free core sustains."""
    before = _cpu_seconds(pid)
    row = asyncio.run(_drive(url, seconds, concurrency, headers))
    cpu = _cpu_seconds(pid) - before
    return row | {"server_cpu_s": cpu, "per_cpu_second": row["requests"] / cpu if cpu else 0.0}


def measure_throughput(seconds: float, concurrency: int, db: Path) -> dict[str, dict[str, float]]:
    from aep2.devnet._process import free_port

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, str(db)), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/health")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        headers = _payment_headers(base, int(seconds * 4000) + 1000)
        asyncio.run(_drive(base + "/free", 1.0, concurrency, None))  # warm up
        assert server.pid is not None
        unpaid = _drive_measured(server.pid, base + "/free", seconds, concurrency, None)
        paid = _drive_measured(server.pid, base + "/paid-bench", seconds, concurrency, headers)
    finally:
        server.terminate()
        server.join(timeout=10)
    return {"unpaid": unpaid, "paid": paid}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="aep2-bench-") as tmp:
        latency = measure_latency(args.calls, Path(tmp) / "latency.db")
        throughput = measure_throughput(args.seconds, args.concurrency, Path(tmp) / "serve.db")
    result: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": multiprocessing.cpu_count(),
            "platform": platform.platform(),
            # Shared machines skew wall-clock numbers; the load says how much.
            "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        },
        "store": f"sqlite (WAL, synchronous={_synchronous()})",
        "added_latency": latency,
        "throughput": throughput | {"concurrency": args.concurrency, "seconds": args.seconds},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"payee check + commit on SQLite, {latency['calls']} calls (in process)")
    print(f"  {'':28}{'median':>10}{'p99':>10}")
    print(f"  {'accept (all 8 steps)':28}{latency['median_ms']:>8.3f}ms{latency['p99_ms']:>8.3f}ms")
    print(
        f"  {'  CPU time of the above':28}{latency['cpu_median_ms']:>8.3f}ms{latency['cpu_p99_ms']:>8.3f}ms"
    )
    offline = (latency["offline_steps_median_ms"], latency["offline_steps_p99_ms"])
    print(f"  {'  of which steps 1-5':28}{offline[0]:>8.3f}ms{offline[1]:>8.3f}ms")
    print(f"one uvicorn process, {args.concurrency} concurrent connections, {args.seconds:.0f}s each")
    print(f"  {'route':10}{'calls/s':>10}{'per CPU-s':>11}{'median':>10}{'p99':>10}{'failed':>8}")
    for name, row in throughput.items():
        rate, median, p99 = row["per_second"], row["median_ms"], row["p99_ms"]
        per_cpu = row["per_cpu_second"]
        print(f"  {name:10}{rate:>10.0f}{per_cpu:>11.0f}{median:>8.2f}ms{p99:>8.2f}ms{row['failed']:>8.0f}")
    after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before[0]:.1f} before, {after:.1f} after, {os.cpu_count()} CPUs")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
