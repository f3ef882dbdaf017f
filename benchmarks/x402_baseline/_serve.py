"""Run the facilitator or the payee as its own uvicorn process, as each runs in production.

:class:`ServerProcess` starts ``python -m benchmarks.x402_baseline.serve ROLE`` through the
benchmarks' shared :class:`benchmarks._server.ServerProcess`: a free 127.0.0.1 port, settings (the
facilitator's key among them) in the environment rather than argv, stopped by PID.
"""

from __future__ import annotations

from typing import Any

from benchmarks._server import SETTINGS_ENV
from benchmarks._server import ServerProcess as _ServerProcess

ENV = SETTINGS_ENV
MODULE = "benchmarks.x402_baseline.serve"


class ServerProcess(_ServerProcess):
    """``with ServerProcess("payee", {...}) as url:`` a server of ``role`` listening at ``url``."""

    def __init__(self, role: str, settings: dict[str, Any], *, startup_timeout: float = 60.0) -> None:
        super().__init__(MODULE, settings, args=[role], startup_timeout=startup_timeout)
        self.role = role
