"""Every policy rule blocks when it should and allows when it should, through a real Payer and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from aep2.errors import ApprovalRequired, PolicyViolation, Reason
from aep2.mandate import decode
from aep2.payer import APPROVED, REJECTED, LocalKeySigner, Payer, PaymentRequest
from tests.conftest import ESCROW, PAYEE, PAYER_KEY, TOKEN, aep2_requirement

# Wednesday 2026-01-07 12:00:00 UTC
NOON = datetime(2026, 1, 7, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_payer(tmp_path: Path, policy: dict[str, Any], clock: Clock | None = None, **kwargs: Any) -> Payer:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return Payer(LocalKeySigner(PAYER_KEY), path, db=tmp_path / "payer.db", clock=clock or Clock(), **kwargs)


def blocked(payer: Payer, reason: Reason, **overrides: Any) -> PolicyViolation:
    with pytest.raises(PolicyViolation) as info:
        payer.pay(aep2_requirement(**overrides))
    assert info.value.reason == reason, info.value
    last = payer.audit.entries()[-1]
    assert (last.decision, last.reason, last.nonce) == (REJECTED, str(reason), None)
    return info.value


def allowed(payer: Payer, **overrides: Any) -> int:
    signed = decode(payer.pay(aep2_requirement(**overrides)))
    signed.verify()
    assert payer.audit.entries()[-1].decision == APPROVED
    return signed.mandate.nonce


def test_max_per_payment_blocks(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"max_per_payment": 999})
    error = blocked(payer, Reason.POLICY_MAX_PER_PAYMENT, amount="1000")
    assert "1000" in error.message and "999" in error.message


def test_max_per_payment_allows(tmp_path: Path) -> None:
    assert allowed(make_payer(tmp_path, {"max_per_payment": "1000"}), amount="1000") == 1


def test_hourly_limit_blocks_then_window_rolls(tmp_path: Path) -> None:
    clock = Clock()
    payer = make_payer(tmp_path, {"hourly_limit": 2500}, clock)
    allowed(payer)
    allowed(payer)
    blocked(payer, Reason.POLICY_HOURLY_LIMIT)
    clock.now += 3601
    allowed(payer)


def test_hourly_limit_allows_up_to_the_limit_and_counts_per_token(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"hourly_limit": 2000})
    allowed(payer)
    allowed(payer)
    other_token = "0x" + "77" * 20
    allowed(payer, asset=other_token)


def test_daily_limit_blocks_for_a_day(tmp_path: Path) -> None:
    clock = Clock()
    payer = make_payer(tmp_path, {"daily_limit": 2500}, clock)
    allowed(payer)
    allowed(payer)
    clock.now += 3601
    blocked(payer, Reason.POLICY_DAILY_LIMIT)
    clock.now += 24 * 3600
    allowed(payer)


def test_daily_limit_allows_below(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"daily_limit": 3000})
    for _ in range(3):
        allowed(payer)


def test_limits_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    make_payer(tmp_path, {"daily_limit": 1500}, clock).pay(aep2_requirement())
    restarted = make_payer(tmp_path, {"daily_limit": 1500}, clock)
    blocked(restarted, Reason.POLICY_DAILY_LIMIT)


def test_rate_limit_blocks(tmp_path: Path) -> None:
    clock = Clock()
    payer = make_payer(tmp_path, {"payments_per_hour": 2}, clock)
    allowed(payer, amount="1")
    allowed(payer, amount="1", payTo="0x" + "99" * 20)
    blocked(payer, Reason.POLICY_RATE_LIMIT, amount="1")
    clock.now += 3601
    allowed(payer, amount="1")


def test_rate_limit_allows_and_ignores_rejections(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"payments_per_hour": 2, "max_per_payment": 10})
    blocked(payer, Reason.POLICY_MAX_PER_PAYMENT, amount="11")
    allowed(payer, amount="1")
    allowed(payer, amount="1")


def test_payee_allow_list(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"allowed_payees": [PAYEE.lower()]})
    allowed(payer)
    blocked(payer, Reason.POLICY_PAYEE_NOT_ALLOWED, payTo="0x" + "99" * 20)


def test_token_allow_list(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"allowed_tokens": [TOKEN]})
    allowed(payer)
    blocked(payer, Reason.POLICY_TOKEN_NOT_ALLOWED, asset="0x" + "99" * 20)


def test_chain_allow_list(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"allowed_chains": [31337]})
    allowed(payer)
    blocked(payer, Reason.POLICY_CHAIN_NOT_ALLOWED, network="eip155:1")


def test_escrow_allow_list(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"allowed_escrows": [ESCROW]})
    allowed(payer)
    blocked(payer, Reason.POLICY_ESCROW_NOT_ALLOWED, extra={"escrow": "0x" + "99" * 20})


def test_active_hours_in_a_time_zone(tmp_path: Path) -> None:
    clock = Clock(NOON)  # 13:00 in Berlin (CET)
    hours = {"timezone": "Europe/Berlin", "start": "09:00", "end": "13:00"}
    payer = make_payer(tmp_path, {"active_hours": hours}, clock)
    blocked(payer, Reason.POLICY_OUTSIDE_ACTIVE_HOURS)
    clock.now -= 60
    allowed(payer)


def test_active_hours_wrap_past_midnight_and_days(tmp_path: Path) -> None:
    clock = Clock(NOON)
    hours = {"timezone": "UTC", "start": "22:00", "end": "06:00", "days": ["wed", "thu"]}
    payer = make_payer(tmp_path, {"active_hours": hours}, clock)
    blocked(payer, Reason.POLICY_OUTSIDE_ACTIVE_HOURS)
    clock.now += 11 * 3600  # Wed 23:00
    allowed(payer)
    clock.now += 3 * 24 * 3600  # Sat 23:00
    blocked(payer, Reason.POLICY_OUTSIDE_ACTIVE_HOURS)


def test_approval_above_raises_and_never_signs(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"approval_above": 999})
    with pytest.raises(ApprovalRequired) as info:
        payer.pay(aep2_requirement(amount="1000"))
    assert info.value.reason == Reason.APPROVAL_REQUIRED
    assert [e.digest for e in payer.audit.entries()] == [None]
    assert allowed(payer, amount="999") == 1  # the refused payment used no nonce


def test_approval_granted_by_an_approver(tmp_path: Path) -> None:
    asked: list[PaymentRequest] = []

    def approve(request: PaymentRequest) -> bool:
        asked.append(request)
        return True

    payer = make_payer(tmp_path, {"approval_above": 999, "max_per_payment": 5000}, approve=approve)
    allowed(payer, amount="1000")
    assert [r.amount for r in asked] == [1000]
    assert [e.reason for e in payer.audit.entries()] == ["approval_required", "approved"]


def test_approval_denied_or_crashing_approver(tmp_path: Path) -> None:
    def crash(request: PaymentRequest) -> bool:
        raise RuntimeError("pager down")

    for approve in (lambda _r: False, crash):
        payer = make_payer(tmp_path, {"approval_above": 999}, approve=approve)
        with pytest.raises(ApprovalRequired) as info:
            payer.pay(aep2_requirement(amount="1000"))
        assert info.value.reason == Reason.APPROVAL_DENIED


def test_approver_cannot_override_hard_limits(tmp_path: Path) -> None:
    payer = make_payer(tmp_path, {"approval_above": 10, "max_per_payment": 100}, approve=lambda _r: True)
    blocked(payer, Reason.POLICY_MAX_PER_PAYMENT, amount="1000")


def test_empty_policy_allows(tmp_path: Path) -> None:
    assert allowed(make_payer(tmp_path, {"version": 1})) == 1
