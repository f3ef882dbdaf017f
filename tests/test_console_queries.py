"""The consoles' queries against real SQLite: a payee store and a payer database filled the way
the check, the pipeline and the payer SDK fill them (signed mandates, real transitions, the SDK's
own audit log and budget ledger)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from aep2.agentkey import ANY_PAYEE, AgentKey, AgentKeyGrant
from aep2.alerts import enqueue, kinds
from aep2.chain import AgentKeyInfo
from aep2.console.queries_health import gas, health
from aep2.console.queries_payee import overview, problems, window_detail, windows
from aep2.console.queries_payer import agent_keys, approvals_waiting, audit_log, open_read_only, spend
from aep2.errors import ApprovalRequired, ConfigurationError, PolicyViolation
from aep2.mandate import Domain, Mandate
from aep2.payer import GrantRecord, LocalKeySigner, Payer, open_engine
from aep2.settlement.models import ChunkMandateRow, ChunkRow, WindowRow
from aep2.store import accepted_fields, insert_accepted, lock_exposure, transition
from aep2.store.states import MandateState
from tests.conftest import ESCROW, PAYEE, PAYER_KEY, TOKEN, aep2_requirement

DOMAIN = Domain.parse(chain_id=31337, escrow=ESCROW)
PAYER = Account.from_key(PAYER_KEY).address
S = MandateState


def accept(engine: Engine, amount: int, nonce: int, payer_key: bytes = PAYER_KEY) -> int:
    payer = Account.from_key(payer_key).address
    mandate = Mandate.build(payer=payer, payee=PAYEE, token=TOKEN, amount=amount, nonce=nonce,
                            deadline=4_000_000_000, ref=secrets.token_bytes(32))  # fmt: skip
    signed = mandate.sign(DOMAIN, payer_key)
    with engine.begin() as conn:
        exposure = lock_exposure(session=conn, payer=payer, token=TOKEN)
        return insert_accepted(
            session=conn, exposure=exposure, fields=accepted_fields(signed, transport="http")
        )


def move(engine: Engine, ids: list[int], *states: MandateState) -> None:
    for state in states:
        with Session(engine) as s, s.begin():
            transition(session=s, mandate_ids=ids, to=state)


def settled_window(engine: Engine, ids: list[int], *, gas_used: int | None, state: str = "settled") -> int:
    """A window of one chunk holding ``ids``, as the pipeline records it."""
    with Session(engine) as s, s.begin():
        window = WindowRow(chain_id=31337, escrow=ESCROW, payee=PAYEE, tokens=[TOKEN], state=state,
                           tx_hash="0x" + "ab" * 32, block_number=7, gas_used=gas_used)  # fmt: skip
        s.add(window)
        s.flush()
        chunk = ChunkRow(window_id=window.id, index=0, verifier_id=1, n=4, p=2, state="proved", attempts=1,
                         proving_seconds=1.5, settlement={"pairs": [{}]})  # fmt: skip
        s.add(chunk)
        s.flush()
        s.add_all(ChunkMandateRow(chunk_id=chunk.id, mandate_id=m, position=i) for i, m in enumerate(ids))
        return window.id


def test_overview_totals_by_outcome_and_exposure_with_headroom(engine: Engine) -> None:
    ids = [accept(engine, amount, nonce) for nonce, amount in enumerate((100, 200, 300, 400), start=1)]
    move(engine, ids[:2], S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED, S.SETTLED)
    move(engine, ids[2:3], S.FAILED)
    unknown = overview(engine)
    (totals,) = unknown.tokens
    assert (totals.accepted, totals.accepted_count) == (1000, 4)
    assert (totals.unsettled, totals.settled, totals.failed) == (400, 300, 300)
    assert totals.by_state == {"accepted": 1, "failed": 1, "settled": 2}
    (payer,) = unknown.payers
    assert (payer.payer, payer.unsettled, payer.headroom) == (PAYER, 400, None)
    assert not unknown.headroom_known
    known = overview(engine, lambda payer, token, unsettled: 10_000 - unsettled)
    assert known.payers[0].headroom == 9_600 and known.headroom_known


@pytest.mark.parametrize(
    ("amounts", "why"),
    [((10**20, 5), "an amount past 18 digits: summed in Python"),
     ((10**18 - 1,) * 10, "18-digit amounts whose SQL sum overflows int64: summed in Python"),
     ((7, 8), "small amounts: summed by SQLite")],
)  # fmt: skip
def test_overview_sums_exactly_whatever_the_amounts(
    engine: Engine, amounts: tuple[int, ...], why: str
) -> None:
    for nonce, amount in enumerate(amounts, start=1):
        accept(engine, amount, nonce)
    (totals,) = overview(engine).tokens
    assert (totals.accepted, totals.accepted_count, totals.unsettled) == (
        sum(amounts),
        len(amounts),
        sum(amounts),
    ), why


def test_windows_show_chunks_their_timelines_and_tx(engine: Engine) -> None:
    ids = [accept(engine, 50, nonce) for nonce in (1, 2, 3)]
    window_id = settled_window(engine, ids, gas_used=300_000)
    move(engine, ids, S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED)
    move(engine, ids[:2], S.SETTLED)
    move(engine, ids[2:], S.ACCEPTED)  # its pair was skipped
    (w,) = windows(engine)
    assert (w.id, w.state, w.tx_hash, w.block_number) == (window_id, "settled", "0x" + "ab" * 32, 7)
    assert (w.mandates, w.settled_mandates) == (3, 2)
    (chunk,) = w.chunks
    assert (chunk.total, chunk.pairs, chunk.settled, chunk.proving_seconds) == (150, 1, 2, 1.5)
    assert [step.state for step in chunk.timeline] == [
        "batched",
        "proving",
        "proved",
        "submitted",
        "settled",
        "accepted",
    ]
    assert [step.state for step in w.timeline] == ["closed"]  # the row has no submitted/settled times here
    detail = window_detail(engine, window_id)
    assert detail is not None and detail.window == w
    assert [(m.id, m.nonce, m.amount, m.state, m.kind) for m in detail.mandates] == [
        (ids[0], 1, 50, "settled", "eip712"),
        (ids[1], 2, 50, "settled", "eip712"),
        (ids[2], 3, 50, "accepted", "eip712"),
    ]
    assert all(m.digest.startswith("0x") and len(m.digest) == 66 for m in detail.mandates)
    assert window_detail(engine, window_id + 1) is None


def test_gas_per_payment_counts_each_mandate_in_the_window_that_paid_it(engine: Engine) -> None:
    ids = [accept(engine, 10, nonce) for nonce in (1, 2, 3, 4)]
    first = settled_window(engine, ids, gas_used=400_000)  # paid 3; the 4th skipped, paid by the next
    second = settled_window(engine, ids[3:], gas_used=200_000)
    settled_window(engine, ids[3:], gas_used=None, state="proving")  # not mined: not counted
    move(engine, ids, S.BATCHED, S.PROVING, S.PROVED, S.SUBMITTED, S.SETTLED)
    g = gas(engine, x402_gas=68_000, x402_source="test")
    assert [(w.window_id, w.payments, w.per_payment) for w in g.windows] == [
        (first, 3, 400_000 / 3), (second, 1, 200_000.0)
    ]  # fmt: skip
    assert (g.total_gas, g.total_payments, g.per_payment) == (600_000, 4, 150_000.0)
    assert g.x402_over_aep2 == pytest.approx(68_000 / 150_000)


def test_problems_list_skipped_pairs_with_the_escrows_reason(engine: Engine) -> None:
    with Session(engine) as s, s.begin():
        enqueue(s, kinds.pair_skipped(
            window_id=3, chunk_id=4, tx_hash="0x" + "cd" * 32, family="batch", payer=PAYER, key_id=None,
            payee=PAYEE, from_nonce=0, to_nonce=2, total=900, reason="INSUFFICIENT_BALANCE",
            message="skipped on chain: INSUFFICIENT_BALANCE", mandates_returned=2, mandates_failed=0,
        ))  # fmt: skip
        enqueue(s, kinds.window_failed(window_id=5, chain_id=31337, escrow=ESCROW, payee=PAYEE, tx_hash=None,
                                       reason="settleMany would revert", mandates=1))  # fmt: skip
    failed, skipped = problems(engine)
    assert (skipped.reason, skipped.payer, skipped.total, skipped.nonces) == (
        "INSUFFICIENT_BALANCE",
        PAYER,
        900,
        "1..2",
    )
    assert (failed.window_id, failed.message) == (5, "settleMany would revert")


def test_health_says_unknown_without_a_broker_and_reads_redis_queues(
    engine: Engine, redis_server: object
) -> None:
    ids = [accept(engine, 10, 1)]
    settled_window(engine, ids, gas_used=1)
    h = health(engine, None)
    assert [q.depth for q in h.queues] == [None, None, None] and "not configured" in h.broker
    assert h.chunks_by_state == {"proved": 1} and h.mean_proving_seconds == 1.5
    url = redis_server.url  # type: ignore[attr-defined]
    import redis

    client = redis.Redis.from_url(url)
    client.rpush("prove", b"task-1", b"task-2")
    client.close()
    assert {q.queue: q.depth for q in health(engine, url).queues} == {"prove": 2, "submit": 0, "reconcile": 0}


# --- the payer's side -----------------------------------------------------------------------------


def payer_with_history(payer_db: Path, policy: Path) -> Payer:
    """Three approved payments, one denied by a rule, one waiting for approval (one later approved)."""
    payer = Payer(LocalKeySigner(PAYER_KEY), policy, db=payer_db)
    for i in range(3):
        payer.pay(aep2_requirement(amount="1000"), resource=f"https://api.example/{i}")
    with pytest.raises(PolicyViolation):
        payer.pay(aep2_requirement(amount="9000000"), resource="https://api.example/big")
    for resource in ("https://api.example/wait", "https://api.example/later", "https://api.example/wait"):
        with pytest.raises(ApprovalRequired):
            payer.pay(aep2_requirement(amount="6000"), resource=resource)
    return payer


def test_spend_against_caps_audit_and_approvals_from_the_sdks_own_records(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nmax_per_payment: 100000\nhourly_limit: 50000\napproval_above: 5000\n"
                      "payments_per_hour: 100\n")  # fmt: skip
    payer = payer_with_history(tmp_path / "payer.db", policy)
    approver = Payer(LocalKeySigner(PAYER_KEY), policy, db=tmp_path / "payer.db", approve=lambda _: True)
    approver.pay(aep2_requirement(amount="6000"), resource="https://api.example/later")
    payer.close()
    approver.close()
    engine = open_read_only(tmp_path / "payer.db")
    s = spend(engine, policy)
    (p,) = s.payers
    caps = {c.rule: c for c in p.caps}
    # the ledger counts what the engine checks against: every approved payment, leases included
    assert caps["hourly_limit"].cap == 50_000 and caps["hourly_limit"].counted >= 9_000
    assert caps["daily_limit"].cap is None
    assert caps["payments_per_hour"].cap == 100 and caps["payments_per_hour"].counted >= 4
    # the agent retried one; the approver's payment is logged refused before its approval
    assert (s.approved_last_day, s.rejected_last_day, s.policy_error) == (4, 5, None)
    log = audit_log(engine)
    assert [e.decision for e in log[:2]] == ["approved", "rejected"]  # newest first
    assert audit_log(engine, decision="rejected")[-1].reason == "policy_max_per_payment"
    (waiting,) = approvals_waiting(engine)
    assert (waiting.resource, waiting.amount) == ("https://api.example/wait", 6000)


def test_spend_reports_an_unreadable_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nmax_per_paymnet: 5\n")
    open_engine(tmp_path / "payer.db").dispose()
    s = spend(open_read_only(tmp_path / "payer.db"), policy)
    assert s.policy is None and s.policy_error is not None and "max_per_paymnet" in s.policy_error


def test_agent_keys_from_their_grants_with_the_chains_view_or_unknown(tmp_path: Path) -> None:
    grant = AgentKeyGrant.build(payer=PAYER, key=AgentKey.generate().public_key, token=TOKEN, payee=ANY_PAYEE,
                                cap=10**6, valid_after=0, valid_until=4_000_000_000, salt=1)  # fmt: skip
    path = tmp_path / "agent.key.grant.json"
    GrantRecord(DOMAIN, grant, key_id=7).write(path)
    open_engine(tmp_path / "payer.db").dispose()
    engine = open_read_only(tmp_path / "payer.db")
    (unknown,) = agent_keys(engine, [path], None)
    assert (unknown.key_id, unknown.grant_cap, unknown.state, unknown.chain_spent) == (
        7,
        10**6,
        "active",
        None,
    )
    info = AgentKeyInfo(7, grant.key, PAYER, TOKEN, ANY_PAYEE, 10**6, 2_500, 0, 4_000_000_000, 1_000, 0, 0)
    (known,) = agent_keys(engine, [path], {7: info}.get)
    assert (known.chain_spent, known.chain_revoke_at, known.state) == (2_500, 1_000, "revoked")


def test_the_console_reads_without_the_sdks_write_lock(tmp_path: Path) -> None:
    """A page being read never makes a payment wait, and the console cannot write."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\n")
    payer = Payer(LocalKeySigner(PAYER_KEY), policy, db=tmp_path / "payer.db")
    payer.pay(aep2_requirement(), resource="https://api.example/0")
    console = open_read_only(tmp_path / "payer.db")
    with console.connect() as reading:
        reading.exec_driver_sql("BEGIN")
        assert (
            len(audit_log(console)) == 1
            and reading.exec_driver_sql("SELECT count(*) FROM payer_audit").scalar() == 1
        )
        started = time.monotonic()
        payer.pay(aep2_requirement(), resource="https://api.example/1")  # while the read is open
        assert time.monotonic() - started < 5
        with pytest.raises(OperationalError, match="readonly"):
            reading.exec_driver_sql("CREATE TABLE console_was_here (a)")  # any write: refused
    payer.close()
    assert len(audit_log(console)) == 2
    with pytest.raises(ConfigurationError, match="no payer database"):
        open_read_only(tmp_path / "missing.db")
