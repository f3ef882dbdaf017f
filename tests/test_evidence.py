"""Dispute evidence end to end (issue #16, item 4): real paid calls through the real payee app over
HTTP, one EIP-712 and one agent-key mandate settled in one ``settleMany`` with real Groth16 proofs at
N=1 (both families' exported verifiers on anvil), exported, verified offline and on chain; then each
kind of tampering refused with its code.

The N=1 keys and verifiers come from ``make groth16`` (``tests/groth16_support.py``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from web3 import Web3

from aep2.agentkey import AgentKey, agent_from_wire, agent_to_wire
from aep2.chain import VerifierFamily, VerifierSpec, deploy_stack
from aep2.chain.settlement import Pair, Settlement, settlement_public_input
from aep2.cli import app
from aep2.devnet import Anvil
from aep2.errors import EvidenceError, Reason
from aep2.evidence import (
    Evidence,
    export_evidence,
    parse_evidence,
    read_evidence,
    verify_offline,
    verify_on_chain,
)
from aep2.mandate import from_wire, to_wire
from aep2.payee import Route, Settings, create_app
from aep2.payee.chain_web3 import Web3ChainView
from aep2.payer import AgentCredential, LocalKeySigner, Payer, Policy
from aep2.protocol.receipt import Receipt
from aep2.prover import ProverProcess
from aep2.settlement.pipeline import close_window, prove_chunk, submit_window
from aep2.settlement.planner import CircuitSize
from aep2.settlement.proving import GnarkProver
from aep2.store import MandateRow, create_schema, make_engine
from aep2.transports.httpx_auth import Aep2Auth
from tests.groth16_support import N1P1, agent_verifier_artifact, groth16_verifier_spec
from tests.payee_support import serve
from tests.settlement_support import World

pytestmark = pytest.mark.groth16

AGENT_N1P1 = CircuitSize(2, 1, 1, "agent")
SIZES = (N1P1, AGENT_N1P1)
PRICE = 1_000
STRANGER = bytes.fromhex("44" * 32)
"""A key that has nothing to do with the payment: forged signatures come from it."""


@dataclass(frozen=True)
class Settled:
    """The world after the calls: two settled mandates' evidence and one still accepted."""

    world: World
    database_url: str
    eip712: Evidence
    agent: Evidence
    unsettled: Evidence
    digests: dict[str, str]


@pytest.fixture(scope="module")
def settled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settled]:
    agent = VerifierSpec(AGENT_N1P1.verifier_id, 1, 1, agent_verifier_artifact(), family=VerifierFamily.AGENT)
    tmp = tmp_path_factory.mktemp("evidence")
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))
        stack = deploy_stack(w3, node.private_keys[0], verifiers=[groth16_verifier_spec(), agent])
        import aep2.settlement.models  # noqa: F401

        url = f"sqlite:///{tmp / 'payee.db'}"
        engine = make_engine(url)
        create_schema(engine)
        world = World.on(w3, stack, node.private_keys, engine, SIZES)
        with _payee(world) as payee_url:
            _paid_call(world, payee_url, tmp / "payer.db")
            _agent_paid_call(world, payee_url, tmp / "agent-payer.db")
            _settle(world)
            _paid_call(world, payee_url, tmp / "late-payer.db")
        digests = _digests(world)
        yield Settled(
            world,
            url,
            export_evidence(engine, digests["eip712"], w3=w3),
            export_evidence(engine, digests["agent"], w3=w3),
            export_evidence(engine, digests["unsettled"], w3=w3),
            digests,
        )


@contextmanager
def _payee(world: World) -> Iterator[str]:
    """The real payee app, both mandate kinds accepted, writing ``world``'s store; its URL."""
    key = world.new_payee_key()
    settings = Settings(
        chain_id=world.w3.eth.chain_id,
        escrow=world.escrow.address,
        tokens=[world.token.address],
        payee_key="0x" + key.hex(),
        settlement_horizon_seconds=3600,
        mandate_kinds=["eip712", "agent"],
        routes=[Route(path="/weather", price=PRICE)],
    )
    view = Web3ChainView(world.w3, world.escrow.address)
    with serve(create_app(settings=settings, engine=world.engine, chain=view, agent_keys=view)) as server:
        yield server.url


def _paid_call(world: World, url: str, db: Path) -> None:
    key = world.new_account()
    world.fund(key, 1_000_000)
    payer = Payer(LocalKeySigner(key), Policy(), db=db)
    response = httpx.get(f"{url}/weather?city=Berlin", auth=Aep2Auth(payer), timeout=30)
    assert response.status_code == 200, response.text


def _agent_paid_call(world: World, url: str, db: Path) -> None:
    key = world.new_account()
    world.fund(key, 1_000_000)
    key_id = world.new_agent_key(key)
    credential = AgentCredential(
        world.agent_keys[key_id][0], key_id, world.escrow.domain(), world.grants[key_id]
    )
    payer = Payer(None, Policy(), agent=credential, db=db)
    response = httpx.get(f"{url}/weather?city=Paris", auth=Aep2Auth(payer), timeout=30)
    assert response.status_code == 200, response.text


def _settle(world: World) -> None:
    """One window, one chunk per family, each proved by the real prover, one ``settleMany``."""
    closed = close_window(world.engine, world.chain, SIZES)
    assert closed.window_id is not None and len(closed.chunk_ids) == 2
    with ProverProcess() as process:
        prover = GnarkProver(process)
        for chunk_id in closed.chunk_ids:
            assert prove_chunk(world.engine, chunk_id, prover, world.chain).status == "proved"
    assert submit_window(world.engine, closed.window_id, world.chain).status == "settled"


def _digests(world: World) -> dict[str, str]:
    with Session(world.engine) as s:
        rows = s.execute(select(MandateRow).order_by(MandateRow.id)).scalars().all()
        assert [(r.kind, r.state) for r in rows] == [
            ("eip712", "settled"),
            ("agent", "settled"),
            ("eip712", "accepted"),
        ]
        return {"eip712": rows[0].digest, "agent": rows[1].digest, "unsettled": rows[2].digest}


# --- the honest files ---------------------------------------------------------------------------


def test_a_settled_eip712_mandate_verifies_offline_and_on_chain(settled: Settled) -> None:
    evidence = settled.eip712
    assert evidence.present == ("mandate", "call", "receipt", "settlement") and evidence.absent == ()
    assert evidence.call is not None and evidence.call.descriptor["url"].endswith("/weather?city=Berlin")
    offline = verify_offline(evidence)
    assert [c.name for c in offline.checks] == [
        "mandate", "signature", "call", "receipt", "receipt terms", "pair", "public input", "proof",
    ]  # fmt: skip
    on_chain = verify_on_chain(evidence, settled.world.w3)
    assert [c.name for c in on_chain.checks] == ["chain", "transaction", "settled", "verifier"]
    assert "PairSettled" in on_chain.checks[2].detail


def test_a_settled_agent_mandate_verifies_offline_and_on_chain(settled: Settled) -> None:
    evidence = settled.agent
    assert evidence.absent == () and evidence.agent_key is not None
    assert evidence.settlement is not None and evidence.settlement.family == "agent"
    assert list(evidence.settlement.keys or {}) == [evidence.agent_key.key_id]
    assert [c.name for c in verify_offline(evidence).checks][-3:] == ["pair", "public input", "proof"]
    on_chain = verify_on_chain(evidence, settled.world.w3)
    assert [c.name for c in on_chain.checks] == ["chain", "agent key", "transaction", "settled", "verifier"]
    assert "AgentPairSettled" in on_chain.checks[3].detail


def test_an_unsettled_mandate_exports_what_exists(settled: Settled) -> None:
    evidence = settled.unsettled
    assert evidence.settlement is None and evidence.absent == ("settlement",)
    report = verify_offline(evidence)
    assert [c.name for c in report.checks] == ["mandate", "signature", "call", "receipt", "receipt terms"]
    assert report.lines()[-1] == "absent  settlement"
    assert [c.name for c in verify_on_chain(evidence, settled.world.w3).checks] == ["chain"]


def test_the_file_round_trips(settled: Settled, tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    path.write_text(settled.agent.dumps())
    assert read_evidence(path) == settled.agent


# --- tampering, offline -------------------------------------------------------------------------

Tamper = Callable[[dict[str, Any], Settled], None]


def _changed_amount(doc: dict[str, Any], _: Settled) -> None:
    doc["mandate"]["amount"] = str(int(doc["mandate"]["amount"]) * 10)


def _signed_by_another_key(doc: dict[str, Any], _: Settled) -> None:
    signed = from_wire(doc["mandate"])
    doc["mandate"] = to_wire(signed.mandate.sign(signed.domain, STRANGER))


def _agent_signed_by_another_key(doc: dict[str, Any], _: Settled) -> None:
    signed = agent_from_wire(doc["mandate"])
    forged = AgentKey.generate().sign_mandate(signed.domain, signed.mandate)
    doc["mandate"] = agent_to_wire(forged)


def _descriptor_of_another_call(doc: dict[str, Any], _: Settled) -> None:
    doc["call"]["descriptor"]["url"] = doc["call"]["descriptor"]["url"].replace("Berlin", "Rome")


def _receipt_signed_by_someone_else(doc: dict[str, Any], _: Settled) -> None:
    doc["receipt"] = Receipt(**doc["receipt"]["receipt"]).sign(STRANGER)


def _receipt_for_another_amount(doc: dict[str, Any], _: Settled) -> None:
    doc["receipt"]["receipt"]["amount"] = "1"  # its signature no longer verifies: the signer differs


def _pair_of_another_payer(doc: dict[str, Any], _: Settled) -> None:
    doc["settlement"]["pairs"][0]["payer"] = Account.from_key(STRANGER).address


def _changed_public_input(doc: dict[str, Any], _: Settled) -> None:
    doc["settlement"]["publicInput"] = str(int(doc["settlement"]["publicInput"]) + 1)


def _proof_for_another_public_input(doc: dict[str, Any], _: Settled) -> None:
    """The settlement rewritten consistently (a larger total, its public input recomputed): the
    proof in the file is for the original public input, not for this one."""
    part = doc["settlement"]
    part["pairs"][0]["total"] = str(int(part["pairs"][0]["total"]) + 1)
    pairs = tuple(
        Pair(p["payer"], p["payee"], int(p["fromNonce"]), int(p["toNonce"]), int(p["total"]))
        for p in part["pairs"]
    )
    settlement = Settlement(int(part["verifierId"]), part["token"], int(part["notAfter"]), pairs)
    separator = from_wire(doc["mandate"]).domain.separator
    part["publicInput"] = str(settlement_public_input(separator, settlement))


def _another_settlements_proof(doc: dict[str, Any], settled: Settled) -> None:
    assert settled.agent.settlement is not None
    doc["settlement"]["proof"] = settled.agent.settlement.proof


def _verifying_key_of_another_circuit(doc: dict[str, Any], settled: Settled) -> None:
    assert settled.agent.settlement is not None
    doc["settlement"]["verifyingKey"] = settled.agent.settlement.verifying_key


def _agent_settlement_packs_another_key(doc: dict[str, Any], _: Settled) -> None:
    keys = doc["settlement"]["keys"]
    keys[next(iter(keys))] = "0x" + AgentKey.generate().public_key.hex()


def _unsupported_version(doc: dict[str, Any], _: Settled) -> None:
    doc["version"] = "2"


def _unknown_field(doc: dict[str, Any], _: Settled) -> None:
    doc["settlement"]["gasUsed"] = "1"


EIP712_TAMPERING: dict[str, tuple[Tamper, Reason]] = {
    "a changed amount": (_changed_amount, Reason.EVIDENCE_SIGNATURE_INVALID),
    "a signature from another key": (_signed_by_another_key, Reason.EVIDENCE_SIGNATURE_INVALID),
    "a descriptor that does not hash to ref": (_descriptor_of_another_call, Reason.EVIDENCE_REF_MISMATCH),
    "a receipt signed by someone else": (_receipt_signed_by_someone_else, Reason.EVIDENCE_RECEIPT_INVALID),
    "a receipt for another amount": (_receipt_for_another_amount, Reason.EVIDENCE_RECEIPT_INVALID),
    "a settlement without the pair": (_pair_of_another_payer, Reason.EVIDENCE_PAIR_MISSING),
    "a changed public input": (_changed_public_input, Reason.EVIDENCE_PUBLIC_INPUT_MISMATCH),
    "a proof for another public input": (_proof_for_another_public_input, Reason.EVIDENCE_PROOF_INVALID),
    "another settlement's proof": (_another_settlements_proof, Reason.EVIDENCE_PROOF_INVALID),
    "another circuit's verifying key": (
        _verifying_key_of_another_circuit,
        Reason.EVIDENCE_VERIFYING_KEY_MISMATCH,
    ),
    "an unsupported version": (_unsupported_version, Reason.EVIDENCE_UNSUPPORTED_VERSION),
    "an unknown field": (_unknown_field, Reason.EVIDENCE_MALFORMED),
}
AGENT_TAMPERING: dict[str, tuple[Tamper, Reason]] = {
    "a changed amount": (_changed_amount, Reason.EVIDENCE_SIGNATURE_INVALID),
    "a signature from another key": (_agent_signed_by_another_key, Reason.EVIDENCE_SIGNATURE_INVALID),
    "a receipt signed by someone else": (_receipt_signed_by_someone_else, Reason.EVIDENCE_RECEIPT_INVALID),
    "a settlement packing another key": (
        _agent_settlement_packs_another_key,
        Reason.EVIDENCE_AGENT_KEY_MISMATCH,
    ),
    "a changed public input": (_changed_public_input, Reason.EVIDENCE_PUBLIC_INPUT_MISMATCH),
}


def _refused(evidence: Evidence, tamper: Tamper, settled: Settled) -> Reason:
    doc = copy.deepcopy(evidence.to_json())
    tamper(doc, settled)
    with pytest.raises(EvidenceError) as caught:
        verify_offline(parse_evidence(json.loads(json.dumps(doc))))
    return caught.value.reason


@pytest.mark.parametrize("case", list(EIP712_TAMPERING))
def test_tampered_eip712_evidence_is_refused_with_its_code(settled: Settled, case: str) -> None:
    tamper, code = EIP712_TAMPERING[case]
    assert _refused(settled.eip712, tamper, settled) == code


@pytest.mark.parametrize("case", list(AGENT_TAMPERING))
def test_tampered_agent_evidence_is_refused_with_its_code(settled: Settled, case: str) -> None:
    tamper, code = AGENT_TAMPERING[case]
    assert _refused(settled.agent, tamper, settled) == code


# --- tampering, on chain ------------------------------------------------------------------------


def _with_transaction(evidence: Evidence, tx_hash: str, block: int) -> Evidence:
    doc = evidence.to_json()
    doc["settlement"]["transaction"] = {"hash": tx_hash, "blockNumber": str(block)}
    return parse_evidence(doc)


def test_a_transaction_that_did_not_settle_the_pair_is_refused(settled: Settled) -> None:
    world = settled.world
    key = world.new_account()
    world.token.mint(world.address(key), 5, key)
    world.token.approve(world.escrow.address, 5, key)
    other = world.escrow.deposit(world.token.address, 5, key)  # a real escrow transaction, no settlement
    evidence = _with_transaction(
        settled.eip712, "0x" + bytes(other["transactionHash"]).hex(), other["blockNumber"]
    )
    verify_offline(evidence)  # the file alone cannot tell
    with pytest.raises(EvidenceError) as caught:
        verify_on_chain(evidence, world.w3)
    assert caught.value.reason == Reason.EVIDENCE_TX_MISMATCH
    assert "processed no proof" in caught.value.message


def test_another_transactions_hash_or_block_is_refused(settled: Settled) -> None:
    assert settled.eip712.settlement is not None
    tx = settled.eip712.settlement.transaction
    moved = _with_transaction(settled.eip712, tx.hash, int(tx.block_number) + 1)
    with pytest.raises(EvidenceError) as caught:
        verify_on_chain(moved, settled.world.w3)
    assert caught.value.reason == Reason.EVIDENCE_TX_MISMATCH
    unknown = _with_transaction(settled.eip712, "0x" + "ab" * 32, int(tx.block_number))
    with pytest.raises(EvidenceError) as caught:
        verify_on_chain(unknown, settled.world.w3)
    assert caught.value.reason == Reason.EVIDENCE_TX_NOT_FOUND


def test_an_agent_key_the_escrow_does_not_record_is_refused(settled: Settled) -> None:
    doc = settled.agent.to_json()
    doc["agentKey"]["payer"] = Account.from_key(STRANGER).address  # and the receipt no longer matches
    doc["receipt"] = None
    with pytest.raises(EvidenceError) as caught:
        verify_on_chain(parse_evidence(doc), settled.world.w3)
    assert caught.value.reason == Reason.EVIDENCE_AGENT_KEY_MISMATCH


# --- the command --------------------------------------------------------------------------------


def test_the_cli_exports_and_verifies_with_exit_codes(settled: Settled, tmp_path: Path) -> None:
    rpc = str(settled.world.w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    out = tmp_path / "evidence.json"
    runner = CliRunner()
    exported = runner.invoke(
        app,
        ["evidence", "export", settled.digests["eip712"], "--database-url", settled.database_url,
         "--rpc-url", rpc, "--out", str(out)],
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert read_evidence(out) == settled.eip712

    verified = runner.invoke(app, ["evidence", "verify", str(out), "--rpc-url", rpc])
    assert verified.exit_code == 0, verified.output
    assert "ok      proof" in verified.stdout and "ok      settled" in verified.stdout
    assert "verified offline and on chain" in verified.stdout

    doc = json.loads(out.read_text())
    doc["call"]["descriptor"]["method"] = "POST"
    out.write_text(json.dumps(doc))
    refused = runner.invoke(app, ["evidence", "verify", str(out)])
    assert refused.exit_code == 1
    assert "FAILED  evidence_ref_mismatch" in refused.stderr
    assert "ok      signature" in refused.stdout

    missing = runner.invoke(app, ["evidence", "verify", str(tmp_path / "nothing.json")])
    assert missing.exit_code == 2 and "could not check" in missing.stderr
    unknown = runner.invoke(
        app, ["evidence", "export", "0x" + "00" * 32, "--database-url", settled.database_url]
    )
    assert unknown.exit_code == 2 and "evidence_not_found" in unknown.stderr


def test_every_evidence_code_is_documented() -> None:
    errors = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    codes = [r for r in Reason if r.value.startswith("evidence_")]
    assert codes and [c.value for c in codes if f"`{c.value}`" not in errors] == []
