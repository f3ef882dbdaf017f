"""Every example in ``docs/protocol.md`` decodes and verifies with the code (issue #14, item 5)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from x402.schemas import PaymentRequired, SettleResponse

from aep2.agentkey import SignedAgentMandate, agent_to_wire, decode_any
from aep2.evidence import parse_evidence, verify_offline
from aep2.mandate import decode, to_wire
from aep2.payee.challenge import offered_mandate, payload_from, requirements
from aep2.protocol.call_ref import a2a_ref, canonical_url, http_ref, mcp_ref, ref_of
from aep2.protocol.receipt import verify_receipt
from tests import payee_support as s

DOC = Path(__file__).parents[1] / "docs" / "protocol.md"
BLOCK = re.compile(r"<!-- example: ([\w-]+) -->\n```\w*\n(.*?)\n```", re.S)
TABLE = re.compile(r"<!-- example: canonical-urls -->\n((?:\|.*\n)+)")


def examples() -> dict[str, str]:
    return dict(BLOCK.findall(DOC.read_text()))


def example(name: str) -> Any:
    text = examples()[name]
    return json.loads(text) if text.lstrip().startswith(("{", "[")) else text.strip()


def test_every_example_is_checked() -> None:
    assert set(examples()) == {
        "mandate-json", "mandate-header", "digest", "payment-required", "payment-payload",
        "settle-response", "ref-http", "ref-mcp", "ref-a2a",
        "agent-mandate-json", "agent-mandate-header", "agent-digest", "evidence-unsettled",
    }  # fmt: skip


def test_the_mandate_json_is_the_header_and_verifies() -> None:
    header = example("mandate-header")
    signed = decode(header)
    signed.verify()
    assert to_wire(signed) == example("mandate-json")
    assert json.loads(base64.b64decode(header)) == example("mandate-json")
    assert "0x" + signed.digest.hex() == example("digest")


AGENT_KEY = bytes.fromhex("f1bf30854ed1a51ab7c86eb4100b8c22b5dddf2ccb93e6aea8259e511ed81c0a")


def test_the_agent_mandate_json_is_the_header_and_verifies() -> None:
    header = example("agent-mandate-header")
    signed = decode_any(header)
    assert isinstance(signed, SignedAgentMandate)
    signed.verify(AGENT_KEY)
    assert agent_to_wire(signed) == example("agent-mandate-json")
    assert json.loads(base64.b64decode(header)) == example("agent-mandate-json")
    assert "0x" + signed.digest.hex() == example("agent-digest")
    # the same call as the EIP-712 example: same domain, payee, token, amount, nonce, ref
    eip712 = decode(example("mandate-header"))
    assert signed.domain == eip712.domain and signed.mandate.ref == eip712.mandate.ref


def test_the_offer_is_what_the_payee_sends() -> None:
    required = PaymentRequired.model_validate(example("payment-required"))
    url = required.resource.url if required.resource else ""
    ours = requirements(s.settings(), price=s.PRICE, ref=http_ref("GET", url))
    assert required.accepts[0].model_dump(by_alias=True, exclude_none=True) == ours.model_dump(
        by_alias=True, exclude_none=True
    )


def test_the_payload_is_accepted_for_that_offer() -> None:
    payload = payload_from(example("payment-payload"))
    assert offered_mandate(payload, s.settings(), price=s.PRICE) == example("mandate-header")


def test_the_receipt_verifies_and_names_the_mandate() -> None:
    response = SettleResponse.model_validate(example("settle-response"))
    receipt = verify_receipt(dict(response.extra or {}))
    signed = decode(example("mandate-header"))
    assert receipt.digest == example("digest") and response.transaction == "aep2:" + receipt.digest
    assert (receipt.payer, receipt.payee, receipt.nonce) == (
        signed.mandate.payer,
        signed.mandate.payee,
        str(signed.mandate.nonce),
    )


def test_the_refs_are_the_descriptors_hashes() -> None:
    http, mcp, a2a = example("ref-http"), example("ref-mcp"), example("ref-a2a")
    for case in (http, mcp, a2a):
        assert "0x" + ref_of(case["descriptor"]).hex() == case["ref"]
    assert "0x" + http_ref("GET", http["descriptor"]["url"]).hex() == http["ref"]
    assert "0x" + mcp_ref(mcp["descriptor"]["tool"], mcp["arguments"]).hex() == mcp["ref"]
    skill, task = a2a["descriptor"]["skill"], a2a["descriptor"]["task"]
    assert "0x" + a2a_ref(a2a["text"], skill=skill, task=task).hex() == a2a["ref"]
    assert decode(example("mandate-header")).mandate.ref.hex() == http["ref"][2:]


def test_the_evidence_example_is_the_examples_above_and_verifies() -> None:
    doc = example("evidence-unsettled")
    evidence = parse_evidence(doc)
    assert doc["mandate"] == example("mandate-json") and doc["receipt"] == example("settle-response")["extra"]
    assert doc["call"]["descriptor"] == example("ref-http")["descriptor"]
    report = verify_offline(evidence)
    assert [c.name for c in report.checks] == ["mandate", "signature", "call", "receipt", "receipt terms"]
    assert report.absent == ("settlement",)


def url_rows() -> list[tuple[str, str]]:
    match = TABLE.search(DOC.read_text())
    assert match is not None
    rows = [line.split("|")[1:3] for line in match.group(1).splitlines()[2:]]
    return [(a.strip().strip("`"), b.strip().strip("`")) for a, b in rows]


@pytest.mark.parametrize(("spelled", "canonical"), url_rows())
def test_the_canonical_url_table(spelled: str, canonical: str) -> None:
    assert canonical_url(spelled) == canonical
