"""The ``aep2`` scheme in the official x402 SDK, client role: one ``register`` call and x402 pays aep2 routes.

>>> client = x402Client()
>>> register_exact_evm_client(client, evm_signer)          # if you also pay `exact` routes
>>> register_aep2_client(client, payer)                     # eip155:* by default
>>> async with x402HttpxClient(client) as http:
...     await http.get(url)

The scheme's payload is ``{"mandate": <aep2 header>}``. Everything the payer
SDK does still happens: the policy, the audit log, the nonce, the signature
check. The x402 client does not tell a scheme which request it pays for, so
here the payee's ``extra.ref`` is signed as given (``Aep2Auth`` in
:mod:`aep2.transports.httpx_auth` recomputes and checks it).

x402's own spend controls admit only assets it knows by default (USDC and
friends) unless told otherwise; ``register_aep2_client`` therefore adds the
policy's ``allowed_tokens`` to the client's ``allowed_assets`` (uncapped
there: the aep2 policy is the cap). With no ``allowed_tokens`` in the policy,
configure ``client.set_spend_controls(...)`` yourself.
"""

from __future__ import annotations

from typing import Any, TypeVar

from x402 import x402Client, x402ClientSync
from x402.client_base import SpendControlAsset, SpendControls
from x402.schemas import PaymentRequirements

from aep2.errors import PolicyViolation
from aep2.payer import Payer
from aep2.protocol.scheme import SCHEME, payload_of

ClientT = TypeVar("ClientT", x402Client, x402ClientSync)

__all__ = ["Aep2ClientScheme", "register_aep2_client"]


class Aep2ClientScheme:
    """``SchemeNetworkClient`` of the aep2 scheme: a payer behind x402's scheme registry."""

    scheme = SCHEME

    def __init__(self, payer: Payer) -> None:
        self.payer = payer

    def create_payment_payload(self, requirements: PaymentRequirements) -> dict[str, Any]:
        """``{"mandate": header}`` for ``requirements``; raises the payer's refusal unchanged."""
        return payload_of(self.payer.pay(requirements))


def register_aep2_client(
    client: ClientT,
    payer: Payer,
    networks: str | list[str] = "eip155:*",
    *,
    allow_policy_tokens: bool = True,
) -> ClientT:
    """Register the aep2 client scheme on ``networks`` of an x402 client; returns it for chaining."""
    scheme = Aep2ClientScheme(payer)
    patterns = [networks] if isinstance(networks, str) else list(networks)
    for network in patterns:
        client.register(network, scheme)
    if allow_policy_tokens:
        _admit_policy_tokens(client, payer, patterns)
    return client


def _admit_policy_tokens(client: x402Client | x402ClientSync, payer: Payer, patterns: list[str]) -> None:
    try:
        tokens = payer.policy.current().allowed_tokens or ()
    except PolicyViolation:
        return  # a broken policy rejects every payment anyway; nothing to admit
    # x402 2.25 has set_spend_controls but no getter: read the attribute the setter writes.
    controls: Any = getattr(client, "_spend_controls", {})
    if not isinstance(controls, dict) or not tokens or controls.get("allowed_assets") is True:
        return
    existing = controls.get("allowed_assets")
    entries: list[SpendControlAsset] = list(existing) if isinstance(existing, list) else []
    known = {(e["network"], e["asset"].lower()) for e in entries}
    for network in patterns:
        for token in tokens:
            if (network, token.lower()) not in known:
                entries.append(SpendControlAsset(network=network, asset=token))
    updated: SpendControls = {**controls, "allowed_assets": entries}  # type: ignore[typeddict-item]
    client.set_spend_controls(updated)
