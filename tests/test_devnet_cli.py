"""Issue #14, item 1: ``aep2 devnet up | status | env | down`` on a real, detached anvil.

One devnet per module (``up`` deploys the Groth16 verifier of the cached dev keys, so it needs
them, as under ``make test``); the commands run as the user runs them, in a subprocess.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from aep2.chain import EscrowClient, VerifierFamily
from aep2.devnet.detached import is_anvil_on, stop_anvil
from aep2.devnet.state import DevnetState, read_state
from tests.groth16_support import _missing, agent_keys_dir, keys_dir


def aep2(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AEP2_HOME"} | {"HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "aep2", *args], capture_output=True, text=True, timeout=120, env=env, cwd=home
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (keys_dir() / "proving.key").exists():
        _missing(f"no N=1 dev keys in {keys_dir()}")
    if not (agent_keys_dir() / "proving.key").exists():
        _missing(f"no agent N=1 dev keys in {agent_keys_dir()}")
    home = tmp_path_factory.mktemp("home")
    (home / ".aep2" / "circuits").mkdir(parents=True)
    for keys in (keys_dir(), agent_keys_dir()):  # the N=1 keys of both families, as `make setup` makes
        (home / ".aep2" / "circuits" / keys.name).symlink_to(keys, target_is_directory=True)
    return home


@pytest.fixture(scope="module")
def devnet(home: Path) -> Iterator[Path]:
    path = home / "net" / "devnet.json"
    done = aep2(["devnet", "up", "--file", str(path), "--payers", "2", "--deposit", "5000"], home)
    assert done.returncode == 0, done.stderr
    assert "SINGLE-PARTY DEV KEYS" in done.stderr
    yield path
    if path.exists():
        state = read_state(path)
        stop_anvil(state.anvil_pid, state.port)


def test_up_writes_one_private_file_with_everything_a_payee_and_a_payer_need(devnet: Path) -> None:
    assert stat.S_IMODE(devnet.stat().st_mode) == 0o600
    state = DevnetState.model_validate_json(devnet.read_text())
    assert os.getsid(state.anvil_pid) == state.anvil_pid  # its own session: it outlives the command
    assert is_anvil_on(state.anvil_pid, state.port)
    assert Path(state.log).exists() and Path(state.log).parent == devnet.parent
    w3 = Web3(Web3.HTTPProvider(state.rpc_url))
    escrow = EscrowClient.at(w3, state.escrow)
    assert escrow.withdraw_delay() == state.withdraw_delay == 24 * 3600
    assert escrow.is_approved_submitter(state.payee.address, state.submitter.address)
    assert [(v.id, v.n, v.p, v.family) for v in state.verifiers] == [(1, 1, 1, "batch"), (2, 1, 1, "agent")]
    assert escrow.verifier_info(1) is not None
    agent = escrow.verifier_info(2)
    assert agent is not None and agent.family == VerifierFamily.AGENT
    assert len(state.payers) == 2
    assert all(escrow.balance(p.address, state.token) == 5000 for p in state.payers)
    assert state.env == {
        "AEP2_RPC_URL": state.rpc_url, "AEP2_ESCROW": state.escrow,
        "AEP2_SUBMITTER_KEY": state.submitter.key, "AEP2_CIRCUITS": "1:1:1,2:1:1:agent",
    }  # fmt: skip


def test_up_refuses_a_running_devnet_of_the_same_file(devnet: Path, home: Path) -> None:
    before = devnet.read_text()
    done = aep2(["devnet", "up", "--file", str(devnet)], home)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "already running" in done.stderr
    assert devnet.read_text() == before


def test_status_reports_block_balances_and_credit(devnet: Path, home: Path) -> None:
    done = aep2(["devnet", "status", "--file", str(devnet)], home)
    assert done.returncode == 0, done.stderr
    state = read_state(devnet)
    assert "running" in done.stdout and "block" in done.stdout
    for payer in state.payers:
        assert f"payer {payer.address}: escrow 5,000" in done.stdout
    assert f"payee {state.payee.address}: credit 0" in done.stdout


def test_env_prints_the_workers_environment_as_shell_exports(devnet: Path, home: Path) -> None:
    done = aep2(["devnet", "env", "--file", str(devnet)], home)
    assert done.returncode == 0, done.stderr
    exported = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    assert exported == read_state(devnet).env


@pytest.mark.parametrize("command", ["status", "env", "down"])
def test_every_subcommand_refuses_a_remote_chain(devnet: Path, home: Path, command: str) -> None:
    remote = home / f"remote-{command}.json"
    remote.write_text(json.dumps(json.loads(devnet.read_text()) | {"rpc_url": "http://192.0.2.7:8545"}))
    done = aep2(["devnet", command, "--file", str(remote)], home)
    assert done.returncode == 2
    assert "only ever touches a local chain" in done.stderr
    assert remote.exists()


def test_down_never_signals_a_pid_that_is_not_the_recorded_anvil(devnet: Path, home: Path) -> None:
    impostor = subprocess.Popen(["sleep", "60"])
    try:
        stale = home / "stale.json"
        stale.write_text(json.dumps(json.loads(devnet.read_text()) | {"anvil_pid": impostor.pid}))
        done = aep2(["devnet", "down", "--file", str(stale)], home)
        assert done.returncode == 0, done.stderr
        assert "no anvil was running" in done.stdout
        assert impostor.poll() is None and not stale.exists()
    finally:
        impostor.kill()
        impostor.wait()


def test_down_stops_the_anvil_and_removes_the_file(devnet: Path, home: Path) -> None:
    state = read_state(devnet)
    done = aep2(["devnet", "down", "--file", str(devnet)], home)
    assert done.returncode == 0, done.stderr
    assert not devnet.exists()
    assert not is_anvil_on(state.anvil_pid, state.port)
    assert aep2(["devnet", "status", "--file", str(devnet)], home).returncode == 2
