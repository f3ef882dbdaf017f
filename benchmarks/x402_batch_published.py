"""x402 ``batch-settlement`` gas per payment, computed from its published forge gas snapshot.

The scheme's contracts cannot run on this machine (``docs/benchmarks.md`` says why), so its rows
are **published**, never measured: ``x402_batch_settlement_gas.json`` records, verbatim, the
snapshot ``contracts/evm/snapshots/X402BatchSettlementGasTest.json`` of ``x402-foundation/x402`` at
commit ``5dc34292``, written by ``contracts/evm/test/x402BatchSettlement.gas.t.sol``.

What the figures are, and how a payment's share is composed from them:

- Each figure is forge's ``vm.snapshotGasLastCall``: the execution gas of one call, without the
  transaction's 21,000 intrinsic gas or its calldata. Every composition below adds 21,000 per
  transaction (exact) and leaves calldata out (a claim row is ~480 ABI bytes, a few thousand gas).
- ``claim`` is the comparable of aep2's ``settleAgent``/``settle``: it moves a channel's cumulative
  voucher total into the receiver's claimed balance inside the contract, as aep2 credits the payee
  inside the escrow. ``settle`` (a sweep of claimed funds to the receiver's wallet) compares with
  aep2's ``withdrawPayee``, and deposits with aep2's deposits; aep2's rows count none of them, so
  these rows count none either, except where a workload says it opens a channel.
- The snapshot's claims are each a receiver's *first* (its per-token aggregate goes from zero to
  non-zero, ~17,100 gas more than a later claim), the opposite bias to the omitted calldata.

Workloads, as in ``benchmarks.agent_gas``:

- **streaming** (one payer, one payee, ``payments`` per window): vouchers are cumulative, so one
  claim of one voucher covers the whole window: ``(claim_1_voucher + 21,000) / payments``.
- **scattered** (``per_channel`` payments on each of many channels per window): the snapshot's
  ten-channel claim, per channel: ``(claim_10_channels + 21,000) / (10 * per_channel)``; if the
  channel is opened for these payments, plus ``(deposit_erc3009_first + 21,000) / per_channel`` (x402 needs a
  deposit per payer-payee channel, where one aep2 deposit backs every payee).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).resolve().parent / "x402_batch_settlement_gas.json"
INTRINSIC_GAS = 21_000
SNAPSHOT_CHANNELS = 10  # claim_10_channels: ten channels in one claim
REQUIRED = ("claim_1_voucher", "claim_10_channels", "deposit_erc3009_first", "settle_receiver_token")
CITATION_FIELDS = ("repository", "path", "commit", "test", "test_commit", "measures")


class SnapshotError(ValueError):
    """The published snapshot is not what this module composes from."""


def parse_snapshot(snapshot: Mapping[str, object]) -> dict[str, int]:
    """A forge gas snapshot (``{"name": "<decimal gas>"}``) as integers; every entry must be one."""
    parsed: dict[str, int] = {}
    for name, value in snapshot.items():
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise SnapshotError(f"snapshot entry {name!r} is {value!r}, not a decimal gas figure")
        parsed[name] = int(value)
    if missing := [name for name in REQUIRED if name not in parsed]:
        raise SnapshotError(f"snapshot lacks {missing}")
    return parsed


@dataclass(frozen=True)
class Published:
    """The snapshot's figures and where they come from."""

    gas: dict[str, int]
    repository: str
    path: str
    commit: str
    test: str
    test_commit: str
    measures: str

    @property
    def citation(self) -> str:
        return f"{self.repository}@{self.commit[:8]}:{self.path}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Published:
        if missing := [f for f in CITATION_FIELDS if not data.get(f)]:
            raise SnapshotError(f"published record lacks {missing}")
        fields = {f: str(data[f]) for f in CITATION_FIELDS}
        return cls(gas=parse_snapshot(data["snapshot"]), **fields)


def load(path: Path = PUBLISHED) -> Published:
    return Published.from_json(json.loads(path.read_text()))


@dataclass(frozen=True)
class PublishedRow:
    """One workload's gas per payment for x402 ``batch-settlement``, composed from the snapshot."""

    workload: str  # "streaming" | "scattered"
    payments_per_window: int  # streaming: payments one claim covers
    payments_per_channel: int
    opens_channel: bool  # the channel's first deposit is counted
    gas_per_payment: float
    formula: str
    source: str = "published"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def streaming(published: Published, payments: int) -> PublishedRow:
    """One channel, ``payments`` per window, one claim of its latest cumulative voucher."""
    if payments < 1:
        raise ValueError(f"payments per window must be positive, not {payments}")
    claim = published.gas["claim_1_voucher"]
    return PublishedRow(
        workload="streaming",
        payments_per_window=payments,
        payments_per_channel=payments,
        opens_channel=False,
        gas_per_payment=(claim + INTRINSIC_GAS) / payments,
        formula=f"(claim_1_voucher {claim:,} + {INTRINSIC_GAS:,}) / {payments}",
    )


def scattered(published: Published, per_channel: int, *, opens_channel: bool = False) -> PublishedRow:
    """Ten channels per claim, ``per_channel`` payments each; optionally each channel's first deposit."""
    if per_channel < 1:
        raise ValueError(f"payments per channel must be positive, not {per_channel}")
    claim = published.gas["claim_10_channels"]
    per_payment = (claim + INTRINSIC_GAS) / (SNAPSHOT_CHANNELS * per_channel)
    formula = f"(claim_10_channels {claim:,} + {INTRINSIC_GAS:,}) / ({SNAPSHOT_CHANNELS} * {per_channel})"
    if opens_channel:
        deposit = published.gas["deposit_erc3009_first"]
        per_payment += (deposit + INTRINSIC_GAS) / per_channel
        formula += f" + (deposit_erc3009_first {deposit:,} + {INTRINSIC_GAS:,}) / {per_channel}"
    return PublishedRow(
        workload="scattered",
        payments_per_window=SNAPSHOT_CHANNELS * per_channel,
        payments_per_channel=per_channel,
        opens_channel=opens_channel,
        gas_per_payment=per_payment,
        formula=formula,
    )
