"""The payee's per-call cost against the size of its history (issue #15, item 6; not a test).

A payee that has accepted a million mandates must check the next one as fast as its first. For
each history size (10^3, 10^5, 10^6 rows by default) this builds a SQLite store (WAL,
``synchronous`` per ``AEP2_SQLITE_SYNCHRONOUS``) whose mandates all belong to the measured payer's
own nonce sequence with this payee, the worst case for the per-sequence lookups: 98 % settled
(the chain's high-water mark sits on the last of them), 1 % in a closed window (batched), 1 %
accepted, each with its transition and receipt row, and the exposure row their sum. The history
rows are synthetic (well-formed fields, unsigned): the check reads them only through indexes.

Then it accepts ``--calls`` freshly signed mandates per store (nonces above the history) one by
one with ``PayeeCheck.accept``, as a paid call does, timing each by the clock and by the thread's
CPU. The stores take turns, ``--rounds`` times: this machine's speed drifts by tens of percent
over minutes, and alternating spreads a drift over every size alike.

    python -m benchmarks.payee_history [--sizes 1000 100000 1000000] [--calls 2000] [--rounds 4]

Writes ``benchmarks/results/payee_history.json`` and ``payee_history.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.payee_latency import PRICE, _chain, _mandates, _payer, _percentile, _settings, _synchronous

RESULTS = Path(__file__).parent / "results" / "payee_history.json"
SEED_CHUNK = 20_000
WARM = 100


def _history_rows(size: int) -> tuple[int, int, int]:
    """(settled, batched, accepted) counts of a history of ``size`` rows."""
    in_flight = max(1, size // 100)
    return size - 2 * in_flight, in_flight, in_flight


def seed(db: Path, size: int) -> dict[str, int]:
    """Fill ``db`` (schema created) with ``size`` mandates of the measured payer's sequence."""
    from aep2.store.models import NO_KEY, uint64_key

    settings = _settings()
    payer, payee, token = _payer(), settings.payee, settings.tokens[0]
    settled, batched, accepted = _history_rows(size)
    start = datetime.now(UTC) - timedelta(days=30)
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # seeding only; the measured store is reopened
    deadline = uint64_key(int(time.time()) + 10**6)
    for first in range(1, size + 1, SEED_CHUNK):
        nonces = range(first, min(size, first + SEED_CHUNK - 1) + 1)
        connection.execute("BEGIN")
        mandates, transitions, receipts = [], [], []
        for nonce in nonces:
            state = "accepted"
            if nonce <= settled + batched:
                state = "settled" if nonce <= settled else "batched"
            at = (start + timedelta(seconds=nonce)).isoformat(sep=" ").replace("+00:00", "")
            mandates.append(
                (nonce, 31337, settings.escrow, "eip712", NO_KEY, payer, payee, token, str(PRICE),
                 uint64_key(nonce), deadline, "0x" + "00" * 32, "0x" + "11" * 65,
                 "0x" + nonce.to_bytes(32, "big").hex(), "seeded", "http", None, state, at, at)
            )  # fmt: skip
            transitions.append((nonce, None, "accepted", at, None))
            receipts.append((nonce, '{"seeded": true}', "0x" + "22" * 65, at))
        connection.executemany(
            "INSERT INTO mandates (id, chain_id, escrow, kind, key_id, payer, payee, token, amount, "
            "nonce, deadline, ref, signature, digest, header, transport, descriptor, state, accepted_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            mandates,
        )
        connection.executemany(
            "INSERT INTO state_transitions (mandate_id, from_state, to_state, at, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            transitions,
        )
        connection.executemany(
            "INSERT INTO receipts (mandate_id, receipt, signature, created_at) VALUES (?, ?, ?, ?)", receipts
        )
        connection.execute("COMMIT")
    unsettled = str((batched + accepted) * PRICE)
    connection.execute(
        "INSERT INTO exposures (payer, token, unsettled) VALUES (?, ?, ?)", (payer, token, unsettled)
    )
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.execute("ANALYZE")
    connection.close()
    return {"settled": settled, "batched": batched, "accepted": accepted, "high_water": settled}


@dataclass
class _Store:
    """One history size's store, its check and the mandates still to accept."""

    size: int
    db: Path
    history: dict[str, int]
    seeded_s: float
    engine: Any
    check: Any
    headers: list[str]
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)


def _open(size: int, calls: int, tmp: Path) -> _Store:
    from aep2.payee import PayeeCheck
    from aep2.store import create_schema, make_engine

    settings = _settings()
    db = tmp / f"payee-{size}.db"
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    engine.dispose()
    began = time.perf_counter()
    history = seed(db, size)
    seeded_s = time.perf_counter() - began
    engine = make_engine(f"sqlite:///{db}")
    chain = _chain(_payer())
    chain.set_high_water(payer=_payer(), payee=settings.payee, nonce=history["high_water"])
    check = PayeeCheck(settings=settings, engine=engine, chain=chain)
    headers = _mandates(WARM + calls, _ref(), settings.payee, first_nonce=size + 1)
    for header in headers[:WARM]:
        check.accept(header, price=PRICE, ref=_ref(), transport="bench")
    return _Store(size, db, history, seeded_s, engine, check, headers[WARM:])


def _accept(store: _Store, count: int) -> None:
    ref = _ref()
    for header in store.headers[:count]:
        start, cpu_start = time.perf_counter(), time.thread_time()
        store.check.accept(header, price=PRICE, ref=ref, transport="bench")
        store.cpu.append(time.thread_time() - cpu_start)
        store.wall.append(time.perf_counter() - start)
    del store.headers[:count]


def measure_sizes(sizes: list[int], calls: int, rounds: int = 4) -> list[dict[str, Any]]:
    """Every size's store built first, then ``calls`` accepts each in ``rounds`` alternating
    rounds, so a drift in the shared machine's speed reaches every size alike."""
    with tempfile.TemporaryDirectory(prefix="aep2-history-") as tmp:
        stores = [_open(size, calls, Path(tmp)) for size in sizes]
        share = -(-calls // rounds)
        for _ in range(rounds):
            for store in stores:
                _accept(store, share)
        rows = [_row(store, calls) for store in stores]
        for store in stores:
            store.engine.dispose()
    return rows


def measure(size: int, calls: int) -> dict[str, Any]:
    """One size alone (tests)."""
    return measure_sizes([size], calls, rounds=1)[0]


def _row(store: _Store, calls: int) -> dict[str, Any]:
    ms = 1000.0
    return {
        "history_rows": store.size,
        "history": store.history,
        "seeded_s": round(store.seeded_s, 1),
        "database_mib": round(store.db.stat().st_size / 2**20, 1),
        "calls": len(store.cpu),
        "cpu_median_ms": statistics.median(store.cpu) * ms,
        "cpu_p99_ms": _percentile(store.cpu, 0.99) * ms,
        "wall_median_ms": statistics.median(store.wall) * ms,
        "wall_p99_ms": _percentile(store.wall, 0.99) * ms,
    }


def _ref() -> bytes:
    from aep2.protocol.call_ref import http_ref

    return http_ref("GET", "http://127.0.0.1/paid")


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["history_rows"] for r in rows]
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for key, label in (("cpu_median_ms", "CPU median"), ("cpu_p99_ms", "CPU p99"),
                       ("wall_median_ms", "wall median"), ("wall_p99_ms", "wall p99")):  # fmt: skip
        axes.plot(sizes, [r[key] for r in rows], marker="o", label=label)
    axes.set_xscale("log")
    axes.set_ylim(bottom=0)
    axes.set_xlabel("mandates already in the payee's store (one payer's sequence)")
    axes.set_ylabel("PayeeCheck.accept, ms per call")
    axes.set_title("Payee per-call cost against history (SQLite WAL)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=2000, help="accepts per size")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the calls are split into")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = measure_sizes(args.sizes, args.calls, args.rounds)
    for row in rows:
        size = row["history_rows"]
        print(
            f"{size:>9} rows ({row['database_mib']:7.1f} MiB, seeded in {row['seeded_s']:6.1f} s): "
            f"CPU median {row['cpu_median_ms']:.2f} p99 {row['cpu_p99_ms']:.2f} ms, "
            f"wall median {row['wall_median_ms']:.2f} p99 {row['wall_p99_ms']:.2f} ms",
            flush=True,
        )
    first, last = rows[0], rows[-1]
    result = {
        "benchmark": "payee_history",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        },
        "sqlite_synchronous": _synchronous(),
        "rows": rows,
        "largest_over_smallest": {
            "cpu_median": last["cpu_median_ms"] / first["cpu_median_ms"],
            "wall_median": last["wall_median_ms"] / first["wall_median_ms"],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(rows, args.out.with_suffix(".png"))
    ratio = result["largest_over_smallest"]
    print(f"{last['history_rows']} over {first['history_rows']} rows: CPU median x{ratio['cpu_median']:.2f}, "
          f"wall median x{ratio['wall_median']:.2f}; wrote {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
