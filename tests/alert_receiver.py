"""A real webhook receiver for the alert tests, and a Standard Webhooks check written from the spec.

:func:`verify_standard_webhook` is deliberately independent of ``aep2.alerts.signing``: ``hmac``
and ``base64`` over ``id.timestamp.body`` exactly as https://www.standardwebhooks.com describes,
so a mistake in the product's signer cannot hide behind the same mistake in the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


def verify_standard_webhook(secret: str, received: Received, *, tolerance: float = 300) -> None:
    """Assert ``received`` carries a valid ``v1`` signature of its id, timestamp and raw body."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    msg_id = received.headers["webhook-id"]
    stamp = received.headers["webhook-timestamp"]
    assert abs(time.time() - int(stamp)) <= tolerance, f"stale webhook-timestamp {stamp}"
    mac = hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + received.body, hashlib.sha256)
    expected = "v1," + base64.b64encode(mac.digest()).decode()
    sent = received.headers["webhook-signature"].split(" ")
    assert any(hmac.compare_digest(expected, s) for s in sent), f"{sent} != {expected}"


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST. ``answers`` are the statuses of the first
    requests in turn (then 200); with ``hold_first`` the first request is held open, unanswered,
    until :meth:`release` (the sender's socket may be gone by then)."""

    def __init__(self, answers: tuple[int, ...] = (), *, hold_first: bool = False) -> None:
        self.received: list[Received] = []
        self.answers = list(answers)
        self.hold_first = hold_first
        self.released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(headers, body, time.monotonic()))
                    first = len(receiver.received) == 1
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if first and receiver.hold_first:
                    receiver.released.wait(60)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender was killed while we held its request
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/aep2"

    def release(self) -> None:
        self.released.set()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} webhooks after {timeout}s"
            time.sleep(0.05)
        return list(self.received)


@contextmanager
def receiving(answers: tuple[int, ...] = (), *, hold_first: bool = False) -> Iterator[Receiver]:
    receiver = Receiver(answers, hold_first=hold_first)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(10)
