"""The trusted-setup ceremony end to end, on the ``test`` circuit family (one public input, no
commitment, like the agent family; N multiplications): three participants contribute through
``aep2 ceremony``, the sealed keys in the key cache prove, the verifier exported from the
transcript accepts the proof on anvil, and ``aep2 verifier check`` tells the escrow's ceremony
verifier from a dev-setup one. The same ceremony on the smallest agent circuit (2^19) takes tens
of minutes on two cores (docs/ceremony.md); its tamper cases are the Go tests' (circuits/ceremony).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner
from web3 import Web3
from web3.exceptions import ContractLogicError

from aep2.ceremony import compile_verifier, contribute, read_status, transcript_verifier
from aep2.chain import VerifierSpec, deploy_stack
from aep2.chain.escrow import VerifierFamily
from aep2.chain.transactions import deploy
from aep2.cli import app
from aep2.devnet import Anvil
from aep2.errors import Reason
from aep2.prover import Proof, default_binary

CIRCUIT = "aep2-test-v1-n1-p1"
SIZE = ["--family", "test", "--n", "1", "--p", "1"]
PEOPLE = ("alice", "bob", "carol")
runner = CliRunner()


def prover(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(default_binary()), *args], input=stdin, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def beacon(byte: str, source: str) -> list[str]:
    return ["--beacon", "0x" + byte * 32, "--beacon-source", source]


@dataclass(frozen=True)
class Ceremony:
    dir: Path
    home: Path


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ceremony]:
    """A finished three-party ceremony; its keys sealed into its own key cache (AEP2_HOME)."""
    root = tmp_path_factory.mktemp("ceremony")
    c = Ceremony(root / "transcript", root / "home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AEP2_HOME", str(c.home))
        prover("ceremony", "phase1", "init", "--dir", str(c.dir), "--power", "3")
        # alice types entropy at the prompt; bob is handed alice's file; carol contributes in the directory
        first = runner.invoke(
            app, ["ceremony", "contribute", str(c.dir), "--name", "alice", "--entropy"], input="dice 4 1 6\n"
        )
        assert first.exit_code == 0, first.output
        assert contribute(c.dir / "phase1" / "0001.ph1", name="bob").file == c.dir / "phase1" / "0002.ph1"
        assert contribute(c.dir, name="carol").file == c.dir / "phase1" / "0003.ph1"
        prover("ceremony", "phase1", "seal", "--dir", str(c.dir), *beacon("ab", "test block 100"))
        prover("ceremony", "phase2", "init", "--dir", str(c.dir), *SIZE)
        for name in PEOPLE:
            contribute(c.dir, name=name)
        prover("ceremony", "phase2", "seal", "--dir", str(c.dir), *SIZE, *beacon("cd", "test block 200"))
        yield c


def test_status_names_each_contributor_and_the_hash_they_published(ceremony: Ceremony) -> None:
    status = read_status(ceremony.dir)
    assert status.phase1 is not None and status.phase1.sealed and status.phase1.power == 3
    (phase2,) = status.phase2
    assert phase2.circuit_id == CIRCUIT and phase2.sealed
    for phase in status.phases:
        assert [s.contributor for s in phase.contributions] == list(PEOPLE)
        for prev, state in zip(phase.states, phase.states[1:], strict=False):
            assert state.hash == hashlib.sha256((ceremony.dir / state.file).read_bytes()).hexdigest()
            assert state.follows == prev.hash
        assert phase.problems == ()
    assert status.expected().startswith("every phase is sealed")
    out = runner.invoke(app, ["ceremony", "status", str(ceremony.dir)])
    assert out.exit_code == 0 and status.phase2[0].states[2].hash in out.output and "bob" in out.output


def test_status_says_which_file_comes_next(tmp_path: Path) -> None:
    prover("ceremony", "phase1", "init", "--dir", str(tmp_path), "--power", "2")
    assert "hand phase1/0000.ph1 to the next participant, who returns phase1/0001.ph1" in (
        read_status(tmp_path).expected()
    )
    contribute(tmp_path, name="dave")
    status = read_status(tmp_path)
    assert status.phase1 is not None and status.phase1.next_file == "phase1/0002.ph1"
    (tmp_path / "phase1" / "0001.json").unlink()
    status = read_status(tmp_path)
    assert status.phase1 is not None
    assert status.phase1.problems == (
        "phase1/0001.ph1 has no receipt (0001.json): who made it is not recorded",
    )


def test_a_contribution_never_overwrites_a_state(ceremony: Ceremony) -> None:
    out = runner.invoke(
        app, ["ceremony", "contribute", str(ceremony.dir / "phase1" / "0001.ph1"), "--name", "eve"]
    )
    assert out.exit_code == 2 and "0002.ph1 exists" in out.output


@pytest.mark.parametrize(
    ("flags", "how"),
    [([], "checked by random linear combinations"), (["--recompute"], "recomputed from phase 1")],
)
def test_verify_rechecks_the_transcript_and_the_key_cache(
    ceremony: Ceremony, flags: list[str], how: str
) -> None:
    out = runner.invoke(app, ["ceremony", "verify", str(ceremony.dir), "--home", str(ceremony.home), *flags])
    assert out.exit_code == 0, out.output
    assert "phase 1 (2^3) by alice, bob, carol; sealed with test block 100" in out.output
    assert f"its points at τ {how}" in out.output
    assert f"key cache {ceremony.home}/circuits/{CIRCUIT} holds {CIRCUIT}'s keys" in out.output


def test_verify_names_a_tampered_contribution(ceremony: Ceremony, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ceremony.dir, copy)
    state = copy / "phase2" / CIRCUIT / "0002.ph2"
    raw = bytearray(state.read_bytes())
    raw[-40] ^= 1  # inside the last proof of knowledge: still points, no longer bob's
    state.write_bytes(bytes(raw))
    out = runner.invoke(app, ["ceremony", "verify", str(copy), "--no-key-cache"])
    assert out.exit_code == 1
    assert f"phase 2 contribution 2 (phase2/{CIRCUIT}/0002.ph2, by bob) of {CIRCUIT}" in out.output
    assert "the file changed after the contribution" in out.output


@pytest.fixture(scope="module")
def proof(ceremony: Ceremony) -> Proof:
    """A proof made with the ceremony's keys from the key cache, as any proof is made."""
    home = ["--home", str(ceremony.home), *SIZE]
    d = json.loads(prover("prove", *home, stdin='{"x": "12345"}'))
    assert json.loads(prover("verify", *home, "--proof", "-", stdin=json.dumps(d)))["valid"]
    return Proof(proof=d["proof"], public_input=int(d["publicInput"]), circuit_id=d["circuitId"])


@pytest.fixture(scope="module")
def chain() -> Iterator[tuple[Anvil, Web3]]:
    with Anvil() as node:
        yield node, Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 30}))


def test_the_keys_prove_and_the_exported_verifier_accepts_on_anvil(
    ceremony: Ceremony, proof: Proof, chain: tuple[Anvil, Web3]
) -> None:
    node, w3 = chain
    assert proof.public_input == 12345**2
    artifact = transcript_verifier(ceremony.dir, CIRCUIT).artifact
    verifier = deploy(w3, artifact, private_key=node.private_keys[0])
    data, inputs = proof.calldata()
    verifier.functions.verifyProof(data, inputs).call()  # reverts on an invalid proof
    with pytest.raises(ContractLogicError):
        verifier.functions.verifyProof(data, [inputs[0] + 1]).call()


@pytest.fixture(scope="module")
def escrow(ceremony: Ceremony, chain: tuple[Anvil, Web3], tmp_path_factory: pytest.TempPathFactory) -> str:
    """An escrow with two verifiers for the test circuit: 1 the ceremony's, 2 a dev setup's."""
    node, w3 = chain
    dev_home = tmp_path_factory.mktemp("dev-home")
    prover("setup", "--dev", "--home", str(dev_home), *SIZE)
    dev = compile_verifier(prover("export-solidity", "--home", str(dev_home), *SIZE))
    ours = transcript_verifier(ceremony.dir, CIRCUIT)
    specs = [
        VerifierSpec(vid, 1, 1, v.artifact, family=VerifierFamily.AGENT) for vid, v in ((1, ours), (2, dev))
    ]
    return deploy_stack(w3, node.private_keys[0], verifiers=specs).escrow


def check(chain: tuple[Anvil, Web3], escrow: str, ceremony: Ceremony, vid: int, *extra: str) -> Result:
    node, _ = chain
    args = ["verifier", "check", "--rpc", node.rpc_url, "--escrow", escrow, "--verifier-id", str(vid)]
    return runner.invoke(app, [*args, "--transcript", str(ceremony.dir), *extra])


def test_verifier_check_accepts_the_ceremony_verifier(
    ceremony: Ceremony, chain: tuple[Anvil, Web3], escrow: str
) -> None:
    out = check(chain, escrow, ceremony, 1, "--circuit", CIRCUIT)
    assert out.exit_code == 0, out.output
    assert f"ok: its code is gnark's verifier for the transcript's final key of {CIRCUIT}" in out.output
    # registered for the agent family's N=1 circuit: the command says the escrow would use it so
    assert "WARNING: compared with the transcript's aep2-test-v1-n1-p1" in out.output


def test_verifier_check_refuses_a_dev_setup_verifier(
    ceremony: Ceremony, chain: tuple[Anvil, Web3], escrow: str
) -> None:
    out = check(chain, escrow, ceremony, 2, "--circuit", CIRCUIT)
    assert out.exit_code == 1, out.output
    assert "verifier_not_from_transcript" in out.output
    assert "its code lacks the transcript key's alpha, beta, gamma, delta, K[0], K[1]" in out.output


def test_verifier_check_needs_the_registered_circuit_in_the_transcript(
    ceremony: Ceremony, chain: tuple[Anvil, Web3], escrow: str
) -> None:
    out = check(chain, escrow, ceremony, 1)
    assert out.exit_code == 2
    assert "has no sealed phase 2 for aep2-agent-v4-n1-p1 (sealed: aep2-test-v1-n1-p1)" in out.output
    unknown = check(chain, escrow, ceremony, 9)
    assert unknown.exit_code == 2 and "has no verifier 9" in unknown.output


def test_every_ceremony_code_is_documented() -> None:
    errors = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    codes = [Reason.CEREMONY_REFUSED, Reason.TRANSCRIPT_INVALID, Reason.VERIFIER_NOT_FROM_TRANSCRIPT]
    assert [c.value for c in codes if f"`{c.value}`" not in errors] == []
