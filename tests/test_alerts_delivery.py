"""Alert webhooks from a real SQLite outbox to a real local HTTP receiver, signatures checked by an
implementation written from the Standard Webhooks spec (``tests/alert_receiver.py``).

The outbox contract (an alert commits with its change, once per dedupe key), retries with backoff,
giving up, a sender SIGKILLed mid-request and restarted, the payer's audit log as a source, and
docs/alerts.md's example and field tables against the code.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aep2.alerts import FIELDS, AlertRow, Sender, SenderConfig, enqueue, kinds, new_secret, secret_key, verify
from aep2.alerts.outbox import claim
from aep2.alerts.payer_log import collect, open_payer_outbox
from aep2.errors import PolicyViolation, Reason, WebhookVerificationError
from aep2.payer import LocalKeySigner, Payer, Policy
from aep2.store import create_schema, make_engine
from tests.alert_receiver import Received, receiving, verify_standard_webhook
from tests.conftest import PAYER_KEY, aep2_requirement

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "alerts.md").read_text()
SECRET = new_secret()


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'payee.db'}")
    create_schema(engine)
    return engine


def failed_window(window_id: int = 7) -> kinds.Alert:
    return kinds.window_failed(
        window_id=window_id, chain_id=31337, escrow="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        payee=None, tx_hash=None, reason="tx 0xab reverted", mandates=3,
    )  # fmt: skip


def rows(engine: Engine) -> list[AlertRow]:
    with Session(engine) as s:
        return list(s.execute(select(AlertRow).order_by(AlertRow.id)).scalars())


def config(url: str, **overrides: float) -> SenderConfig:
    return SenderConfig(url=url, key=secret_key(SECRET), **overrides)  # type: ignore[arg-type]


def deliver_until_settled(sender: Sender, engine: Engine, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while any(r.status == "pending" for r in rows(engine)):
        assert time.monotonic() < deadline, [(r.status, r.attempts, r.last_error) for r in rows(engine)]
        sender.send_due()
        time.sleep(0.05)


def test_a_delivered_alert_is_signed_per_standard_webhooks(store: Engine) -> None:
    with store.begin() as conn:
        assert enqueue(conn, failed_window())
    with receiving() as receiver:
        sender = Sender(store, config(receiver.url))
        report = sender.send_due()
        sender.close()
        (got,) = receiver.wait_for(1)
    verify_standard_webhook(SECRET, got)
    assert re.fullmatch(r"msg_[0-9a-f]{32}", got.id) and got.headers["content-type"] == "application/json"
    doc = got.json()
    assert (doc["type"], doc["version"], doc["data"]["window_id"]) == ("settlement.window_failed", 1, 7)
    assert list(doc["data"]) == sorted(FIELDS[doc["type"]])
    (row,) = rows(store)
    assert (row.status, row.attempts, row.webhook_id, report.delivered) == ("delivered", 1, got.id, [got.id])
    # the product's receiver-side check agrees, and refuses a changed body or a stale timestamp
    now = int(got.headers["webhook-timestamp"])
    assert verify(SECRET, got.headers, got.body, now=now) == got.id
    with pytest.raises(WebhookVerificationError) as info:
        verify(SECRET, got.headers, got.body.replace(b"reverted", b"settled"), now=now)
    assert info.value.reason == Reason.WEBHOOK_SIGNATURE_INVALID
    with pytest.raises(WebhookVerificationError) as info:
        verify(SECRET, got.headers, got.body, now=now + 301)
    assert info.value.reason == Reason.WEBHOOK_TIMESTAMP_STALE


def test_an_alert_commits_with_its_change_and_once_per_key(store: Engine) -> None:
    with pytest.raises(RuntimeError), store.begin() as conn:
        enqueue(conn, failed_window(1))
        raise RuntimeError("the state change rolled back")
    assert rows(store) == []
    with store.begin() as conn:
        assert enqueue(conn, failed_window(2))
    with store.begin() as conn:  # the step runs again: same event, same key
        assert not enqueue(conn, failed_window(2))
    assert [r.dedupe_key for r in rows(store)] == ["settlement.window_failed:2"]


def test_a_receiver_failing_twice_gets_the_alert_once_after_backoff(store: Engine) -> None:
    with store.begin() as conn:
        enqueue(conn, failed_window())
    with receiving(answers=(500, 503)) as receiver:
        sender = Sender(store, config(receiver.url, backoff_base=0.4, backoff_factor=2))
        deliver_until_settled(sender, store)
        sender.close()
        got = receiver.wait_for(3)
    assert len(got) == 3 and len({r.id for r in got}) == 1
    for r in got:
        verify_standard_webhook(SECRET, r)
    # equal jitter: each wait is at least half the exponential delay (0.4 s, then 0.8 s)
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4, gaps
    (row,) = rows(store)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)


def test_an_alert_is_dead_after_its_last_attempt(store: Engine) -> None:
    with store.begin() as conn:
        enqueue(conn, failed_window())
    with receiving(answers=(500, 500, 500)) as receiver:
        sender = Sender(store, config(receiver.url, max_attempts=3, backoff_base=0.05))
        deliver_until_settled(sender, store)
        sender.close()
        assert len(receiver.received) == 3
    (row,) = rows(store)
    assert (row.status, row.attempts) == ("dead", 3) and "HTTP 500" in str(row.last_error)


def test_a_claim_holds_the_row_for_its_lease_then_lets_it_go(store: Engine) -> None:
    """What a crashed sender leaves: a pending row nobody else takes until its lease ends, then
    the same alert again; a row whose last attempt died so is dead, not retried forever."""
    with store.begin() as conn:
        enqueue(conn, failed_window())
    t0 = datetime.now(UTC)
    first = claim(store, now=t0, lease=10, max_attempts=2)
    assert first is not None and first.attempt == 1
    assert claim(store, now=t0 + timedelta(seconds=9), lease=10, max_attempts=2) is None
    second = claim(store, now=t0 + timedelta(seconds=11), lease=10, max_attempts=2)
    assert second is not None and (second.webhook_id, second.attempt) == (first.webhook_id, 2)
    assert claim(store, now=t0 + timedelta(seconds=22), lease=10, max_attempts=2) is None
    (row,) = rows(store)
    assert (row.status, row.attempts) == ("dead", 2)


def _sender_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "aep2", "alerts", "send", *args],
            env=os.environ | env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_a_sender_killed_mid_delivery_is_restarted_and_delivers(
    store: Engine, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    with store.begin() as conn:
        enqueue(conn, failed_window())
    db = ["--db", str(store.url), "--poll", "0.2"]
    log = tmp_path / "sender.log"
    with receiving(hold_first=True) as receiver:
        env = {"AEP2_ALERT_WEBHOOK_URL": receiver.url, "AEP2_ALERT_WEBHOOK_SECRET": SECRET,
               "AEP2_ALERT_TIMEOUT": "5", "AEP2_ALERT_LEASE": "6"}  # fmt: skip
        processes.append(_sender_process(db, env, log))
        receiver.wait_for(1, timeout=60)  # the request is in, and the receiver holds it unanswered
        os.killpg(processes[0].pid, signal.SIGKILL)
        processes[0].wait(10)
        receiver.release()
        (row,) = rows(store)
        assert (row.status, row.attempts) == ("pending", 1), "the claim survives the crash, undelivered"
        processes.append(_sender_process(db, env, log))
        first, second = receiver.wait_for(2, timeout=60)
        for r in (first, second):
            verify_standard_webhook(SECRET, r)
        assert first.id == second.id == row.webhook_id and first.body == second.body
        assert second.at - first.at >= 5.5, "not before the dead sender's lease (6 s from its claim) ran out"
        deadline = time.monotonic() + 20
        while rows(store)[0].status != "delivered":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    assert rows(store)[0].attempts == 2


def test_a_payer_policy_denial_becomes_an_alert(tmp_path: Path) -> None:
    payer_db = tmp_path / "payer.db"
    payer = Payer(LocalKeySigner(PAYER_KEY), Policy(max_per_payment=500, approval_above=100), db=payer_db)
    payer.pay(aep2_requirement(amount="50"))  # approved: no alert
    with pytest.raises(PolicyViolation):
        payer.pay(aep2_requirement(amount="1000"))  # over max_per_payment
    with pytest.raises(PolicyViolation):
        payer.pay(aep2_requirement(amount="200"))  # over approval_above, nobody to approve
    with receiving() as receiver:
        env = {"AEP2_ALERT_WEBHOOK_URL": receiver.url, "AEP2_ALERT_WEBHOOK_SECRET": SECRET}
        run = [sys.executable, "-m", "aep2", "alerts", "send", "--once", "--payer-db", str(payer_db)]
        out = subprocess.run(run, env=os.environ | env, cwd=ROOT, capture_output=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {"delivered": 2, "retrying": 0, "dead": 0}
        denied, approval = receiver.wait_for(2)
        engine = open_payer_outbox(payer_db)  # what the CLI opened: the payer's file, outbox beside the log
        assert collect(engine) == 0, "the cursor moved past both: nothing twice"
        assert [(r.type, r.status) for r in rows(engine)] == [
            ("policy.denied", "delivered"),
            ("policy.approval_required", "delivered"),
        ]
    for r in (denied, approval):
        verify_standard_webhook(SECRET, r)
    assert denied.json()["type"] == "policy.denied"
    data = denied.json()["data"]
    assert (data["reason"], data["amount"], data["payer"]) == (
        "policy_max_per_payment",
        "1000",
        payer.address,
    )
    assert approval.json()["type"] == "policy.approval_required"
    assert approval.json()["data"]["reason"] == "approval_required"


# -- docs/alerts.md -------------------------------------------------------------------------------


def test_the_documented_example_signature_verifies() -> None:
    block = DOC.split("```json alert-example\n", 1)[1].split("```", 1)[0]
    example = json.loads(block)
    headers = {k: example[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    received = Received(headers, example["body"].encode(), 0.0)
    stamp = int(example["webhook-timestamp"])
    verify_standard_webhook(example["secret"], received, tolerance=abs(time.time() - stamp) + 1)
    assert verify(example["secret"], headers, received.body, now=stamp) == example["webhook-id"]
    body = json.loads(example["body"])
    assert set(body) == {"type", "version", "timestamp", "data"} and set(body["data"]) == set(
        FIELDS[body["type"]]
    )


def test_every_alert_type_is_documented_with_its_fields() -> None:
    for type_, fields in FIELDS.items():
        section = DOC.split(f"### `{type_}`\n", 1)
        assert len(section) == 2, f"docs/alerts.md has no section for {type_}"
        table = section[1].split("\n### ", 1)[0]
        documented = re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.MULTILINE)
        assert tuple(documented) == fields, type_
    errors = (ROOT / "docs" / "errors.md").read_text()
    assert [r for r in Reason if r.startswith("webhook_") and f"`{r.value}`" not in errors] == []
