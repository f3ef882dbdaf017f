"""``make bench``: aep2 and per-call x402 side by side, in one run, on one anvil.

    python -m benchmarks [--calls 50] [--concurrency 4] [--settle-calls 2] [--sizes 1x1,2x1,...]
                         [--agent-streaming 1x1,64x8,512x8,1024x8] [--agent-scattered 8x8,16x8,64x32]
                         [--agent-settle-size 1024x8]

Phases, all on the same chain and the same ``TestUSDC``:

1. per-call x402 ``exact`` through the official SDK (``benchmarks.x402_baseline``): a facilitator
   and a payee process, one ``transferWithAuthorization`` per paid call;
2. aep2 per call (``benchmarks.aep2_calls``): the payer SDK against the real payee app, the same
   call pattern, no transaction;
3. call → on-chain settlement (``benchmarks.settle_latency``): a window proved by the real Celery
   worker with real Groth16 keys and settled in one ``settleMany``;
4. gas per payment at each circuit size (``benchmarks.gas_by_size``);
5. agent keys (``benchmarks.agent_gas``): gas per payment with real proofs and exported verifiers,
   streaming and scattered, at every agent size listed that fits ``--agent-memory-budget-gib``,
   with each size's proving seconds and peak memory measured in the run; keys are set up once per
   size and cached (minutes the first time: ~5 min and 10.7 GB at 1024x8). The rows are composed
   with the EIP-712 scattered rows and x402 ``batch-settlement``'s published gas figures
   (``benchmarks.agent_rows``, ``benchmarks.x402_batch_published``);
6. window close → on-chain settled for agent mandates at the largest size
   (``benchmarks.agent_settle_latency``): one agent key pays N calls over HTTP, the real Celery
   worker proves the window with the real agent keys and submits one ``settleMany``.

The EIP-712 family's proving time and memory per size come from ``benchmarks/prover_bench.sh`` (a
dev setup per size takes minutes to an hour, too long for every run); they are copied in with their
date. Writes ``benchmarks/results/latest.json``, ``latest.md`` and the plots (``benchmarks.report``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from typing import Any

from web3 import Web3

from aep2.chain import VerifierSpec, deploy_stack, load_artifact
from aep2.devnet import Anvil
from aep2.settlement.planner import CircuitSize
from benchmarks import agent_gas, agent_rows, report, x402_batch_published
from benchmarks._timing import RESULTS, write_results
from benchmarks.aep2_calls import run_aep2_calls
from benchmarks.agent_settle_latency import measure_agent_settle_latency
from benchmarks.gas_by_size import DEFAULT_SIZES, Size, measure_gas_by_size
from benchmarks.settle_latency import measure_settle_latency
from benchmarks.x402_baseline import run_baseline

PROVER_RESULTS = RESULTS / "prover.json"


def _prover_rows() -> dict[str, Any]:
    if not PROVER_RESULTS.exists():
        return {"rows": [], "source": "no benchmarks/results/prover.json: run benchmarks/prover_bench.sh"}
    stamp = datetime.datetime.fromtimestamp(PROVER_RESULTS.stat().st_mtime, datetime.UTC)
    return {
        "rows": json.loads(PROVER_RESULTS.read_text()),
        "source": f"benchmarks/prover_bench.sh, results of {stamp:%Y-%m-%d}",
    }


def run(
    calls: int, concurrency: int, settle_calls: int, sizes: tuple[Size, ...], agent: argparse.Namespace
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with Anvil(accounts=20) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 120}))
        owner, submitter, funder = node.private_keys[0], node.private_keys[1], node.private_keys[2]
        spec = VerifierSpec(1, 1, 1, load_artifact("BatchVerifierN1P1"))
        stack = deploy_stack(w3, owner, verifiers=[spec])
        print("1/6 per-call x402 exact …", flush=True)
        x402 = run_baseline(node, stack.token, calls=calls, concurrency=concurrency)
        print("2/6 aep2 per call …", flush=True)
        aep2 = run_aep2_calls(node, stack.escrow, stack.token, calls=calls, concurrency=concurrency)
        print("3/6 aep2 call → settlement (real Groth16, Celery worker) …", flush=True)
        settle = measure_settle_latency(
            node, stack.escrow, stack.token, size=CircuitSize(1, 1, 1), submitter_key=submitter,
            funder_key=funder, calls=settle_calls,
        )  # fmt: skip
        print("4/6 gas per payment by circuit size …", flush=True)
        gas = measure_gas_by_size(w3, node, sizes=sizes)
        print("5/6 agent keys: real proofs per size, streaming and scattered …", flush=True)
        agents = agent_gas.measure_agent_gas(
            w3, node, streaming=agent.agent_streaming, scattered=agent.agent_scattered,
            memory_budget_gib=agent.agent_memory_budget_gib,
            x402_transfer_gas=round(x402.gas_per_payment_median),
            progress=lambda line: print(line, flush=True),
        )  # fmt: skip
        latency = None
        if agent.agent_settle_size:
            n, p = agent.agent_settle_size
            print(
                f"6/6 agent window close → settled at N={n} P={p} (real proof, Celery worker) …", flush=True
            )
            latency = measure_agent_settle_latency(
                node, owner, n=n, p=p, submitter_key=submitter, funder_key=funder
            ).to_dict()
    x402_dict = x402.to_dict(samples=True)
    x402_dict["paid_payee_ms"] = [p["payee_ms"] for p in x402_dict.pop("payments")]
    return {
        "machine": {
            "date": f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        },
        "config": {"calls": calls, "concurrency": concurrency, "price": x402.price},
        "x402_exact": x402_dict,
        "aep2": aep2.to_dict(samples=True),
        "settlement": settle.to_dict(),
        "gas_by_size": gas.to_dict(),
        "prover": _prover_rows(),
        "agent_keys": agents.to_dict(),
        "agent_comparison": agent_rows.compose(
            agents.to_dict(), gas.to_dict(), x402.gas_per_payment_median, x402_batch_published.load(), latency
        ),
    }


def _one_size(text: str) -> tuple[int, int] | None:
    sizes = agent_gas.parse_sizes(text)
    if len(sizes) > 1:
        raise argparse.ArgumentTypeError(f"one size NxP, not {text!r}")
    return sizes[0] if sizes else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="paid calls per phase and scheme")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients in the second phase")
    parser.add_argument("--settle-calls", type=int, default=2, help="mandates in the real-Groth16 window")
    parser.add_argument(
        "--sizes",
        type=agent_gas.parse_sizes,
        default=DEFAULT_SIZES,
        help="circuit sizes NxP for gas per payment, comma-separated (default: 1x1 … 64x32)",
    )
    parser.add_argument(
        "--agent-streaming",
        type=agent_gas.parse_sizes,
        default=agent_gas.DEFAULT_STREAMING,
        help="agent sizes NxP proved with one key paying one payee (default: 1x1,64x8,512x8,1024x8)",
    )
    parser.add_argument(
        "--agent-scattered",
        type=agent_gas.parse_sizes,
        default=agent_gas.DEFAULT_SCATTERED,
        help="agent sizes NxP proved with P keys paying N/P each (default: 8x8,16x8,64x32; '' for none)",
    )
    parser.add_argument(
        "--agent-memory-budget-gib",
        type=float,
        default=agent_gas.MEMORY_BUDGET_GIB,
        help="skip agent sizes whose keys would need more (default 16)",
    )
    parser.add_argument(
        "--agent-settle-size",
        type=_one_size,
        default=(1024, 8),
        help="agent size NxP for window close → on-chain settled with one agent key's N calls "
        "(default 1024x8, the largest streaming size; '' to skip)",
    )
    args = parser.parse_args()
    result = run(args.calls, args.concurrency, args.settle_calls, args.sizes, args)
    print(f"wrote {write_results('latest', result)}")
    for path in report.render(result):
        print(f"wrote {path}")
    print(report.TABLE.read_text())


if __name__ == "__main__":
    main()
