"""Issue #14, item 3: the README's quick start, run command by command exactly as written.

The commands come from README.md between the ``quickstart`` markers, so the README and this test
cannot drift. They run with a temporary ``HOME`` (so ``~/.aep2`` is fresh: devnet file, payee
config, payer journal) whose ``.aep2/circuits`` links to the cached dev keys, with the virtual
environment on ``PATH`` (what ``. .venv/bin/activate`` does), from the repository root. The
devnet and the payee are stopped at the end whatever happens.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aep2.devnet.detached import stop_anvil
from aep2.devnet.state import read_state
from tests.groth16_support import _missing, keys_dir

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- quickstart:begin -->\s*```sh\n(.*?)```\s*<!-- quickstart:end -->", re.S)
PORT = 8402


def quickstart_commands() -> list[list[str]]:
    """The quick start's commands as argv lists (comments dropped); a trailing ``&`` stays a token."""
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md has no quickstart block between the markers"
    return [tokens for line in match[1].splitlines() if (tokens := shlex.split(line, comments=True))]


def test_the_quick_start_is_short_and_pays_over_every_transport() -> None:
    commands = quickstart_commands()
    assert len(commands) <= 6  # setup + four commands, the last one over three transports
    assert [c[:2] for c in commands[:3]] == [["aep2", "devnet"], ["aep2", "payee"], ["aep2", "payee"]]
    pays = [c for c in commands if c[:2] == ["aep2", "pay"]]
    assert {"--mcp-tool", "--a2a-skill"} <= {arg for c in pays for arg in c}
    assert len(pays) == 3


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh ``HOME`` whose ``.aep2/circuits`` is the real key cache (no trusted setup redone)."""
    if not (keys_dir() / "proving.key").exists():
        _missing(f"no N=1 dev keys in {keys_dir()}")
    (tmp_path / ".aep2").mkdir()
    (tmp_path / ".aep2" / "circuits").symlink_to(keys_dir().parent, target_is_directory=True)
    return tmp_path


def _env(home: Path) -> dict[str, str]:
    drop = {"AEP2_HOME", "AEP2_PAYER_DB", "AEP2_DATABASE_URL", "AEP2_PAYER_KEY_FILE", "AEP2_PAYER_POLICY"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    venv_bin = str(Path(sys.executable).parent)
    return env | {"HOME": str(home), "PATH": f"{venv_bin}:{env.get('PATH', '')}", "AEP2_REPO": str(ROOT)}


def _argv(command: list[str], env: dict[str, str]) -> list[str]:
    """What the shell would run: ``~`` expanded against the test's HOME, the program found on PATH."""
    argv = [arg.replace("~", env["HOME"], 1) if arg.startswith("~") else arg for arg in command]
    program = shutil.which(argv[0], path=env["PATH"])
    assert program, f"{argv[0]} not on PATH"
    return [program, *argv[1:]]


def _wait_healthy(server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "aep2 payee serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"the payee did not answer /health within {timeout}s")


@pytest.fixture
def background(home: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The commands started with ``&``, stopped by PID; then the devnet's anvil, by its recorded PID."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=20)
    devnet = home / ".aep2" / "devnet.json"
    if devnet.exists():
        state = read_state(devnet)
        stop_anvil(state.anvil_pid, state.port)


def test_the_readme_quick_start_pays_over_http_mcp_and_a2a(
    home: Path, background: list[subprocess.Popen[bytes]]
) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", PORT)) == 0:
            pytest.fail(f"port {PORT} is taken; the quick start serves there")
    env = _env(home)
    receipts = 0
    for command in quickstart_commands():
        argv = _argv(command[:-1] if command[-1] == "&" else command, env)
        if command[-1] == "&":
            server = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            background.append(server)
            _wait_healthy(server)
            continue
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
        receipts += '"receipt": {' in done.stderr
    assert receipts == 3
    down = subprocess.run(
        _argv(["aep2", "devnet", "down"], env), env=env, capture_output=True, text=True, timeout=60
    )
    assert down.returncode == 0 and "stopped" in down.stdout, down.stderr
    assert not (home / ".aep2" / "devnet.json").exists()
