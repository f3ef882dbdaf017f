"""Typed results of a settlement transaction, parsed from the escrow's events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from web3.contract import Contract
from web3.types import TxReceipt


class SkipReason(IntEnum):
    """``IEscrow.SkipReason``: why a pair of a valid settlement was not paid."""

    NONCE_MISMATCH = 0
    NONCE_NOT_INCREASING = 1
    INSUFFICIENT_BALANCE = 2
    SUBMITTER_NOT_APPROVED = 3  # the sender is neither the pair's payee nor approved by it


@dataclass(frozen=True)
class SettledPair:
    payer: str
    payee: str
    token: str
    from_nonce: int
    to_nonce: int
    total: int


@dataclass(frozen=True)
class SkippedPair:
    payer: str
    payee: str
    from_nonce: int
    reason: SkipReason


@dataclass(frozen=True)
class ProcessedSettlement:
    """One accepted proof: ``settled + skipped`` is its pair count, ``amount`` what moved."""

    verifier_id: int
    public_input: int
    settled: int
    skipped: int
    amount: int


@dataclass(frozen=True)
class SettlementResult:
    """Everything a settlement transaction did, in log order."""

    tx_hash: str
    block_number: int
    gas_used: int
    processed: tuple[ProcessedSettlement, ...]
    settled: tuple[SettledPair, ...]
    skipped: tuple[SkippedPair, ...]


def _topic(contract: Contract, name: str) -> bytes:
    abi: list[dict[str, Any]] = list(contract.abi)  # type: ignore[arg-type]
    entry = next(e for e in abi if e.get("type") == "event" and e.get("name") == name)
    types = ",".join(i["type"] for i in entry["inputs"])  # the escrow's events have no tuple fields
    return bytes(keccak(f"{name}({types})".encode()))


def _decoded(contract: Contract, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
    topic = _topic(contract, name)
    event = contract.events[name]()
    return [
        event.process_log(log)["args"]
        for log in receipt["logs"]
        if log["address"] == contract.address and log["topics"] and bytes(log["topics"][0]) == topic
    ]


def _settled_pair(args: dict[str, Any]) -> SettledPair:
    return SettledPair(
        payer=to_checksum_address(args["payer"]),
        payee=to_checksum_address(args["payee"]),
        token=to_checksum_address(args["token"]),
        from_nonce=args["fromNonce"],
        to_nonce=args["toNonce"],
        total=args["total"],
    )


def pair_settlements(contract: Contract, payer: str, payee: str, *, from_block: int = 0) -> list[SettledPair]:
    """Every ``PairSettled`` of (payer, payee) since ``from_block``, in chain order.

    The indexed payer and payee topics make this one filtered ``eth_getLogs``; it is how the
    pipeline proves a range was paid when the receipt that paid it is not at hand.
    """
    topics = [
        "0x" + _topic(contract, "PairSettled").hex(),
        "0x" + bytes.fromhex(to_checksum_address(payer)[2:]).rjust(32, b"\0").hex(),
        "0x" + bytes.fromhex(to_checksum_address(payee)[2:]).rjust(32, b"\0").hex(),
    ]
    logs = contract.w3.eth.get_logs(
        {"address": contract.address, "fromBlock": from_block, "toBlock": "latest", "topics": topics}
    )
    event = contract.events["PairSettled"]()
    return [_settled_pair(event.process_log(log)["args"]) for log in logs]


def parse_settlement(contract: Contract, receipt: TxReceipt) -> SettlementResult:
    """The ``SettlementProcessed``, ``PairSettled`` and ``PairSkipped`` events of ``receipt``."""
    settled = tuple(_settled_pair(a) for a in _decoded(contract, receipt, "PairSettled"))
    skipped = tuple(
        SkippedPair(
            payer=to_checksum_address(a["payer"]),
            payee=to_checksum_address(a["payee"]),
            from_nonce=a["fromNonce"],
            reason=SkipReason(a["reason"]),
        )
        for a in _decoded(contract, receipt, "PairSkipped")
    )
    processed = tuple(
        ProcessedSettlement(
            verifier_id=a["verifierId"],
            public_input=a["publicInput"],
            settled=a["settled"],
            skipped=a["skipped"],
            amount=a["amount"],
        )
        for a in _decoded(contract, receipt, "SettlementProcessed")
    )
    return SettlementResult(
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=receipt["blockNumber"],
        gas_used=receipt["gasUsed"],
        processed=processed,
        settled=settled,
        skipped=skipped,
    )
