"""The devnet file: one JSON document with everything a payee, a payer and a worker need.

``aep2 devnet up`` writes it (mode 0600: it holds the funded accounts' keys), ``status`` and
``down`` read it, and ``aep2 payee init --from-devnet`` fills a payee config from it. The keys are
anvil's well-known dev accounts and fresh throwaway payers: worthless anywhere but this chain.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from eth_account import Account
from pydantic import BaseModel, ConfigDict

from aep2.errors import ConfigurationError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


class KeyPair(BaseModel):
    """A funded dev account: its address and 0x-hex private key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str
    key: str

    @classmethod
    def of(cls, key: bytes) -> KeyPair:
        return cls(address=Account.from_key(key).address, key="0x" + key.hex())

    @property
    def key_bytes(self) -> bytes:
        return bytes.fromhex(self.key.removeprefix("0x"))


class DeployedVerifier(BaseModel):
    """A Groth16 verifier registered with the escrow: its id, the circuit size and family it checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    n: int
    p: int
    address: str
    family: Literal["batch", "agent"] = "batch"

    @property
    def circuit(self) -> str:
        """Its ``AEP2_CIRCUITS`` item: ``id:N:P``, with ``:agent`` for the agent family."""
        return f"{self.id}:{self.n}:{self.p}" + (":agent" if self.family == "agent" else "")


class DevnetState(BaseModel):
    """What ``aep2 devnet up`` started and deployed."""

    model_config = ConfigDict(extra="forbid")

    rpc_url: str
    chain_id: int
    anvil_pid: int
    port: int
    log: str
    token: str
    escrow: str
    withdraw_delay: int
    verifiers: list[DeployedVerifier]
    payee: KeyPair
    submitter: KeyPair
    payers: list[KeyPair]
    deposit: int
    env: dict[str, str]


def default_path() -> Path:
    """``$AEP2_HOME/devnet.json`` (``AEP2_HOME`` defaults to ``~/.aep2``)."""
    return Path(os.environ.get("AEP2_HOME", Path.home() / ".aep2")) / "devnet.json"


def require_local(rpc_url: str) -> None:
    """Refuse an RPC URL whose host is not 127.0.0.1 or localhost: devnets are local chains only."""
    host = urlsplit(rpc_url).hostname
    if host not in LOCAL_HOSTS:
        raise ConfigurationError(
            f"refusing RPC URL {rpc_url!r}: aep2 devnet only ever touches a local chain "
            "(127.0.0.1, localhost)"
        )


def read_state(path: Path) -> DevnetState:
    """The devnet of ``path``, its RPC URL checked to be local."""
    if not path.exists():
        raise ConfigurationError(f"no devnet file at {path}; start one with `aep2 devnet up`")
    state = DevnetState.model_validate_json(path.read_text())
    require_local(state.rpc_url)
    return state


def write_state(path: Path, state: DevnetState) -> None:
    """Write ``state`` readable by its owner only (it holds private keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(state.model_dump_json(indent=2) + "\n")
    path.chmod(0o600)
