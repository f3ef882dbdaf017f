"""The payer's hot path in one process: mandates/s, per-call cost against history, shared by threads.

    python -m benchmarks.payer_hot_path [--label NAME] [--phases throughput,history,threads]
                                        [--seconds S] [--history 1000,100000,1000000] [--out FILE]

Every figure is ``Payer.pay`` (policy, nonce, audit row, signature, its check, the header), the
public API only, so the same script measures an older aep2 too: put its checkout first on
``PYTHONPATH`` (``benchmarks/payer_report.py`` runs both alternately and writes the JSON and plot).

- ``throughput``: mandates/s for an EIP-712 key and for an agent key, under a policy with every
  rule set (none binding).
- ``history``: per-call cost with 10^3, 10^5, 10^6 approved payments already in the audit log, all
  inside the daily window (a database written by an earlier aep2: the audit table alone, which the
  payer opens and upgrades; the time to open it is reported beside the per-call figures).
- ``threads``: one ``Payer`` shared by 1 and by 8 threads, each paced to the same total rate
  (``--rate``), so the tail shows what sharing costs rather than how the cores are split; and
  closed-loop (as fast as they can) for the aggregate rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aep2.agentkey import AgentKey, AgentKeyGrant
from aep2.mandate import Domain
from aep2.payer import AgentCredential, LocalKeySigner, Payer, Policy

PAYER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
"""anvil's second account: a well-known devnet key, never a real one."""
PAYEE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ESCROW = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 31337
REF = "0x" + "ab" * 32
PRICE = 1_000
HOUR, DAY = 3600, 86400
LIMIT = 10**27
"""Every window rule set, none binding: the per-call cost of checking them is what is measured."""


def policy() -> Policy:
    return Policy(
        max_per_payment=10**9, hourly_limit=LIMIT, daily_limit=LIMIT, payments_per_hour=10**12,
        allowed_payees=(PAYEE,), allowed_tokens=(TOKEN,), allowed_chains=(CHAIN_ID,),
        allowed_escrows=(ESCROW,),
    )  # fmt: skip


def requirement(kinds: list[str] | None = None) -> dict[str, Any]:
    """A ``PaymentRequirements`` of scheme aep2, as the payee's 402 carries it."""
    extra: dict[str, Any] = {"escrow": ESCROW, "minDeadlineSeconds": 3600, "ref": REF}
    if kinds is not None:
        extra["kinds"] = kinds
    return {
        "scheme": "aep2", "network": f"eip155:{CHAIN_ID}", "asset": TOKEN, "amount": str(PRICE),
        "payTo": PAYEE, "maxTimeoutSeconds": 60, "extra": extra,
    }  # fmt: skip


def agent_credential() -> AgentCredential:
    """A fresh agent key with a grant for our payee (registered as key 7: nothing here asks the chain)."""
    key, now = AgentKey.generate(), int(time.time())
    grant = AgentKeyGrant.build(
        payer=LocalKeySigner(PAYER_KEY).address, key=key.public_key, token=TOKEN, payee=PAYEE, cap=10**24,
        valid_after=now - 60, valid_until=now + 30 * DAY, salt=1,
    )  # fmt: skip
    return AgentCredential(key, 7, Domain(chain_id=CHAIN_ID, escrow=ESCROW), grant)


def make_payer(kind: str, db: Path) -> tuple[Payer, dict[str, Any]]:
    """A payer of ``kind`` (``eip712`` or ``agent``) on ``db``, and the requirement it pays."""
    if kind == "agent":
        return Payer(None, policy(), agent=agent_credential(), db=db), requirement(["agent"])
    return Payer(LocalKeySigner(PAYER_KEY), policy(), db=db), requirement()


def distribution(values_us: list[float]) -> dict[str, float]:
    ordered = sorted(values_us)
    return {
        "runs": len(ordered),
        "median_us": round(statistics.median(ordered), 1),
        "p99_us": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
        "max_us": round(ordered[-1], 1),
    }


def timed_calls(pay: Callable[[], object], *, seconds: float, most: int = 10**9) -> tuple[list[float], float]:
    """Call ``pay`` for ``seconds`` (or ``most`` times, at least once); per-call µs and the wall time."""
    times: list[float] = []
    started = time.perf_counter()
    while not times or (len(times) < most and time.perf_counter() - started < seconds):
        t = time.perf_counter_ns()
        pay()
        times.append((time.perf_counter_ns() - t) / 1e3)
    return times, time.perf_counter() - started


# --- throughput ---------------------------------------------------------------------------------


def throughput(kind: str, seconds: float, tmp: Path) -> dict[str, Any]:
    """Mandates/s by the clock, and the process's CPU time per mandate (what a shared machine's
    neighbours do not change as much: on two busy cores the clock counts their turns too)."""
    payer, offer = make_payer(kind, tmp / f"throughput-{kind}.db")
    try:
        timed_calls(lambda: payer.pay(offer), seconds=0.5)  # warm-up: imports, caches, the first blocks
        cpu = time.process_time()
        times, wall = timed_calls(lambda: payer.pay(offer), seconds=seconds)
        cpu = time.process_time() - cpu
    finally:
        payer.close()
    return {"kind": kind, "mandates_per_s": round(len(times) / wall, 1),
            "cpu_us_per_mandate": round(cpu / len(times) * 1e6, 1),
            "mandates_per_cpu_s": round(len(times) / cpu, 1), "per_call": distribution(times)}  # fmt: skip


# --- history ------------------------------------------------------------------------------------

OLD_AUDIT = """
CREATE TABLE payer_audit (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, at FLOAT NOT NULL, decision VARCHAR(16) NOT NULL,
    reason VARCHAR(64) NOT NULL, message TEXT NOT NULL, payer VARCHAR(42) NOT NULL, payee VARCHAR(42),
    token VARCHAR(42), amount VARCHAR(40), chain_id BIGINT, escrow VARCHAR(42), nonce BIGINT,
    deadline BIGINT, ref VARCHAR(66), digest VARCHAR(66), resource TEXT);
CREATE INDEX ix_payer_audit_at ON payer_audit (at);
CREATE INDEX ix_payer_audit_payer ON payer_audit (payer);
CREATE TABLE payer_nonces (payer VARCHAR(42) NOT NULL, payee VARCHAR(42) NOT NULL,
    last_nonce BIGINT NOT NULL, PRIMARY KEY (payer, payee));
"""


def history_database(path: Path, rows: int, now: float) -> None:
    """A payer database of an earlier aep2 holding ``rows`` approved payments of the last 23 hours."""
    payer = LocalKeySigner(PAYER_KEY).address
    span = 23 * HOUR
    with sqlite3.connect(path) as db:
        db.executescript(OLD_AUDIT)

        def entries() -> Any:
            for i in range(rows):
                at = now - span + span * i / rows
                yield (at, "approved", "approved", "approved by policy", payer, PAYEE, TOKEN, "1",
                       CHAIN_ID, ESCROW, i + 1, int(at) + 2 * HOUR, REF, f"0x{i:064x}")  # fmt: skip

        db.executemany(
            "INSERT INTO payer_audit (at, decision, reason, message, payer, payee, token, amount, chain_id, "
            "escrow, nonce, deadline, ref, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            entries(),
        )
        db.execute("INSERT INTO payer_nonces VALUES (?, ?, ?)", (payer, PAYEE, rows))
    db.close()


def history(rows: int, seconds: float, tmp: Path, templates: Path) -> dict[str, Any]:
    template = templates / f"history-{rows}.db"
    if not template.exists():
        history_database(template, rows, time.time())
    db = tmp / f"history-{rows}.db"
    shutil.copyfile(template, db)
    started = time.perf_counter()
    payer = Payer(LocalKeySigner(PAYER_KEY), policy(), db=db)
    opened_s = time.perf_counter() - started
    try:
        offer = requirement()
        first = timed_calls(lambda: payer.pay(offer), seconds=0, most=1)[0][0]
        times, _ = timed_calls(lambda: payer.pay(offer), seconds=seconds, most=5_000)
    finally:
        payer.close()
        db.unlink()
    return {"history_rows": rows, "open_s": round(opened_s, 3), "first_call_us": round(first, 1),
            "per_call": distribution(times)}  # fmt: skip


# --- threads ------------------------------------------------------------------------------------


def shared(threads: int, calls: int, tmp: Path, *, rate: float | None) -> dict[str, Any]:
    """``threads`` threads share one payer, ``calls`` payments each; paced to ``rate`` in all, or flat out."""
    payer, offer = make_payer("eip712", tmp / f"threads-{threads}-{rate}.db")
    timed_calls(lambda: payer.pay(offer), seconds=0.3)
    times: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    interval = threads / rate if rate else 0.0

    def caller(i: int) -> None:
        start.wait()
        due = time.perf_counter() + interval * i / threads
        for _ in range(calls):
            if interval:
                due += interval
                time.sleep(max(0.0, due - time.perf_counter()))
            t = time.perf_counter_ns()
            payer.pay(offer)
            times[i].append((time.perf_counter_ns() - t) / 1e3)

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    wall = time.perf_counter() - began
    payer.close()
    every = [t for per in times for t in per]
    return {"threads": threads, "rate": rate, "mandates_per_s": round(len(every) / wall, 1),
            "per_call": distribution(every)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="current")
    parser.add_argument("--phases", default="throughput,history,threads")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--history", default="1000,100000,1000000")
    parser.add_argument("--rate", type=float, default=200.0, help="total payments/s of the paced thread runs")
    parser.add_argument("--templates", type=Path, default=Path(tempfile.gettempdir()) / "aep2-payer-bench")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    args.templates.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"label": args.label, "machine": platform.machine(), "cpus": os.cpu_count(),
                           "load_average_at_start": os.getloadavg()}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aep2-payer-bench-") as name:
        tmp = Path(name)
        if "throughput" in phases:
            out["throughput"] = [throughput(kind, args.seconds, tmp) for kind in ("eip712", "agent")]
        if "history" in phases:
            sizes = [int(n) for n in args.history.split(",")]
            out["history"] = [history(n, args.seconds, tmp, args.templates) for n in sizes]
        if "threads" in phases:
            calls = max(20, int(args.rate * args.seconds / 8))
            out["threads"] = [
                shared(1, 8 * calls, tmp, rate=args.rate), shared(8, calls, tmp, rate=args.rate),
                shared(1, 8 * calls, tmp, rate=None), shared(8, calls, tmp, rate=None),
            ]  # fmt: skip
    out["load_average"] = os.getloadavg()
    text = json.dumps(out, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
