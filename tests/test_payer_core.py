"""The Payer facade: signers, the audit log, refs, deadlines and nonce floors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from aep2.errors import PayerError, PaymentRequestError, Reason
from aep2.mandate import HALF_N, SECP256K1_N, Domain, decode
from aep2.mandate._signature import sign_digest
from aep2.payer import (
    APPROVED,
    FAILED,
    REJECTED,
    AuditLog,
    CallbackSigner,
    LocalKeySigner,
    Payer,
    Policy,
    typed_data_digest,
)
from tests.conftest import ESCROW, PAYEE, PAYER_KEY, TOKEN, aep2_requirement

OTHER_KEY = bytes.fromhex("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")


def test_local_signer_matches_the_mandate_digest(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db, clock=lambda: 1_000_000.0)
    signed = decode(payer.pay(aep2_requirement(extra={"minDeadlineSeconds": 900})))
    signed.verify()
    m = signed.mandate
    assert (m.payer, m.payee, m.token, m.amount, m.nonce) == (payer.address, PAYEE, TOKEN, 1000, 1)
    assert m.deadline == 1_000_000 + 900 + payer.deadline_margin
    assert signed.domain == Domain(chain_id=31337, escrow=ESCROW)
    assert m.ref == bytes.fromhex("ab" * 32)
    assert typed_data_digest(m.typed_data(signed.domain)) == m.digest(signed.domain)
    assert "59c6995e" not in repr(payer.signer)


def test_callback_signer_keeps_the_key_elsewhere(payer_db: Path) -> None:
    seen: list[dict[str, Any]] = []
    remote = LocalKeySigner(PAYER_KEY)  # stands for the HSM/MPC service on the other side of the callback

    def sign_remotely(typed_data: dict[str, Any]) -> str:
        seen.append(typed_data)
        return "0x" + remote.sign_typed_data(typed_data).hex()

    payer = Payer(CallbackSigner(remote.address.lower(), sign_remotely), Policy(), db=payer_db)
    decode(payer.pay(aep2_requirement())).verify()
    assert seen[0]["primaryType"] == "Mandate" and seen[0]["domain"]["verifyingContract"] == ESCROW


def _high_s(signature: bytes) -> bytes:
    s = int.from_bytes(signature[32:64], "big")
    assert s <= HALF_N
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


@pytest.mark.parametrize(
    "bad",
    [
        lambda td: LocalKeySigner(OTHER_KEY).sign_typed_data(td),  # a different key
        lambda td: _high_s(LocalKeySigner(PAYER_KEY).sign_typed_data(td)),  # malleated
        lambda td: b"\x00" * 65,
        lambda td: (_ for _ in ()).throw(TimeoutError("signer unreachable")),
    ],
    ids=["foreign", "high-s", "garbage", "unreachable"],
)
def test_a_misbehaving_signer_never_yields_a_mandate(payer_db: Path, bad: Any) -> None:
    payer = Payer(CallbackSigner(LocalKeySigner(PAYER_KEY).address, bad), Policy(), db=payer_db)
    with pytest.raises(PayerError) as info:
        payer.pay(aep2_requirement())
    assert info.value.reason == Reason.SIGNER_FAILED
    assert [e.decision for e in payer.audit.entries()] == [APPROVED, FAILED]
    # the allocated nonce stays burned: the next good signature uses 2
    good = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    assert decode(good.pay(aep2_requirement())).mandate.nonce == 2


def test_ref_mismatch_is_refused_and_audited(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    with pytest.raises(PaymentRequestError) as info:
        payer.pay(aep2_requirement(), ref=b"\x01" * 32)
    assert info.value.reason == Reason.REF_MISMATCH
    decode(payer.pay(aep2_requirement(), ref="0x" + "ab" * 32)).verify()
    assert [(e.decision, e.reason) for e in payer.audit.entries()] == [
        (REJECTED, "ref_mismatch"),
        (APPROVED, "approved"),
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"scheme": "exact"},
        {"network": "solana:mainnet"},
        {"payTo": "0x1234"},
        {"asset": "not an address"},
        {"amount": "-5"},
        {"amount": "0"},
        {"amount": str(2**96)},
        {"extra": {"ref": "0x12"}},
        {"extra": {"escrow": "0x" + "aa" * 20}},  # not checksummed: the pinned extra is strict
        {"extra": {"minDeadlineSeconds": -1}},
    ],
)
def test_unusable_requirements_are_refused_and_audited(payer_db: Path, overrides: dict[str, Any]) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    with pytest.raises(PaymentRequestError):
        payer.pay(aep2_requirement(**overrides))
    [entry] = payer.audit.entries()
    assert entry.decision == REJECTED and entry.nonce is None


def test_nonce_floor_jumps_above_the_payees_view(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    assert decode(payer.pay(aep2_requirement())).mandate.nonce == 1
    assert decode(payer.pay(aep2_requirement(extra={"nonceFloor": 41}))).mandate.nonce == 42
    assert decode(payer.pay(aep2_requirement(extra={"nonceFloor": 5}))).mandate.nonce == 43
    other = aep2_requirement(payTo="0x" + "99" * 20)
    assert decode(payer.pay(other)).mandate.nonce == 1  # counters are per (payer, payee)


def test_audit_log_is_append_only(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(max_per_payment=10), db=payer_db)
    payer.pay(aep2_requirement(amount="5"))
    with pytest.raises(PayerError):
        payer.pay(aep2_requirement(amount="50"))
    for statement in ("UPDATE payer_audit SET amount = '1'", "DELETE FROM payer_audit"):
        with pytest.raises(DatabaseError, match="append-only"), payer.engine.begin() as conn:
            conn.execute(text(statement))
    entries = AuditLog(payer_db).entries()
    assert [(e.decision, e.amount, e.payee, e.token) for e in entries] == [
        (APPROVED, 5, PAYEE, TOKEN),
        (REJECTED, 50, PAYEE, TOKEN),
    ]
    assert entries[0].digest is not None and entries[0].nonce == 1
    assert "max_per_payment" in entries[1].message


def test_signature_is_sign_digest_of_the_mandate(payer_db: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(), db=payer_db)
    signed = payer.authorize(aep2_requirement())
    assert signed.signature == sign_digest(PAYER_KEY, signed.digest)
