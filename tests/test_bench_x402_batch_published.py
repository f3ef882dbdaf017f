"""x402 ``batch-settlement`` rows composed from its published forge gas snapshot."""

from __future__ import annotations

import json

import pytest

from benchmarks.x402_batch_published import (
    INTRINSIC_GAS,
    PUBLISHED,
    Published,
    SnapshotError,
    load,
    parse_snapshot,
    scattered,
    streaming,
)

SNAPSHOT = {
    "claim_10_channels": "192043",
    "claim_1_voucher": "40252",
    "deposit_erc3009_first": "111738",
    "settle_receiver_token": "31204",
}


def test_the_committed_record_is_the_published_snapshot_with_its_citation() -> None:
    published = load()
    assert published.repository == "x402-foundation/x402"
    assert published.path == "contracts/evm/snapshots/X402BatchSettlementGasTest.json"
    assert len(published.commit) == 40 and int(published.commit, 16)
    assert published.citation.startswith("x402-foundation/x402@5dc34292:contracts/evm/snapshots/")
    assert published.gas["claim_1_voucher"] == 40_252
    assert published.gas["claim_10_channels"] == 192_043
    assert len(published.gas) == len(json.loads(PUBLISHED.read_text())["snapshot"])


def test_a_snapshot_parses_to_integers() -> None:
    assert parse_snapshot(SNAPSHOT) == {k: int(v) for k, v in SNAPSHOT.items()}


@pytest.mark.parametrize("bad", ["40,252", "4e4", "-1", "", " 40252", "٤٠٢٥٢"])
def test_a_figure_that_is_not_a_decimal_string_is_refused(bad: str) -> None:
    with pytest.raises(SnapshotError, match="claim_1_voucher"):
        parse_snapshot(SNAPSHOT | {"claim_1_voucher": bad})


def test_a_number_instead_of_forges_string_is_refused() -> None:
    with pytest.raises(SnapshotError, match="not a decimal gas figure"):
        parse_snapshot(SNAPSHOT | {"claim_1_voucher": 40252})


def test_a_snapshot_without_a_figure_the_rows_need_is_refused() -> None:
    with pytest.raises(SnapshotError, match="claim_10_channels"):
        parse_snapshot({k: v for k, v in SNAPSHOT.items() if k != "claim_10_channels"})


def test_a_record_without_its_citation_is_refused() -> None:
    record = json.loads(PUBLISHED.read_text())
    del record["commit"]
    with pytest.raises(SnapshotError, match="commit"):
        Published.from_json(record)


def test_streaming_is_one_claim_of_one_voucher_per_window() -> None:
    row = streaming(load(), 1024)
    assert row.gas_per_payment == (40_252 + INTRINSIC_GAS) / 1024
    assert row.source == "published" and row.payments_per_channel == 1024 and not row.opens_channel
    assert "claim_1_voucher 40,252" in row.formula


def test_scattered_shares_the_ten_channel_claim_and_optionally_a_channel_opening() -> None:
    one, two = scattered(load(), 1), scattered(load(), 2)
    assert one.gas_per_payment == (192_043 + INTRINSIC_GAS) / 10
    assert two.gas_per_payment == one.gas_per_payment / 2
    opened = scattered(load(), 2, opens_channel=True)
    assert opened.gas_per_payment == two.gas_per_payment + (111_738 + INTRINSIC_GAS) / 2
    assert opened.opens_channel and "deposit_erc3009_first" in opened.formula


@pytest.mark.parametrize("payments", [0, -3])
def test_no_payments_is_no_row(payments: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        streaming(load(), payments)
    with pytest.raises(ValueError, match="positive"):
        scattered(load(), payments)
