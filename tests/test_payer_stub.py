"""A test-only paid API: a real FastAPI app under a real uvicorn on 127.0.0.1, speaking x402 v2 + aep2.

It issues a real 402 with the pinned formats, verifies the mandate with
``aep2.mandate.decode(...).verify()`` plus the domain, payee, price, ref,
deadline and replay checks, and answers with a receipt signed by the payee.

The happy paths (each transport paying, receipts verified, the payer's audit and
nonce journal matching the payee's store) run against the real payee service on
the real escrow in ``tests/test_paid_calls_e2e.py``. This stub stays only for the
payer's behaviour that an honest payee cannot provoke or that needs counting
what reached the server: a payee quoting a ref for another call
(``/lying-ref``, MCP/A2A overbilling), a receipt signed by a stranger
(``/forged-receipt``), a policy refusal that must send no payment header
(``payment_headers_seen``), a rejection answered with the 402 exactly once,
an echo of the paid body for the CLI's text output, and a challenge listing
``exact`` before ``aep2``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from eth_account import Account
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from x402.http.utils import (
    decode_payment_signature_header,
    encode_payment_required_header,
    encode_payment_response_header,
)
from x402.schemas import PaymentRequired, PaymentRequirements, ResourceInfo, SettleResponse

from aep2.errors import Aep2Error
from aep2.mandate import SignedMandate, decode
from aep2.protocol.call_ref import http_ref
from aep2.protocol.receipt import Receipt, transaction_ref
from aep2.protocol.scheme import Aep2Extra, header_of, network_of

PAYEE_KEY = bytes.fromhex("8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba")
STRANGER_KEY = bytes.fromhex("92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e")
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ESCROW = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 31337
PRICE = 1000


@dataclass
class PayeeStub:
    """The stub's configuration and what it accepted (inspected by the tests)."""

    payee_key: bytes = PAYEE_KEY
    price: int = PRICE
    accepted: list[SignedMandate] = field(default_factory=list)
    payment_headers_seen: int = 0

    @property
    def payee(self) -> str:
        return str(Account.from_key(self.payee_key).address)

    def requirement(self, ref: bytes, *, scheme: str = "aep2") -> PaymentRequirements:
        extra = Aep2Extra(escrow=ESCROW, min_deadline_seconds=600, ref="0x" + ref.hex()).to_extra()
        if scheme == "exact":
            extra = {"name": "USD Coin", "version": "2"}
        return PaymentRequirements(
            scheme=scheme, network=network_of(CHAIN_ID), asset=TOKEN, amount=str(self.price),
            pay_to=self.payee, max_timeout_seconds=60, extra=extra,
        )  # fmt: skip

    def check(self, signed: SignedMandate, ref: bytes) -> str | None:
        m = signed.mandate
        problems = {
            "wrong_chain": signed.domain.chain_id != CHAIN_ID,
            "wrong_escrow": signed.domain.escrow != ESCROW,
            "wrong_payee": m.payee != self.payee,
            "unsupported_token": m.token != TOKEN,
            "amount_below_price": m.amount < self.price,
            "ref_mismatch": m.ref != ref,
            "deadline_too_soon": m.deadline < time.time() + 600,
            "nonce_replayed": any(
                a.mandate.payer == m.payer and a.mandate.nonce == m.nonce for a in self.accepted
            ),
        }
        return next((code for code, bad in problems.items() if bad), None)

    def receipt(self, signed: SignedMandate, key: bytes) -> dict[str, Any]:
        m = signed.mandate
        return Receipt(
            digest="0x" + signed.digest.hex(), payer=m.payer, payee=m.payee, token=m.token,
            amount=str(m.amount), nonce=str(m.nonce), accepted_at=str(int(time.time())),
        ).sign(key)  # fmt: skip


def _payment_required(stub: PayeeStub, url: str, ref: bytes, error: str | None = None) -> Response:
    accepts = [stub.requirement(ref, scheme="exact"), stub.requirement(ref)]
    required = PaymentRequired(resource=ResourceInfo(url=url), accepts=accepts, error=error)
    return JSONResponse(
        {"error": error}, 402, headers={"PAYMENT-REQUIRED": encode_payment_required_header(required)}
    )


def make_app(stub: PayeeStub) -> FastAPI:
    app = FastAPI()

    async def serve(
        request: Request, *, claimed_ref: bytes | None = None, receipt_key: bytes | None = None
    ) -> Response:
        url, body = str(request.url), await request.body()
        ref = http_ref(request.method, url, body)
        header = request.headers.get("PAYMENT-SIGNATURE")
        if header is None:
            return _payment_required(stub, url, claimed_ref or ref)
        stub.payment_headers_seen += 1
        try:
            payload = decode_payment_signature_header(header)
            signed = decode(header_of(payload.payload))
            signed.verify()
        except (Aep2Error, ValueError) as exc:
            return _payment_required(stub, url, ref, getattr(exc, "reason", "mandate_malformed"))
        if (code := stub.check(signed, claimed_ref or ref)) is not None:
            return _payment_required(stub, url, ref, code)
        stub.accepted.append(signed)
        settle = SettleResponse(
            success=True, payer=signed.mandate.payer, transaction=transaction_ref(signed.digest),
            network=network_of(CHAIN_ID), amount=str(signed.mandate.amount),
            extra=stub.receipt(signed, receipt_key or stub.payee_key),
        )  # fmt: skip
        content = {"paid": True, "nonce": signed.mandate.nonce, "body": body.decode()}
        return JSONResponse(content, headers={"PAYMENT-RESPONSE": encode_payment_response_header(settle)})

    @app.api_route("/paid", methods=["GET", "POST"])
    async def paid(request: Request) -> Response:
        return await serve(request)

    @app.get("/lying-ref")
    async def lying_ref(request: Request) -> Response:
        return await serve(request, claimed_ref=http_ref("GET", "http://elsewhere.example/expensive"))

    @app.get("/forged-receipt")
    async def forged_receipt(request: Request) -> Response:
        return await serve(request, receipt_key=STRANGER_KEY)

    @app.get("/free")
    async def free() -> dict[str, bool]:
        return {"paid": False}

    return app


@contextmanager
def serve_app(app: Any, *, lifespan: str = "off") -> Iterator[str]:
    """Run ``app`` under uvicorn on an ephemeral 127.0.0.1 port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


# --- the stub's own tests: a stand-in that accepted anything would prove nothing -------------------


def test_stub_issues_a_v2_challenge_and_rejects_garbage() -> None:
    import base64
    import json

    import httpx

    stub = PayeeStub()
    with serve_app(make_app(stub)) as base:
        first = httpx.get(f"{base}/paid")
        assert first.status_code == 402
        required = json.loads(base64.b64decode(first.headers["PAYMENT-REQUIRED"]))
        assert required["x402Version"] == 2
        assert [a["scheme"] for a in required["accepts"]] == ["exact", "aep2"]
        assert required["accepts"][1]["extra"]["ref"] == "0x" + http_ref("GET", f"{base}/paid").hex()
        garbage = {"x402Version": 2, "accepted": required["accepts"][1], "payload": {"mandate": "AAAA"}}
        header = base64.b64encode(json.dumps(garbage).encode()).decode()
        second = httpx.get(f"{base}/paid", headers={"PAYMENT-SIGNATURE": header})
        assert second.status_code == 402
        assert (
            json.loads(base64.b64decode(second.headers["PAYMENT-REQUIRED"]))["error"] == "mandate_malformed"
        )
        assert stub.accepted == []
