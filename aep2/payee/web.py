"""The FastAPI integration: a dependency that charges a route.

    Paid = Annotated[Acceptance, Depends(charge(price=1000))]

    @app.get("/weather")
    def weather(paid: Paid) -> dict[str, str]: ...

Without ``PAYMENT-SIGNATURE`` the dependency raises :class:`PaymentRequiredError`
(a 402 carrying the x402 v2 challenge); with one it runs the whole check and
commits the mandate *before* the handler runs, then puts the signed receipt in
``PAYMENT-RESPONSE``. A dependency reads better than a middleware here: the
price sits next to the route, and the handler receives the accepted mandate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from aep2.errors import MandateError
from aep2.payee.challenge import offered_mandate, parse_payload, payment_required, settle_response, to_header
from aep2.payee.check import Acceptance, PayeeCheck
from aep2.payee.config import Settings
from aep2.transports.call_ref import http_ref

PAYMENT_SIGNATURE = "payment-signature"
PAYMENT_REQUIRED = "PAYMENT-REQUIRED"
PAYMENT_RESPONSE = "PAYMENT-RESPONSE"


@dataclass
class PaymentRequiredError(Exception):
    """A 402 to send: the challenge, and the rejected mandate's error when there was one."""

    challenge_header: str
    body: dict[str, object]


def resource_url(request: Request, settings: Settings) -> str:
    """The URL the payer called, as it enters the call ref (``public_url`` wins behind a proxy)."""
    if settings.public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.public_url.rstrip("/") + request.url.path + query


def get_check(request: Request) -> PayeeCheck:
    check: PayeeCheck = request.app.state.payee_check
    return check


def charge(price: int, *, description: str = "") -> Callable[[Request, Response], Awaitable[Acceptance]]:
    """A FastAPI dependency charging ``price`` base units of the payee's token per call."""

    async def dependency(request: Request, response: Response) -> Acceptance:
        check = get_check(request)
        settings = check.settings
        url = resource_url(request, settings)
        ref = http_ref(request.method, url, await request.body())
        header = request.headers.get(PAYMENT_SIGNATURE)
        try:
            if header is None:
                raise _challenge(settings, price=price, ref=ref, url=url, error=None, description=description)
            mandate = offered_mandate(parse_payload(header), settings, price=price)
            acceptance = await run_in_threadpool(
                check.accept, mandate, price=price, ref=ref, transport="http"
            )
        except MandateError as exc:
            raise _challenge(
                settings, price=price, ref=ref, url=url, error=exc, description=description
            ) from None
        response.headers[PAYMENT_RESPONSE] = to_header(settle_response(settings, acceptance))
        return acceptance

    return dependency


def _challenge(
    settings: Settings, *, price: int, ref: bytes, url: str, error: MandateError | None, description: str
) -> PaymentRequiredError:
    challenge = payment_required(
        settings, price=price, ref=ref, url=url, rejection=error, description=description
    )
    body = challenge.model_dump(mode="json", by_alias=True, exclude_none=True)
    if error is not None:
        body["message"] = error.message
    return PaymentRequiredError(challenge_header=to_header(challenge), body=body)
