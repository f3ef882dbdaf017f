"""An anvil that outlives the command that started it, and stopping it again by its PID.

``aep2 devnet up`` runs in a shell that exits at once, so the anvil gets its own session (no
terminal signal reaches it) and logs to a file. Stopping is by recorded PID only, and only after
``/proc/<pid>/cmdline`` shows it is still an anvil on the recorded port: a PID reused by another
process is never signalled.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from aep2.devnet._process import free_port, wait_for_port
from aep2.devnet._tools import find_tool
from aep2.devnet.anvil import read_anvil_config


def start_detached_anvil(
    *, port: int | None, log: Path, chain_id: int = 31337
) -> tuple[int, int, list[bytes]]:
    """Start anvil on 127.0.0.1 in its own session; (pid, port, its accounts' private keys)."""
    port = port or free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aep2-devnet-") as tmp, log.open("ab") as out:
        config = Path(tmp) / "accounts.json"
        args = [
            find_tool("anvil"),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--chain-id", str(chain_id),
            "--config-out", str(config),
        ]  # fmt: skip
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(port, process)
        keys = read_anvil_config(config, process)["private_keys"]
    return process.pid, port, [bytes.fromhex(k.removeprefix("0x")) for k in keys]


def is_anvil_on(pid: int, port: int) -> bool:
    """True if ``pid`` is a live anvil started with ``--port port``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if not argv or Path(argv[0].decode(errors="replace")).name != "anvil":
        return False
    return any(a == b"--port" and b == str(port).encode() for a, b in itertools.pairwise(argv))


def stop_anvil(pid: int, port: int, timeout: float = 10.0) -> bool:
    """SIGTERM (then SIGKILL) the anvil ``pid`` if it is one on ``port``; False if none was running."""
    if not is_anvil_on(pid, port):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)
    return True


def _running(pid: int) -> bool:
    """Alive and not a zombie; reaps ``pid`` when it is our own child (tests start it in process)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
