"""The official x402 client with the aep2 scheme registered, against the stub payee: spend controls and
policy (paying the real payee: tests/test_paid_calls_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from x402 import x402Client, x402ClientSync
from x402.http.clients.httpx import PaymentError, x402HttpxClient
from x402.schemas import NoMatchingRequirementsError

from aep2.errors import PolicyViolation
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.transports.x402_client import Aep2ClientScheme, register_aep2_client
from tests.conftest import PAYER_KEY
from tests.test_payer_stub import TOKEN, PayeeStub


def _payer(payer_db: Path, **policy: object) -> Payer:
    return Payer(LocalKeySigner(PAYER_KEY), Policy.model_validate(policy), db=payer_db)


def _get(client: x402Client, url: str) -> httpx.Response:
    async def main() -> httpx.Response:
        async with x402HttpxClient(client) as http:
            return await http.get(url)

    return anyio.run(main)


def test_without_admitted_tokens_x402_spend_controls_refuse(
    base_url: str, stub: PayeeStub, payer_db: Path
) -> None:
    client = register_aep2_client(x402Client(), _payer(payer_db))  # no allowed_tokens in the policy
    with pytest.raises(PaymentError, match="spend_controls"):
        _get(client, f"{base_url}/paid")
    client.set_spend_controls({"allowed_assets": [{"network": "eip155:31337", "asset": TOKEN}]})
    assert _get(client, f"{base_url}/paid").status_code == 200
    assert len(stub.accepted) == 1


def test_the_payer_policy_still_decides(base_url: str, stub: PayeeStub, payer_db: Path) -> None:
    client = register_aep2_client(x402Client(), _payer(payer_db, allowed_tokens=[TOKEN], max_per_payment=1))
    with pytest.raises(PaymentError) as info:
        _get(client, f"{base_url}/paid")
    assert isinstance(info.value.__cause__, PolicyViolation)
    assert stub.payment_headers_seen == 0


def test_sync_client_creates_the_payload(payer_db: Path) -> None:
    from tests.test_payer_stub import PaymentRequired, ResourceInfo

    payer = _payer(payer_db, allowed_tokens=[TOKEN])
    client = register_aep2_client(x402ClientSync(), payer, networks=["eip155:31337"])
    requirement = PayeeStub().requirement(b"\x07" * 32)
    required = PaymentRequired(resource=ResourceInfo(url="http://x/y"), accepts=[requirement])
    payload = client.create_payment_payload(required)
    assert payload.accepted.scheme == "aep2" and set(payload.payload) == {"mandate"}
    assert Aep2ClientScheme(payer).scheme == "aep2"
    other_chain = requirement.model_copy(update={"network": "eip155:1"})
    with pytest.raises(NoMatchingRequirementsError):
        client.create_payment_payload(PaymentRequired(accepts=[other_chain]))
