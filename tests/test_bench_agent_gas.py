"""``benchmarks.agent_gas`` on a real anvil: the memory guard, and one real agent proof at N=1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from aep2.devnet import Anvil
from aep2.prover import circuit_id
from benchmarks import _agent_circuits
from benchmarks._agent_circuits import SetupRecord
from benchmarks.agent_gas import STREAMING, measure_agent_gas, parse_sizes
from tests.groth16_support import agent_verifier_artifact


def test_sizes_parse_and_an_empty_list_is_none() -> None:
    assert parse_sizes("1x1,64x8") == ((1, 1), (64, 8))
    assert parse_sizes("") == ()


def test_a_size_that_p_does_not_divide_is_refused(w3: Web3, anvil: Anvil) -> None:
    with pytest.raises(ValueError, match="P dividing N"):
        measure_agent_gas(w3, anvil, streaming=[(8, 3)], scattered=[], progress=lambda _: None)


@pytest.mark.groth16
def test_a_size_over_the_memory_budget_is_skipped_with_its_reason(w3: Web3, anvil: Anvil) -> None:
    agent_verifier_artifact()  # the N=1 keys: their constraint count is cached with them
    result = measure_agent_gas(
        w3, anvil, streaming=[(1, 1)], scattered=[], memory_budget_gib=0.01, progress=lambda _: None
    )
    assert result.rows == () and result.proving == ()
    ((n, p, why),) = result.skipped
    assert (n, p) == (1, 1) and "over the 0.01 GiB budget" in why


@pytest.mark.groth16
def test_streaming_at_n1_is_a_real_proof_settled_and_measured(w3: Web3, anvil: Anvil) -> None:
    agent_verifier_artifact()
    lines: list[str] = []
    result = measure_agent_gas(w3, anvil, streaming=[(1, 1)], scattered=[], progress=lines.append)
    (row,) = result.rows
    assert (row.workload, row.n, row.p, row.pairs_used, row.mandates, row.source) == (
        STREAMING,
        1,
        1,
        1,
        1,
        "measured",
    )
    # one pairing check (~200k) and one warm agent pair (~27k) above the 21k a transaction costs
    assert 200_000 < row.gas < 320_000 and row.gas_per_payment == row.gas
    assert row.stand_in_cold_gas < row.gas  # the stand-in's check is ~10k, the verifier's ~200k
    assert row.ratio_vs_x402 == pytest.approx(result.x402_transfer_gas / row.gas)
    (proving,) = result.proving
    assert proving.circuit_id == circuit_id(1, 1, "agent") and proving.prove_s == (row.prove_s,)
    assert 100 < proving.peak_rss_mib < 4_000 and proving.key_load_s > 0 and row.prove_cpu_s > 0
    assert any("proved in" in line for line in lines)


def test_a_measured_setup_is_remembered_for_later_runs_with_cached_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_agent_circuits, "SETUP_RESULTS", tmp_path / "agent_setup.json")
    monkeypatch.setattr(_agent_circuits, "PROVER_RESULTS", tmp_path / "prover.json")
    _agent_circuits._remember(SetupRecord("aep2-agent-v9-n8-p8", 1_000, True, 12.5, 20.0, 300, "this run"))
    _agent_circuits._remember(SetupRecord("aep2-agent-v9-n8-p8", 1_000, True, 11.0, 19.0, 310, "this run"))
    cached = _agent_circuits._cached_setup("aep2-agent-v9-n8-p8", 1_000)
    assert (cached.ran, cached.seconds, cached.cpu_seconds, cached.peak_rss_mib) == (False, 11.0, 19.0, 310)
    assert "measured by this bench" in cached.source
    assert len(json.loads((tmp_path / "agent_setup.json").read_text())) == 1
    unknown = _agent_circuits._cached_setup("aep2-agent-v9-n16-p8", 5)
    assert unknown.seconds is None and unknown.source == "cached keys; setup not measured"
