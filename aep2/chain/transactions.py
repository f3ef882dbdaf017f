"""Signing and sending transactions with an explicit key and gas, waiting for the receipt."""

from __future__ import annotations

from typing import Any, cast

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxParams, TxReceipt

from aep2.chain.artifacts import Artifact
from aep2.errors import Aep2Error, Reason


class TransactionFailed(Aep2Error):
    """A transaction was mined but reverted."""

    default_reason = Reason.CONFIGURATION


def send(w3: Web3, tx: TxParams, private_key: bytes, *, timeout: float = 60.0) -> TxReceipt:
    """Fill nonce/gas/fees, sign with ``private_key``, send, and wait for a successful receipt."""
    sender = Account.from_key(private_key).address
    tx = dict(tx)  # type: ignore[assignment]
    tx.setdefault("from", sender)
    tx.setdefault("nonce", w3.eth.get_transaction_count(sender, "pending"))
    tx.setdefault("chainId", w3.eth.chain_id)
    if "gas" not in tx:
        tx["gas"] = int(w3.eth.estimate_gas(tx) * 1.2) + 10_000
    signed = Account.sign_transaction(tx, private_key)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
    if receipt["status"] != 1:
        raise TransactionFailed(f"transaction {tx_hash.hex()} reverted", tx_hash=tx_hash.hex())
    return receipt


def transact(w3: Web3, call: ContractFunction, private_key: bytes, **overrides: Any) -> TxReceipt:
    """Send a contract call as a transaction from ``private_key``'s account."""
    sender = Account.from_key(private_key).address
    return send(w3, call.build_transaction(cast(TxParams, {"from": sender, **overrides})), private_key)


def deploy(w3: Web3, artifact: Artifact, *args: Any, private_key: bytes) -> Contract:
    """Deploy ``artifact`` with constructor ``args`` and return the bound contract."""
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    sender = Account.from_key(private_key).address
    receipt = send(w3, factory.constructor(*args).build_transaction({"from": sender}), private_key)
    return cast(Contract, w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi))
