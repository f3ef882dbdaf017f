"""aep2's EIP-712 digest equals eth_account's and the Solidity library's, on a real anvil."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from web3 import Web3

from aep2.chain import deploy, load_artifact
from aep2.mandate import Domain, Mandate
from tests.mandate_strategies import mandates


def eth_account_digest(mandate: Mandate, domain: Domain) -> bytes:
    message = encode_typed_data(full_message=mandate.typed_data(domain))
    return keccak(b"\x19" + message.version + message.header + message.body)


def as_tuple(m: Mandate) -> tuple[Any, ...]:
    return (m.payer, m.payee, m.token, m.amount, m.nonce, m.deadline, m.ref)


@pytest.fixture(scope="module")
def digester(w3: Web3, deployer_key: bytes) -> Any:
    return deploy(w3, load_artifact("MandateDigester"), private_key=deployer_key)


@pytest.fixture(scope="module")
def domain(w3: Web3, digester: Any) -> Domain:
    return Domain(chain_id=w3.eth.chain_id, escrow=digester.address)


def test_domain_separator_matches_the_contract(digester: Any, domain: Domain) -> None:
    assert digester.functions.domainSeparator().call() == domain.separator


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mandate=mandates)
def test_digest_matches_eth_account_and_the_contract(mandate: Mandate, digester: Any, domain: Domain) -> None:
    ours = mandate.digest(domain)
    assert ours == eth_account_digest(mandate, domain)
    assert ours == digester.functions.digest(as_tuple(mandate)).call()


def test_contract_recovers_the_python_signer(digester: Any, domain: Domain, deployer_key: bytes) -> None:
    from eth_account import Account

    payer = Account.from_key(deployer_key).address
    mandate = Mandate(payer=payer, payee=payer, token=payer, amount=5, nonce=9, deadline=10, ref=b"\x01" * 32)
    signed = mandate.sign(domain, deployer_key)
    assert digester.functions.recover(as_tuple(mandate), signed.signature).call() == payer
