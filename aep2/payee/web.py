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

from aep2.errors import MandateError, Reason
from aep2.payee.challenge import offered_mandate, parse_payload, payment_required, settle_response, to_header
from aep2.payee.check import Acceptance, PayeeCheck
from aep2.payee.config import Settings
from aep2.protocol.call_ref import http_descriptor, ref_of

PAYMENT_SIGNATURE = "payment-signature"
PAYMENT_REQUIRED = "PAYMENT-REQUIRED"
PAYMENT_RESPONSE = "PAYMENT-RESPONSE"


@dataclass
class PaymentRequiredError(Exception):
    """A 402 to send: the challenge, and the rejected mandate's error when there was one."""

    challenge_header: str
    body: dict[str, object]


def resource_url(request: Request, public_url: str | None) -> str:
    """The URL the payer called, as it enters the call ref (``public_url`` wins behind a proxy).

    Built from the path as it came on the wire (``raw_path``), not the decoded one, so an escaped
    ``/`` or space reads as the client wrote it; ``http_ref`` canonicalises it (``canonical_url``).
    """
    raw = request.scope.get("raw_path")
    path = "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw) if raw else request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    base = public_url.rstrip("/") if public_url else f"{request.url.scheme}://{request.url.netloc}"
    return base + path + query


def get_check(request: Request) -> PayeeCheck:
    check: PayeeCheck = request.app.state.payee_check
    return check


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
"""RFC 9110 §9.2.2: repeating one of these has the effect of doing it once."""


@dataclass
class AlreadyServedError(Exception):
    """A re-presented mandate on a route whose call must not run twice: 409 with the stored receipt."""

    receipt_header: str
    body: dict[str, object]


def charge(
    price: int, *, description: str = "", idempotent: bool | None = None
) -> Callable[[Request, Response], Awaitable[Acceptance]]:
    """A FastAPI dependency charging ``price`` base units of the payee's token per call.

    A payer that re-presents a mandate already accepted (it never saw our answer) is charged
    once: it gets the stored receipt, and the call runs again only where that is safe —
    ``idempotent`` routes, by default those of RFC 9110's idempotent methods. Elsewhere it gets a
    409 ``already_paid`` carrying the receipt, and the handler does not run a second time.
    """

    async def dependency(request: Request, response: Response) -> Acceptance:
        check = get_check(request)
        settings = check.settings
        url = resource_url(request, settings.public_url)
        descriptor = http_descriptor(request.method, url, await request.body())
        ref = ref_of(descriptor)
        header = request.headers.get(PAYMENT_SIGNATURE)
        try:
            if header is None:
                raise _challenge(settings, price=price, ref=ref, url=url, error=None, description=description)
            mandate = offered_mandate(parse_payload(header), settings, price=price)
            acceptance = await run_in_threadpool(
                check.accept, mandate, price=price, ref=ref, transport="http", descriptor=descriptor
            )
        except MandateError as exc:
            raise _challenge(
                settings, price=price, ref=ref, url=url, error=exc, description=description
            ) from None
        receipt_header = to_header(settle_response(settings, acceptance))
        repeatable = idempotent if idempotent is not None else request.method.upper() in IDEMPOTENT_METHODS
        if acceptance.replayed and not repeatable:
            raise AlreadyServedError(receipt_header, already_served_body(request.method, url))
        response.headers[PAYMENT_RESPONSE] = receipt_header
        return acceptance

    return dependency


def already_served_body(method: str, url: str) -> dict[str, object]:
    return {
        "reason": str(Reason.ALREADY_PAID),
        "message": f"this mandate already paid for {method} {url}, which is not repeated; "
        "the receipt is in PAYMENT-RESPONSE",
    }


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
