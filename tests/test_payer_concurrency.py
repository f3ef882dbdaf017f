"""One Payer shared by threads and asyncio tasks: one sequence, a complete log, and no convoy.

Threads of a process queue on the journal's gate, never in SQLite's busy handler (which sleeps for
milliseconds at a time: the payer of issue #15 showed a p99 of 650-870 ms at 8 threads).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aep2.mandate import decode
from aep2.payer import APPROVED, LocalKeySigner, Payer, Policy
from benchmarks.payer_hot_path import shared
from tests.conftest import PAYER_KEY, aep2_requirement


def test_threads_draw_one_sequence_and_log_every_payment(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(hourly_limit=10**12), db=payer_db)

    def pay(_: int) -> int:
        return decode(payer.pay(aep2_requirement())).mandate.nonce

    with ThreadPoolExecutor(max_workers=8) as pool:
        nonces = list(pool.map(pay, range(400)))
    assert sorted(nonces) == list(range(1, 401))  # one process: its blocks follow each other
    logged = [e.nonce for e in payer.audit.entries() if e.decision == APPROVED]
    assert sorted(logged) == sorted(nonces)
    payer.close()


def test_asyncio_tasks_share_one_payer(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)

    async def main() -> list[int]:
        async def one() -> int:
            return decode(await asyncio.to_thread(payer.pay, aep2_requirement())).mandate.nonce

        return list(await asyncio.gather(*(one() for _ in range(64))))

    assert sorted(asyncio.run(main())) == list(range(1, 65))
    payer.close()


def test_two_payer_objects_of_one_process_share_a_journal(payer_db: Path) -> None:
    payers = [Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        nonces = list(
            pool.map(lambda i: decode(payers[i % 2].pay(aep2_requirement())).mandate.nonce, range(60))
        )
    assert sorted(nonces) == list(range(1, 61))
    payers[0].close()
    assert decode(payers[1].pay(aep2_requirement())).mandate.nonce == 61  # the journal outlives one of them
    payers[1].close()


def test_eight_callers_wait_about_as_long_as_one(tmp_path: Path) -> None:
    """The same 200 payments a second from one thread, then from eight: the tail stays within 2x
    (plus 10 ms for a shared two-core machine's noise; a busy-handler convoy costs hundreds)."""
    one = shared(1, 400, tmp_path, rate=200.0)["per_call"]
    eight = shared(8, 50, tmp_path, rate=200.0)["per_call"]
    assert eight["p99_us"] <= 2 * one["p99_us"] + 10_000, (one, eight)
