"""Nonces are never reused: not across a crash between allocation and signing, not under concurrency."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aep2.mandate import decode
from aep2.payer import APPROVED, LocalKeySigner, Payer, Policy
from tests.conftest import PAYER_KEY, aep2_requirement

REPO = Path(__file__).resolve().parent.parent

# A payer process whose signer announces the nonce it was given, then hangs: the parent kills it
# with SIGKILL, i.e. after the nonce was allocated and before any signature existed.
HANGING_PAYER = textwrap.dedent(
    """
    import json, sys, time
    from aep2.payer import CallbackSigner, LocalKeySigner, Payer, Policy

    def hang(typed_data):
        print("allocated", typed_data["message"]["nonce"], flush=True)
        time.sleep(600)

    signer = CallbackSigner(LocalKeySigner.from_hex(sys.argv[2]).address, hang)
    Payer(signer, Policy(), db=sys.argv[1]).pay(json.loads(sys.argv[3]))
    """
)

# A payer process that signs `count` mandates as fast as it can and prints their nonces.
BUSY_PAYER = textwrap.dedent(
    """
    import json, sys
    from aep2.mandate import decode
    from aep2.payer import LocalKeySigner, Payer, Policy

    payer = Payer(LocalKeySigner.from_hex(sys.argv[2]), Policy(), db=sys.argv[1])
    for _ in range(int(sys.argv[4])):
        print(decode(payer.pay(json.loads(sys.argv[3]))).mandate.nonce, flush=True)
    """
)


def _python(script: str, db: Path, *args: str) -> subprocess.Popen[str]:
    """A payer in its own process (it imports only aep2: tests.conftest would pull in web3)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [str(db), PAYER_KEY.hex(), json.dumps(aep2_requirement()), *args]
    return subprocess.Popen(
        [sys.executable, "-W", "error", "-c", script, *argv],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_crash_between_allocation_and_signing_never_reuses_the_nonce(payer_db: Path) -> None:
    first = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    assert decode(first.pay(aep2_requirement())).mandate.nonce == 1
    first.close()

    with _python(HANGING_PAYER, payer_db) as victim:
        assert victim.stdout is not None and victim.stderr is not None
        try:
            line = victim.stdout.readline()
        finally:
            victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        assert line.split() == ["allocated", "2"], (line, victim.stderr.read())

    restarted = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    assert decode(restarted.pay(aep2_requirement())).mandate.nonce == 3
    decisions = [(e.decision, e.nonce) for e in restarted.audit.entries()]
    assert decisions == [(APPROVED, 1), (APPROVED, 2), (APPROVED, 3)]


def test_threads_never_share_a_nonce(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    with ThreadPoolExecutor(max_workers=8) as pool:
        nonces = list(pool.map(lambda _: decode(payer.pay(aep2_requirement())).mandate.nonce, range(80)))
    assert sorted(nonces) == list(range(1, 81))


def test_threads_cannot_overspend_a_limit_together(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(daily_limit=10_000), db=payer_db)

    def attempt(_: int) -> bool:
        try:
            payer.pay(aep2_requirement())
        except Exception:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count(True) == 10


def test_processes_never_share_a_nonce(payer_db: Path) -> None:
    Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db).close()  # create the schema once
    workers = [_python(BUSY_PAYER, payer_db, "25") for _ in range(4)]
    nonces: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        own = [int(line) for line in out.split()]
        assert own == sorted(own) and len(own) == 25
        nonces += own
    # each process hands out nonces from blocks of its own, so the sequences interleave in blocks
    # and a process leaves the rest of its last block unused: unique, not contiguous
    assert len(set(nonces)) == 100
