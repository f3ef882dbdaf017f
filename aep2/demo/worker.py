"""The Celery worker of the demo: the real ``workers.celery`` app and tasks in a child process.

It runs in its own session, so the terminal's Ctrl-C does not reach it mid-proof; the demo
stops it (and the ``aep2-prover serve`` its pool child started) by process group on the way out.

The child is ``celery -A workers.celery worker``, on the broker ``AEP2_BROKER_URL`` names.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from aep2.devnet import repo_root


def celery_app(broker_url: str) -> Any:
    """``workers.celery``'s app on ``broker_url``, for sending tasks to the worker child."""
    # by name: workers/ sits above the library (and Celery ships no type information)
    return importlib.import_module("workers.celery").make_app(broker_url)


@contextmanager
def worker_process(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start the worker; on exit SIGTERM its group, then SIGKILL it (a proof in flight is thrown away)."""
    args = [
        sys.executable, "-m", "celery", "-A", "workers.celery", "worker",
        "--queues=prove,submit,reconcile", "--concurrency=1", "--pool=prefork", "--loglevel=INFO",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    env = os.environ | {"AEP2_REPO": str(repo_root())} | env
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=repo_root()
        )
    try:
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the whole process group, then SIGKILL it after ``grace`` seconds.

    The SIGKILL goes to the group even when the parent has exited: its pool child and the
    prover it started may outlive it.
    """
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    finally:  # also when a second Ctrl-C cuts the grace short: the group must not outlive us
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)
