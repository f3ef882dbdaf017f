"""``benchmarks.gas_by_size`` on a real anvil with the attestation stand-in only (no Groth16 proofs)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from aep2.chain import EscrowClient, Pair, attestation_verifier, deploy_stack
from aep2.devnet import Anvil
from benchmarks._gas_chain import Bench, SettlementMismatch, fund_payer, new_payee, settle_attested
from benchmarks.gas_by_size import (
    FILLINGS,
    FULL_PAIRS,
    ONE_PAIR,
    GasBySize,
    format_table,
    measure_gas_by_size,
)
from tests.groth16_support import groth16_verifier_spec

SIZES = ((1, 1), (2, 1), (4, 2))
AMOUNT = 1_000


@pytest.fixture(scope="module")
def result(w3: Web3, anvil: Anvil) -> GasBySize:
    return measure_gas_by_size(w3, anvil, sizes=SIZES, real_sizes=[], amount=AMOUNT)


def test_every_size_and_filling_has_a_row(result: GasBySize) -> None:
    assert [(r.n, r.p, r.filling) for r in result.rows] == [(n, p, f) for n, p in SIZES for f in FILLINGS]
    for r in result.rows:
        assert r.mandates == r.n
        assert r.pairs_used == (1 if r.filling == ONE_PAIR else r.p)
        assert len(set(r.payers)) == r.pairs_used and r.settlements == 2


def test_warm_costs_less_than_cold(result: GasBySize) -> None:
    for r in result.rows:
        # Cold, each pair's high-water mark and the (shared) payee's credit go from zero to non-zero:
        # 20,000 instead of 2,900 gas per write (EIP-2929); the rest is calldata bytes, +-12 gas each.
        saved = r.attestation_gas_cold - r.attestation_gas_warm
        assert abs(saved - 17_100 * (r.pairs_used + 1)) < 200, r


def test_gas_per_payment_falls_with_n_in_one_pair(result: GasBySize) -> None:
    rows = [r for r in result.rows if r.filling == ONE_PAIR]
    per_payment = [r.attestation_gas_per_payment for r in rows]
    assert per_payment == sorted(per_payment, reverse=True) and len(set(per_payment)) == len(rows)
    # one pair costs the same whatever N: the mandates behind it add nothing on chain
    assert max(r.attestation_gas_warm for r in rows) - min(r.attestation_gas_warm for r in rows) < 100


def test_full_pairs_cost_grows_per_pair(result: GasBySize) -> None:
    one, two = result.row(2, 1, FULL_PAIRS), result.row(4, 2, FULL_PAIRS)
    assert 10_000 < two.attestation_gas_warm - one.attestation_gas_warm < 25_000


def test_settlements_moved_exactly_the_expected_escrow_balances(w3: Web3, result: GasBySize) -> None:
    escrow = EscrowClient.at(w3, result.escrow)
    owed: Counter[str] = Counter()
    for r in result.rows:
        per_pair = r.mandates // r.pairs_used
        assert escrow.payee_balance(r.payee, result.token) == r.settlements * r.mandates * AMOUNT
        for payer in r.payers:
            assert escrow.high_water(payer, r.payee) == r.settlements * per_pair
            owed[payer] += r.settlements * per_pair * AMOUNT
    for payer, debited in owed.items():
        assert escrow.balance(payer, result.token) == result.deposit - debited


def test_without_real_sizes_nothing_is_composed(result: GasBySize) -> None:
    assert result.verifier_delta is None and result.real_sizes == () and result.skipped_real == ()
    assert all(r.groth16_gas is None and r.source is None and r.ratio_vs_x402 is None for r in result.rows)
    assert "x402 exact transferWithAuthorization" in format_table(result)


def test_x402_transfer_is_cheaper_warm(result: GasBySize) -> None:
    # the second transfer's merchant balance is already non-zero: 20k less for that write
    assert 60_000 < result.x402_transfer_gas < result.x402_transfer_gas_cold - 15_000


def test_to_dict_is_plain_data(result: GasBySize) -> None:
    data = result.to_dict()
    assert data["x402_transfer_gas"] == result.x402_transfer_gas
    assert isinstance(data["rows"], list) and data["rows"][0] == result.rows[0].to_dict()
    assert json.loads(json.dumps(data)) == data


def test_a_size_without_keys_is_skipped_with_its_reason(
    w3: Web3, anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEP2_HOME", str(tmp_path))
    skipped = measure_gas_by_size(w3, anvil, sizes=[(1, 1)], real_sizes=None)
    assert skipped.real_sizes == () and skipped.verifier_delta is None
    [(n, p, reason)] = skipped.skipped_real
    assert (n, p) == (1, 1) and str(tmp_path) in reason and "proving key" in reason


@pytest.mark.parametrize(
    ("sizes", "real_sizes"),
    [([(2, 4)], []), ([(4, 3)], []), ([(1, 1), (1, 1)], []), ([(1, 1)], [(2, 1)])],
)
def test_bad_sizes_are_refused_before_deploying(
    w3: Web3, anvil: Anvil, sizes: list[tuple[int, int]], real_sizes: list[tuple[int, int]]
) -> None:
    block = w3.eth.block_number
    with pytest.raises(ValueError, match="size"):
        measure_gas_by_size(w3, anvil, sizes=sizes, real_sizes=real_sizes)
    assert w3.eth.block_number == block


def test_a_settlement_that_skips_a_pair_is_not_recorded(w3: Web3, anvil: Anvil) -> None:
    key, attester = anvil.private_keys[0], bytes(Account.create().key)
    spec = attestation_verifier(1, 1, 1, Account.from_key(attester).address)
    stack = deploy_stack(w3, key, verifiers=[spec])
    payer = bytes(Account.create().key)
    escrow, token = stack.escrow_client(w3), stack.token_client(w3)
    bench = Bench(w3, escrow, token, key, attester, dict(stack.verifiers), (payer,), AMOUNT)
    fund_payer(bench, payer, 10 * AMOUNT)
    pair = Pair(Account.from_key(payer).address, new_payee(bench), 0, 1, AMOUNT)
    assert settle_attested(bench, 1, (pair,)) > 0
    with pytest.raises(SettlementMismatch, match="skipped"):
        settle_attested(bench, 1, (pair,))  # a replay: the escrow skips the pair and pays nothing


@pytest.mark.slow  # two real proofs at N=1: ~1-2 minutes on two cores
@pytest.mark.groth16
def test_groth16_at_n1_is_measured_and_composes_onto_larger_sizes(w3: Web3, anvil: Anvil) -> None:
    groth16_verifier_spec()  # skips (or fails under `make test`) without `make groth16`
    result = measure_gas_by_size(w3, anvil, sizes=[(1, 1), (2, 1)], real_sizes=[(1, 1)], amount=AMOUNT)
    delta = result.verifier_delta
    assert result.verifier_delta_size == (1, 1) and delta is not None
    # two pairing checks (4 pairs, and 2 for the Pedersen commitment), two ecMul: ~300k
    assert 250_000 < delta < 400_000
    same_shape = result.row(1, 1, FULL_PAIRS)
    assert same_shape.source == "measured" and same_shape.settlements == 3
    assert same_shape.composed_minus_measured is not None and abs(same_shape.composed_minus_measured) < 100
    for filling in FILLINGS:
        two = result.row(2, 1, filling)
        assert two.source == "composed" and two.groth16_gas == two.attestation_gas_warm + delta
        assert two.gas_per_payment == two.groth16_gas / 2
