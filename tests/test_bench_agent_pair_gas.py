"""``benchmarks.agent_pair_gas`` on an anvil that records steps: the breakdown adds up, and one more
agent pair in the bench's scattered state reads four cold slots and writes two."""

from __future__ import annotations

import pytest
from web3 import Web3

from aep2.devnet import Anvil
from benchmarks.agent_pair_gas import KINDS, deploy_bench, per_pair_more, settle_agent, settle_eip712

Rows = dict[str, dict[str, float]]


@pytest.fixture(scope="module")
def rows() -> Rows:
    with Anvil(steps_tracing=True) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 120}))
        bench = deploy_bench(w3, node.private_keys[0])
        agent = per_pair_more(bench, settle_agent, 2)
        return {"agent": agent, "eip712": per_pair_more(bench, settle_eip712, 2)}


@pytest.mark.parametrize("family", ["agent", "eip712"])
def test_kinds_add_up_to_the_execution_and_the_receipt(rows: Rows, family: str) -> None:
    row = rows[family]
    assert row["execution"] == sum(row[kind] for kind in KINDS)
    refund = 4_800 if family == "agent" else 0  # the agent workload empties each payer's free balance
    assert row["receipt"] == pytest.approx(row["execution"] + row["calldata"] - refund, abs=1)


def test_one_more_agent_pair_reads_four_cold_slots_and_writes_two(rows: Rows) -> None:
    agent, eip712 = rows["agent"], rows["eip712"]
    assert (agent["cold reads"], agent["writes"], agent["warm storage"]) == (4 * 2_100, 2 * 2_900, 0)
    assert (eip712["cold reads"], eip712["writes"], eip712["warm storage"]) == (2 * 2_100, 2 * 2_900, 0)
    # the bench's 1/5 of x402 exact at 64x32 needs a warm agent pair under ~19.5k in the receipt
    assert agent["receipt"] < 19_500
