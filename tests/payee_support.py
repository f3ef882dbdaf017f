"""Helpers for the payee tests: a payee configuration, mandates signed for it, a real uvicorn server."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from eth_account import Account
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from aep2.devnet._process import free_port
from aep2.mandate import Domain, Mandate, SignedMandate
from aep2.payee import Route, Settings
from aep2.protocol.scheme import SCHEME, payload_of
from aep2.store import MandateRow, ReceiptRow, StateTransitionRow

CHAIN_ID = 31337
ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
OTHER_TOKEN = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
PAYEE_KEY = "0x" + "11" * 32
PAYER_KEY = bytes.fromhex("22" * 32)
OTHER_KEY = bytes.fromhex("33" * 32)
PAYER = Account.from_key(PAYER_KEY).address
PAYEE = Account.from_key(PAYEE_KEY).address
PRICE = 1_000
HORIZON = 3600


def settings(**overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "chain_id": CHAIN_ID,
        "escrow": ESCROW,
        "tokens": [TOKEN],
        "payee_key": PAYEE_KEY,
        "settlement_horizon_seconds": HORIZON,
        "routes": [
            Route(path="/weather", price=PRICE, description="today's weather"),
            Route(path="/echo", method="POST", price=PRICE),
        ],
    }
    return Settings(**(fields | overrides))


def sign(
    *,
    ref: bytes,
    nonce: int = 1,
    amount: int = PRICE,
    deadline: int | None = None,
    payee: str = PAYEE,
    token: str = TOKEN,
    chain_id: int = CHAIN_ID,
    escrow: str = ESCROW,
    key: bytes = PAYER_KEY,
    payer: str | None = None,
) -> SignedMandate:
    mandate = Mandate.build(
        payer=payer or Account.from_key(key).address,
        payee=payee,
        token=token,
        amount=amount,
        nonce=nonce,
        deadline=deadline if deadline is not None else int(time.time()) + 2 * HORIZON,
        ref=ref,
    )
    return mandate.sign(Domain(chain_id=chain_id, escrow=escrow), key)


def x402_header(mandate_header: str, accepted: dict[str, Any], *, version: int = 2) -> str:
    """A ``PAYMENT-SIGNATURE`` value carrying one aep2 mandate header."""
    payload = {"x402Version": version, "accepted": accepted, "payload": payload_of(mandate_header)}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def challenge_of(header: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(header))  # type: ignore[no-any-return]


def aep2_accept(challenge: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in challenge["accepts"] if a["scheme"] == SCHEME)


def stored(engine: Engine) -> tuple[int, int, int]:
    """(mandates, receipts, transitions) rows: all zero after any rejection."""
    with Session(engine) as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (MandateRow, ReceiptRow, StateTransitionRow)
        )


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server


@contextmanager
def serve(app: Any) -> Iterator[RunningServer]:
    """Run ``app`` under a real uvicorn on 127.0.0.1 in a thread; stopped on exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
