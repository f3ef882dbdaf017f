"""The per-call x402 baseline harness: real SDK roles over real HTTP, settling on a real anvil.

A smoke run of :func:`run_baseline` must move tokens and record one ``transferWithAuthorization``
per paid call; the payee it runs must refuse an unpaid call and a payer who cannot pay.
"""

from __future__ import annotations

import base64
import json
from typing import cast

import anyio
import httpx
import pytest
from eth_account import Account
from web3 import Web3
from x402 import x402Client
from x402.http.clients import PaymentError, x402HttpxClient
from x402.mechanisms.evm.exact import register_exact_evm_client
from x402.mechanisms.evm.signers import EthAccountSigner

from aep2.chain import TokenClient, deploy_token
from aep2.chain.token import TRANSFER_WITH_AUTHORIZATION_VRS
from aep2.devnet import Anvil
from benchmarks.x402_baseline import BaselineResult, derived_key, run_baseline
from benchmarks.x402_baseline._serve import ServerProcess

PRICE = 1_000


@pytest.fixture(scope="module")
def token(w3: Web3, deployer_key: bytes) -> str:
    return str(deploy_token(w3, deployer_key).address)


@pytest.fixture(scope="module")
def result(anvil: Anvil, token: str) -> BaselineResult:
    return run_baseline(anvil, token, calls=2, concurrency=2, price=PRICE)


def test_every_paid_call_moves_the_price_on_chain(result: BaselineResult) -> None:
    assert result.paid_calls == 2 * 2 + 2  # sequential, concurrent, warm-up
    assert result.payee_received == PRICE * result.paid_calls
    assert result.payers_paid == PRICE * result.paid_calls


def test_every_payment_is_its_own_transfer_with_authorization(
    result: BaselineResult, w3: Web3, token: str
) -> None:
    assert len(result.payments) == 4
    assert result.transactions_per_payment == 1.0
    selector = Web3.keccak(text=TRANSFER_WITH_AUTHORIZATION_VRS)[:4]
    for payment in result.payments:
        tx = w3.eth.get_transaction(payment.tx_hash)  # type: ignore[arg-type]
        assert tx["to"] == token
        assert bytes(tx["input"])[:4] == selector
        assert 40_000 < payment.gas_used < 150_000
    assert result.gas_per_payment_min > 0


def test_timings_are_recorded(result: BaselineResult) -> None:
    assert result.payee_paid.runs == 2
    assert result.payee_unpaid.runs >= 20
    # a paid call waits for verify and an on-chain settlement; an unpaid one for neither
    assert result.payee_paid.median_ms > result.payee_unpaid.median_ms
    assert result.client_paid.median_ms >= result.payee_paid.median_ms
    assert result.sequential_calls_per_s > 0 and result.concurrent_calls_per_s > 0
    assert "payments" not in result.to_dict()
    assert len(result.to_dict(samples=True)["unpaid_payee_ms"]) == result.payee_unpaid.runs


def test_payee_refuses_unpaid_and_unfunded_calls(anvil: Anvil, w3: Web3, token: str) -> None:
    network = f"eip155:{anvil.chain_id}"
    facilitator = {"rpc_url": anvil.rpc_url, "private_key": anvil.private_keys[-1].hex(), "network": network}
    pay_to = Account.from_key(derived_key("refusal payee")).address
    with ServerProcess("facilitator", facilitator) as facilitator_url:
        payee = {
            "facilitator_url": facilitator_url, "token": token, "pay_to": pay_to,
            "price": PRICE, "network": network,
        }  # fmt: skip
        with ServerProcess("payee", payee) as payee_url:
            unpaid = httpx.get(f"{payee_url}/paid")
            assert unpaid.status_code == 402
            required = json.loads(base64.b64decode(unpaid.headers["payment-required"]))
            [offer] = required["accepts"]
            assert (offer["scheme"], offer["network"], offer["amount"]) == ("exact", network, str(PRICE))
            assert Web3.to_checksum_address(offer["asset"]) == token
            assert offer["extra"]["name"] == "USD Coin" and offer["extra"]["version"] == "2"

            broke = Account.from_key(derived_key("unfunded payer"))
            client = x402Client()
            register_exact_evm_client(client, EthAccountSigner(broke), networks=network)
            client.set_spend_controls({"allowed_assets": [{"network": network, "asset": token}]})

            async def pay() -> httpx.Response:
                async with x402HttpxClient(client, base_url=payee_url) as http:
                    return cast(httpx.Response, await http.get("/paid"))

            try:
                response = anyio.run(pay)
            except PaymentError:
                pytest.fail("the client should have sent its payment and got the payee's refusal")
            assert response.status_code == 402
    assert TokenClient.at(w3, token).balance_of(pay_to) == 0


def test_run_baseline_refuses_an_empty_run(anvil: Anvil, token: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        run_baseline(anvil, token, calls=0)
