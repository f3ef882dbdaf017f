"""The ``aep2`` scheme for the official x402 SDK's facilitator role: the payee's check.

``verify`` runs the check's offline steps and the nonce floor (nothing stored);
``settle`` runs the whole check and commits the mandate, answering with the
payee's signed receipt. No transaction is sent: on-chain settlement happens
later, for a whole batch, so ``transaction`` is the placeholder ``aep2:<digest>``.

    facilitator = x402Facilitator()
    register_aep2_facilitator(facilitator, check)

The payee is its own aep2 facilitator (the check needs the payee's store), so the
facilitator is passed to ``x402ResourceServer`` directly, not reached over HTTP.
"""

from __future__ import annotations

from typing import Any, TypeVar

from x402.interfaces import FacilitatorContext
from x402.schemas import Network, PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse

from aep2.errors import Aep2Error
from aep2.payee.challenge import advertised_kinds, mandate_header, payload_from
from aep2.payee.check import PayeeCheck
from aep2.protocol.receipt import transaction_ref
from aep2.protocol.scheme import SCHEME, network_of

FacilitatorT = TypeVar("FacilitatorT")


def _terms(requirements: PaymentRequirements, check: PayeeCheck) -> tuple[int, bytes]:
    """The price and expected ref the resource server put in this call's requirements."""
    ref = (requirements.extra or {}).get("ref")
    if not isinstance(ref, str) or len(ref) != 66:
        raise Aep2Error("requirements carry no call ref: price the route with aep2_price()")
    if requirements.pay_to != check.settings.payee or requirements.network != network_of(
        check.settings.chain_id
    ):
        raise Aep2Error(f"requirements pay {requirements.pay_to} on {requirements.network}, not this payee")
    return int(requirements.amount), bytes.fromhex(ref[2:])


def _header(payload: PaymentPayload) -> str:
    return mandate_header(payload_from(payload.model_dump(mode="json", by_alias=True)))


class Aep2FacilitatorScheme:
    """``SchemeNetworkFacilitator`` for aep2, backed by one payee's :class:`PayeeCheck`."""

    scheme = SCHEME
    caip_family = "eip155:*"

    def __init__(self, check: PayeeCheck, *, transport: str = "x402") -> None:
        self.check, self.transport = check, transport

    def get_extra(self, network: Network) -> dict[str, Any] | None:
        settings = self.check.settings
        extra: dict[str, Any] = {
            "escrow": settings.escrow,
            "minDeadlineSeconds": settings.settlement_horizon_seconds,
        }
        if (kinds := advertised_kinds(settings)) is not None:
            extra["kinds"] = kinds
        return extra

    def get_signers(self, network: Network) -> list[str]:
        return [self.check.settings.payee]

    def verify(
        self,
        payload: PaymentPayload,
        requirements: PaymentRequirements,
        context: FacilitatorContext | None = None,
    ) -> VerifyResponse:
        try:
            price, ref = _terms(requirements, self.check)
            signed = self.check.verify(_header(payload), price=price, ref=ref)
            payer = self.check.payer_of(signed)
        except Aep2Error as exc:
            return VerifyResponse(is_valid=False, invalid_reason=str(exc.reason), invalid_message=exc.message)
        return VerifyResponse(is_valid=True, payer=payer)

    def settle(
        self,
        payload: PaymentPayload,
        requirements: PaymentRequirements,
        context: FacilitatorContext | None = None,
    ) -> SettleResponse:
        try:
            price, ref = _terms(requirements, self.check)
            acceptance = self.check.accept(_header(payload), price=price, ref=ref, transport=self.transport)
        except Aep2Error as exc:
            return SettleResponse(
                success=False,
                error_reason=str(exc.reason),
                error_message=exc.message,
                transaction="",
                network=requirements.network,
            )
        return SettleResponse(
            success=True,
            payer=acceptance.payer,
            transaction=transaction_ref(acceptance.signed.digest),
            network=requirements.network,
            amount=str(acceptance.signed.mandate.amount),
            extra=dict(acceptance.receipt),
        )


def register_aep2_facilitator(
    facilitator: FacilitatorT, check: PayeeCheck, networks: str | list[str] | None = None
) -> FacilitatorT:
    """Register aep2 on an ``x402Facilitator`` (or its sync twin) for this payee's chain; chainable."""
    chosen = [networks] if isinstance(networks, str) else (networks or [network_of(check.settings.chain_id)])
    facilitator.register(chosen, Aep2FacilitatorScheme(check))  # type: ignore[attr-defined]
    return facilitator
