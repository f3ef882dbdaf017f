"""Benchmark servers as their own uvicorn processes, each reporting its own handling time.

A payee (or facilitator) runs as it does in production: a separate process, reached over HTTP.
:class:`ServerProcess` starts ``python -m MODULE ARGS...`` on a free 127.0.0.1 port and stops it
by PID. Settings (a JSON object, keys among them) travel in the environment variable
``BENCH_SERVER_SETTINGS`` rather than argv, so a key does not show in ``ps``; the server reads
them back with :func:`server_settings` and runs its app with :func:`serve`.

:class:`ServerTiming` is the outermost middleware of every measured app, so ``payee_ms`` means the
same for every scheme: request in → response start, inside the server process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from aep2.devnet import free_port, stop, wait_for_port

SETTINGS_ENV = "BENCH_SERVER_SETTINGS"
SERVER_TIMING = "server-timing"
"""Response header carrying the server's own handling time: ``app;dur=<milliseconds>``."""
ROOT = Path(__file__).resolve().parents[1]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerTiming:
    """Pure ASGI middleware, outermost: adds the time from request to response start as a header.

    Outermost means it covers every payment middleware and dependency under it (for x402
    ``exact``: verify, handler and the on-chain settlement; for aep2: the payee's whole check and
    the commit of the mandate).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter_ns()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter_ns() - started) / 1e6
                headers = list(message.get("headers", []))
                headers.append((SERVER_TIMING.encode(), f"app;dur={elapsed_ms:.3f}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, timed_send)


def payee_ms(response: httpx.Response) -> float:
    """The handling time :class:`ServerTiming` put on ``response``, in milliseconds."""
    return float(response.headers[SERVER_TIMING].split("dur=")[1])


class ServerProcess:
    """``with ServerProcess("pkg.serve", {...}) as url:`` the server ``python -m pkg.serve`` at ``url``."""

    def __init__(
        self,
        module: str,
        settings: dict[str, Any],
        *,
        args: Sequence[str] = (),
        startup_timeout: float = 60.0,
    ) -> None:
        self.module = module
        self.args = list(args)
        self.settings = settings
        self.port = free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> str:
        env = dict(os.environ)
        env[SETTINGS_ENV] = json.dumps({**self.settings, "port": self.port})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args], env=env, cwd=ROOT, stdin=subprocess.DEVNULL
        )
        wait_for_port(self.port, self._process, timeout=self.startup_timeout)
        return self.url

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None


def server_settings() -> tuple[dict[str, Any], int]:
    """Inside a server started by :class:`ServerProcess`: its settings, and the port to listen on."""
    settings: dict[str, Any] = json.loads(os.environ[SETTINGS_ENV])
    return settings, int(settings.pop("port"))


def serve(app: ASGIApp, port: int) -> None:
    """Run ``app`` on 127.0.0.1:``port`` until SIGTERM, quietly (no access log on the measured path)."""
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
