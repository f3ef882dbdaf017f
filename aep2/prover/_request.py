"""Build the prove request JSON (circuits/README.md, "Witness request") from signed mandates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aep2.mandate import SignedMandate


@dataclass(frozen=True)
class PairSpec:
    """One (payer, payee) record of the settlement, as the escrow receives it."""

    payer: str
    payee: str
    from_nonce: int
    to_nonce: int
    total: int


@dataclass(frozen=True)
class ProveRequest:
    """A settlement and its mandates; ``pairs`` is in settlement order."""

    domain_separator: bytes
    verifier_id: int
    token: str
    not_after: int
    pairs: tuple[PairSpec, ...]
    mandate_count: int
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.payload


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _ref_hex(ref: Any) -> str:
    return _hex(ref) if isinstance(ref, bytes) else str(ref).lower()


def build_request(
    mandates: Sequence[SignedMandate],
    *,
    verifier_id: int,
    from_nonces: Mapping[tuple[str, str], int],
    not_after: int | None = None,
) -> ProveRequest:
    """Group ``mandates`` by (payer, payee) in order of first appearance, order each pair by nonce.

    ``from_nonces`` maps (payer, payee) to the on-chain high-water mark (0 when absent);
    ``not_after`` defaults to the smallest deadline. All mandates must share one domain and token.
    """
    if not mandates:
        raise ValueError("a settlement needs at least one mandate")
    first = mandates[0]
    token, domain = first.mandate.token, first.domain
    groups: dict[tuple[str, str], list[SignedMandate]] = {}
    for sm in mandates:
        if sm.domain != domain or sm.mandate.token != token:
            raise ValueError(f"mandate nonce {sm.mandate.nonce} has another domain or token than the batch")
        groups.setdefault((sm.mandate.payer, sm.mandate.payee), []).append(sm)
    limit = min(sm.mandate.deadline for sm in mandates) if not_after is None else not_after
    pairs: list[PairSpec] = []
    pair_json: list[dict[str, str]] = []
    mandate_json: list[dict[str, Any]] = []
    for index, ((payer, payee), group) in enumerate(groups.items()):
        group.sort(key=lambda sm: sm.mandate.nonce)
        spec = PairSpec(
            payer=payer,
            payee=payee,
            from_nonce=from_nonces.get((payer, payee), 0),
            to_nonce=group[-1].mandate.nonce,
            total=sum(sm.mandate.amount for sm in group),
        )
        pairs.append(spec)
        pair_json.append(pair_entry(spec, _hex(group[0].public_key())))
        mandate_json.extend(_mandate_entry(index, sm) for sm in group)
    payload = request_payload(domain.separator, verifier_id, token, limit, pair_json, mandate_json)
    return ProveRequest(domain.separator, verifier_id, token, limit, tuple(pairs), len(mandates), payload)


# The JSON of circuits/README.md "Witness request", shared with the settlement pipeline's
# builder (aep2.settlement.proving.witness_request), which starts from stored rows instead.


def request_payload(
    domain_separator: bytes,
    verifier_id: int,
    token: str,
    not_after: int,
    pairs: list[dict[str, str]],
    mandates: list[dict[str, Any]],
) -> dict[str, Any]:
    """The whole prove request: the settlement header, its pairs in order, the mandates by pair."""
    return {
        "settlement": {
            "domainSeparator": _hex(domain_separator),
            "verifierId": str(verifier_id),
            "token": token,
            "notAfter": str(not_after),
            "pairs": pairs,
        },
        "mandates": mandates,
    }


def pair_entry(spec: PairSpec, public_key: str) -> dict[str, str]:
    """One pair record; ``public_key`` is the payer's uncompressed key as 0x-hex (X ‖ Y)."""
    return {
        "payer": spec.payer,
        "payee": spec.payee,
        "fromNonce": str(spec.from_nonce),
        "toNonce": str(spec.to_nonce),
        "total": str(spec.total),
        "publicKey": public_key,
    }


def mandate_entry(
    pair_index: int,
    *,
    payer: str,
    payee: str,
    token: str,
    amount: int,
    nonce: int,
    deadline: int,
    ref: str,
    signature: str,
) -> dict[str, Any]:
    """One mandate of pair ``pair_index``; ``ref`` and ``signature`` as 0x-hex."""
    return {
        "pairIndex": pair_index,
        "payer": payer,
        "payee": payee,
        "token": token,
        "amount": str(amount),
        "nonce": str(nonce),
        "deadline": str(deadline),
        "ref": ref,
        "signature": signature,
    }


def _mandate_entry(pair_index: int, sm: SignedMandate) -> dict[str, Any]:
    m = sm.mandate
    return mandate_entry(
        pair_index, payer=m.payer, payee=m.payee, token=m.token, amount=m.amount, nonce=m.nonce,
        deadline=m.deadline, ref=_ref_hex(m.ref), signature=_hex(sm.signature),
    )  # fmt: skip
