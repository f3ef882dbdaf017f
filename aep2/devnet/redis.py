"""A real redis-server on 127.0.0.1, without persistence: Celery's broker in tests and the demo."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from types import TracebackType

from aep2.devnet._process import free_port, stop, wait_for_port
from aep2.devnet._tools import find_tool


@dataclass
class RedisServer:
    """Start with :meth:`start`; :meth:`restart` keeps the port (for broker-outage tests)."""

    port: int = 0
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> RedisServer:
        self.port = self.port or free_port()
        args = [
            find_tool("redis-server"),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self._process)
        return self

    def stop(self) -> None:
        if self._process:
            stop(self._process)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
