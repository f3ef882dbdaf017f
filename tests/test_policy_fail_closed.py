"""A broken policy, or an error inside the engine, rejects every payment."""

from __future__ import annotations

from pathlib import Path

import pytest

from aep2.errors import PolicyViolation, Reason
from aep2.mandate import decode
from aep2.payer import (
    REJECTED,
    LocalKeySigner,
    Payer,
    PaymentRequest,
    Policy,
    PolicyEngine,
    load_policy,
    parse_requirement,
)
from tests.conftest import PAYER_KEY, aep2_requirement

BROKEN = {
    "not yaml": "max_per_payment: [1, 2\n",
    "empty": "",
    "a list": "- 1\n- 2\n",
    "typo": "max_per_paymnet: 10\n",
    "negative amount": "max_per_payment: -1\n",
    "float amount": "daily_limit: 1.5\n",
    "amount too large": f"hourly_limit: {2**96}\n",
    "bad address": "allowed_payees: ['0x1234']\n",
    "unknown zone": "active_hours: {timezone: Mars/Olympus, start: '09:00', end: '17:00'}\n",
    "bad time": "active_hours: {start: '25:00', end: '17:00'}\n",
    "unquoted time": "active_hours: {start: 09:00, end: 17:00}\n",
    "bad weekday": "active_hours: {start: '09:00', end: '17:00', days: [funday]}\n",
    "future version": "version: 2\n",
    "boolean rate": "payments_per_hour: true\n",
    "float rate": "payments_per_hour: 1.0\n",
    "quoted chain id": "allowed_chains: ['31337']\n",
    "payee not a list": "allowed_payees: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'\n",
    "binary": b"\xff\xfe\x00garbage",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_policy_file_rejects_everything(tmp_path: Path, name: str) -> None:
    path = tmp_path / "policy.yaml"
    content = BROKEN[name]
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    payer = Payer(LocalKeySigner(PAYER_KEY), path, db=tmp_path / "payer.db")
    for amount in ("1", "1000"):
        with pytest.raises(PolicyViolation) as info:
            payer.pay(aep2_requirement(amount=amount))
        assert info.value.reason == Reason.POLICY_INVALID
    entries = payer.audit.entries()
    assert [(e.decision, e.reason) for e in entries] == [(REJECTED, "policy_invalid")] * 2


def test_missing_policy_file_rejects(tmp_path: Path) -> None:
    payer = Payer(LocalKeySigner(PAYER_KEY), tmp_path / "absent.yaml", db=tmp_path / "payer.db")
    with pytest.raises(PolicyViolation, match="cannot read policy"):
        payer.pay(aep2_requirement())


def test_policy_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("max_per_payment: 10\n")
    payer = Payer(LocalKeySigner(PAYER_KEY), path, db=tmp_path / "payer.db")
    with pytest.raises(PolicyViolation):
        payer.pay(aep2_requirement(amount="1000"))
    path.write_text("max_per_payment: 100000\n")
    decode(payer.pay(aep2_requirement(amount="1000"))).verify()
    path.write_text("max_per_payment: [\n")  # broken again: back to rejecting
    with pytest.raises(PolicyViolation) as info:
        payer.pay(aep2_requirement(amount="1"))
    assert info.value.reason == Reason.POLICY_INVALID


class ExplodingHistory:
    def spent_since(self, token: str, since: float) -> int:
        raise RuntimeError("disk on fire")

    def approved_count_since(self, since: float) -> int:
        raise RuntimeError("disk on fire")


def test_an_error_inside_the_engine_rejects() -> None:
    engine = PolicyEngine(Policy(daily_limit=10**9))
    request: PaymentRequest = parse_requirement(aep2_requirement())
    with pytest.raises(PolicyViolation) as info:
        engine.check(request, ExplodingHistory(), 0.0)
    assert info.value.reason == Reason.POLICY_INVALID
    assert "disk on fire" in info.value.message
    PolicyEngine(Policy()).check(request, ExplodingHistory(), 0.0)  # no window rule: history unused


def test_example_policies_are_valid() -> None:
    examples = sorted((Path(__file__).parent.parent / "examples" / "policies").glob("*.yaml"))
    assert examples
    for path in examples:
        load_policy(path)
