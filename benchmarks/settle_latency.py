"""Time from a paid call to its on-chain settlement, through the real pipeline.

A payer pays ``calls`` calls to the aep2 payee process (the same app as ``benchmarks.aep2_calls``);
right after the last one the payee closes its settlement window, the real Celery worker proves
every chunk with ``aep2-prover`` (Groth16, real keys) and submits one ``settleMany``. Each call's
*call → settled* is from its request to the moment the store shows the window settled (its
receipt mined). In production the window stays open for its configured age or count first, which
adds to this; the figure here is the floor: proving plus submission.

    python -m benchmarks.settle_latency [--calls 2]

Needs ``make groth16`` (N=1 keys and ``BatchVerifierN1P1``). Writes
``benchmarks/results/settle_latency.json``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from rich.console import Console
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3 import Web3

import aep2.settlement.models  # noqa: F401  (the settlement tables join the schema)
from aep2.chain import EscrowClient, TokenClient, VerifierSpec, deploy_stack, load_artifact
from aep2.demo.settle import close_and_enqueue, settle_everything
from aep2.demo.worker import celery_app, worker_process
from aep2.devnet import Anvil
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.settlement.models import ChunkRow, WindowRow
from aep2.settlement.pipeline import Chain
from aep2.settlement.planner import CircuitSize
from aep2.store import make_engine
from aep2.transports.httpx_auth import Aep2Auth, payment_of
from benchmarks._timing import write_results
from benchmarks.aep2_calls._run import create_store, derived_key, fund_payer, payee_server


@dataclass(frozen=True)
class SettleLatency:
    """One window of ``calls`` mandates, proved at ``circuit`` and settled in one transaction."""

    circuit: str
    calls: int
    chunks: int
    call_to_settled_s: list[float]
    close_to_settled_s: float
    proving_s: list[float]
    settle_gas: int
    tx_hash: str

    @property
    def call_to_settled_median_s(self) -> float:
        return statistics.median(self.call_to_settled_s)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"call_to_settled_median_s": self.call_to_settled_median_s}


def measure_settle_latency(
    anvil: Anvil,
    escrow: str,
    token: str,
    *,
    size: CircuitSize,
    submitter_key: bytes,
    funder_key: bytes,
    calls: int = 2,
    price: int = 1_000,
) -> SettleLatency:
    """Pay ``calls`` calls, close the window at once and wait for the worker to settle it.

    ``size`` must name a verifier registered on ``escrow`` whose Groth16 keys are in ``$AEP2_HOME``.
    """
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
    escrow_client, usdc = EscrowClient.at(w3, escrow), TokenClient.at(w3, token)
    payee_key, payer_key = derived_key("settle latency payee"), derived_key("settle latency payer")
    payee = Account.from_key(payee_key).address
    fund_payer(usdc, escrow_client, payer_key, price * calls, funder_key)
    # the escrow pays the payee's pairs only to the payee's own transactions or an approved submitter's
    w3.eth.send_transaction({"from": Account.from_key(funder_key).address, "to": payee, "value": 10**17})  # type: ignore[typeddict-item]
    escrow_client.approve_submitter(Account.from_key(submitter_key).address, True, payee_key)
    with tempfile.TemporaryDirectory(prefix="aep2-settle-") as tmp:
        database_url = create_store(Path(tmp) / "payee.db")
        engine = make_engine(database_url)
        broker_url = f"sqla+sqlite:///{Path(tmp) / 'broker.db'}"
        worker_env = {
            "AEP2_BROKER_URL": broker_url, "AEP2_DATABASE_URL": database_url, "AEP2_RPC_URL": anvil.rpc_url,
            "AEP2_ESCROW": escrow, "AEP2_SUBMITTER_KEY": submitter_key.hex(),
            "AEP2_CIRCUITS": f"{size.verifier_id}:{size.mandates}:{size.pairs}",
            "AEP2_SETTLEMENT_PROVER": "gnark",
        }  # fmt: skip
        policy = Policy(max_per_payment=price, allowed_payees=[payee], allowed_tokens=[token])
        payer = Payer(LocalKeySigner(payer_key), policy, db=Path(tmp) / "payer.db")
        try:
            with (
                payee_server(anvil, escrow, token, payee_key, price=price, database_url=database_url) as url,
                worker_process(worker_env, Path(tmp) / "worker.log"),
            ):
                started = _pay(url, payer, anvil.chain_id, calls)
                chain, broker = Chain(escrow_client, submitter_key), celery_app(broker_url)
                closed_at = time.time()
                window = close_and_enqueue(engine, chain, [size], broker)
                windows = [window] if window is not None else []
                windows += settle_everything(engine, chain, [size], broker, _quiet())
                settled_at = time.time()
            return _result(engine, size, windows, started, closed_at, settled_at)
        finally:
            payer.close()
            engine.dispose()


def _pay(url: str, payer: Payer, chain_id: int, calls: int) -> list[float]:
    """Each call's start (wall clock); every call must come back paid."""
    started = []
    with httpx.Client(base_url=url, auth=Aep2Auth(payer, chain_id=chain_id), timeout=60) as client:
        for _ in range(calls):
            started.append(time.time())
            response = client.get("/paid")
            if response.status_code != 200 or payment_of(response).receipt is None:
                raise RuntimeError(f"call not paid: {response.status_code} {response.text[:200]}")
    return started


def _quiet() -> Console:
    return Console(file=io.StringIO())


def _result(
    engine: Engine,
    size: CircuitSize,
    windows: list[int],
    started: list[float],
    closed_at: float,
    settled_at: float,
) -> SettleLatency:
    with Session(engine) as s:
        rows = list(s.scalars(select(WindowRow).where(WindowRow.id.in_(windows))))
        chunks = list(s.scalars(select(ChunkRow).where(ChunkRow.window_id.in_(windows))))
    if len(rows) != 1 or rows[0].tx_hash is None:
        raise RuntimeError(f"expected one settled window, got {[(w.id, w.state) for w in rows]}")
    return SettleLatency(
        circuit=f"N={size.mandates},P={size.pairs}",
        calls=len(started),
        chunks=len(chunks),
        call_to_settled_s=[round(settled_at - t, 2) for t in started],
        close_to_settled_s=round(settled_at - closed_at, 2),
        proving_s=[round(c.proving_seconds, 2) for c in chunks if c.proving_seconds is not None],
        settle_gas=int(rows[0].gas_used or 0),
        tx_hash=rows[0].tx_hash,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2)
    args = parser.parse_args()
    size = CircuitSize(1, 1, 1)
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        spec = VerifierSpec(1, 1, 1, load_artifact("BatchVerifierN1P1"))
        stack = deploy_stack(w3, node.private_keys[0], verifiers=[spec])
        result = measure_settle_latency(
            node, stack.escrow, stack.token, size=size, submitter_key=node.private_keys[1],
            funder_key=node.private_keys[2], calls=args.calls,
        )  # fmt: skip
    for name, value in result.to_dict().items():
        print(f"{name:28} {value}")
    print(f"wrote {write_results('settle_latency', result.to_dict())}")


if __name__ == "__main__":
    main()
