"""``aep2 mandate digest|sign|verify`` as a user runs them: the real entry point in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

AEP2 = [sys.executable, "-m", "aep2"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AEP2, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def valid(vectors: dict[str, Any]) -> dict[str, Any]:
    return vectors["valid"][1]  # type: ignore[no-any-return]


@pytest.fixture
def unsigned_file(tmp_path: Path, vectors: dict[str, Any], valid: dict[str, Any]) -> Path:
    domain = vectors["domain"]
    wire = valid["mandate"] | {
        "version": "1",
        "chainId": domain["chainId"],
        "escrow": domain["verifyingContract"],
    }
    path = tmp_path / "mandate.json"
    path.write_text(json.dumps(wire))
    return path


@pytest.fixture
def key_file(tmp_path: Path, valid: dict[str, Any]) -> Path:
    path = tmp_path / "payer.key"
    path.write_text(valid["privateKey"] + "\n")
    return path


def test_digest_prints_the_vector_digest(unsigned_file: Path, valid: dict[str, Any]) -> None:
    result = run("mandate", "digest", str(unsigned_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == valid["digest"]


def test_sign_then_verify(unsigned_file: Path, key_file: Path, tmp_path: Path, valid: dict[str, Any]) -> None:
    signed = run("mandate", "sign", "--key-file", str(key_file), str(unsigned_file))
    assert signed.returncode == 0, signed.stderr
    assert json.loads(signed.stdout)["signature"] == valid["signature"]
    signed_file = tmp_path / "signed.json"
    signed_file.write_text(signed.stdout)
    verified = run("mandate", "verify", str(signed_file))
    assert verified.returncode == 0, verified.stderr
    assert valid["address"] in verified.stdout


def test_verify_accepts_a_header_file(tmp_path: Path, valid: dict[str, Any]) -> None:
    path = tmp_path / "header.txt"
    path.write_text(valid["encoded"])
    assert run("mandate", "verify", str(path)).returncode == 0


@pytest.mark.parametrize(
    "name", ["high-s signature", "signed by someone else", "amount 2^96", "unknown version"]
)
def test_verify_rejects_with_the_reason(tmp_path: Path, vectors: dict[str, Any], name: str) -> None:
    vector = next(v for v in vectors["invalid"] if v["name"] == name)
    path = tmp_path / "bad.txt"
    path.write_text(vector["encoded"])
    result = run("mandate", "verify", str(path))
    assert result.returncode == 1
    assert f"rejected: {vector['reason']}:" in result.stderr


def test_sign_rejects_a_bad_key_file(unsigned_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("0x1234")
    result = run("mandate", "sign", "--key-file", str(bad), str(unsigned_file))
    assert result.returncode == 1
    assert "private key is 32" in result.stderr


def test_digest_rejects_a_non_json_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    path.write_text("{not json")
    result = run("mandate", "digest", str(path))
    assert result.returncode == 1
    assert "mandate_malformed" in result.stderr
