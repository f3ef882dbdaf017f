"""Typed results of the escrow's transactions, parsed from its events: settlements of both families
and the agent-key registry's changes."""

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
    # agent pairs only, checked in this order after the sender
    UNKNOWN_AGENT_KEY = 4
    AGENT_KEY_WRONG_TOKEN = 5
    AGENT_KEY_NOT_YET_VALID = 6
    AGENT_KEY_EXPIRED = 7
    AGENT_KEY_REVOKED = 8  # the revocation is in effect: block.timestamp >= revokeAt
    PAYEE_OUT_OF_SCOPE = 9
    AGENT_KEY_CAP_EXCEEDED = 10  # spent + total above the cap in effect


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
class AgentSettledPair:
    """An ``AgentPairSettled``: ``total`` moved from the key's payer to ``payee``."""

    key_id: int
    payer: str
    payee: str
    from_nonce: int
    to_nonce: int
    total: int


@dataclass(frozen=True)
class AgentSkippedPair:
    key_id: int
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
    agent_settled: tuple[AgentSettledPair, ...] = ()
    agent_skipped: tuple[AgentSkippedPair, ...] = ()


@dataclass(frozen=True)
class AuthorizedAgentKey:
    """An ``AgentKeyAuthorized``: the grant ``grant_digest`` registered ``key`` as ``key_id``."""

    key_id: int
    payer: str
    payee: str
    key: bytes
    token: str
    cap: int
    valid_after: int
    valid_until: int
    grant_digest: bytes


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


def _agent_settled_pair(args: dict[str, Any]) -> AgentSettledPair:
    return AgentSettledPair(
        key_id=args["keyId"],
        payer=to_checksum_address(args["payer"]),
        payee=to_checksum_address(args["payee"]),
        from_nonce=args["fromNonce"],
        to_nonce=args["toNonce"],
        total=args["total"],
    )


def agent_pair_settlements(
    contract: Contract, key_id: int, payee: str, *, from_block: int = 0
) -> list[AgentSettledPair]:
    """Every ``AgentPairSettled`` of (agent key, payee) since ``from_block``, in chain order: one
    ``eth_getLogs`` on the indexed key id and payee, as :func:`pair_settlements` does for EIP-712 pairs."""
    topics = [
        "0x" + _topic(contract, "AgentPairSettled").hex(),
        "0x" + key_id.to_bytes(32, "big").hex(),
        None,
        "0x" + bytes.fromhex(to_checksum_address(payee)[2:]).rjust(32, b"\0").hex(),
    ]
    logs = contract.w3.eth.get_logs(
        {"address": contract.address, "fromBlock": from_block, "toBlock": "latest", "topics": topics}
    )
    event = contract.events["AgentPairSettled"]()
    return [_agent_settled_pair(event.process_log(log)["args"]) for log in logs]


def parse_agent_key_authorized(contract: Contract, receipt: TxReceipt) -> tuple[AuthorizedAgentKey, ...]:
    """The ``AgentKeyAuthorized`` events of ``receipt`` (one per ``authorizeAgentKey``)."""
    return tuple(
        AuthorizedAgentKey(
            key_id=a["keyId"],
            payer=to_checksum_address(a["payer"]),
            payee=to_checksum_address(a["payee"]),
            key=bytes(a["key"]),
            token=to_checksum_address(a["token"]),
            cap=a["cap"],
            valid_after=a["validAfter"],
            valid_until=a["validUntil"],
            grant_digest=bytes(a["grantDigest"]),
        )
        for a in _decoded(contract, receipt, "AgentKeyAuthorized")
    )


def parse_effective_at(contract: Contract, receipt: TxReceipt, event: str) -> int:
    """When the ``AgentKeyRevoked`` or ``AgentKeyCapLowered`` of ``receipt`` takes effect."""
    (args,) = _decoded(contract, receipt, event)
    return int(args["effectiveAt"])


def parse_settlement(contract: Contract, receipt: TxReceipt) -> SettlementResult:
    """The ``SettlementProcessed``, ``PairSettled``, ``PairSkipped``, ``AgentPairSettled`` and
    ``AgentPairSkipped`` events of ``receipt``."""
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
    agent_skipped = tuple(
        AgentSkippedPair(
            key_id=a["keyId"],
            payee=to_checksum_address(a["payee"]),
            from_nonce=a["fromNonce"],
            reason=SkipReason(a["reason"]),
        )
        for a in _decoded(contract, receipt, "AgentPairSkipped")
    )
    return SettlementResult(
        tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
        block_number=receipt["blockNumber"],
        gas_used=receipt["gasUsed"],
        processed=processed,
        settled=settled,
        skipped=skipped,
        agent_settled=tuple(_agent_settled_pair(a) for a in _decoded(contract, receipt, "AgentPairSettled")),
        agent_skipped=agent_skipped,
    )
