"""``aep2 agent-key new | authorize | status | revoke`` against the real escrow on anvil.

The grant signed here (by the payer's key, or by a "wallet" from the printed typed data) must be
what the escrow's ``agentKeyGrantDigest`` hashes and ``authorizeAgentKey`` accepts; the sidecar then
holds the assigned key id, and :class:`AgentCredential` loads from it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from aep2.agentkey import ANY_PAYEE, AgentKey
from aep2.cli import app
from aep2.devnet import Anvil
from aep2.payer import AgentCredential, GrantRecord, LocalKeySigner, Payer, Policy, sidecar_path
from tests import payee_support as s
from tests.conftest import aep2_requirement
from tests.escrow_world import World, make_world, new_payer

CAP = 50_000


@pytest.fixture(scope="module")
def world(anvil: Anvil) -> World:
    return make_world(anvil)


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok(*args: str) -> dict[str, Any]:
    result = cli(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture
def payer_key(world: World, tmp_path: Path) -> Path:
    key = new_payer(world)
    path = tmp_path / "payer.key"
    path.write_text("0x" + key.hex() + "\n")
    return path


def chain_args(world: World, anvil: Anvil) -> list[str]:
    return ["--rpc-url", anvil.rpc_url, "--escrow", world.escrow.address]


def test_new_writes_a_private_key_file_and_prints_only_the_public_key(tmp_path: Path) -> None:
    result = cli("agent-key", "new", str(tmp_path / "agent.key"))
    assert result.exit_code == 0, result.output
    key = AgentKey.load(tmp_path / "agent.key")
    assert result.stdout.strip() == "0x" + key.public_key.hex()
    assert stat.S_IMODE((tmp_path / "agent.key").stat().st_mode) == 0o600
    assert key.unsafe_private_key_bytes().hex() not in result.output
    again = cli("agent-key", "new", str(tmp_path / "agent.key"))
    assert again.exit_code != 0 and "refusing to overwrite" in str(again.exception)


def test_authorize_status_revoke_with_the_payers_key(
    world: World, anvil: Anvil, payer_key: Path, tmp_path: Path
) -> None:
    agent = tmp_path / "agent.key"
    cli("agent-key", "new", str(agent))
    registered = ok(
        "agent-key", "authorize", "--agent-key", str(agent), "--key-file", str(payer_key),
        *chain_args(world, anvil), "--token", world.token.address, "--payee", s.PAYEE,
        "--cap", str(CAP), "--valid-for", "86400",
    )  # fmt: skip
    record = GrantRecord.read(sidecar_path(agent))
    assert record.key_id == int(registered["keyId"]) >= 1 and record.signature is not None
    grant = record.grant
    payer = LocalKeySigner.from_file(payer_key).address
    assert (grant.payer, grant.payee, grant.cap, grant.token) == (payer, s.PAYEE, CAP, world.token.address)
    assert grant.digest(record.domain) == bytes(
        world.escrow.contract.functions.agentKeyGrantDigest(grant.as_abi()).call()
    )
    status = ok("agent-key", "status", "--agent-key", str(agent), "--rpc-url", anvil.rpc_url)
    assert status | {"validAfter": None, "validUntil": None} == {
        "keyId": registered["keyId"], "state": "active", "payer": payer, "token": world.token.address,
        "payee": s.PAYEE, "cap": str(CAP), "spent": "0", "remaining": str(CAP), "validAfter": None,
        "validUntil": None, "revokeAt": None, "key": registered["key"],
    }  # fmt: skip
    credential = AgentCredential.load(agent)
    assert credential.key_id == record.key_id and credential.payer == payer

    tx = ok("agent-key", "revoke", "--agent-key", str(agent), "--rpc-url", anvil.rpc_url, "--print-tx")
    assert tx["to"] == world.escrow.address and tx["from"] == payer and tx["data"].startswith("0x")
    revoked = ok("agent-key", "revoke", "--agent-key", str(agent), "--key-file", str(payer_key),
                 "--rpc-url", anvil.rpc_url)  # fmt: skip
    assert int(revoked["revokeAt"]) > world.now()
    status = ok("agent-key", "status", "--agent-key", str(agent), "--rpc-url", anvil.rpc_url)
    assert (status["state"], status["revokeAt"]) == ("revoking", revoked["revokeAt"])
    # the payer stops using a key it revoked: EIP-712 from now on
    payer_sdk = Payer(LocalKeySigner.from_file(payer_key), Policy(), agent=AgentCredential.load(agent),
                      db=tmp_path / "payer.db")  # fmt: skip
    offer = aep2_requirement(
        asset=world.token.address, payTo=s.PAYEE,
        extra={"escrow": world.escrow.address, "kinds": ["eip712", "agent"]},
    )  # fmt: skip
    assert payer_sdk.audit.entries() == [] and type(payer_sdk.authorize(offer)).__name__ == "SignedMandate"
    payer_sdk.close()
    again = cli("agent-key", "revoke", "--agent-key", str(agent), "--key-file", str(payer_key),
                "--rpc-url", anvil.rpc_url)  # fmt: skip
    assert again.exit_code != 0 and "AgentKeyAlreadyRevoked" in str(again.exception)


def test_authorize_through_a_wallet_prints_then_submits(
    world: World, anvil: Anvil, payer_key: Path, tmp_path: Path
) -> None:
    """The ``CallbackSigner`` path: the typed data goes to a wallet, its signature comes back."""
    agent = tmp_path / "agent.key"
    cli("agent-key", "new", str(agent))
    wallet = LocalKeySigner.from_file(payer_key)  # stands for the MPC service or hardware wallet
    typed = ok(
        "agent-key", "authorize", "--agent-key", str(agent), "--payer-address", wallet.address,
        *chain_args(world, anvil), "--token", world.token.address, "--cap", str(CAP), "--print",
    )  # fmt: skip
    assert typed["primaryType"] == "AgentKey" and typed["domain"]["verifyingContract"] == world.escrow.address
    assert typed["message"]["payee"] == ANY_PAYEE and typed["message"]["cap"] == str(CAP)
    assert GrantRecord.read(sidecar_path(agent)).key_id is None  # pending until submitted
    with pytest.raises(Exception, match="not registered yet"):
        AgentCredential.load(agent)
    gas_payer = tmp_path / "relayer.key"
    gas_payer.write_text("0x" + new_payer(world).hex())
    forged = LocalKeySigner(bytes.fromhex("44" * 32)).sign_typed_data(typed)
    refused = cli("agent-key", "authorize", "--agent-key", str(agent), "--signature", "0x" + forged.hex(),
                  "--key-file", str(gas_payer), "--rpc-url", anvil.rpc_url)  # fmt: skip
    assert refused.exit_code != 0 and "not by its payer" in str(refused.exception)
    signature = wallet.sign_typed_data(typed)
    submit = ["--key-file", str(gas_payer), "--rpc-url", anvil.rpc_url]
    registered = ok(
        "agent-key", "authorize", "--agent-key", str(agent), "--signature", "0x" + signature.hex(), *submit
    )
    credential = AgentCredential.load(agent)
    assert credential.key_id == int(registered["keyId"]) and credential.payer == wallet.address
    assert credential.grant.any_payee
    twice = cli(
        "agent-key", "authorize", "--agent-key", str(agent), "--signature", "0x" + signature.hex(), *submit
    )
    assert twice.exit_code != 0 and "already registered" in str(twice.exception)


def test_errors_are_one_line(tmp_path: Path) -> None:
    """Through the ``aep2`` entry point: a reason and a message, never a traceback."""
    env = {**os.environ, "HOME": str(tmp_path)}
    run = [sys.executable, "-m", "aep2", "agent-key"]
    done = subprocess.run([*run, "status", "--agent-key", str(tmp_path / "none.key")],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "aep2 agent-key authorize" in done.stderr
    (tmp_path / "agent.key").write_text("0x00\n")
    (tmp_path / "agent.key").chmod(0o644)
    grant = ["--print", "--chain-id", "1", "--escrow", s.ESCROW, "--cap", "1", "--token", s.TOKEN]
    done = subprocess.run(
        [*run, "authorize", "--agent-key", str(tmp_path / "agent.key"), *grant, "--payer-address", s.PAYER],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "chmod 600" in done.stderr and "Traceback" not in done.stderr


def test_a_devnet_file_supplies_chain_escrow_token_and_payer(
    world: World, anvil: Anvil, tmp_path: Path
) -> None:
    from aep2.devnet.state import DevnetState, KeyPair

    payer = new_payer(world)
    state = DevnetState(
        rpc_url=anvil.rpc_url, chain_id=world.w3.eth.chain_id, anvil_pid=0, port=0, log="", deposit=0,
        token=world.token.address, escrow=world.escrow.address, withdraw_delay=3600, verifiers=[],
        payee=KeyPair.of(bytes.fromhex(s.PAYEE_KEY[2:])), submitter=KeyPair.of(payer),
        payers=[KeyPair.of(bytes.fromhex("66" * 32)), KeyPair.of(payer)], env={},
    )  # fmt: skip
    devnet = tmp_path / "devnet.json"
    devnet.write_text(state.model_dump_json())
    agent = tmp_path / "agent.key"
    cli("agent-key", "new", str(agent))
    on = ["--devnet", str(devnet)]
    registered = ok("agent-key", "authorize", "--agent-key", str(agent), *on, "--payer", "1", "--cap", "9")
    assert registered["payer"] == world.address(payer)
    status = ok("agent-key", "status", "--agent-key", str(agent), *on)
    assert (status["token"], status["payee"], status["cap"]) == (world.token.address, "any", "9")
    assert (
        ok("agent-key", "revoke", "--agent-key", str(agent), *on, "--payer", "1")["keyId"] == status["keyId"]
    )
    wrong = cli("agent-key", "revoke", "--agent-key", str(agent), *on, "--payer", "0")
    assert wrong.exit_code != 0 and "NotAgentKeyPayer" in str(wrong.exception)
