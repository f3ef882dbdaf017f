"""``aep2 pay URL`` against the stub payee: text output of an echoed POST, exit codes. Paying the real
payee: tests/test_paid_calls_e2e.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aep2.cli.pay import app
from tests.conftest import PAYER_KEY
from tests.test_payer_stub import PRICE, PayeeStub


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    key = tmp_path / "payer.key"
    key.write_text("0x" + PAYER_KEY.hex() + "\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"max_per_payment: {PRICE}\n")
    return ["--key-file", str(key), "--policy", str(policy), "--db", str(tmp_path / "payer.db")]


def test_pay_text_output_and_a_post(base_url: str, files: list[str]) -> None:
    result = CliRunner().invoke(app, [f"{base_url}/paid", *files, "-X", "POST", "-d", "hello"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["body"] == "hello"
    assert json.loads(result.stderr)["receipt"]["nonce"] == "1"


def test_pay_refused_by_policy_exits_2(
    base_url: str, stub: PayeeStub, files: list[str], tmp_path: Path
) -> None:
    (tmp_path / "policy.yaml").write_text("max_per_payment: 1\n")
    result = CliRunner().invoke(app, [f"{base_url}/paid", *files])
    assert result.exit_code == 2
    assert "policy_max_per_payment" in result.stderr
    assert stub.payment_headers_seen == 0


def test_pay_with_a_broken_policy_exits_2(base_url: str, files: list[str], tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text("max_per_paymnet: 1\n")
    result = CliRunner().invoke(app, [f"{base_url}/paid", *files])
    assert result.exit_code == 2 and "policy_invalid" in result.stderr


def test_pay_without_a_key_exits_3(base_url: str, files: list[str], tmp_path: Path) -> None:
    files[1] = str(tmp_path / "missing.key")
    assert CliRunner().invoke(app, [f"{base_url}/paid", *files]).exit_code == 3
