"""Pay for HTTP calls with aep2: an ``httpx.Auth`` that answers a 402 like ``DigestAuth`` answers a 401.

>>> auth = Aep2Auth(payer)
>>> response = httpx.get(url, auth=auth)          # or httpx.AsyncClient(auth=auth)
>>> payment_of(response).receipt                   # the payee's signed receipt

The flow: send the request; on ``402`` read ``PAYMENT-REQUIRED`` (x402 v2),
pick the ``aep2`` requirement, recompute the ``ref`` of *this* request
(method, URL, body) and refuse to sign if the payee asks for another, run the
payer's policy, allocate a nonce, sign, and retry once with
``PAYMENT-SIGNATURE``. If the payee refuses the nonce and says where to resume
(``nonceFloor``: our journal was behind), sign once more above it. The answer's
``PAYMENT-RESPONSE`` receipt is verified against the mandate we sent and
attached to the response.

Pay first: once a route was paid (or its terms given with :meth:`Aep2Auth.remember`), the
next request to it carries the mandate already, signed for its own ref: one round trip, not
two. A 402 to such a request makes the payer forget the route and pay that 402 as above.

The decision and the signature (SQLite, maybe a remote signer) run in a
worker thread under ``AsyncClient``, so an event loop never blocks on them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import anyio.to_thread
import httpx

from aep2.agentkey import AnySigned
from aep2.errors import PaymentRequestError
from aep2.payer import Payer, encode_any, select_aep2
from aep2.payer._wire import (
    PAYMENT_REQUIRED,
    PAYMENT_RESPONSE,
    PAYMENT_SIGNATURE,
    Payment,
    b64_json,
    from_b64_json,
    outcome,
    payment_payload,
    read_payment_required,
    resume_requirement,
)
from aep2.protocol.call_ref import canonical_url, http_ref

PAYMENT_EXTENSION = "aep2.payment"
"""Key of :class:`~aep2.payer._wire.Payment` in ``response.extensions`` after a paid call."""

__all__ = ["PAYMENT_EXTENSION", "Aep2Auth", "Payment", "payment_of"]


class _Pending:
    """The paid retry of one request, and what is needed to read its answer."""

    def __init__(
        self,
        request: httpx.Request,
        requirement: dict[str, Any],
        payment: Callable[[httpx.Response], Payment],
        resume: Callable[[httpx.Response], dict[str, Any] | None],
    ) -> None:
        self.request = request
        self.requirement = requirement
        self.payment = payment
        self.resume = resume


class Aep2Auth(httpx.Auth):
    """Answers an x402 v2 ``402`` with an aep2 mandate from ``payer``, or pays first where it can.

    ``chain_id`` picks the requirement when a route offers several chains;
    ``verify_ref=False`` trusts the payee's ``extra.ref`` (for proxies that
    rewrite URLs; the mandate then proves less about the call, and no request is
    paid first: only the payee can tell its ref). ``pay_first=False`` always waits
    for the 402. Routes' terms live in ``payer.routes``, shared by every client of the payer.
    """

    requires_request_body = True

    def __init__(
        self, payer: Payer, *, chain_id: int | None = None, verify_ref: bool = True, pay_first: bool = True
    ) -> None:
        self.payer = payer
        self.chain_id = chain_id
        self.verify_ref = verify_ref
        self.pay_first = pay_first and verify_ref

    def remember(self, method: str, url: str, requirement: dict[str, Any]) -> None:
        """Pay ``method url`` (any query) on its first request, on ``requirement``'s terms."""
        self.payer.routes.remember(_route(method, url), requirement)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()
        if (first := self._pay_first(request)) is not None:
            response = yield first.request
            if not self._refused_first(request, response, first):
                return
            response.read()
        else:
            response = yield request
            if not _asks_payment(request, response):
                return
            response.read()
        pending = self._pay(request, response)
        paid = yield pending.request
        if (resume := pending.resume(paid)) is not None:  # once: our journal was behind the payee's
            paid.read()
            pending = self._pay(request, paid, resume)
            paid = yield pending.request
        self._settled(request, paid, pending)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        if (first := await anyio.to_thread.run_sync(self._pay_first, request)) is not None:
            response = yield first.request
            if not await anyio.to_thread.run_sync(self._refused_first, request, response, first):
                return
            await response.aread()
        else:
            response = yield request
            if not _asks_payment(request, response):
                return
            await response.aread()
        pending = await anyio.to_thread.run_sync(self._pay, request, response)
        paid = yield pending.request
        if (resume := pending.resume(paid)) is not None:
            await paid.aread()
            pending = await anyio.to_thread.run_sync(self._pay, request, paid, resume)
            paid = yield pending.request
        self._settled(request, paid, pending)

    def _pay_first(self, request: httpx.Request) -> _Pending | None:
        """The request with a mandate already, on its route's known terms; ``None`` if unknown."""
        if not self.pay_first:
            return None
        url = str(request.url)
        ref = http_ref(request.method, url, request.content)
        requirement = self.payer.routes.terms(_route(request.method, url), ref)
        return None if requirement is None else self._signed(request, requirement, ref, None)

    def _refused_first(self, request: httpx.Request, response: httpx.Response, first: _Pending) -> bool:
        """Whether the payee answered a paid-first request with a 402 (the mandate is then recorded
        as refused); else the answer's payment is attached. Either way without a receipt, the route
        is forgotten."""
        payment = first.payment(response)
        refused = response.status_code == 402 and PAYMENT_REQUIRED in response.headers
        if refused or payment.settle_response is None:  # refused, or no longer a paid route
            self.payer.routes.forget(_route(request.method, str(request.url)))
        if not refused:
            response.extensions[PAYMENT_EXTENSION] = payment
        return refused

    def _settled(self, request: httpx.Request, paid: httpx.Response, pending: _Pending) -> None:
        """Attach the payment to the answer; a receipted payment teaches us the route's terms."""
        payment = pending.payment(paid)
        paid.extensions[PAYMENT_EXTENSION] = payment
        if payment.receipt is not None:
            self.payer.routes.remember(_route(request.method, str(request.url)), pending.requirement)

    def _pay(
        self, request: httpx.Request, response: httpx.Response, requirement: dict[str, Any] | None = None
    ) -> _Pending:
        """Policy → nonce → signature for the 402 ``response`` to ``request``; raises if we refuse.

        ``requirement`` is given when resuming above a payee's ``nonceFloor``.
        """
        required = read_payment_required(from_b64_json(response.headers[PAYMENT_REQUIRED], PAYMENT_REQUIRED))
        if requirement is None:
            requirement = select_aep2(required["accepts"], chain_id=self.chain_id)
        ref = http_ref(request.method, str(request.url), request.content) if self.verify_ref else None
        return self._signed(request, requirement, ref, required.get("resource"))

    def _signed(
        self, request: httpx.Request, requirement: dict[str, Any], ref: bytes | None, resource: Any
    ) -> _Pending:
        """``request`` with a mandate paying ``requirement`` (for ``ref``, if we computed it)."""
        signed: AnySigned = self.payer.authorize(requirement, ref, resource=str(request.url))
        payer = self.payer.address
        header = encode_any(signed)
        retry = _copy(request)
        retry.headers[PAYMENT_SIGNATURE] = b64_json(payment_payload(requirement, header, resource))

        def read(paid: httpx.Response) -> Payment:
            settle = paid.headers.get(PAYMENT_RESPONSE)
            if settle is not None:
                return outcome(signed, header, from_b64_json(settle, PAYMENT_RESPONSE), payer=payer)
            if paid.status_code == 402 and PAYMENT_REQUIRED in paid.headers:
                refusal = from_b64_json(paid.headers[PAYMENT_REQUIRED], PAYMENT_REQUIRED).get("error")
                self.payer.record_refusal(signed, str(refusal))
                return Payment(signed, header, None, None, f"payee refused the mandate: {refusal}")
            return outcome(signed, header, None, payer=payer)

        def resume(paid: httpx.Response) -> dict[str, Any] | None:
            refusal = paid.headers.get(PAYMENT_REQUIRED) if paid.status_code == 402 else None
            if refusal is None:
                return None
            required = from_b64_json(refusal, PAYMENT_REQUIRED)
            resume = resume_requirement(required, signed)
            if resume is not None:
                self.payer.record_refusal(signed, str(required.get("error")))
            return resume

        return _Pending(retry, requirement, read, resume)


def _route(method: str, url: str) -> str:
    """A route's name in ``payer.routes``: the method and the canonical URL without its query."""
    return f"{method.upper()} {canonical_url(url).partition('?')[0]}"


def _asks_payment(request: httpx.Request, response: httpx.Response) -> bool:
    return (
        response.status_code == 402
        and PAYMENT_REQUIRED in response.headers
        and PAYMENT_SIGNATURE not in request.headers  # never pay twice for one request
    )


def _copy(request: httpx.Request) -> httpx.Request:
    return httpx.Request(
        request.method, request.url, headers=request.headers, content=request.content,
        extensions=dict(request.extensions),
    )  # fmt: skip


def payment_of(response: httpx.Response) -> Payment:
    """The :class:`Payment` of a paid response; raises if the call was not paid with aep2."""
    payment: Any = response.extensions.get(PAYMENT_EXTENSION)
    if not isinstance(payment, Payment):
        raise PaymentRequestError(f"{response.request.method} {response.request.url} was not paid with aep2")
    return payment
