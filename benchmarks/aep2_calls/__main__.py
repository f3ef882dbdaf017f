"""Per-call aep2 on a fresh anvil with TestUSDC and the escrow: latency and throughput of paid calls.

    python -m benchmarks.aep2_calls [--calls M] [--concurrency K] [--block-time S] [--db PATH]

Writes ``benchmarks/results/aep2_calls.json`` and prints a table. Nothing is settled: that is
the batch phase, which can start from the payee's store kept with ``--db``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eth_account import Account
from web3 import Web3

from aep2.chain import attestation_verifier, deploy_stack
from aep2.devnet import Anvil
from benchmarks._calls import add_call_options, latency_rows, machine
from benchmarks._timing import write_results
from benchmarks.aep2_calls._run import Aep2CallsResult, run_aep2_calls


def table(result: Aep2CallsResult) -> str:
    lines = [
        f"per-call aep2 ({result.network}, block time {result.block_time or 'automine'}), "
        "settlement deferred to a batch",
        *latency_rows(result, "check+commit"),
        f"paid calls/s, one payee process: sequential {result.sequential_calls_per_s:.1f}, "
        f"{result.concurrency} concurrent clients {result.concurrent_calls_per_s:.1f}",
        f"mandates accepted: {result.accepted_mandates} of {result.paid_calls} paid calls x {result.price}; "
        f"transactions during the calls: {result.transactions_during_calls}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_call_options(parser)
    parser.add_argument("--db", type=Path, default=None, help="keep the payee's store here (must not exist)")
    args = parser.parse_args()

    with Anvil(block_time=args.block_time) as chain:
        w3 = Web3(Web3.HTTPProvider(chain.rpc_url, request_kwargs={"timeout": 60}))
        owner, attester = chain.private_keys[0], Account.from_key(chain.private_keys[1]).address
        # any verifier will do: this phase settles nothing
        stack = deploy_stack(w3, owner, verifiers=[attestation_verifier(1, 1, 1, attester)])
        result = run_aep2_calls(
            chain, stack.escrow, stack.token, calls=args.calls, concurrency=args.concurrency,
            price=args.price, db_path=args.db,
        )  # fmt: skip
    print(table(result))
    path = write_results("aep2_calls", machine() | result.to_dict())
    print(f"wrote {path.relative_to(path.parents[2])}")


if __name__ == "__main__":
    main()
