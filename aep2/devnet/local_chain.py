"""``aep2 devnet up | status | down`` as library calls: a funded local chain in one JSON file.

``up`` starts a detached anvil, deploys the token, the escrow (the deploy default withdraw delay,
24 h) and one Groth16 verifier per circuit size whose dev keys exist (EIP-712 sizes first, then
agent-key sizes, registered for their family), has the payee approve the
settlement submitter, funds fresh payers, and writes :class:`DevnetState`. Everything refuses an
RPC URL that is not local (:func:`require_local`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from aep2.chain import EscrowClient, TokenClient, VerifierSpec, deploy_stack
from aep2.chain.deploy import DEFAULT_WITHDRAW_DELAY
from aep2.chain.escrow import VerifierFamily
from aep2.devnet.detached import is_anvil_on, start_detached_anvil, stop_anvil
from aep2.devnet.state import DeployedVerifier, DevnetState, KeyPair, read_state, write_state
from aep2.devnet.verifier import verifier_artifact
from aep2.errors import ConfigurationError
from aep2.prover import FAMILY_VERSIONS, Family, keys_dir

ETH_PER_PAYER = 10**18
Say = Callable[[str], None]


def dev_key_sizes(family: Family = "batch") -> list[tuple[int, int]]:
    """Every (N, P) of the family's current circuit version with a proving key under
    ``$AEP2_HOME/circuits``."""
    root = keys_dir(1, 1).parent
    pattern = re.compile(rf"aep2-{family}-{re.escape(FAMILY_VERSIONS[family])}-n(\d+)-p(\d+)")
    found = []
    for folder in root.glob(f"aep2-{family}-*") if root.is_dir() else []:
        match = pattern.fullmatch(folder.name)
        if match and (folder / "proving.key").exists():
            found.append((int(match[1]), int(match[2])))
    return sorted(found)


@dataclass(frozen=True)
class UpOptions:
    path: Path
    port: int | None = None
    payers: int = 2
    deposit: int = 100_000_000


def devnet_up(options: UpOptions, say: Say) -> DevnetState:
    """Start and fund a devnet and write its file; the anvil is stopped again if anything fails."""
    _refuse_running(options.path)
    sizes = dev_key_sizes()
    if not sizes:
        raise ConfigurationError(
            f"no Groth16 keys of circuit {FAMILY_VERSIONS['batch']} under {keys_dir(1, 1).parent}"
        )
    specs = [VerifierSpec(i, n, p, verifier_artifact(n, p)) for i, (n, p) in enumerate(sizes, start=1)]
    for n, p in dev_key_sizes("agent"):
        artifact = verifier_artifact(n, p, "agent")
        specs.append(VerifierSpec(len(specs) + 1, n, p, artifact, family=VerifierFamily.AGENT))
    log = options.path.with_suffix(".anvil.log")
    pid, port, keys = start_detached_anvil(port=options.port, log=log)
    say(f"anvil on http://127.0.0.1:{port} (pid {pid}, log {log})")
    try:
        state = _deploy_and_fund(options, specs, pid, port, keys, str(log))
        write_state(options.path, state)
    except BaseException:  # Ctrl-C included: a devnet without its file could never be stopped
        stop_anvil(pid, port)
        raise
    return state


def _refuse_running(path: Path) -> None:
    if not path.exists():
        return
    old = read_state(path)
    if is_anvil_on(old.anvil_pid, old.port):
        raise ConfigurationError(
            f"a devnet is already running for {path} (anvil pid {old.anvil_pid} on port {old.port}); "
            "`aep2 devnet down` first, or pass another --file"
        )


def _deploy_and_fund(
    options: UpOptions, specs: list[VerifierSpec], pid: int, port: int, keys: list[bytes], log: str
) -> DevnetState:
    rpc_url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    owner, submitter, payee = (KeyPair.of(k) for k in keys[:3])
    stack = deploy_stack(w3, owner.key_bytes, verifiers=specs, withdraw_delay=DEFAULT_WITHDRAW_DELAY)
    escrow, token = stack.escrow_client(w3), stack.token_client(w3)
    # The escrow pays a pair only to its payee's own transaction or to a submitter it approved.
    escrow.approve_submitter(submitter.address, True, payee.key_bytes)
    payers = [KeyPair.of(bytes(Account.create().key)) for _ in range(options.payers)]
    for payer in payers:
        w3.eth.send_transaction({"from": owner.address, "to": payer.address, "value": ETH_PER_PAYER})  # type: ignore[typeddict-item]
        token.mint(payer.address, options.deposit, payer.key_bytes)
        token.approve(escrow.address, options.deposit, payer.key_bytes)
        escrow.deposit(token.address, options.deposit, payer.key_bytes)
    verifiers = [DeployedVerifier(id=s.verifier_id, n=s.mandate_slots, p=s.pair_slots,
                                  address=stack.verifiers[s.verifier_id],
                                  family="agent" if s.family == VerifierFamily.AGENT else "batch")
                 for s in specs]  # fmt: skip
    circuits = ",".join(v.circuit for v in verifiers)
    env = {"AEP2_RPC_URL": rpc_url, "AEP2_ESCROW": escrow.address,
           "AEP2_SUBMITTER_KEY": submitter.key, "AEP2_CIRCUITS": circuits}  # fmt: skip
    return DevnetState(
        rpc_url=rpc_url, chain_id=stack.chain_id, anvil_pid=pid, port=port, log=log,
        token=token.address, escrow=escrow.address, withdraw_delay=escrow.withdraw_delay(),
        verifiers=verifiers, payee=payee, submitter=submitter, payers=payers,
        deposit=options.deposit, env=env,
    )  # fmt: skip


@dataclass(frozen=True)
class PayerStatus:
    address: str
    escrow_balance: int
    token_balance: int


@dataclass(frozen=True)
class DevnetStatus:
    state: DevnetState
    alive: bool
    block: int | None
    payers: list[PayerStatus]
    payee_credit: int | None


def devnet_status(path: Path) -> DevnetStatus:
    """Is the devnet's anvil alive and answering; its block, the payers' balances, the payee's credit."""
    state = read_state(path)
    if not is_anvil_on(state.anvil_pid, state.port):
        return DevnetStatus(state, False, None, [], None)
    w3 = Web3(Web3.HTTPProvider(state.rpc_url, request_kwargs={"timeout": 10}))
    escrow, token = EscrowClient.at(w3, state.escrow), TokenClient.at(w3, state.token)
    try:
        block = w3.eth.block_number
    except Exception:
        return DevnetStatus(state, False, None, [], None)
    payers = [PayerStatus(p.address, escrow.balance(p.address, state.token), token.balance_of(p.address))
              for p in state.payers]  # fmt: skip
    return DevnetStatus(state, True, block, payers, escrow.payee_balance(state.payee.address, state.token))


def devnet_down(path: Path) -> bool:
    """Stop the devnet's anvil (only if its PID is still that anvil) and remove the file; False if
    no anvil was running (the file is removed all the same)."""
    state = read_state(path)
    stopped = stop_anvil(state.anvil_pid, state.port)
    path.unlink()
    return stopped


__all__ = [
    "DevnetStatus",
    "PayerStatus",
    "UpOptions",
    "dev_key_sizes",
    "devnet_down",
    "devnet_status",
    "devnet_up",
]
