"""Where one more settled pair's gas goes, opcode by opcode: agent pairs and EIP-712 pairs.

    python -m benchmarks.agent_pair_gas [--pairs 8]

Agent pairs are set up as ``benchmarks.agent_gas``'s scattered workload settles them: fresh payers,
each with one agent key scoped to one fresh payee, settled by the bench's key (a submitter the payee
approved), first cold, then warm, the warm settlement emptying each payer's free balance and
spending each key's cap. EIP-712 pairs: fresh funded payers to one fresh payee, the same submitter.
Settlements of 1 and 1 + ``--pairs`` warm pairs go through the attestation stand-in (the verifier's
cost does not depend on the pair count) on an anvil that records steps; both transactions are traced
(``debug_traceTransaction``) and the difference is printed per pair: the escrow's execution by kind
(cold storage reads, writes, warm storage, the event, KECCAK256, the rest), the calldata, and the
receipts' difference, which also nets the refund of an emptied balance. ``contracts/README.md``
("Where a warm agent pair's gas goes") quotes it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable

from eth_account import Account
from web3 import Web3
from web3.types import RPCEndpoint

import aep2.devnet
from aep2.chain import (
    AgentPair,
    AgentSettlement,
    Pair,
    VerifierFamily,
    attestation_verifier,
    deploy_stack,
)
from benchmarks._agent_chain import first_run, grant_agent_payers, settle_agent_attested
from benchmarks._gas_chain import HORIZON, Bench, fund_payer, new_payee, settle_attested

AGENT_ID, BATCH_ID = 1, 2
PER_PAIR = 2  # mandates per pair, as the bench's 64x32 fills them
KINDS = ("cold reads", "writes", "warm storage", "event", "KECCAK256", "other execution")

Settle = Callable[[Bench, int], int]


def _kind(op: str, cost: int) -> str:
    if op == "SLOAD":
        return "cold reads" if cost == 2_100 else "warm storage"
    if op == "SSTORE":
        return "writes" if cost >= 2_900 else "warm storage"
    if op.startswith("LOG"):
        return "event"
    return op if op == "KECCAK256" else "other execution"


def _escrow_gas_by_kind(w3: Web3, tx_hash: str) -> Counter[str]:
    """The escrow frame's gas of a traced transaction, by kind; calls out count what they used."""
    method = RPCEndpoint("debug_traceTransaction")
    steps = w3.provider.make_request(method, [tx_hash, {"disableStorage": True}])["result"]["structLogs"]
    kinds: Counter[str] = Counter()
    for i, step in enumerate(steps):
        if step["depth"] != 1:
            continue
        cost = step["gasCost"]
        if step["op"] in ("CALL", "STATICCALL", "DELEGATECALL"):
            after = next((s for s in steps[i + 1 :] if s["depth"] == 1), None)
            cost = step["gas"] - after["gas"] if after else cost
        kinds[_kind(step["op"], cost)] += cost
    return kinds


def settle_agent(bench: Bench, pairs: int) -> int:
    payee = new_payee(bench)
    payers = grant_agent_payers(bench, payee, pairs, deposit=2 * PER_PAIR * bench.amount)
    settle_agent_attested(bench, AGENT_ID, first_run(bench, AGENT_ID, payers, payee, PER_PAIR), payers)
    total = PER_PAIR * bench.amount
    warm = tuple(AgentPair(p.key_id, payee, PER_PAIR, 2 * PER_PAIR, total) for p in payers)
    settlement = AgentSettlement(AGENT_ID, bench.token.address, bench.now() + HORIZON, warm)
    return settle_agent_attested(bench, AGENT_ID, settlement, payers)


def settle_eip712(bench: Bench, pairs: int) -> int:
    payee = new_payee(bench)
    keys = [bytes(Account.create().key) for _ in range(pairs)]
    for key in keys:
        fund_payer(bench, key, 100 * PER_PAIR * bench.amount)
    payers = [Account.from_key(k).address for k in keys]
    total = PER_PAIR * bench.amount
    for start in (0, PER_PAIR):  # cold, then the warm one measured
        run = tuple(Pair(p, payee, start, start + PER_PAIR, total) for p in payers)
        gas = settle_attested(bench, BATCH_ID, run)
    return gas


def _measure(bench: Bench, settle: Settle, pairs: int) -> tuple[int, int, Counter[str]]:
    """(receipt gas, calldata gas, escrow gas by kind) of one warm settlement of ``pairs`` pairs."""
    receipt = settle(bench, pairs)
    tx_hash = bench.w3.eth.get_block("latest")["transactions"][0]  # automine: one per block
    if not isinstance(tx_hash, bytes):
        raise TypeError(f"expected a transaction hash, got {tx_hash!r}")
    calldata = sum(16 if b else 4 for b in bytes(bench.w3.eth.get_transaction(tx_hash)["input"]))
    return receipt, calldata, _escrow_gas_by_kind(bench.w3, Web3.to_hex(tx_hash))


def per_pair_more(bench: Bench, settle: Settle, more: int) -> dict[str, float]:
    """What each of ``more`` pairs added to a one-pair settlement, by kind."""
    (r1, c1, k1), (r2, c2, k2) = _measure(bench, settle, 1), _measure(bench, settle, 1 + more)
    row = {kind: (k2[kind] - k1[kind]) / more for kind in KINDS}
    row["execution"] = sum(row.values())
    row["calldata"] = (c2 - c1) / more
    row["receipt"] = (r2 - r1) / more
    return row


def deploy_bench(w3: Web3, key: bytes) -> Bench:
    """The stack with one stand-in verifier per family, 64 mandates and 32 pairs."""
    attester = bytes(Account.create().key)
    address = Account.from_key(attester).address
    specs = [
        attestation_verifier(AGENT_ID, 64, 32, address, family=VerifierFamily.AGENT),
        attestation_verifier(BATCH_ID, 64, 32, address),
    ]
    stack = deploy_stack(w3, key, verifiers=specs)
    escrow, token = stack.escrow_client(w3), stack.token_client(w3)
    return Bench(w3, escrow, token, key, attester, dict(stack.verifiers), (), 1_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8, help="pairs more than one, to average over")
    args = parser.parse_args()
    with aep2.devnet.Anvil(steps_tracing=True) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 120}))
        bench = deploy_bench(w3, node.private_keys[0])
        rows = {"agent": per_pair_more(bench, settle_agent, args.pairs)}
        rows["EIP-712"] = per_pair_more(bench, settle_eip712, args.pairs)
    print(f"{'gas per pair more':<20}" + "".join(f"{name:>12}" for name in rows))
    for kind in (*KINDS, "execution", "calldata", "receipt"):
        print(f"{kind:<20}" + "".join(f"{row[kind]:>12,.0f}" for row in rows.values()))


if __name__ == "__main__":
    main()
