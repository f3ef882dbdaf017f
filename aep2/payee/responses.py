"""Domain errors mapped to HTTP responses, in one place."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aep2.errors import Aep2Error
from aep2.payee.web import PAYMENT_REQUIRED, PAYMENT_RESPONSE, AlreadyServedError, PaymentRequiredError


async def _payment_required(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PaymentRequiredError)
    return JSONResponse(
        status_code=402,
        content=exc.body,
        headers={PAYMENT_REQUIRED: exc.challenge_header, "Cache-Control": "no-store"},
    )


async def _already_served(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AlreadyServedError)
    return JSONResponse(status_code=409, content=exc.body, headers={PAYMENT_RESPONSE: exc.receipt_header})


async def _aep2_error(_request: Request, exc: Exception) -> JSONResponse:
    """Anything else from aep2 is the payee's own fault (chain unreachable, bad config): 503."""
    assert isinstance(exc, Aep2Error)
    return JSONResponse(status_code=503, content=exc.to_dict())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PaymentRequiredError, _payment_required)
    app.add_exception_handler(AlreadyServedError, _already_served)
    app.add_exception_handler(Aep2Error, _aep2_error)
