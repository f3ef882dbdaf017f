"""Custom-error reverts decoded by the contract's ABI, so a failed call says which error and why."""

from __future__ import annotations

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
            f"{call.fn_name} reverted with {name}{args}", function=call.fn_name, error=name, args=args
        ) from None
