"""A real anvil on 127.0.0.1: the local chain of the demo, the tests and the benchmarks."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aep2.devnet._process import free_port, stop, wait_for_port
from aep2.devnet._tools import find_tool

CONFIG_TIMEOUT = 10.0


def read_anvil_config(path: Path, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Anvil's ``--config-out`` JSON, once written whole: anvil may open its port before it has
    finished writing the file, and a read in between sees an empty or partial file."""
    deadline = time.monotonic() + CONFIG_TIMEOUT
    while True:
        try:
            config: dict[str, Any] = json.loads(path.read_text())
            return config
        except (FileNotFoundError, json.JSONDecodeError):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"anvil wrote no complete config to {path}") from None
            time.sleep(0.02)


@dataclass
class Anvil:
    """Start with :meth:`start` (or ``with Anvil() as chain``); stopped by PID on :meth:`stop`."""

    chain_id: int = 31337
    accounts: int = 10
    block_time: float | None = None
    steps_tracing: bool = False
    """Record every step, so ``debug_traceTransaction`` returns geth-style opcode traces (slower)."""
    port: int = 0
    private_keys: list[bytes] = field(default_factory=list)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> Anvil:
        self.port = self.port or free_port()
        with tempfile.TemporaryDirectory(prefix="aep2-anvil-") as tmp:
            config = Path(tmp) / "config.json"
            args = [
                find_tool("anvil"),
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--chain-id", str(self.chain_id),
                "--accounts", str(self.accounts),
                "--config-out", str(config),
                "--silent",
            ]  # fmt: skip
            if self.block_time:
                args += ["--block-time", str(self.block_time)]
            if self.steps_tracing:
                args.append("--steps-tracing")
            self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            try:
                wait_for_port(self.port, self._process)
                keys = read_anvil_config(config, self._process)["private_keys"]
            except BaseException:  # never leave a half-started anvil behind
                self.stop()
                raise
        self.private_keys = [bytes.fromhex(k.removeprefix("0x")) for k in keys]
        return self

    def stop(self) -> None:
        if self._process:
            stop(self._process)
            self._process = None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
