"""Run the facilitator or the payee as its own uvicorn process, as each runs in production.

:class:`ServerProcess` starts ``python -m benchmarks.x402_baseline.serve ROLE`` on a free
127.0.0.1 port and stops it by PID. Settings (a JSON object, the facilitator's key among them)
travel in the environment variable ``X402_BASELINE_SERVER`` rather than argv, so the key does not
show in ``ps``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from aep2.devnet import free_port, stop, wait_for_port

ENV = "X402_BASELINE_SERVER"
ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """``with ServerProcess("payee", {...}) as url:`` a server of ``role`` listening at ``url``."""

    def __init__(self, role: str, settings: dict[str, Any], *, startup_timeout: float = 60.0) -> None:
        self.role = role
        self.settings = settings
        self.port = free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        env = dict(os.environ)
        env[ENV] = json.dumps({**self.settings, "port": self.port})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.x402_baseline.serve", self.role],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self._process, timeout=self.startup_timeout)
        return self.url

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None
