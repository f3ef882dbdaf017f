"""Paid calls through the payer SDK against a local payee: one caller, then 8 threads sharing one Payer.

    python -m benchmarks.payer_sdk [--label NAME] [--calls N] [--out FILE]

The payee is the project's real app (``aep2.payee.create_app``: the whole check, the commit of the
mandate and its signed receipt) in its own uvicorn process, with an in-memory chain view granting
the payer a large balance, so nothing but the payer and the payee is measured. Each caller has its
own ``httpx.Client`` with ``Aep2Auth`` over the one shared ``Payer``; every call must come back
``200`` with a verified receipt. Figures: client-side latency per call (median, p99), the payee's
own handling time (its ``Server-Timing``), and calls/s, for 1 caller, for 8 flat out, and for 8
paced at ``--rate`` calls/s in all, ``GET /paid?i=...`` (a new ref per call). The payer's code is whatever
``aep2`` imports first (an older checkout first on ``PYTHONPATH`` measures that one); the payee
process always runs this checkout's.

``python -m benchmarks.payer_sdk serve`` is the payee process (started by this module).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from benchmarks._server import ServerProcess, ServerTiming, payee_ms, serve, server_settings

PAYER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
PAYEE_KEY = "0x" + "11" * 32
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ESCROW = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 31337
PRICE = 1_000


def payee_app(database: str, payer: str) -> Any:
    """The paid API: ``GET /paid`` at ``PRICE``, mandates stored in SQLite at ``database``."""
    from aep2.payee import Route, Settings, StaticChainView, create_app
    from aep2.store import create_schema, make_engine

    settings = Settings(
        chain_id=CHAIN_ID, escrow=ESCROW, tokens=[TOKEN], payee_key=PAYEE_KEY,
        settlement_horizon_seconds=3600, routes=[Route(path="/paid", price=PRICE)],
    )  # fmt: skip
    engine = make_engine(f"sqlite:///{database}")
    create_schema(engine)
    chain = StaticChainView()
    chain.set(payer=payer, token=TOKEN, balance=10**24)
    app = create_app(settings=settings, engine=engine, chain=chain)
    app.add_middleware(ServerTiming)
    return app


def _distribution(values_ms: list[float]) -> dict[str, float]:
    ordered = sorted(values_ms)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return {"runs": len(ordered), "median_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(p99, 2), "max_ms": round(ordered[-1], 2)}  # fmt: skip


def callers(
    url: str, payer: Payer, threads: int, calls: int, first: int, rate: float | None = None
) -> dict[str, Any]:
    """``threads`` threads, ``calls`` paid calls each, every thread with its own client on ``payer``.

    Flat out by default: each thread calls again as soon as it has its answer, so the figures are
    those of a saturated machine (by Little's law, latency = threads / throughput). With ``rate``
    the threads share a schedule of ``rate`` calls a second, interleaved, and a call's latency runs
    from its scheduled time, so one sent late because the previous overran counts its wait (no
    coordinated omission): the latency of a payer under load, not at saturation.
    """
    times: list[list[float]] = [[] for _ in range(threads)]
    payee: list[float] = []
    clients = [httpx.Client(auth=Aep2Auth(payer), timeout=60) for _ in range(threads)]
    for client in clients:  # warm: a connection each, and the route's terms learned
        client.get(f"{url}/paid", params={"i": f"warm-{first}-{id(client)}"})
    start = threading.Barrier(threads + 1)

    def caller(i: int) -> None:
        start.wait()
        origin = time.perf_counter_ns()
        for n in range(calls):
            t = time.perf_counter_ns()
            if rate is not None:
                t = origin + int((n * threads + i) * 1e9 / rate)
                pause = (t - time.perf_counter_ns()) / 1e9
                if pause > 0:
                    time.sleep(pause)
            response = clients[i].get(f"{url}/paid", params={"i": f"{first}-{i}-{n}"})
            times[i].append((time.perf_counter_ns() - t) / 1e6)
            payee.append(payee_ms(response))
            if response.status_code != 200 or payment_of(response).receipt is None:
                raise RuntimeError(f"call {i}/{n} failed: {response.status_code} {response.text[:200]}")

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - began
    for client in clients:
        client.close()
    every = [t for per in times for t in per]
    if len(every) != threads * calls:
        raise RuntimeError(f"{threads * calls - len(every)} calls failed")
    return {"threads": threads, "rate": rate, "calls_per_s": round(len(every) / wall, 1),
            "client": _distribution(every), "payee": _distribution(payee)}  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        settings, port = server_settings()
        serve(payee_app(**settings), port)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="current")
    parser.add_argument("--calls", type=int, default=400, help="paid calls per phase")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--rate", type=float, default=100.0, help="the paced phase: calls/s of all 8")
    args = parser.parse_args()
    signer = LocalKeySigner(PAYER_KEY)
    out: dict[str, Any] = {"label": args.label, "machine": platform.machine(), "cpus": os.cpu_count(),
                           "load_average_at_start": os.getloadavg()}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aep2-payer-sdk-") as tmp:
        settings = {"database": str(Path(tmp) / "payee.db"), "payer": signer.address}
        with ServerProcess("benchmarks.payer_sdk", settings, args=["serve"]) as url:
            payer = Payer(
                signer, Policy(max_per_payment=PRICE, hourly_limit=10**18), db=Path(tmp) / "payer.db"
            )
            out["phases"] = [
                callers(url, payer, 1, args.calls, 0),
                callers(url, payer, 8, args.calls // 8, 1),
                callers(url, payer, 8, args.calls // 8, 2, rate=args.rate),
            ]
            payer.close()
    out["load_average"] = os.getloadavg()
    text = json.dumps(out, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
