"""``run_demo``: the main job end to end, every process it starts stopped on the way out.

The story: an agent whose payer granted it an agent key (EdDSA, capped and scoped to one payee by
the escrow) streams paid calls over x402 HTTP, MCP and A2A in turn, enough to fill one proof of
the ``agent`` circuit; EIP-712 payers may pay beside it (``--payers``: their chunks go into the
same ``settleMany``, at the cost of the EIP-712 circuit's setup and one ~40 s proof per mandate).
One window closes, the Celery worker proves its chunks with gnark, and one ``settleMany`` settles
them.

Everything is entered on one :class:`ExitStack`, so a failure or Ctrl-C anywhere unwinds it in
reverse: worker (and its prover) first, then the paid API, then anvil, then the temp directory.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from a2a.types import AgentCard
from eth_account import Account
from rich.console import Console
from web3 import Web3

import aep2.settlement.models  # noqa: F401  (the settlement tables join the schema)
from aep2.agentkey import AgentKey, AgentKeyGrant
from aep2.chain import (
    Artifact,
    EscrowClient,
    TokenClient,
    VerifierFamily,
    VerifierSpec,
    deploy_stack,
    sign_grant,
)
from aep2.demo.agents import paid_call
from aep2.demo.paid_api import ROUTE, serve_paid_api
from aep2.demo.prereqs import AGENT_SIZE, BATCH_SIZE, ensure_keys, ensure_verifier
from aep2.demo.settle import settle_everything
from aep2.demo.summary import DemoSummary, PayerSpec, collect, render
from aep2.demo.worker import celery_app, worker_process
from aep2.devnet import Anvil
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import AgentCredential, LocalKeySigner, Payer, Policy
from aep2.prover import Family
from aep2.settlement.pipeline import Chain
from aep2.settlement.planner import CircuitSize
from aep2.store import create_schema, make_engine

PRICE = 1_000
DEPOSIT = 1_000_000
AGENT_CAP = DEPOSIT // 2
"""What the agent key may ever spend: the escrow refuses anything past it, whatever the agent signs."""
SIZES = (CircuitSize(1, *BATCH_SIZE), CircuitSize(2, *AGENT_SIZE, "agent"))


@dataclass(frozen=True)
class DemoChain:
    """What a caller may check against the chain before the demo stops it (``inspect``)."""

    w3: Web3
    escrow: EscrowClient
    token: TokenClient
    payee: str
    payers: list[str]  # the agent's payer first, then the EIP-712 payers
    agent_key_id: int


@dataclass(frozen=True)
class DemoConfig:
    agent_calls: int = AGENT_SIZE[0]  # the agent key's calls: one full agent proof by default
    payers: int = 0  # EIP-712 payers beside the agent (their N=1 proofs: ~40 s per mandate)
    calls: int = 1  # per EIP-712 payer; call i of any payer goes over http, mcp, a2a in turn


def run_demo(
    console: Console,
    config: DemoConfig = DemoConfig(),
    inspect: Callable[[DemoChain, DemoSummary], None] | None = None,
) -> DemoSummary:
    """Run the demo; ``inspect`` sees the live chain and the summary before everything stops."""
    started = time.monotonic()
    for noisy in ("httpx", "mcp"):  # one line per request would bury the demo's own output
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with ExitStack() as stack:
        families: list[Family] = ["agent", "batch"] if config.payers else ["agent"]
        verifiers: dict[str, Artifact] = {}
        for family in families:
            ensure_keys(console, family)
            verifiers[family] = ensure_verifier(console, family)
        sizes = [s for s in SIZES if s.family in families]
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aep2-demo-")))
        node = stack.enter_context(Anvil())
        console.print(f"[bold]anvil[/] on {node.rpc_url} (pid {node.pid})")
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        owner, submitter, payee_key = node.private_keys[:3]
        specs = [
            VerifierSpec(
                s.verifier_id, s.mandates, s.pairs, verifiers[s.family],
                family=VerifierFamily.AGENT if s.family == "agent" else VerifierFamily.BATCH,
            )
            for s in sizes
        ]  # fmt: skip
        deployed = deploy_stack(w3, owner, verifiers=specs)
        escrow, token = deployed.escrow_client(w3), deployed.token_client(w3)
        names = ", ".join(f"{v.artifact.name} (id {v.verifier_id})" for v in specs)
        console.print(f"deployed token {token.address}, escrow {escrow.address}, verifiers {names}")
        # The escrow pays a pair only to its payee's own transaction or one from a submitter it approved.
        escrow.approve_submitter(Account.from_key(submitter).address, True, payee_key)
        payee = Account.from_key(payee_key).address

        agent_payer_key, *payer_keys = [bytes(Account.create().key) for _ in range(1 + config.payers)]
        for key in [agent_payer_key, *payer_keys]:
            address = Account.from_key(key).address
            w3.eth.send_transaction(
                {"from": Account.from_key(owner).address, "to": address, "value": 10**18}  # type: ignore[typeddict-item]
            )
            token.mint(address, DEPOSIT, key)
            token.approve(escrow.address, DEPOSIT, key)
            escrow.deposit(token.address, DEPOSIT, key)
        console.print(f"{1 + config.payers} payer(s) deposited {DEPOSIT:,} each")
        credential = _grant_agent_key(w3, escrow, token.address, agent_payer_key, payee)
        console.print(
            f"the agent's payer granted agent key #{credential.key_id} (EdDSA on Baby Jubjub): "
            f"payee {payee[:10]}… only, cap {AGENT_CAP:,}, enforced by the escrow"
        )

        engine = make_engine(f"sqlite:///{tmp / 'payee.db'}")
        stack.callback(engine.dispose)
        create_schema(engine)
        settings = Settings(
            chain_id=w3.eth.chain_id,
            escrow=escrow.address,
            tokens=[token.address],
            payee_key="0x" + payee_key.hex(),
            settlement_horizon_seconds=3_600,
            mandate_kinds=["eip712", "agent"],
            routes=[Route(path=ROUTE, price=PRICE, description="today's weather")],
        )
        view = Web3ChainView(w3, escrow.address)
        app = create_app(settings=settings, engine=engine, chain=view, agent_keys=view)
        api = stack.enter_context(serve_paid_api(app, PRICE))
        console.print(f"[bold]paid API[/] on {api.url}: GET {ROUTE}, MCP /mcp, A2A /a2a/")

        broker_url = f"sqla+sqlite:///{tmp / 'broker.db'}"
        worker_env = {
            "AEP2_BROKER_URL": broker_url,
            "AEP2_DATABASE_URL": str(engine.url),
            "AEP2_RPC_URL": node.rpc_url,
            "AEP2_ESCROW": escrow.address,
            "AEP2_SUBMITTER_KEY": submitter.hex(),
            "AEP2_CIRCUITS": ",".join(_circuit(s) for s in sizes),
            "AEP2_SETTLEMENT_PROVER": "gnark",
        }
        worker = stack.enter_context(worker_process(worker_env, tmp / "worker.log"))
        console.print(f"[bold]Celery worker[/] pid {worker.pid} (embedded SQLite broker)")
        broker = celery_app(broker_url)
        chain = Chain(escrow, submitter)

        policy = Policy(max_per_payment=PRICE, allowed_payees=[payee], allowed_tokens=[token.address])
        agent = Payer(None, policy, agent=credential, db=tmp / "agent.db")
        payers = [Payer(LocalKeySigner(k), policy, db=tmp / f"payer{i}.db") for i, k in enumerate(payer_keys)]
        for payer in [agent, *payers]:
            stack.callback(payer.close)
        calls_paid = _stream(console, agent, api.url, api.card, config.agent_calls, "agent key")
        for payer in payers:
            calls_paid += _stream(console, payer, api.url, api.card, config.calls, "EIP-712")
        try:
            windows = settle_everything(engine, chain, sizes, broker, console)
        except Exception:  # the worker's log dies with the temp directory: show its end first
            console.print((tmp / "worker.log").read_text(errors="replace")[-4000:], markup=False)
            raise
        specs_of_payers = [PayerSpec(agent.address, DEPOSIT, config.agent_calls, credential.key_id)]
        specs_of_payers += [PayerSpec(p.address, DEPOSIT, config.calls) for p in payers]
        summary = collect(
            engine, escrow, token.address, payee, specs_of_payers, windows, calls_paid,
            time.monotonic() - started,
        )  # fmt: skip
        if inspect is not None:
            addresses = [p.address for p in specs_of_payers]
            inspect(DemoChain(w3, escrow, token, payee, addresses, credential.key_id), summary)
    render(console, summary)
    console.print("stopped: worker, prover, paid API, anvil")
    return summary


def _grant_agent_key(
    w3: Web3, escrow: EscrowClient, token: str, payer_key: bytes, payee: str
) -> AgentCredential:
    """A fresh agent key, granted by the payer's EIP-712 signature for ``payee`` only, registered."""
    key, now = AgentKey.generate(), int(w3.eth.get_block("latest")["timestamp"])
    grant = AgentKeyGrant.build(
        payer=Account.from_key(payer_key).address, key=key.public_key, token=token, payee=payee,
        cap=AGENT_CAP, valid_after=now - 60, valid_until=now + 30 * 86_400, salt=0,
    )  # fmt: skip
    key_id = escrow.authorize_agent_key(grant, sign_grant(grant, escrow.domain(), payer_key), payer_key)
    return AgentCredential(key, key_id, escrow.domain(), grant)


def _stream(console: Console, payer: Payer, url: str, card: AgentCard, calls: int, kind: str) -> int:
    """``calls`` paid calls of ``payer`` over http, mcp, a2a in turn; one line per transport tally."""
    tally: Counter[str] = Counter()
    with console.status(f"{payer.address[:10]}… ({kind}) paying for calls …"):
        for call in range(calls):
            transport, _ = paid_call(payer, url, card, call)
            tally[transport] += 1
    spread = ", ".join(f"{n} over {t}" for t, n in sorted(tally.items()))
    console.print(f"  {payer.address[:10]}… ({kind}) paid {calls} call(s): {spread}")
    return calls


def _circuit(size: CircuitSize) -> str:
    """``AEP2_CIRCUITS``' item for ``size``."""
    return f"{size.verifier_id}:{size.mandates}:{size.pairs}" + (":agent" if size.family == "agent" else "")
