"""A payment's audit row is written without building an ``AuditEntry``: it must be that entry's row,
and read back as the entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aep2.payer import APPROVED, REJECTED, AuditEntry, LocalKeySigner, Payer, Policy
from aep2.payer._audit import COLUMNS
from tests.conftest import PAYEE, PAYER_KEY, TOKEN, aep2_requirement

APPROVED_FIELDS: dict[str, Any] = {
    "at": 1.5, "decision": APPROVED, "reason": APPROVED, "message": "approved by policy", "payer": PAYEE,
    "payee": PAYEE, "token": TOKEN, "amount": 2**95, "chain_id": 31337, "escrow": TOKEN, "nonce": 7,
    "deadline": 9, "ref": "0x" + "ab" * 32, "digest": "0x" + "cd" * 32, "resource": "/x", "kind": "agent",
    "key_id": 3,
}  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [APPROVED_FIELDS,
     {"at": 2.0, "decision": REJECTED, "reason": "policy_rate_limit", "message": "m", "payer": PAYEE},
     {**APPROVED_FIELDS, "amount": None, "kind": None, "key_id": None}],
    ids=["approved", "rejected-before-a-kind", "no-amount"],
)  # fmt: skip
def test_row_of_is_the_entrys_row(fields: dict[str, Any]) -> None:
    row = AuditEntry.row_of(fields)
    assert row == AuditEntry(**fields).values()
    assert len(row) == len(COLUMNS)


def test_a_payments_row_reads_back_as_its_entry(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db, clock=lambda: 1_000_000.25)
    payer.pay(aep2_requirement(amount=str(2**90)))
    [entry] = payer.audit.entries()
    assert (entry.at, entry.decision, entry.amount, entry.nonce, entry.kind, entry.key_id) == (
        1_000_000.25,
        APPROVED,
        2**90,
        1,
        "eip712",
        None,
    )
    assert (entry.payer, entry.payee, entry.token, entry.ref) == (
        payer.address,
        PAYEE,
        TOKEN,
        "0x" + "ab" * 32,
    )
