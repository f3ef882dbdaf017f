"""Custom-error reverts decoded by the contract's ABI, so a failed call says which error and why.

The escrow's agent-key errors also get a sentence each (:data:`EXPLAINED`): a payer registering a
grant or revoking a key sees what is wrong with it, not only an error's name and raw arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_abi.abi import decode
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError

from aep2.chain.transactions import TransactionFailed


def _canonical_type(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


def decode_custom_error(abi: list[dict[str, Any]], data: bytes) -> tuple[str, tuple[Any, ...]] | None:
    """``(name, args)`` of the ABI error whose selector starts ``data``, or None if none matches."""
    for entry in abi:
        if entry.get("type") != "error":
            continue
        types = [_canonical_type(p) for p in entry["inputs"]]
        signature = f"{entry['name']}({','.join(types)})"
        if keccak(signature.encode())[:4] == data[:4]:
            args = decode(types, data[4:])
            pairs = zip(types, args, strict=True)
            return entry["name"], tuple(to_checksum_address(a) if t == "address" else a for t, a in pairs)
    return None


_FAMILIES = ("batch (EIP-712)", "agent")


def _family(value: Any) -> str:
    return _FAMILIES[value] if isinstance(value, int) and 0 <= value < len(_FAMILIES) else str(value)


EXPLAINED: dict[str, Callable[..., str]] = {
    "AgentKeyGrantUsed": lambda digest, key_id: (
        f"this grant ({digest}) is already registered as agent key {key_id}"
    ),
    "InvalidAgentKeySignature": lambda payer, digest: (
        f"the grant's signature is not {payer}'s over {digest}: neither its low-s ECDSA signature nor one "
        "its EIP-1271 wallet accepts (wrong signer, chain, escrow, or a changed field?)"
    ),
    "InvalidAgentKey": lambda key: (
        f"{key} is no acceptable agent key: its Y is not below r, or it is a point of small order"
    ),
    "AgentKeyCapZero": lambda: "a grant's cap must be above zero",
    "AgentKeyTokenZero": lambda: "a grant must name a token",
    "AgentKeyValidityInverted": lambda after, until: (
        f"the grant's validUntil {until} is before its validAfter {after}"
    ),
    "AgentKeyGrantExpired": lambda until, now: f"the grant expired at {until} (chain time {now})",
    "UnknownAgentKey": lambda key_id: f"no agent key has id {key_id}",
    "NotAgentKeyPayer": lambda key_id, payer, sender: (
        f"agent key {key_id} is {payer}'s; {sender} may not revoke it or lower its cap"
    ),
    "AgentKeyAlreadyRevoked": lambda key_id, at: (
        f"agent key {key_id} is already revoked, in effect from {at}"
    ),
    "AgentKeyCapNotLowered": lambda key_id, cap, new: (
        f"agent key {key_id}'s cap is {cap}; {new} does not lower it (raising a cap takes a new grant)"
    ),
    "VerifierFamilyMismatch": lambda verifier_id, expected, actual: (
        f"verifier {verifier_id} proves {_family(actual)} settlements, not {_family(expected)} ones"
    ),
    "RevokeDelayOutOfBounds": lambda delay, low, high: (
        f"revokeDelay {delay} is outside [{low}, {high}] seconds"
    ),
}


def describe_revert(name: str, args: tuple[Any, ...]) -> str:
    """``name(args)`` with bytes as 0x-hex, followed by the error's sentence if it has one."""
    shown = tuple("0x" + a.hex() if isinstance(a, bytes) else a for a in args)
    explain = EXPLAINED.get(name)
    rendered = f"{name}({', '.join(str(a) for a in shown)})"
    return f"{rendered}: {explain(*shown)}" if explain is not None else rendered


def _revert_data(exc: Exception) -> bytes:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    return b""


def simulate(call: ContractFunction, sender: str, abi: list[dict[str, Any]]) -> Any:
    """``eth_call`` ``call`` from ``sender``; a revert raises :class:`TransactionFailed` naming the error."""
    try:
        return call.call({"from": sender})
    except (ContractCustomError, ContractLogicError) as exc:
        data = _revert_data(exc)
        decoded = decode_custom_error(abi, data)
        if decoded is None:
            raise TransactionFailed(f"{call.fn_name} reverted: {exc}", function=call.fn_name) from None
        name, args = decoded
        raise TransactionFailed(
            f"{call.fn_name} reverted with {describe_revert(name, args)}",
            function=call.fn_name,
            error=name,
            args=args,
        ) from None
