"""The prover client: request building, the serve process's supervision, the py_ecc verifier."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_abi.packed import encode_packed
from eth_account import Account
from eth_hash.auto import keccak
from py_ecc import optimized_bn128 as bn

from aep2.devnet import repo_root
from aep2.mandate import Domain, Mandate, SignedMandate, checksum
from aep2.prover import (
    AGENT_CIRCUIT_VERSION,
    CIRCUIT_VERSION,
    Proof,
    ProverProcess,
    ProverRejected,
    ProverTimeout,
    build_request,
    circuit_id,
    default_binary,
    verifier_contract,
    verify_proof,
)

KEYS = [bytes([k]) * 32 for k in (0x11, 0x22)]
PAYERS = [Account.from_key(k).address for k in KEYS]
PAYEE = checksum("0x" + "cd" * 20)
TOKEN = checksum("0x" + "ef" * 20)
DOMAIN = Domain(chain_id=31337, escrow=checksum("0x" + "ab" * 20))
PIPELINE = Path(__file__).parent / "vectors" / "groth16_pipeline.json"


def signed(payer: int, nonce: int, amount: int = 1_000, deadline: int = 2_000_000_000) -> SignedMandate:
    m = Mandate(
        payer=PAYERS[payer], payee=PAYEE, token=TOKEN, amount=amount, nonce=nonce,
        deadline=deadline, ref=bytes([nonce]) * 32,
    )  # fmt: skip
    return m.sign(DOMAIN, KEYS[payer])


def test_build_request_groups_by_pair_and_orders_by_nonce() -> None:
    batch = [signed(1, 9, 5), signed(0, 4, 1), signed(1, 3, 7, deadline=1_900_000_000), signed(0, 2, 2)]
    req = build_request(batch, verifier_id=7, from_nonces={(PAYERS[1], PAYEE): 2})
    assert [p.payer for p in req.pairs] == [PAYERS[1], PAYERS[0]]
    assert [(p.from_nonce, p.to_nonce, p.total) for p in req.pairs] == [(2, 9, 12), (0, 4, 3)]
    body = req.to_json()
    assert [(m["pairIndex"], m["nonce"]) for m in body["mandates"]] == [
        (0, "3"),
        (0, "9"),
        (1, "2"),
        (1, "4"),
    ]
    assert body["settlement"]["notAfter"] == "1900000000"
    assert body["settlement"]["domainSeparator"] == "0x" + DOMAIN.separator.hex()
    assert body["settlement"]["pairs"][0]["publicKey"].startswith("0x04")
    assert req.mandate_count == 4


def test_build_request_rejects_mixed_tokens() -> None:
    other = Mandate(
        payer=PAYERS[0], payee=PAYEE, token=checksum("0x" + "ee" * 20), amount=1, nonce=5,
        deadline=2_000_000_000, ref=bytes(32),
    ).sign(DOMAIN, KEYS[0])  # fmt: skip
    with pytest.raises(ValueError, match="another domain or token"):
        build_request([signed(0, 1), other], verifier_id=1, from_nonces={})


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    return json.loads(PIPELINE.read_text())  # type: ignore[no-any-return]


def _proof(j: dict[str, str]) -> Proof:
    return Proof(proof=j["proof"], public_input=int(j["publicInput"]), circuit_id=j["circuitId"])


def test_py_ecc_accepts_a_gnark_proof(pipeline: dict[str, Any]) -> None:
    proof = _proof(pipeline["proof"])
    assert verify_proof(pipeline["vk"], proof)
    raw, inputs = proof.calldata()
    assert len(raw) == 384 and inputs == [proof.public_input]


def test_py_ecc_rejects_another_public_input(pipeline: dict[str, Any]) -> None:
    proof = _proof(pipeline["proof"])
    assert not verify_proof(pipeline["vk"], replace(proof, public_input=proof.public_input + 1))


def test_py_ecc_rejects_a_tampered_proof(pipeline: dict[str, Any]) -> None:
    proof = _proof(pipeline["proof"])
    raw = bytearray(proof.proof_bytes)
    y = int.from_bytes(raw[224:256], "big")
    raw[224:256] = (bn.field_modulus - y).to_bytes(32, "big")  # Krs -> -Krs: still a curve point
    assert not verify_proof(pipeline["vk"], replace(proof, proof="0x" + raw.hex()))


def _binary() -> Path:
    try:
        binary = default_binary()
    except Exception as exc:
        pytest.skip(f"aep2-prover not built ({exc}); `make circuits` builds it")
    return binary


def test_serve_errors_are_typed_and_the_process_survives(tmp_path: Path) -> None:
    with ProverProcess(_binary(), home=tmp_path, timeout=60) as prover:
        assert prover.request("ping") == {"status": "ok"}
        with pytest.raises(ProverRejected) as exc:
            prover.request("prove", {"n": 1, "p": 1})
        assert exc.value.code == "bad_request"
        req = build_request([signed(0, 1)], verifier_id=1, from_nonces={})
        with pytest.raises(ProverRejected) as exc:
            prover.prove(req, n=1, p=1)
        assert exc.value.code == "no_keys"
        too_big = build_request([signed(0, 1), signed(0, 2)], verifier_id=1, from_nonces={})
        with pytest.raises(ProverRejected) as exc:
            prover.prove(too_big, n=1, p=1)
        assert exc.value.code == "too_large"
        assert prover.restarts == 0


def test_serve_restarts_after_a_crash_and_a_timeout(tmp_path: Path) -> None:
    with ProverProcess(_binary(), home=tmp_path, timeout=60) as prover:
        assert prover.request("ping") == {"status": "ok"}
        assert prover._proc is not None
        prover._proc.kill()
        prover._proc.wait()
        assert prover.request("ping") == {"status": "ok"}
        assert prover.restarts == 1
        with pytest.raises(ProverTimeout):
            prover.request("info", {"n": 1, "p": 1}, timeout=0.05)  # compiling takes seconds
        assert prover.request("ping") == {"status": "ok"}
        assert prover.restarts == 2


@pytest.mark.slow
def test_real_proof_at_the_smallest_size(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Dev setup from scratch, prove through serve, verify in Go and with py_ecc (~2 CPU-minutes).

    The default suite proves with the keys ``make groth16`` cached; this one also covers the setup.
    """
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("a from-scratch dev setup and proof take ~2 CPU-minutes: run it with `pytest -m slow`")
    binary = _binary()
    home = ["--home", str(tmp_path), "--n", "1", "--p", "1"]
    subprocess.run([str(binary), "setup", "--dev", *home], check=True, capture_output=True)
    vk = json.loads(subprocess.run([str(binary), "export-vk", *home], check=True, capture_output=True).stdout)
    batch = [signed(0, 3, 250)]
    req = build_request(batch, verifier_id=1, from_nonces={(PAYERS[0], PAYEE): 2})
    with ProverProcess(binary, home=tmp_path) as prover:
        proof = prover.prove(req, n=1, p=1)
        assert prover.verify(proof, n=1, p=1)
        assert not prover.verify(replace(proof, public_input=proof.public_input + 1), n=1, p=1)
    assert verify_proof(vk, proof)
    assert not verify_proof(vk, replace(proof, public_input=proof.public_input + 1))


PACKING = Path(__file__).parent / "vectors" / "settlement_packing.json"


@pytest.mark.parametrize("index", range(3))
def test_settlement_packing_matches_the_pinned_layout(index: int) -> None:
    """Python's abi.encodePacked of the settlement equals the Go prover's packing and public input."""
    vector = json.loads(PACKING.read_text())["vectors"][index]
    s = vector["settlement"]
    types = ["bytes32", "uint32", "address", "uint64"]
    values: list[Any] = [
        bytes.fromhex(s["domainSeparator"][2:]),
        int(s["verifierId"]),
        s["token"],
        int(s["notAfter"]),
    ]
    for pair in s["pairs"]:
        types += ["address", "address", "uint64", "uint64", "uint128"]
        values += [
            pair["payer"],
            pair["payee"],
            int(pair["fromNonce"]),
            int(pair["toNonce"]),
            int(pair["total"]),
        ]
    packed = encode_packed(types, values)
    assert "0x" + packed.hex() == vector["packed"]
    assert len(packed) == 64 + 72 * len(s["pairs"])
    assert int.from_bytes(keccak(packed), "big") % bn.curve_order == int(vector["publicInput"])


def test_the_python_circuit_version_is_the_circuits() -> None:
    # Keys are cached per circuit id; a stale CIRCUIT_VERSION would load keys made for another circuit.
    source = (repo_root() / "circuits" / "batch" / "circuit.go").read_text()
    assert f'const Version = "{CIRCUIT_VERSION}"' in source
    assert circuit_id(8, 4) == f"aep2-batch-{CIRCUIT_VERSION}-n8-p4"
    agent = (repo_root() / "circuits" / "agent" / "circuit.go").read_text()
    assert f'const Version = "{AGENT_CIRCUIT_VERSION}"' in agent
    assert circuit_id(512, 8, "agent") == f"aep2-agent-{AGENT_CIRCUIT_VERSION}-n512-p8"
    assert verifier_contract(512, 8, "agent") == "AgentVerifierN512P8"
    assert verifier_contract(1, 1) == "BatchVerifierN1P1"
