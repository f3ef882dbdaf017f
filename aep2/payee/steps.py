"""The stateless steps of the payee's check (DESIGN "The payee's check", steps 1-5).

Each step raises a :class:`~aep2.errors.MandateError` carrying the step's own
:class:`~aep2.errors.Reason`; none touches the store or the chain, so a
rejection here costs microseconds and leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from aep2.agentkey import AnySigned, decode_any
from aep2.errors import MandateError, Reason
from aep2.mandate import SignedMandate


@dataclass(frozen=True)
class Terms:
    """What this payee accepts, fixed at start-up."""

    chain_id: int
    escrow: str
    payee: str
    tokens: frozenset[str]
    horizon_seconds: int


def decoded(header: str | bytes) -> AnySigned:
    """Step 1: size, base64, canonical JSON, kind, version, field ranges and checksums."""
    return decode_any(header)


def check_domain(signed: AnySigned, terms: Terms) -> None:
    """Step 2: the mandate is for this chain, this escrow, this payee and an accepted token."""
    domain, mandate = signed.domain, signed.mandate
    if domain.chain_id != terms.chain_id:
        raise MandateError(
            f"chain id {domain.chain_id} is not this payee's chain {terms.chain_id}",
            reason=Reason.WRONG_CHAIN,
        )
    if domain.escrow != terms.escrow:
        raise MandateError(f"escrow {domain.escrow} is not {terms.escrow}", reason=Reason.WRONG_ESCROW)
    if mandate.payee != terms.payee:
        raise MandateError(
            f"payee {mandate.payee} is not this payee {terms.payee}", reason=Reason.WRONG_PAYEE
        )
    if mandate.token not in terms.tokens:
        raise MandateError(
            f"token {mandate.token} is not accepted (accepted: {sorted(terms.tokens)})",
            reason=Reason.UNSUPPORTED_TOKEN,
        )


def check_signature(signed: SignedMandate) -> None:
    """Step 3: a well-formed low-s signature recovering to the payer."""
    signed.verify()


def check_price(signed: AnySigned, *, price: int, ref: bytes) -> None:
    """Step 4: pays at least the route's price, for exactly this call."""
    mandate = signed.mandate
    if mandate.amount < price:
        raise MandateError(
            f"amount {mandate.amount} is below the price {price}", reason=Reason.AMOUNT_BELOW_PRICE
        )
    if mandate.ref != ref:
        raise MandateError(
            f"ref 0x{mandate.ref.hex()} does not match this call's ref 0x{ref.hex()}",
            reason=Reason.REF_MISMATCH,
        )


def check_time(signed: AnySigned, *, now: int, horizon_seconds: int) -> None:
    """Step 5: settleable for at least the settlement horizon (an expired mandate fails this too)."""
    deadline = signed.mandate.deadline
    if deadline < now + horizon_seconds:
        what = "expired" if deadline < now else "too soon"
        raise MandateError(
            f"deadline {deadline} is {what}: it must be at least now + {horizon_seconds}"
            f" = {now + horizon_seconds}",
            reason=Reason.DEADLINE_TOO_SOON,
        )


def offline_checks(header: str | bytes, *, terms: Terms, price: int, ref: bytes, now: int) -> SignedMandate:
    """Steps 1-5 in DESIGN's order for an EIP-712 mandate (an agent mandate's step 3 reads the chain)."""
    signed = decoded(header)
    if not isinstance(signed, SignedMandate):
        raise MandateError("an agent mandate needs its key's record", reason=Reason.MANDATE_UNSUPPORTED_KIND)
    check_domain(signed, terms)
    check_signature(signed)
    check_price(signed, price=price, ref=ref)
    check_time(signed, now=now, horizon_seconds=terms.horizon_seconds)
    return signed
