"""Per-call x402 ``exact`` on a fresh anvil with TestUSDC: gas, latency, throughput.

    python -m benchmarks.x402_baseline [--calls M] [--concurrency K] [--block-time S]

Writes ``benchmarks/results/x402_baseline.json`` and prints a table.
"""

from __future__ import annotations

import argparse

from web3 import Web3

from aep2.chain import deploy_token
from aep2.devnet import Anvil
from benchmarks._calls import add_call_options, latency_rows, machine
from benchmarks._timing import write_results
from benchmarks.x402_baseline._run import BaselineResult, run_baseline


def table(result: BaselineResult) -> str:
    settlement = result.call_to_settlement
    lines = [
        f"per-call x402 exact (x402 SDK {result.x402_sdk}, {result.network}, "
        f"block time {result.block_time or 'automine'})",
        *latency_rows(result, "verify+settle"),
        f"{'call to on-chain settlement':44} {settlement.median_ms:10.2f} {settlement.p99_ms:10.2f} "
        f"{settlement.runs:6}",
        f"gas per payment (transferWithAuthorization): median {result.gas_per_payment_median:,.0f}, "
        f"min {result.gas_per_payment_min:,}, max {result.gas_per_payment_max:,}",
        f"transactions per payment: {result.transactions_per_payment:.2f}",
        f"paid calls/s, one payee process: sequential {result.sequential_calls_per_s:.1f}, "
        f"{result.concurrency} concurrent clients {result.concurrent_calls_per_s:.1f}",
        f"token moved: payers -{result.payers_paid}, payee +{result.payee_received} "
        f"({result.paid_calls} paid calls x {result.price})",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_call_options(parser)
    args = parser.parse_args()

    with Anvil(block_time=args.block_time) as chain:
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
        token = str(deploy_token(w3, chain.private_keys[0]).address)
        result = run_baseline(chain, token, calls=args.calls, concurrency=args.concurrency, price=args.price)
    print(table(result))
    path = write_results("x402_baseline", machine() | result.to_dict())
    print(f"wrote {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
