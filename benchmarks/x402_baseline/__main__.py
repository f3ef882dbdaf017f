"""Per-call x402 ``exact`` on a fresh anvil with TestUSDC: gas, latency, throughput.

    python -m benchmarks.x402_baseline [--calls M] [--concurrency K] [--block-time S]

Writes ``benchmarks/results/x402_baseline.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import platform

from web3 import Web3

from aep2.chain import deploy_token
from aep2.devnet import Anvil
from benchmarks._timing import write_results
from benchmarks.x402_baseline._run import BaselineResult, Distribution, run_baseline


def table(result: BaselineResult) -> str:
    def row(name: str, d: Distribution) -> str:
        return f"{name:44} {d.median_ms:10.2f} {d.p99_ms:10.2f} {d.runs:6}"

    lines = [
        f"per-call x402 exact (x402 SDK {result.x402_sdk}, {result.network}, "
        f"block time {result.block_time or 'automine'})",
        f"{'latency (ms)':44} {'median':>10} {'p99':>10} {'n':>6}",
        row("payee handling, unpaid route", result.payee_unpaid),
        row("payee handling, paid route (verify+settle)", result.payee_paid),
        f"{'  added by payment, payee side':44} {result.added_payee_median_ms:10.2f} "
        f"{result.added_payee_p99_ms:10.2f}",
        row("client end to end, unpaid", result.client_unpaid),
        row("client end to end, paid (402 + retry)", result.client_paid),
        row("call to on-chain settlement", result.call_to_settlement),
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
    parser.add_argument("--calls", type=int, default=50, help="paid calls per phase (default 50)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--price", type=int, default=1_000, help="base units per call (default 1000)")
    parser.add_argument(
        "--block-time", type=float, default=None, help="anvil block time in s (default: automine)"
    )
    args = parser.parse_args()

    with Anvil(block_time=args.block_time) as chain:
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
        token = str(deploy_token(w3, chain.private_keys[0]).address)
        result = run_baseline(chain, token, calls=args.calls, concurrency=args.concurrency, price=args.price)
    print(table(result))
    path = write_results(
        "x402_baseline",
        {"machine": platform.processor() or platform.machine(), "cpus": _cpus(), **result.to_dict()},
    )
    print(f"wrote {path.relative_to(path.parents[2])}")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
