"""Window close → on-chain settled for agent-key mandates at one agent circuit size, through the
real pipeline: one agent key pays a full proof's worth of calls to the payee process over HTTP, the
window closes, the real Celery worker proves the chunk with ``aep2-prover`` (real agent keys of that
size) and submits one ``settleMany``, checked by the exported ``AgentVerifierN{N}P{P}``.

    python -m benchmarks.agent_settle_latency [--size 1024x8]

The figure that matters at large N is *close → settled* (proving plus submission): a streaming
agent's calls land over the window's lifetime, so *call → settled* depends on the window policy.
Sets up the size's dev keys if they are missing (minutes; cached). Writes
``benchmarks/results/agent_settle_latency.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eth_account import Account
from web3 import Web3

import aep2.settlement.models  # noqa: F401  (the settlement tables join the schema)
from aep2.agentkey import AgentKey, AgentKeyGrant
from aep2.chain import EscrowClient, TokenClient, VerifierFamily, VerifierSpec, deploy_stack, sign_grant
from aep2.demo.settle import close_and_enqueue, settle_everything
from aep2.demo.worker import celery_app, worker_process
from aep2.devnet import Anvil
from aep2.devnet.verifier import verifier_artifact
from aep2.payer import AgentCredential, Payer, Policy
from aep2.settlement.pipeline import Chain
from aep2.settlement.planner import CircuitSize
from aep2.store import make_engine
from benchmarks._agent_circuits import ensure_keys
from benchmarks._timing import write_results
from benchmarks.aep2_calls._run import create_store, derived_key, fund_payer, payee_server
from benchmarks.settle_latency import SettleLatency, _pay, _quiet, _result

KEY_VALIDITY = 30 * 86_400


def measure_agent_settle_latency(
    anvil: Anvil,
    owner_key: bytes,
    *,
    n: int,
    p: int,
    submitter_key: bytes,
    funder_key: bytes,
    price: int = 1_000,
) -> SettleLatency:
    """Deploy a stack with the real agent verifier of (n, p), pay ``n`` calls with one agent key,
    close the window at once and wait for the worker to settle it in one transaction."""
    ensure_keys(n, p)
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 120}))
    size = CircuitSize(1, n, p, "agent")
    spec = VerifierSpec(1, n, p, verifier_artifact(n, p, "agent"), family=VerifierFamily.AGENT)
    stack = deploy_stack(w3, owner_key, verifiers=[spec])
    escrow, usdc = EscrowClient.at(w3, stack.escrow), TokenClient.at(w3, stack.token)
    payee_key, payer_key = derived_key("agent settle payee"), derived_key("agent settle payer")
    payee = Account.from_key(payee_key).address
    fund_payer(usdc, escrow, payer_key, price * n, funder_key)
    w3.eth.send_transaction({"from": Account.from_key(funder_key).address, "to": payee, "value": 10**17})  # type: ignore[typeddict-item]
    escrow.approve_submitter(Account.from_key(submitter_key).address, True, payee_key)
    credential = _grant(w3, escrow, stack.token, payer_key, payee, cap=price * n)
    with tempfile.TemporaryDirectory(prefix="aep2-agent-settle-") as tmp:
        database_url = create_store(Path(tmp) / "payee.db")
        engine = make_engine(database_url)
        broker_url = f"sqla+sqlite:///{Path(tmp) / 'broker.db'}"
        worker_env = {
            "AEP2_BROKER_URL": broker_url, "AEP2_DATABASE_URL": database_url, "AEP2_RPC_URL": anvil.rpc_url,
            "AEP2_ESCROW": stack.escrow, "AEP2_SUBMITTER_KEY": submitter_key.hex(),
            "AEP2_CIRCUITS": f"1:{n}:{p}:agent", "AEP2_SETTLEMENT_PROVER": "gnark",
        }  # fmt: skip
        policy = Policy(max_per_payment=price, allowed_payees=[payee], allowed_tokens=[stack.token])
        payer = Payer(None, policy, agent=credential, db=Path(tmp) / "payer.db")
        try:
            with (
                payee_server(
                    anvil, stack.escrow, stack.token, payee_key, price=price, database_url=database_url
                ) as url,
                worker_process(worker_env, Path(tmp) / "worker.log"),
            ):
                started = _pay(url, payer, anvil.chain_id, n)
                chain, broker = Chain(escrow, submitter_key), celery_app(broker_url)
                closed_at = time.time()
                window = close_and_enqueue(engine, chain, [size], broker)
                windows = [window] if window is not None else []
                windows += settle_everything(engine, chain, [size], broker, _quiet())
                settled_at = time.time()
            return _result(engine, size, windows, started, closed_at, settled_at)
        finally:
            payer.close()
            engine.dispose()


def _grant(
    w3: Web3, escrow: EscrowClient, token: str, payer_key: bytes, payee: str, *, cap: int
) -> AgentCredential:
    key, now = AgentKey.generate(), int(w3.eth.get_block("latest")["timestamp"])
    grant = AgentKeyGrant.build(
        payer=Account.from_key(payer_key).address, key=key.public_key, token=token, payee=payee,
        cap=cap, valid_after=now - 60, valid_until=now + KEY_VALIDITY, salt=0,
    )  # fmt: skip
    key_id = escrow.authorize_agent_key(grant, sign_grant(grant, escrow.domain(), payer_key), payer_key)
    return AgentCredential(key, key_id, escrow.domain(), grant)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x8", help="agent circuit NxP (default 1024x8)")
    args = parser.parse_args()
    n, p = (int(x) for x in args.size.split("x"))
    with Anvil(accounts=10) as node:
        keys = node.private_keys
        result = measure_agent_settle_latency(
            node, keys[0], n=n, p=p, submitter_key=keys[1], funder_key=keys[2]
        )
    for name, value in result.to_dict().items():
        shown = [*value[:3], "…"] if isinstance(value, list) and len(value) > 8 else value
        print(f"{name:28} {shown}")
    print(f"wrote {write_results('agent_settle_latency', result.to_dict())}")


if __name__ == "__main__":
    main()
