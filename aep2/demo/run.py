"""``run_demo``: the main job end to end, every process it starts stopped on the way out.

Everything is entered on one :class:`ExitStack`, so a failure or Ctrl-C anywhere unwinds it in
reverse: worker (and its prover) first, then the paid API, then anvil, then the temp directory.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from rich.console import Console
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from web3 import Web3

import aep2.settlement.models  # noqa: F401  (the settlement tables join the schema)
from aep2.chain import EscrowClient, TokenClient, VerifierSpec, deploy_stack
from aep2.demo.agents import paid_call
from aep2.demo.paid_api import ROUTE, serve_paid_api
from aep2.demo.prereqs import N, P, ensure_keys, ensure_verifier
from aep2.demo.settle import close_and_enqueue, settle_everything
from aep2.demo.summary import DemoSummary, collect, render
from aep2.demo.worker import celery_app, worker_process
from aep2.devnet import Anvil
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.settlement.pipeline import Chain
from aep2.settlement.planner import CircuitSize
from aep2.store import MandateRow, create_schema, make_engine
from aep2.store.states import MandateState

PRICE = 1_000
DEPOSIT = 1_000_000
SIZES = (CircuitSize(1, N, P),)


@dataclass(frozen=True)
class DemoChain:
    """What a caller may check against the chain before the demo stops it (``inspect``)."""

    w3: Web3
    escrow: EscrowClient
    token: TokenClient
    payee: str
    payers: list[str]


@dataclass(frozen=True)
class DemoConfig:
    payers: int = 1
    calls: int = 3  # per payer; call i goes over http, mcp, a2a in turn
    batch_size: int = 64  # a window closes when this many mandates wait


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
        ensure_keys(console)
        verifier = ensure_verifier(console)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aep2-demo-")))
        node = stack.enter_context(Anvil())
        console.print(f"[bold]anvil[/] on {node.rpc_url} (pid {node.pid})")
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        owner, submitter, payee_key = node.private_keys[:3]
        deployed = deploy_stack(w3, owner, verifiers=[VerifierSpec(1, N, P, verifier)])
        escrow, token = deployed.escrow_client(w3), deployed.token_client(w3)
        console.print(f"deployed token {token.address}, escrow {escrow.address}, verifier BatchVerifierN1P1")
        # The escrow pays a pair only to its payee's own transaction or one from a submitter it approved.
        escrow.approve_submitter(Account.from_key(submitter).address, True, payee_key)

        payer_keys = [bytes(Account.create().key) for _ in range(config.payers)]
        for key in payer_keys:
            address = Account.from_key(key).address
            w3.eth.send_transaction(
                {"from": Account.from_key(owner).address, "to": address, "value": 10**18}  # type: ignore[typeddict-item]
            )
            token.mint(address, DEPOSIT, key)
            token.approve(escrow.address, DEPOSIT, key)
            escrow.deposit(token.address, DEPOSIT, key)
        console.print(f"{config.payers} payer(s) deposited {DEPOSIT:,} each")

        engine = make_engine(f"sqlite:///{tmp / 'payee.db'}")
        stack.callback(engine.dispose)
        create_schema(engine)
        settings = Settings(
            chain_id=w3.eth.chain_id,
            escrow=escrow.address,
            tokens=[token.address],
            payee_key="0x" + payee_key.hex(),
            settlement_horizon_seconds=3_600,
            routes=[Route(path=ROUTE, price=PRICE, description="today's weather")],
        )
        payee = settings.payee
        app = create_app(settings=settings, engine=engine, chain=Web3ChainView(w3, escrow.address))
        api = stack.enter_context(serve_paid_api(app, PRICE))
        console.print(f"[bold]paid API[/] on {api.url}: GET {ROUTE}, MCP /mcp, A2A /a2a/")

        broker_url = f"sqla+sqlite:///{tmp / 'broker.db'}"
        worker_env = {
            "AEP2_BROKER_URL": broker_url,
            "AEP2_DATABASE_URL": str(engine.url),
            "AEP2_RPC_URL": node.rpc_url,
            "AEP2_ESCROW": escrow.address,
            "AEP2_SUBMITTER_KEY": submitter.hex(),
            "AEP2_CIRCUITS": f"1:{N}:{P}",
            "AEP2_SETTLEMENT_PROVER": "gnark",
        }
        worker = stack.enter_context(worker_process(worker_env, tmp / "worker.log"))
        console.print(f"[bold]Celery worker[/] pid {worker.pid} (embedded SQLite broker)")
        broker = celery_app(broker_url)
        chain = Chain(escrow, submitter)

        policy = Policy(max_per_payment=PRICE, allowed_payees=[payee], allowed_tokens=[token.address])
        payers = [
            Payer(LocalKeySigner(key), policy, db=tmp / f"payer{i}.db") for i, key in enumerate(payer_keys)
        ]
        for payer in payers:
            stack.callback(payer.close)
        windows: list[int] = []
        calls_paid = 0
        with console.status("agents paying for calls …"):
            for call in range(config.calls):
                for payer in payers:
                    transport, _ = paid_call(payer, api.url, api.card, call)
                    calls_paid += 1
                    console.print(f"  {payer.address[:10]}… paid call {call + 1} over {transport}")
                    if _accepted(engine) >= config.batch_size:  # the window policy's max count
                        window = close_and_enqueue(engine, chain, SIZES, broker)
                        windows += [] if window is None else [window]
        try:
            windows += settle_everything(engine, chain, SIZES, broker, console)
        except Exception:  # the worker's log dies with the temp directory: show its end first
            console.print((tmp / "worker.log").read_text(errors="replace")[-4000:], markup=False)
            raise
        summary = collect(
            engine, escrow, token.address, payee,
            [(p.address, DEPOSIT, config.calls) for p in payers],
            windows, calls_paid, time.monotonic() - started,
        )  # fmt: skip
        if inspect is not None:
            inspect(DemoChain(w3, escrow, token, payee, [p.address for p in payers]), summary)
    render(console, summary)
    console.print("stopped: worker, prover, paid API, anvil")
    return summary


def _accepted(engine: Engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).where(MandateRow.state == MandateState.ACCEPTED.value)) or 0
